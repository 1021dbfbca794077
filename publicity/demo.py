"""Demo notices for `portal demo`: open, scheduled, closed, corrected and withdrawn ones.

Dates are chosen so their periods can be computed: around today when this year's schedule is
loaded, otherwise within the last loaded year (then nothing is open).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit, clock, workdays
from portal.models import StaffUser
from publicity import service
from publicity.models import Notice
from publicity.validation import NoticeInput, PersonInput

ISSUER = "中共示例县委组织部"
CHANNELS = {
    "phone": "0000-12380",
    "letter_address": "示例县人民路1号 县委组织部干部监督科（邮编000000）",
    "visit_address": "示例县人民路1号 县委组织部308室",
}


def _person(name: str, gender: str, birth: str, current: str, proposed: str,
            exceptional: tuple[str, str] | None = None) -> PersonInput:
    return PersonInput(
        name=name, gender=gender, ethnicity="汉族", birth=birth, native_place="示例省示例县",
        education="大学本科，管理学学士", work_start=f"{int(birth[:4]) + 22}-07",
        party=f"{int(birth[:4]) + 21}-06", current_post=current, proposed_post=proposed,
        exceptional_circumstance=exceptional[0] if exceptional else None,
        exceptional_reason=exceptional[1] if exceptional else None,
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


def _past(cal: workdays.WorkCalendar, today: dt.date, days: int) -> dt.date:
    """A date about `days` ago in a loaded year (else in the last loaded year)."""
    day = today - dt.timedelta(days=days)
    while not cal.is_loaded(day.year):
        day = dt.date(day.year - 1, 9, 1)
    return day


def _publish(db: Session, data: NoticeInput, author: audit.Actor, approver: audit.Actor
             ) -> Notice:
    notice = service.create_draft(db, data, author)
    # Approved as of its start date, as if the approval had happened then.
    return service.approve_notice(db, notice.id, approver, data.period_start)


def load(db: Session) -> list[str]:
    """Create the demo notices once; return lines describing what was made."""
    editor1, editor2 = _actor(db, "editor1"), _actor(db, "editor2")
    if db.scalar(select(Notice.id).where(Notice.created_by == editor1.id).limit(1)) is not None:
        return []  # already loaded
    cal = workdays.load_calendar(db)
    today = clock.today()
    lines = []
    closed = _publish(db, _notice("中共示例县委组织部干部任前公示（第3批）",
                                  _past(cal, today, 70), [
        _person("陈建国", "男", "1978-03", "示例县交通运输局副局长", "示例县交通运输局局长"),
        _person("林晓红", "女", "1985-11", "示例县青山镇党委副书记", "示例县青山镇党委书记"),
    ]), editor1, editor2)
    appointed = closed.persons[0]
    service.set_outcome(db, appointed.id, "appointed", editor1, today)
    data = _notice("中共示例县委组织部干部任前公示（第3批）", closed.requested_start, [
        _person("陈建国", "男", "1978-03", "示例县交通运输局副局长", "示例县交通运输局局长"),
        _person("林晓红", "女", "1985-11", "示例县青山镇党委副书记", "示例县青山镇党委书记"),
    ])
    data = replace(data, visit_address=CHANNELS["visit_address"] + "（工作日）")
    change = service.propose_correction(db, closed.id, data, "来访时间补充说明为工作日。", editor1)
    service.approve_change(db, change.id, editor2, closed.period_end or today)
    lines.append(f"closed notice #{closed.id} (with a correction)")

    withdrawn = _publish(db, _notice("中共示例县委组织部干部任前公示（第2批）",
                                     _past(cal, today, 150), [
        _person("周海峰", "男", "1981-07", "示例县财政局副局长", "示例县审计局局长"),
    ]), editor1, editor2)
    change = service.propose_withdrawal(db, withdrawn.id, "拟任职务调整，本批公示撤销，另行公示。",
                                        editor2)
    service.approve_change(db, change.id, editor1, withdrawn.period_start or today)
    lines.append(f"withdrawn notice #{withdrawn.id}")

    try:
        start = _working_day_before(cal, today, 2) if cal.is_workday(today) else today
        open_notice = _publish(db, _notice("中共示例县委组织部干部任前公示", start, [
            _person("王立新", "男", "1980-05", "示例县青山镇党委副书记、镇长",
                    "示例县青山镇党委书记"),
            _person("李春燕", "女", "1988-09", "示例县教育局办公室主任", "示例县教育局副局长",
                    ("任职年限破格",
                     "在乡村教育振兴工作中实绩突出，经县委常委会研究同意破格提拔。")),
        ]), editor1, editor2)
        lines.append(f"open notice #{open_notice.id}")
        later = today + dt.timedelta(days=10)
        scheduled = service.create_draft(db, _notice("中共示例县委组织部干部任前公示（下一批）",
                                                     later, [
            _person("赵明", "男", "1983-02", "示例县农业农村局副局长", "示例县水利局局长"),
        ]), editor1)
        service.approve_notice(db, scheduled.id, editor2, today)
        lines.append(f"scheduled notice #{scheduled.id}")
    except (workdays.YearNotLoaded, service.PublicityError):
        lines.append("no open notice: this year's holiday schedule is not loaded")
    draft = service.create_draft(db, _notice("中共示例县委组织部干部任前公示（草稿）",
                                             today + dt.timedelta(days=20), [
        _person("孙丽", "女", "1986-04", "示例县文化和旅游局副局长", "示例县文化和旅游局局长"),
    ]), editor1)
    lines.append(f"draft #{draft.id} (editor1 wrote it; log in as editor2 to approve it)")
    return lines
