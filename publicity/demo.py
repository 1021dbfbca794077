"""Demo notices for `portal demo`: open, scheduled, closed, corrected and withdrawn ones.

Dates are chosen so their periods can be computed: around today when this year's schedule is
loaded, otherwise within the last loaded year (then nothing is open).

Approval needs the batch's compliance record (publicity.compliance): `editor1` records a clean
one for every notice before `editor2` approves it, in a demo term (第十五届) covering the demo's
dates. One draft's record breaks rules 1, 2, 4, 8 and 9, so a newcomer sees the checks at work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit, clock, workdays
from portal.models import StaffUser
from publicity import service
from publicity.compliance import service as compliance
from publicity.compliance.schemas import parse_record
from publicity.models import Notice
from publicity.validation import NoticeInput, PersonInput

ISSUER = "中共示例县委组织部"
CHANNELS = {
    "phone": "0000-12380",
    "letter_address": "示例县人民路1号 县委组织部干部监督科（邮编000000）",
    "visit_address": "示例县人民路1号 县委组织部308室",
}


TERM = "第十五届"
TERM_POSTS = 120  # leadership posts (职数) of the demo term
PREFECTURE_REVIEW = "示州组干审〔{year}〕7号"
FULL_COMMITTEE, BALLOT_PRESENT = 35, 31
BALLOT = {"for": 29, "against": 1, "abstain": 1}


def _person(name: str, gender: str, birth: str, current: str, proposed: str,
            exceptional: tuple[str, str] | None = None, *, cadre_id: str) -> PersonInput:
    return PersonInput(
        name=name, gender=gender, ethnicity="汉族", birth=birth, native_place="示例省示例县",
        education="大学本科，管理学学士", work_start=f"{int(birth[:4]) + 22}-07",
        party=f"{int(birth[:4]) + 21}-06", current_post=current, proposed_post=proposed,
        exceptional_circumstance=exceptional[0] if exceptional else None,
        exceptional_reason=exceptional[1] if exceptional else None, cadre_id=cadre_id,
    )


def _notice(title: str, start: dt.date, persons: list[PersonInput]) -> NoticeInput:
    return NoticeInput(title=title, issuer=ISSUER, period_start=start, working_days=5,
                       phone=CHANNELS["phone"], letter_address=CHANNELS["letter_address"],
                       visit_address=CHANNELS["visit_address"], persons=tuple(persons))


def _actor(db: Session, username: str) -> audit.Actor:
    user_id = db.scalar(select(StaffUser.id).where(StaffUser.username == username))
    return audit.Actor(username, user_id)


def _working_day_before(cal: workdays.WorkCalendar, day: dt.date, n: int) -> dt.date:
    while n:
        day -= dt.timedelta(days=1)
        if cal.is_workday(day):
            n -= 1
    return day


def _open_start(cal: workdays.WorkCalendar, today: dt.date) -> dt.date | None:
    """A start whose period is open today: two working days ago (today on a day off), or
    earlier when that period would reach into a year that is not loaded."""
    if not cal.is_loaded(today.year):
        return None
    day = _working_day_before(cal, today, 2) if cal.is_workday(today) else today
    while True:
        try:
            period = workdays.publicity_period(cal, day, 5)
        except workdays.YearNotLoaded:
            day -= dt.timedelta(days=1)
            continue
        return day if period.end >= today else None


def _computable_start(cal: workdays.WorkCalendar, today: dt.date,
                      preferred: dt.date) -> dt.date | None:
    """PREFERRED, or the latest day after today before it, whose five-working-day period lies
    in loaded years (near the end of the last loaded year there may be none)."""
    day = preferred
    while day > today:
        try:
            workdays.publicity_period(cal, day, 5)
        except workdays.YearNotLoaded:
            day -= dt.timedelta(days=1)
        else:
            return day
    return None


def _past(cal: workdays.WorkCalendar, today: dt.date, days: int) -> dt.date:
    """A date about `days` ago in a loaded year (else in the last loaded year)."""
    day = today - dt.timedelta(days=days)
    while not cal.is_loaded(day.year):
        day = dt.date(day.year - 1, 9, 1)
    return day


def _term(db: Session, cal: workdays.WorkCalendar, today: dt.date) -> str:
    """The term covering today, or a five-year demo term covering every demo date (from the
    earliest meeting, about 160 days ago, to beyond the last draft), between other terms."""
    existing = compliance.term_on(db, today)
    if existing is not None:
        return existing.name
    earliest = _past(cal, today, 150) - dt.timedelta(days=7)
    starts = dt.date(earliest.year if earliest.month >= 9 else earliest.year - 1, 9, 1)
    ends = max(dt.date(starts.year + 5, 8, 31), today + dt.timedelta(days=60))
    for other in compliance.terms(db):  # an administrator's terms before or after today
        if other.ends_on < today:
            starts = max(starts, other.ends_on + dt.timedelta(days=1))
        elif other.starts_on > today:
            ends = min(ends, other.starts_on - dt.timedelta(days=1))
    taken = {t.name for t in compliance.terms(db)}
    name = TERM if TERM not in taken else f"{TERM}（示例）"
    return compliance.save_term(db, None, name, starts, ends, TERM_POSTS, audit.CLI).name


def _nominee(person: PersonInput, **facts: object) -> dict[str, object]:
    """A nominee in the import format who passes every rule unless `facts` say otherwise:
    nominated by the department, 82.5% of the votes, passed inspection, approved; a 破格
    promotion carries the prefecture's review."""
    nominee: dict[str, object] = {
        "cadre_id": person.cadre_id, "name": person.name, "proposed_post": person.proposed_post,
        "nominated_by": "org_department", "reserve_pool": True, "vote_share": "82.5",
        "inspection": "passed", "decision": "approved"}
    if person.exceptional_circumstance:
        nominee["flags"] = ["exceptional"]
    if _important(person.proposed_post):  # rule 10: the full committee's secret ballot
        nominee.update(important_post=True, ballot=BALLOT)
    return {**nominee, **facts}


def _important(post: str) -> bool:
    """A 乡镇 or 县直部门 党政正职 (a principal post, not a deputy's)."""
    return "副" not in post and post.endswith(("局长", "党委书记"))


def _record(db: Session, notice: Notice, term: str, nominees: list[dict[str, object]],
            author: audit.Actor, present: int = 10, kind: str = "partial") -> None:
    """Record the batch (decided by the standing committee a week before the period) through
    the same validation as the editor's form and the import."""
    day = (notice.requested_start - dt.timedelta(days=7)).isoformat()
    raw: dict[str, object] = {
        "batch_kind": kind, "term": term, "nominees": nominees,
        "meeting": {"body": "standing", "date": day, "members_in_office": 11,
                    "members_present": present}}
    if any(n.get("important_post") for n in nominees):  # the full committee, the same day
        raw["ballot"] = {"date": day, "members_in_office": FULL_COMMITTEE,
                         "members_present": BALLOT_PRESENT}
    record = parse_record(raw, compliance.term_spans(db), promotions_without_approval=(
        compliance.settings(db).thresholds.promotions_without_approval))
    compliance.save_record(db, notice.id, record, author)


def _clean(notice: Notice, data: NoticeInput) -> list[dict[str, object]]:
    year = notice.requested_start.year
    return [_nominee(p, prefecture_review_ref=PREFECTURE_REVIEW.format(year=year))
            if p.exceptional_circumstance else _nominee(p) for p in data.persons]


def _draft(db: Session, data: NoticeInput, author: audit.Actor, term: str,
           extra: tuple[dict[str, object], ...] = (), kind: str = "partial") -> Notice:
    """A draft with a clean record by its author (who may therefore not approve it)."""
    notice = service.create_draft(db, data, author)
    _record(db, notice, term, [*_clean(notice, data), *extra], author, kind=kind)
    return notice


def _publish(db: Session, data: NoticeInput, author: audit.Actor, approver: audit.Actor,
             term: str, extra: tuple[dict[str, object], ...] = (), kind: str = "partial"
             ) -> Notice:
    notice = _draft(db, data, author, term, extra, kind)
    # Approved as of its start date, as if the approval had happened then.
    return service.approve_notice(db, notice.id, approver, data.period_start)


def load(db: Session) -> list[str]:
    """Create the demo notices once; return lines describing what was made."""
    editor1, editor2 = _actor(db, "editor1"), _actor(db, "editor2")
    if db.scalar(select(Notice.id).where(Notice.created_by == editor1.id).limit(1)) is not None:
        return []  # already loaded
    cal = workdays.load_calendar(db)
    today = clock.today()
    term = _term(db, cal, today)
    lines = []
    third = [
        _person("陈建国", "男", "1978-03", "示例县交通运输局副局长", "示例县交通运输局局长",
                cadre_id="DEMO-0001"),
        _person("林晓红", "女", "1985-11", "示例县青山镇党委副书记", "示例县青山镇党委书记",
                cadre_id="DEMO-0002"),
    ]
    # The numbered batches are batch adjustments (批量调整, two a term), the others partial
    # decisions (at most five a year: both drafts can still be approved). Everyone considered
    # is recorded, published or not: one was not made a candidate.
    not_candidate: dict[str, object] = {
        "cadre_id": "DEMO-0010", "name": "吴志强", "proposed_post": "示例县交通运输局局长",
        "nominated_by": "org_department", "vote_share": "38", "inspection": "not_inspected",
        "decision": "not_submitted"}
    closed = _publish(db, _notice("中共示例县委组织部干部任前公示（第3批）",
                                  _past(cal, today, 70), third), editor1, editor2, term,
                      (not_candidate,), kind="batch")
    appointed = closed.persons[0]
    service.set_outcome(db, appointed.id, "appointed", editor1, today)
    data = _notice("中共示例县委组织部干部任前公示（第3批）", closed.requested_start, third)
    data = replace(data, visit_address=CHANNELS["visit_address"] + "（工作日）")
    change = service.propose_correction(db, closed.id, data, "来访时间补充说明为工作日。", editor1)
    service.approve_change(db, change.id, editor2, closed.period_end or today)
    lines.append(f"closed notice #{closed.id} (with a correction)")

    withdrawn = _publish(db, _notice("中共示例县委组织部干部任前公示（第2批）",
                                     _past(cal, today, 150), [
        _person("周海峰", "男", "1981-07", "示例县财政局副局长", "示例县审计局局长",
                cadre_id="DEMO-0003"),
    ]), editor1, editor2, term, kind="batch")
    change = service.propose_withdrawal(db, withdrawn.id, "拟任职务调整，本批公示撤销，另行公示。",
                                        editor2)
    service.approve_change(db, change.id, editor1, withdrawn.period_start or today)
    lines.append(f"withdrawn notice #{withdrawn.id}")

    start = _open_start(cal, today)
    if start is None:
        lines.append("no open notice: no five working days around today are in loaded years")
    else:
        open_notice = _publish(db, _notice("中共示例县委组织部干部任前公示", start, [
            _person("王立新", "男", "1980-05", "示例县青山镇党委副书记、镇长",
                    "示例县青山镇党委书记", cadre_id="DEMO-0004"),
            _person("李春燕", "女", "1988-09", "示例县教育局办公室主任", "示例县教育局副局长",
                    ("任职年限破格",
                     "在乡村教育振兴工作中实绩突出，经县委常委会研究同意破格提拔。"),
                    cadre_id="DEMO-0005"),
        ]), editor1, editor2, term)
        lines.append(f"open notice #{open_notice.id}")
    later = _computable_start(cal, today, today + dt.timedelta(days=10))
    if later is None:
        lines.append("no scheduled notice: the days after today are not in a loaded year")
    else:
        scheduled = _draft(db, _notice("中共示例县委组织部干部任前公示（下一批）", later, [
            _person("赵明", "男", "1983-02", "示例县农业农村局副局长", "示例县水利局局长",
                    cadre_id="DEMO-0006"),
        ]), editor1, term)
        service.approve_notice(db, scheduled.id, editor2, today)
        lines.append(f"scheduled notice #{scheduled.id}")
    start = _computable_start(cal, today, today + dt.timedelta(days=20))
    draft = _draft(db, _notice("中共示例县委组织部干部任前公示（草稿）",
                               start or today + dt.timedelta(days=20), [
        _person("孙丽", "女", "1986-04", "示例县文化和旅游局副局长", "示例县文化和旅游局局长",
                cadre_id="DEMO-0007"),
    ]), editor1, term)
    if start is not None:
        lines.append(f"draft #{draft.id} (editor1 wrote it and recorded a clean compliance "
                     "record; log in as editor2 to approve it)")
    else:
        year = next(y for y in range(today.year, today.year + 2) if not cal.is_loaded(y))
        lines.append(f"draft #{draft.id} (editor1 wrote it and recorded a clean compliance "
                     f"record; editor2 can approve it once the {year} holiday schedule is "
                     "imported: calendar import FILE)")
    blocked = _blocked(db, today, editor1, term)
    lines.append(f"draft #{blocked.id} trips rules 1, 2, 4, 8, 9 (approval is refused): log in "
                 "as editor2 to see the checks, as orghead to override them, as editor1 to fix "
                 "the record")
    return lines


def _blocked(db: Session, today: dt.date, author: audit.Actor, term: str) -> Notice:
    """A draft whose record breaks rules 1, 2, 4, 8 and 9."""
    persons = [
        _person("刘洋", "男", "1990-06", "示例县发展和改革局科员", "示例县发展和改革局副局长",
                ("任职年限破格", "在招商引资工作中表现突出。"), cadre_id="DEMO-0008"),
        _person("何静", "女", "1987-12", "示例县县委办公室秘书科科长",
                "示例县县委办公室副主任", cadre_id="DEMO-0009"),
    ]
    notice = service.create_draft(db, _notice("中共示例县委组织部干部任前公示（待合规审查）",
                                              today + dt.timedelta(days=25), persons), author)
    _record(db, notice, term, [
        # Rule 2: 45% of the votes; rule 8: a 破格 promotion with no prefecture review.
        _nominee(persons[0], vote_share="45"),
        # Rule 4: a leader nominated his spouse (rule 8 again: a leader's relative, not
        # reviewed); rule 9: the 人大 objected, yet she was put to the decision.
        _nominee(persons[1], nominated_by="individual", nominator="示例县委副书记某某",
                 relationship="spouse", reserve_pool=False, flags=["relative_of_leader"],
                 consultation_objections=["npc"]),
    ], author, present=6)  # rule 1: 6 of 11 members present
    return notice
