"""Demo cases for `portal demo`: a living queue — cases in every state, some due soon, some
overdue — filed and registered through intake's service functions and handled through
casework's, by the demo accounts. Runs after casework's demo loader has keyed the queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from casework import deadlines, queues, workflow
from casework.models import Case, CaseDeadline, Category, Channel, DeadlineKind
from intake import service as intake
from portal import accounts, audit, clock, crypto, workdays
from portal.db import transaction
from portal.models import StaffUser
from publicity.models import Notice, NoticePerson, NoticeStatus

FACTS = {
    "selection": "据反映，{name}在本次干部推荐过程中，多次私下联系参会人员，请托在民主推荐中"
                 "给予支持，并承诺事后给予关照。相关情况发生在推荐会议前一周。",
    "discipline": "{name}在负责项目验收期间，接受施工单位安排的宴请和购物卡，"
                  "金额约数千元，时间为今年上半年。",
    "objection": "对公示对象{name}有异议：其档案中的参加工作时间与本人实际经历不一致，"
                 "建议组织核实。",
}
FINDINGS = ("substantiated", "partly", "unsubstantiated", "unverifiable", "partly")
NAMES = ("王建国", "刘志强", "陈海燕", "赵明", "孙立新", "周红", "吴国庆", "郑伟", "冯晓东",
         "褚建华", "卫东升", "蒋平")


def load(db: Session) -> list[str]:
    """Add demo cases, once, when the demo accounts exist and the calendar covers them."""
    if db.scalar(select(Case.id).limit(1)) is not None or not _has_demo_staff(db):
        return []
    lines = [f"{_cases(db)} demo cases in every state"]
    # The cases run back about four months; in a year whose schedule is not loaded their
    # deadlines are counted on weekdays and shown as provisional, as for any case.
    today = clock.today()
    cal = workdays.load_calendar(db)
    missing = [y for y in (today.year - 1, today.year) if not cal.is_loaded(y)]
    if missing:
        lines.append(f"deadlines in {missing[-1]} are provisional: its holiday schedule is not "
                     f"loaded (calendar import FILE)")
    return lines


def _has_demo_staff(db: Session) -> bool:
    names = set(db.scalars(select(StaffUser.username).where(StaffUser.is_demo)))
    return {"orghandler", "orghead", "dichandler", "dichead"} <= names


def _login(db: Session, username: str) -> accounts.CurrentStaff:
    cookie = accounts.login(db, username, accounts.DEMO_PASSPHRASE,
                            accounts.demo_totp_code(db, username))
    staff = accounts.load_session(db, cookie)
    if staff is None:  # pragma: no cover - a demo account that cannot log in is a bug
        raise RuntimeError(f"demo login failed: {username}")
    return staff


def _file(db: Session, code: str, n: int, *, real_name: bool = False,
          channel: Channel = Channel.web, objection: tuple[int, int] | None = None,
          received: dt.date) -> Case:
    """File a demo report as a reporter would, then date it back to `received`."""
    category_id = db.scalar(select(Category.id).where(Category.code == code))
    name = NAMES[n % len(NAMES)]
    report = intake.ReportInput(
        category_id=int(category_id or 0), facts=FACTS[code].format(name=name),
        persons=() if objection else (intake.Person(name=name, unit="示例县某局", post="副局长"),),
        identity=intake.Identity("示例举报人", "1380000" + f"{n:04d}") if real_name else None,
        objection=objection, channel=channel)
    if channel == Channel.web:
        intake.file_report(db, report, [], crypto.random_token(24))  # receipt not kept
        case = db.scalar(select(Case).order_by(Case.id.desc()).limit(1))
    else:
        queue = queues.queue_by_slug(db, queues.ORG)  # the organization department took it
        number, _ = intake.register_report(db, _actor(db, "orghandler"), queue, report,
                                           [], crypto.random_token(24), False)
        case = db.scalar(select(Case).where(Case.case_no == number))
    if case is None:  # pragma: no cover
        raise RuntimeError("demo case was not filed")
    with transaction(db):
        db.refresh(case)
        case.received_on = received
        case.received_at = dt.datetime.combine(received, dt.time(2), dt.UTC)
        db.execute(delete(CaseDeadline).where(CaseDeadline.case_id == case.id))
        cal = workdays.load_calendar(db)
        deadlines.start(db, case, DeadlineKind.decision, received, case.queue.decision_days, cal)
        if case.real_name:
            deadlines.start(db, case, DeadlineKind.acceptance_notice, received,
                            case.queue.notice_days, cal)
        deadlines.refresh(db, case)
    return case


def _actor(db: Session, username: str) -> audit.Actor:
    user_id = db.scalar(select(StaffUser.id).where(StaffUser.username == username))
    return audit.Actor(username, user_id)


def _open_person(db: Session) -> tuple[int, int] | None:
    for person in db.scalars(select(NoticePerson).join(Notice)
                             .where(Notice.status == NoticeStatus.approved)):
        if intake.open_objection(db, person.notice_id, person.id) is not None:
            return person.notice_id, person.id
    return None


def _cases(db: Session) -> int:
    today = clock.today()
    cal = workdays.load_calendar(db)

    def ago(n: int) -> dt.date:
        day = today
        while n:
            day -= dt.timedelta(days=1)
            n -= cal.status(day)[0]  # provisional (weekdays) in a year not loaded
        return day

    staff = {u: _login(db, u) for u in ("orghandler", "orghead", "dichandler", "dichead")}

    def run(user: str, action: Callable[..., object], case: Case, *args: object) -> None:
        db.refresh(case)
        action(db, staff[user], case.case_no, case.version, *args)

    made = 0
    # Organization department.
    _file(db, "selection", 0, real_name=True, received=today)
    _file(db, "selection", 1, received=ago(18))  # overdue: no decision after 18 working days
    c = _file(db, "selection", 2, received=ago(13))  # due soon
    run("orghead", workflow.assign, c, staff["orghandler"].user_id)
    c = _file(db, "selection", 3, real_name=True, received=ago(70))
    run("orghandler", workflow.accept, c, "核查", ago(65))
    run("orghead", workflow.assign, c, staff["orghandler"].user_id)
    run("orghandler", workflow.note, c, "已调取推荐会议记录，拟约谈相关参会人员。")
    c = _file(db, "selection", 4, real_name=True, received=ago(40))
    run("orghandler", workflow.accept, c, "函询", ago(38))
    run("orghandler", workflow.conclude, c, "partly", "经核查，反映的问题部分属实，已责成相关单位"
        "整改，并对当事人进行了批评教育。", ago(5))
    c = _file(db, "selection", 5, received=ago(60))
    run("orghandler", workflow.accept, c, "核查", ago(58))
    run("orghandler", workflow.conclude, c, "unsubstantiated", "经核查，反映的问题不属实。",
        ago(20))
    run("orghandler", workflow.close, c, ago(19))
    c = _file(db, "selection", 6, received=ago(10))
    run("orghandler", workflow.refuse, c, "no-substance", "您反映的情况缺少具体事实，"
        "请补充时间、地点和具体经过后再次反映。", ago(8))
    c = _file(db, "discipline", 7, channel=Channel.phone, received=ago(3))
    run("orghead", workflow.transfer, c, _queue_id(db, queues.DIC),
        "属于违纪问题，移送纪委监委。", ago(1))
    person = _open_person(db)
    if person is not None:
        _file(db, "objection", 8, objection=person, received=today)
        made += 1
    # Discipline inspection commission.
    c = _file(db, "discipline", 9, real_name=True, received=ago(25))
    run("dichandler", workflow.accept, c, "初步核实", ago(20))
    run("dichandler", workflow.message, c, "您的举报已受理，我们正在核实，请耐心等待。")
    c = _file(db, "discipline", 10, received=ago(30))
    run("dichead", workflow.transfer_outside, c, "县人民法院", "属于诉讼程序处理的事项。",
        ago(28))
    _file(db, "discipline", 11, received=ago(14))  # due tomorrow
    _withdrawn(db)
    made += 12
    # Earlier in the year: finished cases, so the supervision dashboard has a history.
    for n in range(16):
        org = n % 3 != 0
        code, handler = ("selection", "orghandler") if org else ("discipline", "dichandler")
        received = ago(60 + 11 * n)
        c = _file(db, code, 12 + n, real_name=n % 4 == 0, received=received)
        decided = received + dt.timedelta(days=2 + n % 9)
        if n % 5 == 4:
            run(handler, workflow.refuse, c, "out-of-scope", "您反映的问题不属于本机关受理范围，"
                "请向有关部门反映。", decided)
            continue
        run(handler, workflow.accept, c, queues.dispositions(c.queue)[n % 2]["zh"], decided)
        run(handler, workflow.take, c)
        concluded = decided + dt.timedelta(days=25 + 4 * n)
        if concluded >= today:
            continue
        run(handler, workflow.conclude, c, FINDINGS[n % len(FINDINGS)], "经核查，已依规处理。",
            concluded)
        if c.real_name:
            told = min(today, concluded + dt.timedelta(days=3 + n % 10))
            run(handler, workflow.record_feedback, c, "acceptance_notice", "phone", decided,
                told)
            run(handler, workflow.record_feedback, c, "result_notice", "letter", told, told)
        if n % 2 == 0:
            run(handler, workflow.close, c, concluded)
        made += 1
    for member in staff.values():
        accounts.logout(db, member)
    return made


def _withdrawn(db: Session) -> None:
    """A report its reporter withdrew, through the reporter's own session."""
    category_id = db.scalar(select(Category.id).where(Category.code == "discipline"))
    receipt = intake.file_report(db, intake.ReportInput(
        category_id=int(category_id or 0), facts=FACTS["discipline"].format(name="某某"),
        persons=(intake.Person(name="某某"),)), [], crypto.random_token(24))
    reporter = intake.load_session(db, intake.open_session(db, receipt))
    if reporter is not None:
        intake.withdraw(db, reporter)
        intake.end_session(db, reporter)


def _queue_id(db: Session, slug: str) -> int:
    return queues.queue_by_slug(db, slug).id
