"""Casework end to end (PRODUCT.md, "Casework"): a queue member's actions through the staff
pages, what the reporter reads with the receipt at each step, the audit trail, and refusals that
change nothing. Every test runs on SQLite and on the real PostgreSQL.

Deadlines are checked against working days listed by hand from the State Council schedules
(2026 from the chinesecalendar package; 2027 from a test import), never against the product's
own counting.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import chinese_calendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from casework import content, deadlines, people, queries, queues, workflow
from casework import service as casework
from casework.messages import CASE_ERRORS
from casework.messages import STATE_LABELS as STAFF_LABELS
from casework.models import (
    NO_DUE,
    Case,
    CaseDeadline,
    CaseEntry,
    CaseEvent,
    CaseFeedback,
    CaseState,
    CaseTransfer,
    Category,
    DeadlineKind,
    DeadlineState,
    EntryKind,
    EvidenceFile,
    Queue,
    QueueEpoch,
)
from intake import receipts
from intake import service as intake
from intake.messages import STATE_LABELS as REPORTER_LABELS
from portal import accounts, audit, crypto, db
from portal.access import STAFF_COOKIE, STAFF_COOKIE_PATH
from portal.models import AuditEntry, CalendarDay, StaffUser
from publicity.models import NoticePerson, Outcome
from tests.conftest import AuthActions, StaffMember
from tests.intake_support import (
    Desk,
    csrf_of,
    make_desk,
    open_reporter,
    post_multipart,
    post_report,
    receipt_of,
)
from tests.integration.test_calendar_cli import SCHEDULE_2027
from tests.integration.test_publicity import at, editors, notice_input  # noqa: F401
from tests.integration.test_publicity import publish as publish  # noqa: F401

S = CaseState
NOTE = "NOTE-内部意见-仅限承办人"
MESSAGE = "MSG-请补充转账的具体时间和金额"
ANSWER = "ANSWER-经核查，反映的问题部分属实，已责成整改"
FACTS = "FACTS-2026年3月在会议室私下许诺提拔，收受购物卡。"


# --- the team and its clients -----------------------------------------------------------------


@dataclass
class Team:
    """Both default queues keyed: a handler each, two organization heads, a commission head."""

    app: Flask
    desk: Desk
    head: StaffMember
    head2: StaffMember
    dichead: StaffMember

    @property
    def org(self) -> StaffMember:
        return self.desk.org

    @property
    def dic(self) -> StaffMember:
        return self.desk.dic


@pytest.fixture
def team(app: Flask, make_staff) -> Iterator[Team]:
    """Two org heads, a dic head, and a handler per queue, all holding their queue's key.

    After the test, every case's list urgency still follows its clocks."""
    yield make_team(app, make_staff)
    urgency_follows_clocks(app)


def urgency_follows_clocks(app: Flask) -> None:
    """The queue list's sort key is the most urgent clock's ordinal, or NO_DUE without one."""
    with app.app_context():
        rows = db.session().execute(
            select(Case.case_no, Case.next_due_ordinal, Case.urgency)).all()
    assert [r for r in rows if r.urgency != (
        NO_DUE if r.next_due_ordinal is None else r.next_due_ordinal)] == []


def make_team(app: Flask, make_staff) -> Team:  # noqa: ANN001
    """The `team` fixture's work (other test modules build their own fixture from it)."""
    # Heads first, so that `queues init` seals the queue keys to them too.
    head = make_staff("orghead", "org_head")
    head2 = make_staff("orghead2", "org_head")
    dichead = make_staff("dichead", "dic_head")
    return Team(app, make_desk(app, make_staff), head, head2, dichead)


def login(app: Flask, member: StaffMember) -> FlaskClient:
    """A fresh client logged in as a member."""
    client = app.test_client()
    assert AuthActions(client).login(member).status_code == 303
    return client


def staff_of(app: Flask, client: FlaskClient) -> accounts.CurrentStaff:
    """The CurrentStaff of a logged-in client (for service-level calls), without a new login."""
    cookie = client.get_cookie(STAFF_COOKIE, path=STAFF_COOKIE_PATH)
    assert cookie is not None
    with app.app_context():
        staff = accounts.load_session(db.session(), cookie.value)
    assert staff is not None
    return staff


PREFIX = {"take": "plain", "close": "plain", "suspend": "plain", "export": "plain"}


def case_page(client: FlaskClient, case_no: str) -> str:
    response = client.get(f"/staff/cases/{case_no}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def act(client: FlaskClient, case_no: str, action: str, **fields: object) -> TestResponse:
    """POST one action as the case page offers it: the page's CSRF token and case version, and
    the form's fields under the action's prefix. `version=` overrides the version read."""
    prefix = PREFIX.get(action, action)
    page = case_page(client, case_no)
    token = re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', page)
    version = (re.search(rf'name="{prefix}-version"[^>]*value="(\d+)"', page)
               or re.search(r'name="\w+-version"[^>]*value="(\d+)"', page))
    assert token, page[:3000]
    assert version, page[:3000]
    data = {f"{prefix}-csrf_token": token.group(1), f"{prefix}-version": version.group(1)}
    data.update({f"{prefix}-{key}": str(value) for key, value in fields.items()})
    return client.post(f"/staff/cases/{case_no}/{action}", data=data)


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def label(app: Flask, labels: Mapping[str, Any], key: str) -> str:
    """A label as the pages render it (default language, HTML-escaped)."""
    with app.test_request_context("/"):
        return str(escape(str(labels[key])))


def error_message(app: Flask, code: str) -> str:
    with app.test_request_context("/"):
        return str(escape(str(CASE_ERRORS[code][0])))


def shows_error(app: Flask, page: str, code: str) -> bool:
    return f'role="alert">{error_message(app, code)}</p>' in page


# --- the reporter -------------------------------------------------------------------------------


def file_web(team: Team, client: FlaskClient, code: str = "selection", name: str = "王五",
             facts: str = FACTS, real: tuple[str, str] | None = None,
             query: str = "") -> tuple[str, str]:
    """File through the public form; returns (receipt, case number)."""
    data: dict[str, object] = {"category": str(team.desk.category_id(code)), "facts": facts}
    if name:
        data["persons-0-name"] = name
    if real:
        data.update(real_name="y", reporter_name=real[0], reporter_phone=real[1])
    status, page = post_report(client, data, query=query)
    assert status == 200, page[:2000]
    receipt = receipt_of(page)
    return receipt, case_no_of(team.app, receipt)


def file_direct(app: Flask, code: str, name: str, real: bool = False,
                facts: str = FACTS) -> tuple[str, str]:
    """File through the intake service (no form, no rate limit); returns (receipt, number)."""
    with app.app_context():
        session = db.session()
        category = session.scalar(select(Category.id).where(Category.code == code))
        receipt = intake.file_report(session, intake.ReportInput(
            category_id=int(category), facts=facts,
            persons=(intake.Person(name),) if name else (),
            identity=intake.Identity("李实名", "13700000000") if real else None),
            [], secrets.token_hex(16))
    return receipt, case_no_of(app, receipt)


def case_no_of(app: Flask, receipt: str) -> str:
    with app.app_context():
        number = db.session().scalar(select(Case.case_no).where(
            Case.receipt_lookup == receipts.lookup(receipt)))
    assert number
    return str(number)


def reporter_page(app: Flask, client: FlaskClient, state: str, shown: Iterable[str] = (),
                  hidden: Iterable[str] = ()) -> str:
    """The reporter's page (session already open): the state label and what is (not) on it."""
    response = client.get("/report/case")
    assert response.status_code == 200
    page = text_of(response)
    assert f"<strong>{label(app, REPORTER_LABELS, state)}</strong>" in page, state
    for text in shown:
        assert text in page, text
    for text in hidden:
        assert text not in page, text
    return page


# --- reading the database -----------------------------------------------------------------------


def row(app: Flask, case_no: str) -> SimpleNamespace:
    """The case row's columns."""
    with app.app_context():
        case = db.session().scalar(select(Case).where(Case.case_no == case_no))
        assert case is not None
        return SimpleNamespace(**{c.key: getattr(case, c.key) for c in Case.__table__.columns})


def clocks(app: Flask, case_no: str, kind: str | None = None) -> list[SimpleNamespace]:
    """The case's deadlines in the order they started."""
    with app.app_context():
        session = db.session()
        case_id = session.scalar(select(Case.id).where(Case.case_no == case_no))
        query = select(CaseDeadline).where(CaseDeadline.case_id == case_id)
        if kind:
            query = query.where(CaseDeadline.kind == kind)
        columns = CaseDeadline.__table__.columns
        return [SimpleNamespace(**{c.key: getattr(d, c.key) for c in columns})
                for d in session.scalars(query.order_by(CaseDeadline.id))]


def audit_actions(app: Flask, case_no: str) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEntry.action).where(
            AuditEntry.target == case_no).order_by(AuditEntry.seq)))


def snapshot(app: Flask, case_no: str) -> dict[str, object]:
    """Everything an action may write about a case (page views aside)."""
    with app.app_context():
        session = db.session()
        case = session.scalar(select(Case).where(Case.case_no == case_no))
        assert case is not None

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model)
                                      .where(model.case_id == case.id)))

        return {
            "case": {c.key: getattr(case, c.key) for c in Case.__table__.columns
                     if c.key != "unread_replies"},
            "entries": count(CaseEntry), "events": count(CaseEvent),
            "feedback": count(CaseFeedback), "transfers": count(CaseTransfer),
            "clocks": [(d.id, d.kind, d.state, d.due_on, d.extended_days, d.queue_id)
                       for d in session.scalars(select(CaseDeadline).where(
                           CaseDeadline.case_id == case.id).order_by(CaseDeadline.id))],
            "audit": list(session.scalars(select(AuditEntry.action).where(
                AuditEntry.target == case_no, AuditEntry.action != "case.viewed")
                .order_by(AuditEntry.seq))),
        }


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return int(db.session().scalar(select(StaffUser.id).where(
            StaffUser.username == username)))


def queue_id(app: Flask, slug: str) -> int:
    with app.app_context():
        return int(db.session().scalar(select(Queue.id).where(Queue.slug == slug)))


def entries_of(app: Flask, case_no: str, kind: str) -> int:
    with app.app_context():
        session = db.session()
        case_id = session.scalar(select(Case.id).where(Case.case_no == case_no))
        return int(session.scalar(select(func.count()).select_from(CaseEntry).where(
            CaseEntry.case_id == case_id, CaseEntry.kind == kind)))


def workdays_after(start: dt.date, n: int, holidays: Iterable[dt.date] = (),
                   workdays: Iterable[dt.date] = ()) -> dt.date:
    """An independent count (2026 from chinesecalendar, later years by weekday, minus the given
    holidays, plus the given 调休 workdays): the n-th working day after `start`."""
    off, on = set(holidays), set(workdays)
    day = start
    while n:
        day += dt.timedelta(days=1)
        if day.year <= 2026:
            working = chinese_calendar.is_workday(day)
        else:
            working = day in on or (day.weekday() < 5 and day not in off)
        n -= working
    return day


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- 1. a real-name case from acceptance to the archive ------------------------------------------


DAY = dt.date(2026, 11, 27)


def test_real_name_case_from_acceptance_to_archive(team: Team) -> None:
    app = team.app
    with at(DAY):
        reporter = app.test_client()
        receipt, no = file_web(team, reporter, real=("李实名", "13900001111"))
        status, page = open_reporter(reporter, receipt)
        assert status == 200
        reporter_page(app, reporter, S.received, shown=[FACTS], hidden=["13900001111"])

        head, handler = login(app, team.head), login(app, team.org)
        page = case_page(head, no)
        assert FACTS in page
        # The identity is sealed apart: not on the page until an audited reveal.
        assert "李实名" not in page
        assert "13900001111" not in page
        assert 'name="reveal-reason"' in page
        assert audit_actions(app, no)[-1] == "case.viewed"

        # A reveal needs a reason: without one, nothing is opened and nothing is recorded.
        before = snapshot(app, no)
        refused = act(head, no, "reveal", reason="")
        assert refused.status_code == 400
        assert "李实名" not in text_of(refused)
        assert snapshot(app, no) == before

        assert act(head, no, "accept", disposition="核查").status_code == 303
        accepted = row(app, no)
        assert (accepted.state, accepted.disposition, accepted.accepted_on) == (
            S.accepted, "核查", DAY)
        reporter_page(app, reporter, S.accepted)

        # The reporter was told the decision by telephone.
        assert act(head, no, "feedback", kind="acceptance_notice", channel="phone",
                   given_on=DAY.isoformat()).status_code == 303
        [notice_clock] = clocks(app, no, DeadlineKind.acceptance_notice)
        assert (notice_clock.state, notice_clock.met_on) == (DeadlineState.met, DAY)

        assert act(handler, no, "take").status_code == 303
        taken = row(app, no)
        assert (taken.state, taken.assignee_id) == (S.in_progress, user_id(app, "orghandler"))
        before = snapshot(app, no)
        again = act(handler, no, "take")  # already assigned: only a head reassigns
        assert again.status_code == 409
        assert shows_error(app, text_of(again), "already-assigned")
        assert snapshot(app, no) == before

        assert act(head, no, "assign", user=user_id(app, "orghead2")).status_code == 303
        assert row(app, no).assignee_id == user_id(app, "orghead2")

        assert act(handler, no, "message", text=MESSAGE).status_code == 303
        assert act(handler, no, "note", text=NOTE).status_code == 303
        assert NOTE in case_page(head, no)
        reporter_page(app, reporter, S.in_progress, shown=[MESSAGE], hidden=[NOTE])

        assert act(head, no, "conclude", finding="partly", answer=ANSWER).status_code == 303
        concluded = row(app, no)
        assert (concluded.state, concluded.finding, concluded.concluded_on) == (
            S.concluded, "partly", DAY)
        [result_clock] = clocks(app, no, DeadlineKind.result_notice)
        assert result_clock.state == DeadlineState.open
        assert result_clock.due_on == workdays_after(DAY, 15)
        reporter_page(app, reporter, S.concluded, shown=[MESSAGE, ANSWER], hidden=[NOTE])

        # Archiving before the real-name reporter was told the result is refused.
        before = snapshot(app, no)
        early = act(head, no, "close")
        assert early.status_code == 409
        assert shows_error(app, text_of(early), "feedback-missing")
        assert snapshot(app, no) == before

        assert act(head, no, "feedback", kind="result_notice", channel="portal",
                   given_on=DAY.isoformat()).status_code == 303
        assert act(head, no, "close").status_code == 303
        closed = row(app, no)
        assert (closed.state, closed.closed_on, closed.next_due_on) == (S.closed, DAY, None)
        assert all(c.state != DeadlineState.open for c in clocks(app, no))
        page = reporter_page(app, reporter, S.closed, shown=[ANSWER, MESSAGE],
                             hidden=[NOTE, "13900001111"])
        assert 'action="/report/case/reply"' not in page

        assert "李实名" not in case_page(head, no)
        revealed = act(head, no, "reveal", reason="REASON-需要电话核实细节")
        assert revealed.status_code == 200
        assert "李实名" in text_of(revealed)
        assert "13900001111" in text_of(revealed)
        # Shown once, for that request only.
        assert "李实名" not in case_page(head, no)
        with app.app_context(), pytest.raises(casework.CaseError) as info:
            workflow.reveal(db.session(), staff_of(app, head), no, "   ")
        assert info.value.code == "reason-required"

    actions = audit_actions(app, no)
    for action in ("case.accept", "case.feedback", "case.take", "case.assign", "case.message",
                   "case.note", "case.conclude", "case.close", "case.reveal", "case.viewed"):
        assert action in actions, action
    assert actions.count("case.reveal") == 1
    with app.app_context():
        session = db.session()
        # Audit entries carry no content; the reveal's reason is sealed under the case key.
        details = " ".join(session.scalars(select(AuditEntry.details)))
        for text in (NOTE, MESSAGE, ANSWER, "REASON-", "李实名"):
            assert text not in details
        reveal = session.scalars(select(CaseEvent).where(CaseEvent.action == "reveal")).one()
        assert reveal.actor_id == user_id(app, "orghead")
        assert reveal.reason is not None
        assert b"REASON" not in reveal.reason


# --- 2. an anonymous refusal with a head's sign-off ----------------------------------------------


def test_anonymous_refusal_needs_another_heads_sign_off(team: Team) -> None:
    app = team.app
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(update(Queue).where(Queue.slug == "org")
                            .values(signoff_required=True))
    reporter = app.test_client()
    receipt, no = file_web(team, reporter)
    assert open_reporter(reporter, receipt)[0] == 200
    head, head2, handler = login(app, team.head), login(app, team.head2), login(app, team.org)

    before = snapshot(app, no)
    empty = act(head, no, "refuse", reason="no-substance", answer="   ")
    assert empty.status_code == 400
    assert snapshot(app, no) == before
    with app.app_context(), pytest.raises(casework.CaseError) as info:
        workflow.refuse(db.session(), staff_of(app, head), no, before["case"]["version"],
                        "no-substance", "", DAY)
    assert info.value.code == "answer-required"
    assert snapshot(app, no) == before

    # A first proposal, sent back by the other head.
    assert act(head, no, "refuse", reason="other", answer="DRAFT-ONE").status_code == 303
    assert act(head2, no, "signoff", decision="return", comment="再核实").status_code == 303
    sent_back = row(app, no)
    assert (sent_back.state, sent_back.pending_state) == (S.received, None)
    reporter_page(app, reporter, S.received, hidden=["DRAFT-ONE"])

    assert act(head, no, "refuse", reason="no-substance", answer=ANSWER,
               explanation="EXPLAIN-内部说明").status_code == 303
    pending = row(app, no)
    assert (pending.state, pending.pending_state, pending.pending_by_id) == (
        S.received, S.not_accepted, user_id(app, "orghead"))
    # The draft answer waits: the reporter does not read it yet.
    reporter_page(app, reporter, S.received, hidden=[ANSWER, "EXPLAIN-"])
    assert 'name="signoff-decision"' not in case_page(head, no)
    assert 'name="signoff-decision"' in case_page(head2, no)

    before = snapshot(app, no)
    own = act(head, no, "signoff", decision="approve")
    assert own.status_code == 403
    assert shows_error(app, text_of(own), "own-decision")
    not_head = act(handler, no, "signoff", decision="approve")
    assert not_head.status_code == 403
    assert shows_error(app, text_of(not_head), "heads-only")
    blocked = act(head2, no, "accept", disposition="核查")
    assert blocked.status_code == 409
    assert shows_error(app, text_of(blocked), "pending-signoff")
    assert snapshot(app, no) == before

    assert act(head2, no, "signoff", decision="approve").status_code == 303
    refused = row(app, no)
    assert (refused.state, refused.refusal_reason, refused.pending_state) == (
        S.not_accepted, "no-substance", None)
    assert refused.closed_on is not None
    assert refused.next_due_on is None
    reporter_page(app, reporter, S.not_accepted, shown=[ANSWER],
                  hidden=["EXPLAIN-", "DRAFT-ONE"])
    actions = audit_actions(app, no)
    assert actions.count("case.proposed") == 2
    for action in ("case.sent-back", "case.refuse", "case.signed-off"):
        assert action in actions, action
    # Nothing awaits sign-off any more: no draft is left (the one sent back included) to be
    # shown as "awaiting sign-off" on the case page.
    assert entries_of(app, no, EntryKind.draft) == 0
    assert "DRAFT-ONE" not in case_page(head2, no)


# --- 3. reports registered by telephone or letter ------------------------------------------------


def _register(client: FlaskClient, app: Flask, **fields: object) -> TestResponse:
    page = text_of(client.get("/staff/cases/register"))
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"', page)
    assert token
    with app.app_context():
        category = db.session().scalar(select(Category.id).where(Category.code == "selection"))
    data = {"csrf_token": csrf_of(page), "form_token": token.group(1),
            "category": str(category), **{k: str(v) for k, v in fields.items()}}
    return client.post("/staff/cases/register", data=data)


def test_reports_registered_by_phone_and_letter(team: Team) -> None:
    app = team.app
    handler = login(app, team.org)
    phoned = _register(handler, app, channel="phone", person_1="赵六", unit_1="某局",
                       facts="PHONE-来电反映赵六突击提拔干部。", give_receipt="y")
    assert phoned.status_code == 200, text_of(phoned)[:2000]
    receipt = receipt_of(text_of(phoned))
    no = case_no_of(app, receipt)
    phone_case = row(app, no)
    assert (phone_case.channel, phone_case.state, phone_case.real_name) == ("phone", S.received,
                                                                           False)
    assert "case.registered" in audit_actions(app, no)
    assert "PHONE-来电反映" in case_page(handler, no)

    # The caller follows the case online with the receipt they were handed.
    caller = app.test_client()
    status, page = open_reporter(caller, " ".join(receipt[i:i + 4] for i in range(0, 20, 4)))
    assert status == 200
    reporter_page(app, caller, S.received, shown=["PHONE-来电反映"])
    assert act(handler, no, "message", text=MESSAGE).status_code == 303
    reporter_page(app, caller, S.received, shown=[MESSAGE])

    lettered = _register(handler, app, channel="letter", person_1="孙八",
                         facts="LETTER-来信反映孙八违规选拔。", reporter_name="钱七",
                         reporter_phone="13500000000")
    assert lettered.status_code == 200
    page = text_of(lettered)
    assert 'id="receipt"' not in page
    letter_no = re.search(r"(\d{4}-\d{5})", page)
    assert letter_no
    letter_case = row(app, letter_no.group(1))
    assert (letter_case.channel, letter_case.real_name) == ("letter", True)
    assert (letter_case.receipt_lookup, letter_case.reporter_box) == (None, None)
    assert [c.kind for c in clocks(app, letter_no.group(1))] == [
        DeadlineKind.decision, DeadlineKind.acceptance_notice]

    listing = text_of(handler.get("/staff/cases/?channel=phone"))
    assert [n for _c, n in listed(listing)] == [no]
    assert len(listed(text_of(handler.get("/staff/cases/")))) == 2


def test_a_registered_letter_keeps_its_evidence_and_a_report_on_the_leader_goes_up(
        team: Team, make_staff) -> None:  # noqa: ANN001
    app = team.app
    handler = login(app, team.org)
    page = text_of(handler.get("/staff/cases/register"))
    assert 'name="concerns_leader"' not in page  # no escalation queue yet: not asked
    with app.app_context():
        queues.create_escalation_queue(db.session(), "市纪委监委信访室", "City office",
                                       audit.CLI)
    city_member = make_staff("cityhandler", "escalation_handler")
    assert app.test_cli_runner().invoke(args=["queues", "init"]).exit_code == 0
    page = text_of(handler.get("/staff/cases/register"))
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"', page)
    assert token
    with app.app_context():
        category = db.session().scalar(select(Category.id).where(Category.code == "selection"))
    scan = "扫描件：举报信原文 LETTER-SCAN".encode()
    status, html = post_multipart(handler, "/staff/cases/register", {
        "csrf_token": csrf_of(page), "form_token": token.group(1), "category": str(category),
        "channel": "letter", "person_1": "周书记", "facts": "LEADER-来信反映本单位主要负责人。",
        "concerns_leader": "y"}, files=[(scan, "letter.txt")])
    assert status == 200, html[:2000]
    assert "市纪委监委信访室" in html
    no = re.search(r"(\d{4}-\d{5})", html)
    assert no
    case = row(app, no.group(1))
    with app.app_context():
        escalation = db.session().scalar(select(Queue).where(Queue.is_escalation))
        assert escalation is not None
        assert case.queue_id == escalation.id
        assert case.concerns_leader
    # The body's own staff cannot open it; the level above reads the letter and its scan.
    assert handler.get(f"/staff/cases/{no.group(1)}").status_code == 404
    city = login(app, city_member)
    assert "LEADER-来信反映" in case_page(city, no.group(1))
    with app.app_context():
        file_id = db.session().scalar(select(EvidenceFile.id).where(
            EvidenceFile.case_id == case.id))
    download = city.get(f"/staff/cases/{no.group(1)}/files/{file_id}")
    assert download.status_code == 200
    assert download.data == scan


# --- 4. transfers between queues ----------------------------------------------------------------


TRANSFER_DAY = dt.date(2026, 9, 30)
# 2026-09-30 (Wed) → the working days after it: the National Day holiday runs 10-01..10-07,
# then Thu 10-08, Fri 10-09, Sat 10-10 (调休 working day), Mon 10-12, Tue 10-13, …
AFTER_0930 = [d("2026-10-08"), d("2026-10-09"), d("2026-10-10"), d("2026-10-12"),
              d("2026-10-13"), d("2026-10-14"), d("2026-10-15")]
FIVE_AFTER_0930 = AFTER_0930[:5]


def test_transfer_both_ways_moves_access_and_restarts_the_clock(team: Team) -> None:
    app = team.app
    org_id, dic_id = queue_id(app, "org"), queue_id(app, "dic")
    # The receiving queue's own setting counts: 7 working days at the commission, the default
    # 5 at the organization department.
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(update(Queue).where(Queue.id == dic_id).values(transfer_days=7))
    with at(TRANSFER_DAY):
        reporter = app.test_client()
        receipt, no = file_web(team, reporter)
        assert open_reporter(reporter, receipt)[0] == 200
        head, org_handler = login(app, team.head), login(app, team.org)
        dic_handler, dichead = login(app, team.dic), login(app, team.dichead)
        assert act(head, no, "note", text=NOTE).status_code == 303

        moved = act(head, no, "transfer", queue=dic_id, reason="REASON-属于违纪问题")
        assert moved.status_code == 303
        case = row(app, no)
        assert (case.queue_id, case.state, case.assignee_id) == (dic_id, S.received, None)
        decision = [c for c in clocks(app, no, DeadlineKind.decision)
                    if c.state == DeadlineState.open]
        assert [(c.queue_id, c.start_on, c.working_days, c.due_on) for c in decision] == [
            (dic_id, TRANSFER_DAY, 7, AFTER_0930[6])]
        assert (case.next_due_on, case.next_due_kind) == (AFTER_0930[6], DeadlineKind.decision)
        # The source queue's transfer clock: five working days from receipt, met today.
        [out] = clocks(app, no, DeadlineKind.transfer)
        assert (out.queue_id, out.due_on, out.state, out.met_on) == (
            org_id, FIVE_AFTER_0930[-1], DeadlineState.met, TRANSFER_DAY)

        # The organization department lost access: 404 by URL, no key, metadata only.
        assert org_handler.get(f"/staff/cases/{no}").status_code == 404
        assert head.get(f"/staff/cases/{no}").status_code == 404
        with app.app_context():
            session = db.session()
            stored = session.scalar(select(Case).where(Case.case_no == no))
            with pytest.raises(casework.CaseError):
                casework.unlock(session, staff_of(app, org_handler), stored)
            org_epoch = session.scalars(select(QueueEpoch).where(
                QueueEpoch.queue_id == org_id)).one()
            org_key = queues.epoch_private_key(session, staff_of(app, org_handler), org_epoch.id)
            with pytest.raises(crypto.DecryptionFailed):
                content.CaseKeys.unseal(org_key, stored.keys_wrap)
        org_list = text_of(head.get("/staff/cases/"))
        assert no not in [n for _c, n in listed(org_list)]
        # … but under "transferred out", as metadata: the number, the destination, the day.
        assert re.search(rf"<li>{no} → [^<]+ \({TRANSFER_DAY.isoformat()}\)</li>", org_list)

        # The commission reads the report, the note and the reason.
        page = case_page(dic_handler, no)
        assert FACTS in page
        assert NOTE in page
        assert "REASON-属于违纪问题" in page
        assert no in [n for _c, n in listed(text_of(dic_handler.get("/staff/cases/")))]
        reporter_page(app, reporter, S.received, shown=[FACTS], hidden=[NOTE, "REASON-"])

        # Transferring to the queue that already holds it changes nothing.
        before = snapshot(app, no)
        same = act(dichead, no, "transfer", queue=dic_id, reason="重复移送")
        assert same.status_code == 400
        assert shows_error(app, text_of(same), "same-queue")
        assert snapshot(app, no) == before

        assert act(dichead, no, "transfer", queue=org_id,
                   reason="REASON-退回组织部").status_code == 303
        back = row(app, no)
        assert (back.queue_id, back.state) == (org_id, S.received)
        assert dic_handler.get(f"/staff/cases/{no}").status_code == 404
        page = case_page(org_handler, no)
        assert FACTS in page
        assert NOTE in page
        [running] = [c for c in clocks(app, no) if c.state == DeadlineState.open]
        assert (running.kind, running.queue_id, running.working_days, running.due_on) == (
            DeadlineKind.decision, org_id, 5, FIVE_AFTER_0930[-1])
        assert re.search(rf"<li>{no} → ", text_of(dichead.get("/staff/cases/")))
        with app.app_context():
            transfers = db.session().execute(select(
                CaseTransfer.from_queue_id, CaseTransfer.to_queue_id, CaseTransfer.on)
                .order_by(CaseTransfer.id)).all()
        assert [tuple(t) for t in transfers] == [(org_id, dic_id, TRANSFER_DAY),
                                                 (dic_id, org_id, TRANSFER_DAY)]
    actions = audit_actions(app, no)
    assert actions.count("case.transfer") == 2


def test_a_transferred_real_name_case_takes_its_running_clocks_along(team: Team) -> None:
    """The receiving queue answers for every clock still running, the real-name reporter's
    acceptance notice included; the source queue, which can no longer open the case, does not
    count it as its own overdue deadline."""
    app = team.app
    org_id, dic_id = queue_id(app, "org"), queue_id(app, "dic")
    with at(TRANSFER_DAY):
        _receipt, no = file_direct(app, "selection", "王五", real=True)
        head = login(app, team.head)
        assert act(head, no, "transfer", queue=dic_id, reason="属于违纪问题").status_code == 303
    running = [c for c in clocks(app, no) if c.state == DeadlineState.open]
    assert {c.kind for c in running} == {DeadlineKind.decision, DeadlineKind.acceptance_notice}
    assert {c.queue_id for c in running} == {dic_id}
    with app.app_context():
        later = dt.date(2026, 11, 2)
        assert deadlines.overdue_count(db.session(), org_id, later) == 0
        assert deadlines.overdue_count(db.session(), dic_id, later) == 2


def test_a_handler_cannot_transfer(team: Team) -> None:
    """Transfers are a head's decision (PRODUCT.md, "Who uses it")."""
    app = team.app
    _receipt, no = file_direct(app, "selection", "王五")
    handler = login(app, team.org)
    before = snapshot(app, no)
    response = act(handler, no, "transfer", queue=queue_id(app, "dic"), reason="属于违纪问题")
    assert response.status_code == 403
    assert snapshot(app, no) == before


def test_transfer_to_an_outside_body_closes_the_case_here(team: Team) -> None:
    app = team.app
    reporter = app.test_client()
    receipt, no = file_web(team, reporter)
    head = login(app, team.head)
    assert act(head, no, "accept", disposition="转交有关单位").status_code == 303
    before = snapshot(app, no)
    assert act(head, no, "outside", body="", reason="涉嫌犯罪").status_code == 400
    assert snapshot(app, no) == before
    assert act(head, no, "outside", body="某县人民检察院",
               reason="REASON-涉嫌职务犯罪").status_code == 303
    case = row(app, no)
    assert (case.state, case.outside_body, case.next_due_on) == (S.transferred, "某县人民检察院",
                                                                 None)
    assert case.closed_on is not None
    assert {(c.kind, c.state) for c in clocks(app, no)} == {
        (DeadlineKind.decision, DeadlineState.met), (DeadlineKind.transfer, DeadlineState.met),
        (DeadlineKind.conclusion, DeadlineState.cancelled)}
    assert "case.transfer-outside" in audit_actions(app, no)
    assert open_reporter(reporter, receipt)[0] == 200
    reporter_page(app, reporter, S.transferred, hidden=["REASON-"])
    response = act(head, no, "message", text=MESSAGE)
    assert response.status_code == 409
    assert shows_error(app, text_of(response), "bad-transition")


def test_a_head_hands_over_a_departing_handlers_open_cases(team: Team) -> None:
    app = team.app
    _r1, received = file_direct(app, "selection", "甲")
    _r2, working = file_direct(app, "selection", "乙")
    _r3, refused = file_direct(app, "selection", "丙")
    head, handler = login(app, team.head), login(app, team.org)
    assert act(head, working, "accept", disposition="核查").status_code == 303
    for no in (received, working, refused):
        assert act(handler, no, "take").status_code == 303
    assert act(head, refused, "refuse", reason="out-of-scope",
               answer="不属于受理范围").status_code == 303
    giver, taker = user_id(app, "orghandler"), user_id(app, "orghead2")
    form = {"from_user": str(giver), "to_user": str(taker)}

    before = {no: snapshot(app, no) for no in (received, working, refused)}
    page = text_of(handler.get("/staff/cases/"))
    denied = handler.post("/staff/cases/handover", data={"csrf_token": csrf_of(page), **form})
    assert denied.status_code == 303
    assert {no: snapshot(app, no) for no in before} == before

    page = text_of(head.get("/staff/cases/"))
    done = head.post("/staff/cases/handover", data={"csrf_token": csrf_of(page), **form})
    assert done.status_code == 303
    assert (row(app, received).assignee_id, row(app, working).assignee_id) == (taker, taker)
    assert row(app, working).state == S.in_progress
    assert row(app, refused).assignee_id == giver  # refused: nothing left to hand over
    assert sorted(numbers(head, f"?assignee={taker}")) == sorted([received, working])
    with app.app_context():
        entry = db.session().scalars(select(AuditEntry).where(
            AuditEntry.action == "queue.handover")).one()
        assert sorted(json.loads(entry.details)["cases"]) == sorted([received, working])
        assert entry.actor == "orghead"


# --- 5. reopening -------------------------------------------------------------------------------


def test_a_head_reopens_concluded_and_archived_cases(team: Team) -> None:
    app = team.app
    first, second, third = dt.date(2026, 3, 2), dt.date(2026, 3, 4), dt.date(2026, 3, 9)
    with at(first):
        reporter = app.test_client()
        receipt, no = file_web(team, reporter)
        assert open_reporter(reporter, receipt)[0] == 200
        head = login(app, team.head)
        assert act(head, no, "accept", disposition="函询").status_code == 303
        assert act(head, no, "conclude", finding="unsubstantiated",
                   answer=ANSWER).status_code == 303
    with at(second):
        handler, head = login(app, team.org), login(app, team.head)
        assert 'name="reopen-reason"' not in case_page(handler, no)
        before = snapshot(app, no)
        denied = act(handler, no, "reopen", reason="发现新线索")
        assert denied.status_code == 403
        assert shows_error(app, text_of(denied), "heads-only")
        no_reason = act(head, no, "reopen", reason="  ")
        assert no_reason.status_code == 400
        assert snapshot(app, no) == before

        assert act(head, no, "reopen", reason="REASON-发现新线索").status_code == 303
        reopened = row(app, no)
        assert (reopened.state, reopened.finding, reopened.concluded_on) == (
            S.in_progress, None, None)
        conclusion = clocks(app, no, DeadlineKind.conclusion)
        assert [(c.state, c.start_on) for c in conclusion] == [
            (DeadlineState.met, first), (DeadlineState.open, second)]
        assert conclusion[1].due_on == workdays_after(second, 60)
        assert (reopened.next_due_on, reopened.next_due_kind) == (
            conclusion[1].due_on, DeadlineKind.conclusion)
        assert open_reporter(reporter, receipt)[0] == 200  # the reporter's session is short
        reporter_page(app, reporter, S.in_progress, shown=[ANSWER], hidden=["REASON-"])
        assert "REASON-发现新线索" in case_page(head, no)

        assert act(head, no, "conclude", finding="substantiated",
                   answer="ANSWER-二次办结").status_code == 303
        assert act(handler, no, "close").status_code == 303  # anonymous: no feedback due
        assert row(app, no).state == S.closed
    with at(third):
        handler, head = login(app, team.org), login(app, team.head)
        before = snapshot(app, no)
        assert act(handler, no, "reopen", reason="再次复查").status_code == 403
        assert snapshot(app, no) == before
        assert act(head, no, "reopen", reason="再次复查").status_code == 303
        again = row(app, no)
        assert (again.state, again.closed_on) == (S.in_progress, None)
        running = [c for c in clocks(app, no) if c.state == DeadlineState.open]
        assert [(c.kind, c.start_on, c.due_on) for c in running] == [
            (DeadlineKind.conclusion, third, workdays_after(third, 60))]
        assert open_reporter(reporter, receipt)[0] == 200
        reporter_page(app, reporter, S.in_progress, shown=["ANSWER-二次办结"])
    assert audit_actions(app, no).count("case.reopen") == 2


# --- 6. the same person, earlier cases, duplicates ----------------------------------------------


def _found(page: str) -> list[str]:
    """The case numbers of the name search's results."""
    part = page.split('name="name"', 1)[1]
    part = part.split("</ul>", 1)[0]
    return re.findall(r'href="/staff/cases/(\d{4}-\d{5})"', part)


def test_a_repeat_report_about_the_same_person_is_found_and_linked(team: Team) -> None:
    app = team.app
    _r1, first = file_web(team, app.test_client(), name="张三")
    reporter = app.test_client()
    receipt, second = file_web(team, reporter, name="张\u3000三")  # ideographic space
    _r3, other = file_web(team, app.test_client(), name="张四")
    _r4, elsewhere = file_web(team, app.test_client(), code="discipline", name="张三")
    head, dichead = login(app, team.head), login(app, team.dichead)

    found = _found(text_of(head.get("/staff/cases/?name=张 三")))
    assert sorted(found) == sorted([first, second])
    assert _found(text_of(head.get("/staff/cases/?name=ＺＨＡＮＧ")))  == []
    # Each queue's index is its own: the commission finds only its case.
    assert _found(text_of(dichead.get("/staff/cases/?name=张三"))) == [elsewhere]
    with app.app_context():
        session = db.session()
        case = session.scalar(select(Case).where(Case.case_no == second))
        assert [c.case_no for c in people.related(session, case)] == [first]
    page = case_page(head, second)
    related = page.split('name="duplicate-original"', 1)[1]
    assert first in related
    assert other not in page
    assert elsewhere not in page

    before = snapshot(app, second)
    foreign = act(head, second, "duplicate", original=elsewhere, answer="重复举报")
    assert foreign.status_code == 400
    assert shows_error(app, text_of(foreign), "no-such-original")
    itself = act(head, second, "duplicate", original=second, answer="重复举报")
    assert itself.status_code == 400
    assert snapshot(app, second) == before

    assert act(head, second, "duplicate", original=first,
               answer="ANSWER-重复举报，登记留存").status_code == 303
    linked = row(app, second)
    assert (linked.state, linked.refusal_reason, linked.duplicate_of_id) == (
        S.not_accepted, "duplicate", row(app, first).id)
    assert f'href="/staff/cases/{first}"' in case_page(head, second)
    assert row(app, first).state == S.received
    assert open_reporter(reporter, receipt)[0] == 200
    reporter_page(app, reporter, S.not_accepted, shown=["ANSWER-重复举报，登记留存"])
    actions = audit_actions(app, second)
    assert "case.duplicate" in actions
    assert "case.refuse" in actions


# --- 7. withdrawal by the reporter ---------------------------------------------------------------


def test_withdrawal_cancels_the_clocks_and_closes_the_case_to_staff_actions(team: Team) -> None:
    app = team.app
    reporter = app.test_client()
    receipt, no = file_web(team, reporter, real=("李实名", "13900001111"))
    head = login(app, team.head)
    assert act(head, no, "accept", disposition="核查").status_code == 303
    assert {c.kind for c in clocks(app, no) if c.state == DeadlineState.open} == {
        DeadlineKind.acceptance_notice, DeadlineKind.conclusion}

    status, page = open_reporter(reporter, receipt)
    assert status == 200
    done = reporter.post("/report/case/withdraw", data={"csrf_token": csrf_of(page),
                                                        "confirm": "y"})
    assert done.status_code == 303
    page = reporter_page(app, reporter, S.withdrawn)
    assert 'action="/report/case/reply"' not in page

    case = row(app, no)
    assert case.state == S.withdrawn
    assert case.closed_on is not None
    assert (case.next_due_on, case.next_due_ordinal, case.next_due_kind) == (None, None, None)
    assert all(c.state != DeadlineState.open for c in clocks(app, no))
    assert DeadlineState.cancelled in {c.state for c in clocks(app, no)}

    page = case_page(head, no)
    assert f'<span class="badge">{label(app, STAFF_LABELS, S.withdrawn)}</span>' in page
    assert 'name="conclude-finding"' not in page
    before = snapshot(app, no)
    for action, fields in (("conclude", {"finding": "partly", "answer": ANSWER}),
                           ("message", {"text": MESSAGE}),
                           ("assign", {"user": user_id(app, "orghandler")}),
                           ("transfer", {"queue": queue_id(app, "dic"), "reason": "移送"}),
                           ("close", {})):
        response = act(head, no, action, **fields)
        assert response.status_code == 409, action
        assert shows_error(app, text_of(response), "bad-transition"), action
    # No clock runs any more, so there is none to extend.
    [clock] = clocks(app, no, DeadlineKind.conclusion)
    assert act(head, no, "extend", deadline=clock.id, days=5, reason="延期").status_code == 400
    assert snapshot(app, no) == before
    reporter_page(app, reporter, S.withdrawn, hidden=[MESSAGE, ANSWER])


# --- 8. deadline arithmetic ---------------------------------------------------------------------


# Received 2026-09-30 (Wed): the 15 working days after it skip the National Day holiday
# (10-01..10-07) and count Saturday 10-10, a 调休 working day.
FIFTEEN_AFTER_0930 = [
    "2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13", "2026-10-14",
    "2026-10-15", "2026-10-16", "2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22",
    "2026-10-23", "2026-10-26", "2026-10-27"]
THREE_MORE = ["2026-10-28", "2026-10-29", "2026-10-30"]
# Received 2026-02-13 (Fri): Sat 02-14 is a 调休 working day, 02-15..02-23 the Spring Festival,
# Sat 02-28 another working day.
FIFTEEN_AFTER_0213 = [
    "2026-02-14", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28",
    "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09",
    "2026-03-10", "2026-03-11", "2026-03-12"]
# Received 2026-12-21 (Mon), before 2027 is loaded: weekdays only, provisionally …
PROVISIONAL_AFTER_1221 = [
    "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-25", "2026-12-28", "2026-12-29",
    "2026-12-30", "2026-12-31", "2027-01-01", "2027-01-04", "2027-01-05", "2027-01-06",
    "2027-01-07", "2027-01-08", "2027-01-11"]
# … and after the import (01-01..01-03 a holiday): one day later, no longer provisional.
IMPORTED_AFTER_1221 = [
    "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-25", "2026-12-28", "2026-12-29",
    "2026-12-30", "2026-12-31", "2027-01-04", "2027-01-05", "2027-01-06", "2027-01-07",
    "2027-01-08", "2027-01-11", "2027-01-12"]


def test_deadlines_across_national_day_and_extension(team: Team) -> None:
    app = team.app
    assert len(FIFTEEN_AFTER_0930) == 15
    due = d(FIFTEEN_AFTER_0930[-1])
    with at(dt.date(2026, 9, 30)):
        _receipt, no = file_web(team, app.test_client(), real=("李实名", "13900001111"))
        case = row(app, no)
        assert case.received_on == dt.date(2026, 9, 30)
        assert [(c.kind, c.due_on, c.provisional) for c in clocks(app, no)] == [
            (DeadlineKind.decision, due, False), (DeadlineKind.acceptance_notice, due, False)]
        assert (case.next_due_on, case.next_due_provisional) == (due, False)
        with app.app_context():
            assert case.next_due_ordinal == db.session().scalar(
                select(CalendarDay.ordinal).where(CalendarDay.day == due))

        handler, head = login(app, team.org), login(app, team.head)
        [decision] = clocks(app, no, DeadlineKind.decision)
        before = snapshot(app, no)
        denied = act(handler, no, "extend", deadline=decision.id, days=3, reason="材料较多")
        assert denied.status_code == 403
        assert shows_error(app, text_of(denied), "heads-only")
        no_reason = act(head, no, "extend", deadline=decision.id, days=3, reason="")
        assert no_reason.status_code == 400
        assert snapshot(app, no) == before

        assert act(head, no, "extend", deadline=decision.id, days=3,
                   reason="REASON-材料较多").status_code == 303
        [extended] = clocks(app, no, DeadlineKind.decision)
        assert (extended.extended_days, extended.due_on) == (3, d(THREE_MORE[-1]))
        # The acceptance notice was not extended and is now the most urgent clock.
        assert row(app, no).next_due_kind == DeadlineKind.acceptance_notice
        assert "case.extend" in audit_actions(app, no)


def test_deadlines_across_the_spring_festival(team: Team) -> None:
    app = team.app
    with at(dt.date(2026, 2, 13)):
        _receipt, no = file_direct(app, "discipline", "李四")
    [decision] = clocks(app, no)
    assert (decision.start_on, decision.due_on, decision.provisional) == (
        dt.date(2026, 2, 13), d(FIFTEEN_AFTER_0213[-1]), False)
    # Accepted on the first working day after the holiday: the conclusion clock counts on.
    with app.app_context():
        staff = team.desk.staff(team.dic)
        workflow.accept(db.session(), staff, no, row(app, no).version, "初步核实",
                        dt.date(2026, 2, 24))
    [conclusion] = clocks(app, no, DeadlineKind.conclusion)
    assert conclusion.due_on == workdays_after(dt.date(2026, 2, 24), 60)
    assert row(app, no).next_due_on == conclusion.due_on


def test_deadlines_into_an_unloaded_year_are_provisional_until_imported(
        team: Team, tmp_path: Path) -> None:
    app = team.app
    holidays_2027 = [dt.date(2027, 1, 1) + dt.timedelta(days=n) for n in range(3)] + [
        dt.date(2027, 2, 6) + dt.timedelta(days=n) for n in range(8)]
    with at(dt.date(2026, 12, 21)):
        _receipt, no = file_direct(app, "selection", "王五", real=True)
        head = login(app, team.head)
        assert act(head, no, "accept", disposition="核查").status_code == 303
        assert 'class="badge provisional"' in case_page(head, no)
    provisional = d(PROVISIONAL_AFTER_1221[-1])
    notice = clocks(app, no, DeadlineKind.acceptance_notice)[0]
    conclusion = clocks(app, no, DeadlineKind.conclusion)[0]
    assert (notice.due_on, notice.provisional) == (provisional, True)
    assert (conclusion.due_on, conclusion.provisional) == (
        workdays_after(dt.date(2026, 12, 21), 60), True)
    case = row(app, no)
    assert (case.next_due_on, case.next_due_kind, case.next_due_provisional) == (
        provisional, DeadlineKind.acceptance_notice, True)

    path = tmp_path / "2027.json"
    path.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output

    imported = d(IMPORTED_AFTER_1221[-1])
    with app.app_context():
        ordinal = db.session().scalar(select(CalendarDay.ordinal)
                                      .where(CalendarDay.day == imported))
    notice = clocks(app, no, DeadlineKind.acceptance_notice)[0]
    conclusion = clocks(app, no, DeadlineKind.conclusion)[0]
    assert (notice.due_on, notice.provisional, notice.due_ordinal) == (imported, False, ordinal)
    assert (conclusion.due_on, conclusion.provisional) == (
        workdays_after(dt.date(2026, 12, 21), 60, holidays_2027, [dt.date(2027, 2, 20)]),
        False)
    case = row(app, no)
    assert (case.next_due_on, case.next_due_ordinal, case.next_due_provisional) == (
        imported, ordinal, False)
    with at(dt.date(2026, 12, 21)):
        page = case_page(login(app, team.head2), no)
    standing = page.split("<dl>", 1)[0]  # the case's most urgent clock, under its number
    assert imported.isoformat() in standing
    assert "badge provisional" not in standing


def test_a_met_clock_due_in_an_unloaded_year_is_recomputed_when_it_is_loaded(
        team: Team, tmp_path: Path) -> None:
    """A clock met before the year was loaded keeps being shown and measured (met on time or
    late); its provisional due day must be recomputed with the others (DESIGN.md, "Working
    days": "flagged provisional wherever shown, and recomputed when the year is loaded")."""
    app = team.app
    with at(dt.date(2026, 12, 21)):
        _receipt, no = file_direct(app, "selection", "王五")
        head = login(app, team.head)
        assert act(head, no, "accept", disposition="核查").status_code == 303
    [decision] = clocks(app, no, DeadlineKind.decision)
    assert (decision.state, decision.due_on, decision.provisional) == (
        DeadlineState.met, d(PROVISIONAL_AFTER_1221[-1]), True)
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    [decision] = clocks(app, no, DeadlineKind.decision)
    with app.app_context():
        ordinal = db.session().scalar(select(CalendarDay.ordinal).where(
            CalendarDay.day == d(IMPORTED_AFTER_1221[-1])))
    assert (decision.due_on, decision.due_ordinal, decision.provisional) == (
        d(IMPORTED_AFTER_1221[-1]), ordinal, False)
    with at(dt.date(2026, 12, 21)):
        assert 'class="badge provisional"' not in case_page(login(app, team.head2), no)


# --- 9. concurrent edits ------------------------------------------------------------------------


def test_a_stale_form_is_refused_and_writes_nothing(team: Team) -> None:
    app = team.app
    _receipt, no = file_direct(app, "selection", "王五")
    first, second = login(app, team.head), login(app, team.head2)
    page = case_page(second, no)  # both load the page at the same version
    seen = re.search(r'name="refuse-version"[^>]*value="(\d+)"', page)
    assert seen
    assert act(first, no, "accept", disposition="核查").status_code == 303
    before = snapshot(app, no)
    stale = act(second, no, "refuse", version=seen.group(1), reason="no-substance",
                answer="ANSWER-STALE", explanation="EXPLAIN-STALE")
    assert stale.status_code == 409
    assert shows_error(app, text_of(stale), "stale")
    assert snapshot(app, no) == before
    case = row(app, no)
    assert (case.state, case.refusal_reason) == (S.accepted, None)
    assert entries_of(app, no, EntryKind.staff_message) == 0
    assert entries_of(app, no, EntryKind.note) == 0
    assert "case.refuse" not in audit_actions(app, no)


# --- 10. bad input ------------------------------------------------------------------------------


def test_bad_input_changes_nothing(team: Team) -> None:
    app = team.app
    _receipt, no = file_direct(app, "discipline", "李四")
    org_handler, dic_handler = login(app, team.org), login(app, team.dic)

    # Another queue's case, by URL: as if it did not exist.
    own_page = text_of(org_handler.get("/staff/cases/"))
    token = csrf_of(own_page)
    version = row(app, no).version
    before = snapshot(app, no)
    assert org_handler.get(f"/staff/cases/{no}").status_code == 404
    for action, fields in (("accept", {"disposition": "核查"}), ("note", {"text": NOTE}),
                           ("transfer", {"queue": queue_id(app, "org"), "reason": "要过来"})):
        data = {f"{action}-csrf_token": token, f"{action}-version": str(version),
                **{f"{action}-{k}": str(v) for k, v in fields.items()}}
        assert org_handler.post(f"/staff/cases/{no}/{action}", data=data).status_code == 404
    assert snapshot(app, no) == before
    assert "case.viewed" not in audit_actions(app, no)

    # No CSRF token.
    missing = dic_handler.post(f"/staff/cases/{no}/accept", data={
        "accept-version": str(version), "accept-disposition": "初步核实"})
    assert missing.status_code == 400
    # A note of 1 MB, and one just over the length limit.
    huge = act(dic_handler, no, "note", text="很" * (1024 * 1024 // 3 + 1))
    assert huge.status_code in (400, 413)
    over = act(dic_handler, no, "note", text="x" * 20_001)
    assert over.status_code in (400, 413)
    assert snapshot(app, no) == before
    assert entries_of(app, no, EntryKind.note) == 0

    # Transitions the diagram does not allow.
    conclude = act(dic_handler, no, "conclude", finding="partly", answer=ANSWER)
    assert conclude.status_code == 409
    assert shows_error(app, text_of(conclude), "bad-transition")
    staff = staff_of(app, dic_handler)
    with app.app_context():
        session = db.session()
        for call in (
            lambda: workflow.conclude(session, staff, no, version, "partly", ANSWER, DAY),
            lambda: workflow.close(session, staff, no, version, DAY),
            lambda: workflow.reopen(session, staff, no, version, "复查", DAY),
            lambda: workflow.sign_off(session, staff, no, version, True, DAY),
        ):
            with pytest.raises(casework.CaseError) as info:
                call()
            assert info.value.code in ("bad-transition", "nothing-pending")
        with pytest.raises(casework.CaseError) as info:
            workflow.conclude(session, staff, no, version, "partly", ANSWER, DAY)
        assert info.value.code == "bad-transition"
        with pytest.raises(casework.CaseError) as info:
            workflow.accept(session, staff, no, version + 5, "初步核实", DAY)
        assert info.value.code == "stale"
        with pytest.raises(casework.CaseError) as info:
            workflow.accept(session, staff, no, version, "核查", DAY)  # the other queue's
        assert info.value.code == "bad-disposition"
        with pytest.raises(casework.CaseError) as info:
            workflow.note(session, staff_of(app, org_handler), no, version, NOTE)
        assert info.value.code == "no-such-case"
    assert snapshot(app, no) == before


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_over_long_text_gets_413_in_either_language(team: Team, lang: str) -> None:
    """The case page answers a text over the length limit with 413 ("too-long"), whatever the
    page language."""
    app = team.app
    _receipt, no = file_direct(app, "discipline", "李四")
    handler = login(app, team.dic)
    page = case_page(handler, no)
    version = re.search(r'name="note-version"[^>]*value="(\d+)"', page)
    assert version
    response = handler.post(f"/staff/cases/{no}/note?lang={lang}", data={
        "note-csrf_token": csrf_of(page), "note-version": version.group(1),
        "note-text": "x" * 20_001})
    assert response.status_code == 413
    assert entries_of(app, no, EntryKind.note) == 0


# --- 11. the queue list -------------------------------------------------------------------------


def listed(page: str) -> list[tuple[str, str]]:
    """(row class, case number) of the list table's rows, in order."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr class="([^"]*)">\s*<td><a href="/staff/cases/(\d{4}-\d{5})"', body)


def numbers(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/staff/cases/{query}")
    assert response.status_code == 200
    return [n for _c, n in listed(text_of(response))]


def test_the_list_filters_marks_overdue_rows_and_pages_by_keyset(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    app = team.app
    with at(DAY):
        receipt1, c1 = file_direct(app, "selection", "甲")
        _r2, c2 = file_direct(app, "selection", "乙", real=True)
        _r3, c3 = file_direct(app, "selection", "丙")
        _r4, c4 = file_direct(app, "selection", "丁")
        _r5, c5 = file_direct(app, "selection", "戊")
        _r6, other_queue = file_direct(app, "discipline", "己")
        head, handler = login(app, team.head), login(app, team.org)
        assert act(head, c3, "accept", disposition="核查").status_code == 303
        assert act(head, c4, "accept", disposition="核查").status_code == 303
        assert act(head, c4, "assign", user=user_id(app, "orghead")).status_code == 303
        every = {c1, c2, c3, c4, c5}
        assert set(numbers(head)) == every
        assert other_queue not in numbers(head)

        assert set(numbers(head, "?state=received")) == {c1, c2, c5}
        assert numbers(head, "?state=accepted") == [c3]
        assert numbers(head, "?state=in_progress") == [c4]
        assert numbers(head, "?assignee=me") == [c4]
        assert numbers(handler, "?assignee=me") == []
        assert set(numbers(head, "?assignee=none")) == {c1, c2, c3, c5}
        assert numbers(head, "?real_name=1") == [c2]
        assert numbers(head, "?unread=1") == []

        # A reporter's reply marks the case unread until a member opens it.
        reporter = app.test_client()
        status, page = open_reporter(reporter, receipt1)
        assert status == 200
        replied = reporter.post("/report/case/reply", data={
            "csrf_token": csrf_of(page), "text": "REPLY-补充材料"},
            content_type="multipart/form-data")
        assert replied.status_code == 303
        unread = text_of(head.get("/staff/cases/?unread=1"))
        assert [n for _c, n in listed(unread)] == [c1]
        assert 'class="badge overdue"' in unread.split("</tbody>")[0].split("<tbody>")[1]
        assert "REPLY-补充材料" in case_page(handler, c1)
        assert numbers(head, "?unread=1") == []

        # Force c5's deadline into the past: it leads the list, marked overdue.
        past = DAY - dt.timedelta(days=7)
        with app.app_context():
            session = db.session()
            with db.transaction(session):
                case_id = session.scalar(select(Case.id).where(Case.case_no == c5))
                ordinal = deadlines.ordinal(session, past)
                session.execute(update(CaseDeadline).where(CaseDeadline.case_id == case_id)
                                .values(due_on=past, due_ordinal=ordinal))
                session.execute(update(Case).where(Case.id == case_id).values(
                    next_due_on=past, next_due_ordinal=ordinal, urgency=ordinal))
        overdue_page = text_of(head.get("/staff/cases/?due=overdue"))
        assert listed(overdue_page) == [("overdue", c5)]
        assert 'class="flash error"' in overdue_page
        rows = listed(text_of(head.get("/staff/cases/")))
        assert rows[0] == ("overdue", c5)
        assert [cls for cls, _n in rows[1:]] == ["", "", "", ""]

        # Keyset pages: all cases once each, in the full list's order.
        full = [n for _c, n in rows]
        monkeypatch.setattr(queries, "PAGE", 2)
        seen: list[str] = []
        url = "/staff/cases/"
        pages = 0
        while url:
            page = text_of(head.get(url))
            got = [n for _c, n in listed(page)]
            assert 1 <= len(got) <= 2
            seen += got
            pages += 1
            link = re.search(r'<a href="([^"]*after=[^"]*)">', page)
            url = htmllib.unescape(link.group(1)) if link else ""
        assert pages == 3
        assert seen == full
        assert len(set(seen)) == len(seen)
        # Filters carry over to the next page.
        page = text_of(head.get("/staff/cases/?state=received"))
        link = re.search(r'<a href="([^"]*after=[^"]*)">', page)
        assert link
        assert "state=received" in htmllib.unescape(link.group(1))
        rest = numbers(head, htmllib.unescape(link.group(1)).removeprefix("/staff/cases/"))
        assert [n for _c, n in listed(page)] + rest == [n for n in full if n in {c1, c2, c5}]


# --- 12. objections to a notice -----------------------------------------------------------------


def _person(app: Flask, notice_id: int) -> int:
    with app.app_context():
        return int(db.session().scalars(select(NoticePerson.id).where(
            NoticePerson.notice_id == notice_id).order_by(NoticePerson.id)).first())


def _objections(app: Flask, person_id: int) -> tuple[int, str]:
    with app.app_context():
        person = db.session().get(NoticePerson, person_id)
        assert person is not None
        return person.objections_open, person.outcome


OBJECTION_DAY = dt.date(2026, 12, 1)


def _object(team: Team, notice_id: int, person_id: int, text: str) -> tuple[FlaskClient, str,
                                                                           str]:
    client = team.app.test_client()
    receipt, no = file_web(team, client, code="objection", name="", facts=text,
                           query=f"?notice={notice_id}&person={person_id}")
    return client, receipt, no


def test_an_objection_shows_the_person_and_suspends_the_appointment(team: Team,
                                                                     publish) -> None:
    app = team.app
    notice_id = publish(notice_input(dt.date(2026, 11, 30)), approved_on=dt.date(2026, 11, 27))
    person_id = _person(app, notice_id)
    with at(OBJECTION_DAY):
        reporter, receipt, no = _object(team, notice_id, person_id, "OBJ-该同志存在带病提拔情况。")
        case = row(app, no)
        assert (case.notice_id, case.notice_person_id) == (notice_id, person_id)
        assert _objections(app, person_id) == (1, Outcome.pending)

        head = login(app, team.head)
        page = case_page(head, no)
        assert "中共示例县委组织部干部任前公示" in page
        assert "王立新" in page
        assert f'action="/staff/cases/{no}/suspend"' in page
        assert act(head, no, "suspend").status_code == 303
        assert _objections(app, person_id) == (1, Outcome.suspended)
        assert f'action="/staff/cases/{no}/suspend"' not in case_page(head, no)
        assert "case.suspend-person" in audit_actions(app, no)
        with app.app_context():
            assert db.session().scalar(select(AuditEntry.action).where(
                AuditEntry.target == f"person:{person_id}")) == "notice.outcome"

        assert act(head, no, "accept", disposition="核查").status_code == 303
        assert _objections(app, person_id)[0] == 1
        assert act(head, no, "conclude", finding="unsubstantiated",
                   answer=ANSWER).status_code == 303
        assert _objections(app, person_id) == (0, Outcome.suspended)
        assert open_reporter(reporter, receipt)[0] == 200
        reporter_page(app, reporter, S.concluded, shown=[ANSWER])
        assert act(head, no, "reopen", reason="复查").status_code == 303
        assert _objections(app, person_id)[0] == 1
        assert act(head, no, "conclude", finding="unsubstantiated",
                   answer=ANSWER).status_code == 303
        assert _objections(app, person_id)[0] == 0


def test_archiving_one_objection_keeps_another_open_one_counted(team: Team, publish) -> None:
    """Two objections about the same person: concluding and then archiving the first leaves
    the second under verification, so the person must still count one open objection (and
    cannot be appointed)."""
    app = team.app
    notice_id = publish(notice_input(dt.date(2026, 11, 30)), approved_on=dt.date(2026, 11, 27))
    person_id = _person(app, notice_id)
    with at(OBJECTION_DAY):
        _c1, _r1, first = _object(team, notice_id, person_id, "OBJ-第一件异议，具体如下。")
        _c2, _r2, second = _object(team, notice_id, person_id, "OBJ-第二件异议，具体如下。")
        assert _objections(app, person_id)[0] == 2
        head = login(app, team.head)
        assert act(head, first, "accept", disposition="核查").status_code == 303
        assert act(head, first, "conclude", finding="unsubstantiated",
                   answer=ANSWER).status_code == 303
        assert _objections(app, person_id)[0] == 1
        assert act(head, first, "close").status_code == 303
        assert row(app, second).state == S.received
        assert _objections(app, person_id)[0] == 1
