"""N+1 guard: the SQL statements one request runs do not grow with the rows it shows.

Each page is requested with little data and again with ten times as much (more notices, more
persons and corrections on the notice shown, more search hits; more cases with more
assignees, a case with files, notes and history), and the number of statements the app's
engine ran (SQLAlchemy's before_cursor_execute) must be the same. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from casework import queues
from casework.models import Case, Category, Queue
from intake import evidence, receipts
from intake import service as intake
from portal import audit, db, state
from portal.models import StaffUser
from publicity import service
from publicity.models import Notice, NoticeChange
from publicity.validation import NoticeInput, PersonInput
from tests.compliance_support import allow_many_decisions, record_clean
from tests.conftest import AuthActions, StaffMember
from tests.intake_support import Desk, make_desk
from tests.unit.evidence_samples import jpeg_with_metadata

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START = dt.date(2026, 11, 30)  # a Monday: the notices open on it
SHARED = "王立新"  # every notice names one person so: the archive search finds them all


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine meanwhile."""
    seen: list[str] = []

    def count(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = state.engine(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def queries(app: Flask, client: FlaskClient, path: str) -> int:
    """How many statements one GET of `path` runs (it must answer 200)."""
    with statements(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(seen)


def counts(app: Flask, client: FlaskClient, pages: dict[str, str]) -> dict[str, int]:
    """Statements per page, each page named by what it is."""
    return {name: queries(app, client, path) for name, path in pages.items()}


# --- public pages -------------------------------------------------------------------------


def person(name: str, k: int) -> PersonInput:
    return PersonInput(name=name, gender="男", ethnicity="汉族", birth="1980-05",
                       native_place="示例省示例县", education="大学本科", work_start="2002-07",
                       party="2001-06", current_post=f"示例镇镇长{k}",
                       proposed_post=f"示例镇党委书记{k}", cadre_id=f"CADRE-{k:06d}")


def notice_input(persons: int, k: int) -> NoticeInput:
    names = [SHARED] + [f"李春燕{k}-{i}" for i in range(1, persons)]
    return NoticeInput(title=f"中共示例县委组织部干部任前公示（{k}）", issuer="中共示例县委组织部",
                       period_start=START, working_days=5, phone="0000-12380",
                       letter_address="示例县人民路1号", visit_address="示例县人民路1号308室",
                       persons=tuple(person(n, k * 10 + i) for i, n in enumerate(names)))


def actor(member: StaffMember) -> audit.Actor:
    user_id = db.session().scalar(select(StaffUser.id)
                                  .where(StaffUser.username == member.username))
    return audit.Actor(member.username, user_id)


@pytest.fixture
def editors(make_staff: Callable[..., StaffMember]) -> tuple[StaffMember, StaffMember]:
    return make_staff("ed1", "publicity_editor"), make_staff("ed2", "publicity_editor")


@pytest.fixture
def shanghai_morning() -> Iterator[None]:
    """The clock at 10:00 on START in Shanghai, standing still."""
    with time_machine.travel(dt.datetime(START.year, START.month, START.day, 10,
                                         tzinfo=SHANGHAI), tick=False):
        yield


def publish(app: Flask, editors: tuple[StaffMember, StaffMember], persons: int, k: int,
            corrections: int = 0) -> int:
    """A notice drafted by one editor, approved by the other, with published corrections.

    The author records the batch's compliance first (clean; the 30 notices of one year are
    more than rule 5 allows, which is not what is measured here). Only page requests are
    counted, so neither adds to the counts.
    """
    with app.app_context():
        session = db.session()
        first, second = actor(editors[0]), actor(editors[1])
        notice = service.create_draft(session, notice_input(persons, k), first)
        allow_many_decisions(session)
        record_clean(session, notice.id, first)
        service.approve_notice(session, notice.id, second, START)
        for c in range(corrections):
            fixed = notice_input(persons, k)
            fixed = replace(fixed, persons=tuple(
                replace(p, education=f"{p.education}（更正{c}）") for p in fixed.persons))
            change = service.propose_correction(session, notice.id, fixed, f"更正学历{c}",
                                                first)
            service.approve_change(session, change.id, second, START)
        return notice.id


@pytest.mark.usefixtures("shanghai_morning")
def test_public_pages_run_as_many_statements_for_30_notices_as_for_3(
        app: Flask, editors: tuple[StaffMember, StaffMember]) -> None:
    """Home, a notice, the archive search and the API: 3 notices of 1 person and none
    corrected, then 30 notices, the one shown with 5 persons and 2 corrections."""
    client = app.test_client()
    small = [publish(app, editors, persons=1, k=k) for k in range(3)]

    def pages(notice_id: int) -> dict[str, str]:
        return {"home": "/", "notice": f"/notices/{notice_id}",
                "archive search": f"/notices/archive?q={SHARED}",
                "api notice": f"/api/notices/{notice_id}"}

    # Whatever a process does once (templates, calendar) happens on other URLs first.
    for path in pages(small[0]).values():
        client.get(path + ("&" if "?" in path else "?") + "lang=en")
    few = counts(app, client, pages(small[0]))

    for k in range(3, 29):
        publish(app, editors, persons=3, k=k)
    big = publish(app, editors, persons=5, k=29, corrections=2)
    with app.app_context():
        shown = db.session().get(Notice, big)
        assert shown is not None
        assert len(shown.persons) == 5
        assert sum(c.status == "approved" for c in shown.changes) == 2
        assert db.session().query(Notice).count() == 30
        assert db.session().query(NoticeChange).count() == 2
    many = counts(app, client, pages(big))
    assert many == few


# --- queue list and case page -------------------------------------------------------------


def file_report(app: Flask, code: str, name: str, files: int = 0) -> str:
    """File through the intake service (no form, no rate limit); return the case number."""
    photo = evidence.clean(jpeg_with_metadata(), max_bytes=1024 * 1024)
    with app.app_context():
        session = db.session()
        category = session.scalar(select(Category.id).where(Category.code == code))
        assert category is not None
        receipt = intake.file_report(session, intake.ReportInput(
            category_id=category, facts="2026年3月在办公室收受现金两万元，有同事在场。",
            persons=(intake.Person(name),)),
            [intake.Evidence(f"photo{i}.jpg", photo) for i in range(files)],
            secrets.token_hex(16))
        number = session.scalar(select(Case.case_no).where(
            Case.receipt_lookup == receipts.lookup(receipt)))
    assert number
    return str(number)


def note(client: FlaskClient, case_no: str, text: str) -> None:
    """Add an internal note through the case page's form."""
    page = client.get(f"/staff/cases/{case_no}").get_data(as_text=True)
    token = re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', page)
    version = re.search(r'name="note-version"[^>]*value="(\d+)"', page)
    assert token
    assert version
    response = client.post(f"/staff/cases/{case_no}/note", data={
        "note-csrf_token": token.group(1), "note-version": version.group(1), "note-text": text})
    assert response.status_code == 303, response.status_code


def assign(app: Flask, usernames: tuple[str, ...]) -> int:
    """Give every case to these handlers in turn (metadata only; the list shows assignees'
    names); return the number of cases."""
    with app.app_context():
        session = db.session()
        handlers = list(session.scalars(select(StaffUser.id).where(
            StaffUser.username.in_(usernames)).order_by(StaffUser.id)))
        assert len(handlers) == len(usernames)
        cases = list(session.scalars(select(Case).order_by(Case.id)))
        for i, case in enumerate(cases):
            case.assignee_id = handlers[i % len(handlers)]
        session.commit()
        return len(cases)


@pytest.fixture
def desk(app: Flask, make_staff: Callable[..., StaffMember]) -> Desk:
    # Two more discipline-commission handlers hold the queue key, so cases can be theirs.
    make_staff("dic2", "dic_handler")
    make_staff("dic3", "dic_handler")
    return make_desk(app, make_staff)


def test_queue_list_and_case_page_run_as_many_statements_for_30_cases_as_for_3(
        app: Flask, desk: Desk) -> None:
    """The queue list with 3 cases of one assignee, then 30 spread over 3 assignees; the page
    of a bare case, then of one with 3 files, 3 notes and their history."""
    client = app.test_client()
    assert AuthActions(client).login(desk.dic).status_code == 303
    first = file_report(app, "discipline", "张三")
    for k in range(2):
        file_report(app, "discipline", f"张三{k}")
    assign(app, ("dichandler",))
    client.get("/staff/cases/?lang=en")
    client.get(f"/staff/cases/{first}?lang=en")
    few = counts(app, client, {"queue list": "/staff/cases/",
                               "case page": f"/staff/cases/{first}"})

    rich = file_report(app, "discipline", "李四", files=3)
    for k in range(26):
        file_report(app, "discipline", f"王五{k}")
    assert assign(app, ("dichandler", "dic2", "dic3")) == 30
    for k in range(3):
        note(client, rich, f"内部备注{k}：核实有关情况。")
    many = counts(app, client, {"queue list": "/staff/cases/",
                                "case page": f"/staff/cases/{rich}"})
    assert many == few


def grant(app: Flask, desk: Desk, queue: str, username: str) -> None:
    """Give a member the queue's key with the recovery secret (as `queues grant` does)."""
    with app.app_context():
        queues.grant_with_recovery(db.session(), queue, username, desk.recovery_secret)


def test_report_form_and_case_page_run_as_many_statements_with_six_more_members_a_queue(
        app: Flask, desk: Desk, make_staff: Callable[..., StaffMember]) -> None:
    """Whether a queue is open (the report form asks for every queue, the case page for every
    queue a case could go to) reads all members' grants at once: the desk's members, then six
    more in each queue, half of them holding the queue key and half waiting for it."""
    public, staff = app.test_client(), app.test_client()
    assert AuthActions(staff).login(desk.dic).status_code == 303
    case_no = file_report(app, "discipline", "张三")
    pages = {"report form": (public, "/report"), "case page": (staff, f"/staff/cases/{case_no}")}
    for client, path in pages.values():
        client.get(f"{path}?lang=en")

    def count() -> dict[str, int]:
        return {name: queries(app, client, path) for name, (client, path) in pages.items()}

    few = count()
    for k in range(6):
        for queue, role in (("org", "org_handler"), ("dic", "dic_handler")):
            make_staff(f"{queue}member{k}", role)
            if k % 2:
                grant(app, desk, queue, f"{queue}member{k}")
    with app.app_context():
        org = db.session().scalar(select(Queue).where(Queue.slug == "org"))
        assert org is not None
        assert len(queues.keyholders(db.session(), org)) == 4
        assert len(queues.lacking_access(db.session(), org)) == 3
    assert count() == few
