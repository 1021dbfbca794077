"""The supervision dashboard end to end (PRODUCT.md, "Supervision"): every figure of a known set
of cases with known timings across the Spring Festival and National Day holidays, on the page
and in every CSV; the open-notice objection rule; privacy by construction (no queue key needed,
no encrypted column selected); access and bad input; CSV neutralisation; the SVG charts. Every
test with a database runs on SQLite and on the real PostgreSQL, against the same literal
expected figures.

Working days are listed here by hand from the State Council schedule for 2026 (Spring Festival
02-15..02-23 off with Saturdays 02-14 and 02-28 worked; National Day 10-01..10-07 off with
Saturday 10-10 worked), never taken from the product's own counting.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html as htmllib
import io
import re
import secrets
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import delete, event, func, select, update

from casework import queues, supervision, workflow
from casework import service as casework_service
from casework.messages import (
    CHANNEL_LABELS,
    DEADLINE_LABELS,
    FINDING_LABELS,
    RANGE_ERRORS,
    STATE_LABELS,
)
from casework.models import (
    Case,
    CaseDeadline,
    Category,
    Channel,
    DeadlineKind,
    DeadlineState,
    Queue,
    QueueEpoch,
    QueueGrant,
    RecoveryKey,
)
from intake import service as intake
from portal import accounts, db
from portal.tables import Table, safe_cell, to_csv
from publicity import models as publicity_models
from publicity import service as publicity
from publicity.models import NoticePerson
from tests.conftest import StaffMember
from tests.integration.test_casework import (
    Team,
    file_direct,
    login,
    make_team,
    queue_id,
    user_id,
    workdays_after,
)
from tests.integration.test_publicity import actor, at, notice_input, person
from tests.integration.test_publicity import editors as editors  # noqa: F401
from tests.integration.test_publicity import publish as publish  # noqa: F401


def views() -> Any:
    """casework.supervision_views, imported late: it loads pygal, whose import hook turns a
    later failed optional import (pygments looking for ctags, via alembic) into an
    ImportWarning, which this suite treats as an error. The app imports it after alembic."""
    from casework import supervision_views

    return supervision_views


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


TABLES = ("counts", "durations", "deadlines", "overdue", "due-soon", "handlers", "findings",
          "publicity", "objections", "trend")


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def team(app: Flask, make_staff) -> Team:  # noqa: ANN001
    return make_team(app, make_staff)


@pytest.fixture
def supervisor(app: Flask, make_staff) -> StaffMember:  # noqa: ANN001
    return make_staff("jiandu", "supervisor")


@pytest.fixture
def admin(app: Flask, make_staff) -> StaffMember:  # noqa: ANN001
    return make_staff("sysadmin", "admin")


# --- reading the dashboard ------------------------------------------------------------------------


def tr(app: Flask, text: object, **params: object) -> str:
    """A message as the pages render it (the default language, Chinese)."""
    with app.test_request_context("/"):
        return gettext(str(text), **params) if params else str(gettext(str(text)))


def tr_label(app: Flask, labels: dict[str, Any], key: str) -> str:
    with app.test_request_context("/"):
        return str(labels[key])


@dataclass
class Shown:
    """One table of the page: its title, headers and rows (cell texts)."""

    title: str
    headers: list[str]
    rows: list[list[str]]


def page_tables(page: str) -> dict[str, Shown]:
    """Every table of the dashboard page, by name, in page order."""
    out: dict[str, Shown] = {}
    for match in re.finditer(r'<h2 id="([\w-]+)">(.*?)</h2>\s*<table[^>]*>(.*?)</table>', page,
                             re.S):
        name, title, body = match.groups()
        headers = [htmllib.unescape(h) for h in re.findall(r"<th>(.*?)</th>", body, re.S)]
        tbody = body.split("<tbody>", 1)[1]
        rows = []
        for tr_ in re.findall(r"<tr>(.*?)</tr>", tbody, re.S):
            if 'class="muted"' in tr_:
                continue  # "Nothing in this period."
            rows.append([htmllib.unescape(c) for c in re.findall(r"<td>(.*?)</td>", tr_, re.S)])
        out[name] = Shown(htmllib.unescape(title), headers, rows)
    return out


def csv_of(client: FlaskClient, name: str, query: str) -> tuple[list[str], list[list[str]]]:
    """A table's CSV: checks type and BOM; returns (header, rows)."""
    response = client.get(f"/staff/supervision/{name}.csv{query}")
    assert response.status_code == 200, (name, response.status_code)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]
    text = raw[3:].decode("utf-8")
    assert "\ufeff" not in text
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    return parsed[0], parsed[1:]


def headers(app: Flask) -> dict[str, list[str]]:
    """Every table's column headers, translated as the page shows them."""
    channels = [tr_label(app, CHANNEL_LABELS, ch) for ch in Channel]
    due = ["Case", "Queue", "State", "Deadline", "Due"]
    raw: dict[str, list[str]] = {
        "counts": ["Queue", "Cases received"],
        "durations": ["From → to", "Cases", "Median", "90th percentile"],
        "deadlines": ["Deadline", "Fell due", "Met in time", "Share in time (%)"],
        "overdue": [*due, "Working days overdue", "Assigned to"],
        "due-soon": [*due, "Working days left", "Assigned to"],
        "handlers": ["Handler", "Queue", "Open now", "Overdue now", "Concluded in the period"],
        "findings": ["Finding", "Cases"],
        "publicity": ["Notices published", "Persons", "Corrections", "Withdrawals"],
        "objections": ["Notice", "Period", "Persons", "Objections", "Appointed", "Suspended",
                       "Not appointed", "Pending"],
        "trend": ["Month", "Cases received", "Cases concluded",
                  "Median working days to decision"],
    }
    out = {name: [tr(app, h) for h in hs] for name, hs in raw.items()}
    out["counts"] += channels + [tr(app, h) for h in (
        "Real name", "Anonymous", "Cases accepted", "Cases not accepted", "Cases transferred",
        "Cases withdrawn", "Cases concluded", "Open now", "Overdue now", "Extensions")]
    return out


def expect_everywhere(app: Flask, client: FlaskClient, query: str,
                      expected: dict[str, list[list[object]]],
                      titles: dict[str, str] | None = None) -> str:
    """The page and every CSV show exactly the expected rows (and headers); returns the page."""
    response = client.get(f"/staff/supervision/{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    page = response.get_data(as_text=True)
    shown = page_tables(page)
    assert list(shown) == list(TABLES)
    want_headers = headers(app)
    for name in TABLES:
        want = [[str(v) for v in r] for r in expected[name]]
        assert shown[name].headers == want_headers[name], name
        assert shown[name].rows == want, (name, shown[name].rows)
        csv_header, csv_rows = csv_of(client, name, query)
        assert csv_header == want_headers[name], name
        # CSV cells of the page's rows, neutralised where a spreadsheet would evaluate them.
        assert csv_rows == [[safe_cell(v) for v in r] for r in want], (name, csv_rows)
        if not want:
            assert tr(app, "Nothing in this period.") in page.split(f'<h2 id="{name}">')[1] \
                .split("</table>")[0]
    for name, title in (titles or {}).items():
        assert shown[name].title == title, (name, shown[name].title)
    return page


# --- building the cases ---------------------------------------------------------------------------


@dataclass
class Actors:
    """Service-level staff (CurrentStaff) for the case actions."""

    head: accounts.CurrentStaff
    dichead: accounts.CurrentStaff
    org: accounts.CurrentStaff
    dic: accounts.CurrentStaff


def actors_of(team: Team) -> Actors:
    with team.app.app_context():
        return Actors(team.desk.staff(team.head), team.desk.staff(team.dichead),
                      team.desk.staff(team.org), team.desk.staff(team.dic))


def on_case(app: Flask, call: Callable[..., Any], staff: accounts.CurrentStaff, no: str,
            *args: object, **kwargs: object) -> None:
    """One workflow action at the case's current version (read fresh from its row)."""
    with app.app_context():
        session = db.session()
        version = session.scalar(select(Case.version).where(Case.case_no == no))
        session.rollback()
        call(session, staff, no, version, *args, **kwargs)


def register_phone(app: Flask, staff: accounts.CurrentStaff, day: dt.date) -> str:
    """A report received by telephone and registered by a member (no receipt handed out)."""
    with at(day), app.app_context():
        session = db.session()
        queue = queues.queue_by_slug(session, "org")
        category = session.scalar(select(Category.id).where(Category.code == "selection"))
        no, receipt = intake.register_report(
            session, staff.actor, queue,
            intake.ReportInput(category_id=int(category), facts="PHONE-来电反映丙某问题。",
                               persons=(intake.Person("丙某"),), channel=Channel.phone),
            [], secrets.token_hex(16), give_receipt=False)
    assert receipt is None
    return no


def withdraw(app: Flask, receipt: str, day: dt.date) -> None:
    with at(day), app.app_context():
        session = db.session()
        reporter = intake.load_session(session, intake.open_session(session, receipt))
        assert reporter is not None
        intake.withdraw(session, reporter)


def decision_clock(app: Flask, no: str) -> int:
    with app.app_context():
        session = db.session()
        case_id = session.scalar(select(Case.id).where(Case.case_no == no))
        return int(session.scalar(select(CaseDeadline.id).where(
            CaseDeadline.case_id == case_id, CaseDeadline.kind == DeadlineKind.decision,
            CaseDeadline.state == "open")))


def queue_name(app: Flask, slug: str) -> str:
    with app.app_context():
        return str(db.session().scalar(select(Queue.name_zh).where(Queue.slug == slug)))


def build(team: Team) -> dict[str, str]:
    """The known set of cases (letters → case numbers); see EXPECTED below for the timings.

    org = the organization department's queue, dic = the discipline commission's.

    A  org web anonymous   received Fri 02-13, accepted Wed 02-25, concluded Mon 03-02
                           (substantiated), taken by orghandler
    D  org web anonymous   received Mon 09-28, transferred to dic Thu 10-08, accepted there
                           Tue 10-13, taken by dichandler
    C  org phone anonymous received Tue 09-29, refused Mon 10-12
    B  org web real name   received Wed 09-30, accepted Fri 10-09, told Sat 10-10, concluded
                           Fri 10-16 (partly), told the result Tue 10-20, archived Wed 10-21,
                           taken by orghandler
    E  dic web anonymous   received Fri 10-09, withdrawn Mon 10-12
    F  dic web real name   received Sat 10-10 (a working day), decision clock extended by five
                           working days on Tue 10-20, still open
    G  org web anonymous   received Mon 10-12, assigned to orghandler, still open
    I  dic web anonymous   received Wed 10-14, sent to an outside body Mon 10-19
    H  org web anonymous   received Mon 10-26, still open
    """
    app = team.app
    who = actors_of(team)
    no: dict[str, str] = {}
    receipts: dict[str, str] = {}

    def file(letter: str, day: str, code: str, real: bool = False) -> None:
        with at(d(day)):
            receipts[letter], no[letter] = file_direct(app, code, f"被举报人{letter}", real=real)

    file("A", "2026-02-13", "selection")
    on_case(app, workflow.take, who.org, no["A"])
    on_case(app, workflow.accept, who.head, no["A"], "核查", d("2026-02-25"))
    on_case(app, workflow.conclude, who.head, no["A"], "substantiated", "ANSWER-属实",
            d("2026-03-02"))

    file("D", "2026-09-28", "selection")
    no["C"] = register_phone(app, who.head, d("2026-09-29"))
    file("B", "2026-09-30", "selection", real=True)
    on_case(app, workflow.transfer, who.head, no["D"], queue_id(app, "dic"), "属于违纪问题",
            d("2026-10-08"))
    file("E", "2026-10-09", "discipline")
    on_case(app, workflow.accept, who.head, no["B"], "核查", d("2026-10-09"))
    on_case(app, workflow.take, who.org, no["B"])
    file("F", "2026-10-10", "discipline", real=True)
    on_case(app, workflow.record_feedback, who.head, no["B"], "acceptance_notice", "phone",
            d("2026-10-10"), d("2026-10-10"))
    file("G", "2026-10-12", "selection")
    on_case(app, workflow.refuse, who.head, no["C"], "no-substance", "ANSWER-无实质内容",
            d("2026-10-12"))
    withdraw(app, receipts["E"], d("2026-10-12"))
    on_case(app, workflow.assign, who.head, no["G"], user_id(app, "orghandler"))
    on_case(app, workflow.accept, who.dichead, no["D"], "初步核实", d("2026-10-13"))
    on_case(app, workflow.take, who.dic, no["D"])
    file("I", "2026-10-14", "discipline")
    on_case(app, workflow.conclude, who.head, no["B"], "partly", "ANSWER-部分属实",
            d("2026-10-16"))
    on_case(app, workflow.transfer_outside, who.dichead, no["I"], "某县人民检察院",
            "REASON-涉嫌职务犯罪", d("2026-10-19"))
    on_case(app, workflow.record_feedback, who.head, no["B"], "result_notice", "portal",
            d("2026-10-20"), d("2026-10-20"))
    with at(d("2026-10-20")):
        on_case(app, workflow.extend, who.dichead, no["F"], decision_clock(app, no["F"]), 5,
                "REASON-需要补充材料")
    on_case(app, workflow.close, who.head, no["B"], d("2026-10-21"))
    file("H", "2026-10-26", "selection")
    return no


VIEW = d("2026-11-04")  # a Wednesday: "today" when the supervisor looks


# The durations, by hand (working days from the day after the start to the day it was met):
#   receipt → decision:  A 02-13→02-25: 02-14 (Sat, worked), 02-24, 02-25           = 3
#                        B 09-30→10-09: 10-08, 10-09                               = 2
#                        C 09-29→10-12: 09-30, 10-08, 10-09, 10-10 (Sat), 10-12      = 5
#                        D (at dic, from the transfer) 10-08→10-13: 10-09, 10-10, 10-12,
#                          10-13                                                   = 4
#   acceptance → conclusion: A 02-25→03-02: 02-26, 02-27, 02-28 (Sat), 03-02           = 4
#                            B 10-09→10-16: 10-10, 10-12, 10-13, 10-14, 10-15, 10-16 = 6
#   conclusion → feedback:   B 10-16→10-20: 10-19, 10-20                             = 2
# Percentiles by linear interpolation between closest ranks (percentile_cont):
#   [2, 3, 4, 5]: median 3.5, p90 at rank 2.7 → 4 + 0.7 = 4.7;  [4, 6]: 5 and 5.8;
#   [2, 3, 5] (org only): 3 and 3 + 0.8 × 2 = 4.6;  [2, 4, 5] (October): 4 and 4.8.
#
# Due dates (N working days after the start day):
#   A decision 15 after 02-13 → 03-12 (met 02-25); conclusion 60 after 02-25 (met 03-02)
#   B decision and acceptance notice 15 after 09-30 → 10-27 (met 10-09 and 10-10);
#     conclusion 60 after 10-09 → 2027; result notice 15 after 10-16 → 11-06 (met 10-20)
#   C decision 15 after 09-29 → 10-26 (met 10-12)
#   D org decision 15 after 09-28 → 10-23, cancelled by the transfer; transfer 5 after 09-28:
#     09-29, 09-30, 10-08, 10-09, 10-10 → 10-10 (met 10-08); dic decision 5 after 10-08:
#     10-09, 10-10, 10-12, 10-13, 10-14 → 10-14 (met 10-13); conclusion 60 after 10-13 → 2027
#   E decision cancelled by the withdrawal
#   F decision 15 after 10-10 → 10-30, extended by 5 → 11-06 (11-02..11-06), open;
#     acceptance notice → 10-30, open: overdue on 11-04 by 11-02, 11-03, 11-04 = 3
#   G decision 15 after 10-12: 10-13..10-16, 10-19..10-23, 10-26..10-30, 11-02 → 11-02, open:
#     overdue on 11-04 by 11-03, 11-04 = 2
#   H decision 15 after 10-26 → 11-16, open (eight working days left on 11-04: not "soon")
#   I decision cancelled by the transfer outside; transfer 5 after 10-14: 10-15, 10-16, 10-19,
#     10-20, 10-21 → 10-21 (met 10-19)
# Due soon on 11-04 (within 11-05, 11-06, 11-09): F's decision, 11-06, two working days left.


def test_the_hand_counts_agree_with_the_official_schedule() -> None:
    """The working days listed above, checked against chinesecalendar (not the product)."""
    assert workdays_after(d("2026-02-13"), 3) == d("2026-02-25")
    assert workdays_after(d("2026-02-13"), 15) == d("2026-03-12")
    assert workdays_after(d("2026-02-25"), 4) == d("2026-03-02")
    assert workdays_after(d("2026-09-30"), 2) == d("2026-10-09")
    assert workdays_after(d("2026-09-30"), 15) == d("2026-10-27")
    assert workdays_after(d("2026-09-29"), 5) == d("2026-10-12")
    assert workdays_after(d("2026-09-29"), 15) == d("2026-10-26")
    assert workdays_after(d("2026-09-28"), 5) == d("2026-10-10")
    assert workdays_after(d("2026-10-08"), 4) == d("2026-10-13")
    assert workdays_after(d("2026-10-08"), 5) == d("2026-10-14")
    assert workdays_after(d("2026-10-09"), 6) == d("2026-10-16")
    assert workdays_after(d("2026-10-16"), 2) == d("2026-10-20")
    assert workdays_after(d("2026-10-16"), 15) == d("2026-11-06")
    assert workdays_after(d("2026-10-10"), 15) == d("2026-10-30")
    assert workdays_after(d("2026-10-10"), 20) == d("2026-11-06")
    assert workdays_after(d("2026-10-12"), 15) == d("2026-11-02")
    assert workdays_after(d("2026-10-26"), 15) == d("2026-11-16")
    assert workdays_after(d("2026-10-14"), 5) == d("2026-10-21")
    assert workdays_after(d("2026-10-30"), 3) == VIEW
    assert workdays_after(VIEW, 3) == d("2026-11-09")
    assert d("2026-03-02") < workdays_after(d("2026-02-25"), 60) < VIEW


def expected_all_year(app: Flask) -> dict[str, list[list[object]]]:
    """Every figure for 2026-01-01 .. 2026-11-04, all queues, viewed on 2026-11-04."""
    org, dic = queue_name(app, "org"), queue_name(app, "dic")
    assert queue_id(app, "org") < queue_id(app, "dic")
    all_queues = tr(app, "All queues")
    received = tr_label(app, STATE_LABELS, "received")
    return {
        # queue, received, web, phone, letter, visit, real name, anonymous, accepted, refused,
        # transferred, withdrawn, concluded, open now, overdue now, extensions
        "counts": [
            [org, 5, 4, 1, 0, 0, 1, 4, 2, 1, 1, 0, 2, 2, 1, 0],
            [dic, 4, 4, 0, 0, 0, 1, 3, 1, 0, 1, 1, 0, 2, 1, 1],
            [all_queues, 9, 8, 1, 0, 0, 2, 7, 3, 1, 2, 1, 2, 4, 2, 1],
        ],
        "durations": [
            [tr(app, "Receipt → decision"), 4, "3.5", "4.7"],
            [tr(app, "Acceptance → conclusion"), 2, "5", "5.8"],
            [tr(app, "Conclusion → real-name feedback"), 1, "2", "2"],
        ],
        "deadlines": [
            [tr_label(app, DEADLINE_LABELS, "acceptance_notice"), 2, 1, "50"],
            [tr_label(app, DEADLINE_LABELS, "conclusion"), 1, 1, "100"],
            [tr_label(app, DEADLINE_LABELS, "decision"), 5, 4, "80"],
            [tr_label(app, DEADLINE_LABELS, "transfer"), 2, 2, "100"],
        ],
        "overdue": [
            ["F", dic, received, tr_label(app, DEADLINE_LABELS, "acceptance_notice"),
             "2026-10-30", 3, "—"],
            ["G", org, received, tr_label(app, DEADLINE_LABELS, "decision"), "2026-11-02", 2,
             "orghandler"],
        ],
        "due-soon": [
            ["F", dic, received, tr_label(app, DEADLINE_LABELS, "decision"), "2026-11-06", 2,
             "—"],
        ],
        # Ordered by queue name, then handler: "××县纪委监委信访室" sorts before "中共××县委…".
        "handlers": [
            ["dichandler", dic, 1, 0, 0],
            ["orghandler", org, 1, 1, 2],
        ],
        "findings": [
            [tr_label(app, FINDING_LABELS, "substantiated"), 1],
            [tr_label(app, FINDING_LABELS, "partly"), 1],
            [tr_label(app, FINDING_LABELS, "unsubstantiated"), 0],
            [tr_label(app, FINDING_LABELS, "unverifiable"), 0],
        ],
        "publicity": [[0, 0, 0, 0]],
        "objections": [],
        "trend": [
            ["2026-01", 0, 0, "—"], ["2026-02", 1, 0, "3"], ["2026-03", 0, 1, "—"],
            ["2026-04", 0, 0, "—"], ["2026-05", 0, 0, "—"], ["2026-06", 0, 0, "—"],
            ["2026-07", 0, 0, "—"], ["2026-08", 0, 0, "—"], ["2026-09", 3, 0, "—"],
            ["2026-10", 5, 1, "4"], ["2026-11", 0, 0, "—"],
        ],
    }


def numbered(expected: dict[str, list[list[object]]], no: dict[str, str]
             ) -> dict[str, list[list[object]]]:
    """The expected tables with case letters replaced by the case numbers."""
    out = {}
    for name, rows in expected.items():
        if name in ("overdue", "due-soon"):
            rows = [[no[r[0]], *r[1:]] for r in rows]  # type: ignore[index]
        out[name] = rows
    return out


# --- 1. every figure ------------------------------------------------------------------------------


def test_every_figure_of_the_year_on_the_page_and_in_every_csv(team: Team,
                                                                supervisor: StaffMember) -> None:
    app = team.app
    no = build(team)
    with at(VIEW):
        client = login(app, supervisor)
        expected = numbered(expected_all_year(app), no)
        titles = {"overdue": tr(app, "Overdue now (%(n)d)", n=2),
                  "due-soon": tr(app, "Due within 3 working days (%(n)d)", n=1)}
        # The default period is this year up to today; the same figures when it is spelled out.
        page = expect_everywhere(app, client, "", expected, titles)
        assert "2026-01-01 – 2026-11-04" in page
        explicit = expect_everywhere(app, client, "?from=2026-01-01&to=2026-11-04", expected,
                                     titles)
        assert page_tables(explicit) == page_tables(page)
        # Nothing of what was reported is on the page.
        for secret in ("被举报人", "ANSWER-", "REASON-", "PHONE-", "李实名", "13700000000"):
            assert secret not in page, secret


def test_one_queue_and_a_shorter_period(team: Team, supervisor: StaffMember) -> None:
    app = team.app
    no = build(team)
    org, dic = queue_name(app, "org"), queue_name(app, "dic")
    all_queues = tr(app, "All queues")
    received = tr_label(app, STATE_LABELS, "received")
    labels = {k: tr_label(app, DEADLINE_LABELS, k) for k in DEADLINE_LABELS}
    year = expected_all_year(app)
    with at(VIEW):
        client = login(app, supervisor)

        # The organization department only: D counts where it is now (dic), but its transfer
        # out is org's; F, E and D's decision at dic are not org's.
        org_only: dict[str, list[list[object]]] = {
            **year,
            "counts": [[org, 5, 4, 1, 0, 0, 1, 4, 2, 1, 1, 0, 2, 2, 1, 0],
                       [all_queues, 5, 4, 1, 0, 0, 1, 4, 2, 1, 1, 0, 2, 2, 1, 0]],
            "durations": [
                [tr(app, "Receipt → decision"), 3, "3", "4.6"],
                [tr(app, "Acceptance → conclusion"), 2, "5", "5.8"],
                [tr(app, "Conclusion → real-name feedback"), 1, "2", "2"],
            ],
            "deadlines": [[labels["acceptance_notice"], 1, 1, "100"],
                          [labels["conclusion"], 1, 1, "100"],
                          [labels["decision"], 4, 3, "75"],
                          [labels["transfer"], 1, 1, "100"]],
            "overdue": [[no["G"], org, received, labels["decision"], "2026-11-02", 2,
                         "orghandler"]],
            "due-soon": [],
            "handlers": [["orghandler", org, 1, 1, 2]],
            "trend": [
                ["2026-01", 0, 0, "—"], ["2026-02", 1, 0, "3"], ["2026-03", 0, 1, "—"],
                ["2026-04", 0, 0, "—"], ["2026-05", 0, 0, "—"], ["2026-06", 0, 0, "—"],
                ["2026-07", 0, 0, "—"], ["2026-08", 0, 0, "—"], ["2026-09", 2, 0, "—"],
                ["2026-10", 2, 1, "3.5"], ["2026-11", 0, 0, "—"],
            ],
        }
        page = expect_everywhere(app, client, "?queue=org", org_only,
                                 {"overdue": tr(app, "Overdue now (%(n)d)", n=1),
                                  "due-soon": tr(app, "Due within 3 working days (%(n)d)", n=0)})
        assert f"2026-01-01 – 2026-11-04 · {org}" in page
        assert '<option value="org" selected>' in page

        # October only, all queues: A (February), and B, C and D's receipt (September) drop
        # out of "received"; what happened to them in October stays.
        october: dict[str, list[list[object]]] = {
            "counts": [[org, 2, 2, 0, 0, 0, 0, 2, 1, 1, 1, 0, 1, 2, 1, 0],
                       [dic, 3, 3, 0, 0, 0, 1, 2, 1, 0, 1, 1, 0, 2, 1, 1],
                       [all_queues, 5, 5, 0, 0, 0, 1, 4, 2, 1, 2, 1, 1, 4, 2, 1]],
            "durations": [
                [tr(app, "Receipt → decision"), 3, "4", "4.8"],
                [tr(app, "Acceptance → conclusion"), 1, "6", "6"],
                [tr(app, "Conclusion → real-name feedback"), 1, "2", "2"],
            ],
            "deadlines": [[labels["acceptance_notice"], 2, 1, "50"],
                          [labels["decision"], 3, 3, "100"],
                          [labels["transfer"], 2, 2, "100"]],
            "overdue": numbered(year, no)["overdue"],
            "due-soon": numbered(year, no)["due-soon"],
            "handlers": [["dichandler", dic, 1, 0, 0], ["orghandler", org, 1, 1, 1]],
            "findings": [[tr_label(app, FINDING_LABELS, k), int(k == "partly")]
                         for k in FINDING_LABELS],
            "publicity": [[0, 0, 0, 0]],
            "objections": [],
            "trend": [["2026-10", 5, 1, "4"]],
        }
        expect_everywhere(app, client, "?from=2026-10-01&to=2026-10-31", october)

        # October, commission only.
        dic_october: dict[str, list[list[object]]] = {
            **october,
            "counts": [[dic, 3, 3, 0, 0, 0, 1, 2, 1, 0, 1, 1, 0, 2, 1, 1],
                       [all_queues, 3, 3, 0, 0, 0, 1, 2, 1, 0, 1, 1, 0, 2, 1, 1]],
            "durations": [
                [tr(app, "Receipt → decision"), 1, "4", "4"],
                [tr(app, "Acceptance → conclusion"), 0, "—", "—"],
                [tr(app, "Conclusion → real-name feedback"), 0, "—", "—"],
            ],
            "deadlines": [[labels["acceptance_notice"], 1, 0, "0"],
                          [labels["decision"], 1, 1, "100"],
                          [labels["transfer"], 1, 1, "100"]],
            "overdue": [[no["F"], dic, received, labels["acceptance_notice"], "2026-10-30", 3,
                         "—"]],
            "handlers": [["dichandler", dic, 1, 0, 0]],
            "findings": [[tr_label(app, FINDING_LABELS, k), 0] for k in FINDING_LABELS],
            "trend": [["2026-10", 3, 0, "4"]],
        }
        expect_everywhere(app, client, "?from=2026-10-01&to=2026-10-31&queue=dic", dic_october)


# --- 2. percentiles -------------------------------------------------------------------------------


def test_percentile_interpolates_between_closest_ranks() -> None:
    """The same definition as PostgreSQL's percentile_cont (and Python's "inclusive"
    quantiles), from (value, count) pairs."""
    p = supervision.percentile
    four = [(1, 1), (2, 1), (3, 1), (4, 1)]
    assert p(four, 0.5) == 2.5
    assert p(four, 0.9) == pytest.approx(3.7, abs=1e-12)
    assert p(four, 0.0) == 1
    assert p(four, 1.0) == 4
    assert p([], 0.5) is None
    assert p([(7, 1)], 0.5) == 7
    assert p([(7, 1)], 0.9) == 7
    assert p([(2, 1), (3, 1), (4, 1), (5, 1)], 0.5) == 3.5
    assert p([(2, 1), (3, 1), (4, 1), (5, 1)], 0.9) == pytest.approx(4.7, abs=1e-12)
    assert p([(4, 1), (6, 1)], 0.9) == pytest.approx(5.8, abs=1e-12)
    # Counts: [1, 1, 1, 5] → median 1, p90 at rank 2.7: 1 + 0.7 × 4 = 3.8.
    assert p([(1, 3), (5, 1)], 0.5) == 1
    assert p([(1, 3), (5, 1)], 0.9) == pytest.approx(3.8, abs=1e-12)
    # Against an independent implementation, on a few skewed samples.
    for sample in ([0, 0, 1, 2, 2, 2, 9], [3, 3, 3], [1, 10], [5, 1, 4, 4, 4, 30, 2, 2, 0, 7]):
        histogram = sorted({v: sample.count(v) for v in sample}.items())
        deciles = statistics.quantiles(sample, n=10, method="inclusive")
        assert p(histogram, 0.5) == pytest.approx(statistics.median(sample), abs=1e-9)
        assert p(histogram, 0.9) == pytest.approx(deciles[8], abs=1e-9), sample


def test_percentile_cont_and_the_histogram_give_the_same_durations(team: Team) -> None:
    """Both databases go through the histogram of the day scan: the same literal figures on
    both (see the hand counts above), and on PostgreSQL the same as its percentile_cont."""
    app = team.app
    build(team)
    org, dic = queue_id(app, "org"), queue_id(app, "dic")

    def spread(start: str, end: str, queue: int | None = None
               ) -> dict[str, tuple[int, float | None, float | None]]:
        with app.app_context():
            period = supervision.Period.checked(d(start), d(end), queue)
            scans = supervision.Scans(db.session(), period)
            found = {kind: (s.count, s.median, s.p90)
                     for kind, s in supervision.spreads(scans).items()}
            if db.session().get_bind().dialect.name == "postgresql":
                assert found == percentile_cont(period)
            return found

    def percentile_cont(period: supervision.Period
                        ) -> dict[str, tuple[int, float | None, float | None]]:
        took = CaseDeadline.took_days
        rows = db.session().execute(
            select(CaseDeadline.kind, func.count(),
                   func.percentile_cont(0.5).within_group(took),
                   func.percentile_cont(0.9).within_group(took))
            .where(CaseDeadline.kind.in_(supervision.DURATIONS),
                   CaseDeadline.state == DeadlineState.met,
                   CaseDeadline.met_on.between(period.start, period.end),
                   CaseDeadline.queue_id == period.queue_id if period.queue_id is not None
                   else CaseDeadline.queue_id.is_not(None))
            .group_by(CaseDeadline.kind))
        return {str(kind): (n, pytest.approx(float(median), abs=1e-9),
                            pytest.approx(float(p90), abs=1e-9))
                for kind, n, median, p90 in rows}

    approx = functools.partial(pytest.approx, abs=1e-9)
    assert spread("2026-01-01", "2026-11-04") == {
        "decision": (4, approx(3.5), approx(4.7)),
        "conclusion": (2, approx(5), approx(5.8)),
        "result_notice": (1, approx(2), approx(2)),
    }
    assert spread("2026-01-01", "2026-11-04", org) == {
        "decision": (3, approx(3), approx(4.6)),
        "conclusion": (2, approx(5), approx(5.8)),
        "result_notice": (1, approx(2), approx(2)),
    }
    assert spread("2026-01-01", "2026-11-04", dic) == {"decision": (1, approx(4), approx(4))}
    assert spread("2026-10-01", "2026-10-31") == {
        "decision": (3, approx(4), approx(4.8)),
        "conclusion": (1, approx(6), approx(6)),
        "result_notice": (1, approx(2), approx(2)),
    }
    assert spread("2026-02-01", "2026-03-31", org) == {
        "decision": (1, approx(3), approx(3)),
        "conclusion": (1, approx(4), approx(4)),
    }
    assert spread("2026-04-01", "2026-09-30") == {}


# --- 3. objections only once a notice's period is over ------------------------------------------


TITLE = "中共示例县委组织部干部任前公示"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","点此查看")'
SECOND_TITLE = "中共示例县委组织部干部任前公示（第二批）"


def objection(app: Flask, notice_id: int, person_id: int, day: dt.date) -> str:
    """An objection filed through the intake service while the notice is open."""
    with at(day), app.app_context():
        session = db.session()
        category = session.scalar(select(Category.id).where(Category.code == "objection"))
        receipt = intake.file_report(session, intake.ReportInput(
            category_id=int(category), facts="OBJ-对该同志有异议，具体如下。",
            objection=(notice_id, person_id)), [], secrets.token_hex(16))
        number = session.scalar(select(Case.notice_person_id).where(
            Case.received_on == day, Case.notice_person_id == person_id))
    assert receipt
    assert number == person_id
    return receipt


def persons_of(app: Flask, notice_id: int) -> list[int]:
    with app.app_context():
        return list(db.session().scalars(select(NoticePerson.id).where(
            NoticePerson.notice_id == notice_id).order_by(NoticePerson.position)))


def publicity_tables(app: Flask, client: FlaskClient, query: str = ""
                     ) -> tuple[str, dict[str, Shown], dict[str, list[list[str]]]]:
    """The page, its tables, and the publicity and objections CSVs."""
    response = client.get(f"/staff/supervision/{query}")
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    csvs = {}
    for name in ("publicity", "objections"):
        header, rows = csv_of(client, name, query)
        assert header == headers(app)[name]
        csvs[name] = rows
    return page, page_tables(page), csvs


def test_objections_appear_only_once_the_period_is_over(team: Team, editors,  # noqa: ANN001
                                                        publish, supervisor: StaffMember,  # noqa: ANN001
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = team.app
    ed1, ed2 = actor(app, editors[0]), actor(app, editors[1])
    with at(d("2026-11-02")):
        first = publish(notice_input(d("2026-11-03")), approved_on=d("2026-11-02"))
        formula = publish(notice_input(d("2026-11-03"), person("赵六"), title=FORMULA_TITLE),
                          approved_on=d("2026-11-02"))
        second = publish(notice_input(d("2026-11-03"), person("钱七"), title=SECOND_TITLE),
                         approved_on=d("2026-11-02"))
        with app.app_context():  # a draft nobody approved: not published, not counted
            publicity.create_draft(db.session(), notice_input(d("2026-11-16"), title="草稿"),
                                   ed1)
    wang, li = persons_of(app, first)
    [zhao] = persons_of(app, formula)
    # The period: five working days from Tue 11-03: 11-03, 11-04, 11-05, 11-06, Mon 11-09.
    with app.app_context():
        for notice_id in (first, formula, second):
            notice = db.session().get(publicity_models.Notice, notice_id)
            assert notice is not None
            assert (notice.period_start, notice.period_end) == (d("2026-11-03"), d("2026-11-09"))

    objection(app, first, wang, d("2026-11-04"))
    with at(d("2026-11-04")), app.app_context():
        # A correction of the formula notice (the issuer: not substantive, the period stays).
        change = publicity.propose_correction(
            db.session(), formula, notice_input(d("2026-11-03"), person("赵六"),
                                                title=FORMULA_TITLE, issuer="中共示例县委"),
            "更正发布单位", ed1)
        publicity.approve_change(db.session(), change.id, ed2, d("2026-11-04"))
    objection(app, first, wang, d("2026-11-05"))
    with at(d("2026-11-05")), app.app_context():
        change = publicity.propose_withdrawal(db.session(), second, "人选另行研究。", ed1)
        publicity.approve_change(db.session(), change.id, ed2, d("2026-11-05"))
        publicity.set_outcome(db.session(), wang, "suspended", ed1, d("2026-11-05"))

    published = [[3, 4, 1, 1]]  # notices, persons (2 + 1 + 1), corrections, withdrawals
    # While the period runs, and on its last day: no notice in the objections table, neither
    # on the page nor in the CSV, though the first has drawn two objections.
    for day in ("2026-11-06", "2026-11-09"):
        with at(d(day)):
            client = login(app, supervisor)
            page, shown, csvs = publicity_tables(app, client)
            assert shown["publicity"].rows == [[str(v) for v in r] for r in published]
            assert csvs["publicity"] == [[str(v) for v in r] for r in published]
            assert shown["objections"].rows == []
            assert csvs["objections"] == []
            assert TITLE not in page
            assert "HYPERLINK" not in page
            # Whatever the period asked for: what counts is whether the notice's is over today.
            page, shown, csvs = publicity_tables(app, client, "?from=2026-11-01&to=2026-12-31")
            assert shown["objections"].rows == csvs["objections"] == []
            assert TITLE not in page
    with app.app_context():
        assert db.session().get(NoticePerson, wang).objections_total == 2  # type: ignore[union-attr]

    with at(d("2026-11-10")):
        with app.app_context():
            publicity.set_outcome(db.session(), li, "appointed", ed1, d("2026-11-10"))
            publicity.set_outcome(db.session(), zhao, "withdrawn", ed1, d("2026-11-10"))
        client = login(app, supervisor)
        page, shown, csvs = publicity_tables(app, client)
        period = "2026-11-03 – 2026-11-09"
        # notice, period, persons, objections, appointed, suspended, not appointed, pending;
        # the latest period end first, then the newest notice.
        rows = [[SECOND_TITLE, period, 1, 0, 0, 0, 0, 1],
                [FORMULA_TITLE, period, 1, 0, 0, 0, 1, 0],
                [TITLE, period, 2, 2, 1, 1, 0, 0]]
        assert shown["objections"].rows == [[str(v) for v in r] for r in rows]
        assert shown["publicity"].rows == [[str(v) for v in r] for r in published]
        # The CSV neutralises the title a spreadsheet would run as a formula.
        assert csvs["objections"] == [["'" + FORMULA_TITLE if v == FORMULA_TITLE else str(v)
                                       for v in r] for r in rows]
        raw = client.get("/staff/supervision/objections.csv").data.decode("utf-8-sig")
        assert "\"'=HYPERLINK(" in raw
        assert not re.search(r'(^|,)"?=', raw, re.M)
        assert str(escape(FORMULA_TITLE)) in page  # on the page, as escaped text
        # A period that does not contain the publication lists nothing.
        _page, shown, csvs = publicity_tables(app, client, "?from=2026-10-01&to=2026-10-31")
        assert shown["objections"].rows == csvs["objections"] == []
        assert csvs["publicity"] == [["0", "0", "0", "0"]]
        # A long list: the page shows the notices that ended last and says how many there
        # are; the CSV lists every one.
        monkeypatch.setattr(views(), "OBJECTIONS_SHOWN", 2)
        _page, shown, csvs = publicity_tables(app, client)
        assert shown["objections"].rows == [[str(v) for v in r] for r in rows[:2]]
        assert shown["objections"].title == tr(
            app, "Objections per notice (periods that have ended): the latest %(shown)d of "
                 "%(n)d; the CSV lists them all", shown=2, n=3)
        assert len(csvs["objections"]) == 3
        monkeypatch.setattr(views(), "OBJECTIONS_SHOWN", 3)
        _page, shown, _csvs = publicity_tables(app, client)
        assert len(shown["objections"].rows) == 3
        assert shown["objections"].title == tr(
            app, "Objections per notice (periods that have ended)")


# --- 4. privacy by construction -------------------------------------------------------------------


def everything_shown(client: FlaskClient, query: str = "") -> dict[str, object]:
    """The page's tables, every CSV and both charts."""
    response = client.get(f"/staff/supervision/{query}")
    assert response.status_code == 200, response.status_code
    out: dict[str, object] = {"page": page_tables(response.get_data(as_text=True))}
    for name in TABLES:
        got = client.get(f"/staff/supervision/{name}.csv{query}")
        assert got.status_code == 200, name
        out[f"{name}.csv"] = got.data
    for name in ("volume", "decision-days"):
        got = client.get(f"/staff/supervision/charts/{name}.svg{query}")
        assert got.status_code == 200, name
        # pygal gives every drawing a fresh random element id; the rest must be the same.
        out[f"{name}.svg"] = re.sub(rb"chart-[0-9a-f-]{36}", b"chart-ID", got.data)
    return out


def test_the_dashboard_needs_no_queue_key(team: Team, supervisor: StaffMember) -> None:
    """Every queue key deleted (epochs, grants, the recovery key, every case's wraps): the
    dashboard shows the same figures, while no member can open a case any more."""
    app = team.app
    no = build(team)
    head = actors_of(team).head
    with at(VIEW):
        client = login(app, supervisor)
        before = {q: everything_shown(client, q) for q in ("", "?queue=org",
                                                           "?from=2026-10-01&to=2026-10-31")}
        with app.app_context():
            session = db.session()
            with db.transaction(session):
                session.execute(update(Case).values(keys_wrap=None, identity_wrap=None,
                                                    epoch_id=None))
                session.execute(delete(QueueGrant))
                session.execute(delete(QueueEpoch))
                session.execute(delete(RecoveryKey))
                session.execute(update(Queue).values(current_epoch=0))
        with app.app_context():
            session = db.session()
            assert session.scalar(select(func.count()).select_from(QueueEpoch)) == 0
            assert session.scalar(select(func.count()).select_from(Case).where(
                Case.keys_wrap.is_not(None))) == 0
            case = session.scalar(select(Case).where(Case.case_no == no["G"]))
            assert case is not None
            with pytest.raises(casework_service.CaseError):
                casework_service.unlock(session, head, case)
        after = {q: everything_shown(client, q) for q in before}
        assert after == before
        expect_everywhere(app, client, "", numbered(expected_all_year(app), no))


SECRET_COLUMNS = (
    # Distinctive names: never in the dashboard's SQL, whatever table or alias.
    "keys_wrap", "identity_wrap", "identity_public_key", "identity_public_key_mac",
    "reporter_box", "receipt_lookup", "receipt_salt", "pending_detail", "recovery_wrap",
    "private_key_box", "totp_box", "pending_totp_box", "key_box", "receipt_box",
)
QUALIFIED_SECRETS = (("case_entry", "body"), ("evidence_file", "meta"),
                     ("evidence_chunk", "data"), ("case_event", "reason"),
                     ("queue_grant", "wrap"), ("staff_user", "verifier"),
                     ("staff_user", "kdf_salt"))
CONTENT_TABLES = ("case_entry", "evidence_file", "evidence_chunk", "queue_grant", "queue_epoch",
                  "recovery_key", "reporter_session", "form_submission", "person_index",
                  "case_feedback")
# What the login gate reads for every staff request (the viewer's own session and account):
# not the dashboard's doing, and no report's.
LOGIN_SECRETS = ("private_key_box", "totp_box", "pending_totp_box")
LOGIN_QUALIFIED = (("staff_user", "verifier"), ("staff_user", "kdf_salt"))


def secrets_in(statement: str, *, allow_login: bool = False) -> list[str]:
    """The secret columns and content tables a statement names."""
    found = []
    for column in SECRET_COLUMNS:
        if allow_login and column in LOGIN_SECRETS:
            continue
        if re.search(rf"\b{column}\b", statement):
            found.append(column)
    for table, column in QUALIFIED_SECRETS:
        if allow_login and (table, column) in LOGIN_QUALIFIED:
            continue
        if re.search(rf'(?<![\w.])"?{table}"?\.{column}\b', statement):
            found.append(f"{table}.{column}")
    for table in CONTENT_TABLES:
        if re.search(rf'(?<![\w.])"?{table}"?(?![\w])', statement):
            found.append(table)
    return found


def test_secrets_in_recognises_what_it_must() -> None:
    assert secrets_in('SELECT "case".keys_wrap FROM "case"') == ["keys_wrap"]
    assert secrets_in("SELECT case_entry.body FROM case_entry") == ["case_entry.body",
                                                                    "case_entry"]
    assert secrets_in("SELECT case_event.reason, notice_change.reason FROM case_event") == [
        "case_event.reason"]
    assert secrets_in("SELECT count(*) FROM evidence_chunk") == ["evidence_chunk"]
    assert secrets_in("SELECT notice_change.reason, case_event.action FROM notice_change") == []
    assert secrets_in('SELECT "case".received_on, case_deadline.met_ordinal FROM "case"') == []
    assert secrets_in("SELECT staff_user.totp_box FROM staff_user", allow_login=True) == []


@contextmanager
def recorded_sql(app: Flask) -> Iterator[tuple[list[str], list[str]]]:
    """Every statement sent to the database, and those sent from inside a supervision view."""
    everything: list[str] = []
    in_views: list[str] = []
    inside = [False]
    with app.app_context():
        engine = db.engine()

    def listen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        everything.append(statement)
        if inside[0]:
            in_views.append(statement)

    originals = {}
    for endpoint in ("supervision.dashboard", "supervision.table_csv", "supervision.chart"):
        original = originals[endpoint] = app.view_functions[endpoint]

        @functools.wraps(original)
        def marked(*args: Any, __view: Callable[..., Any] = original, **kwargs: Any) -> Any:
            inside[0] = True
            try:
                return __view(*args, **kwargs)
            finally:
                inside[0] = False

        app.view_functions[endpoint] = marked
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield everything, in_views
    finally:
        event.remove(engine, "before_cursor_execute", listen)
        app.view_functions.update(originals)


def test_no_encrypted_column_is_ever_selected(team: Team, supervisor: StaffMember) -> None:
    app = team.app
    build(team)
    with at(VIEW):
        client = login(app, supervisor)
        with recorded_sql(app) as (everything, in_views):
            for query in ("", "?queue=dic", "?from=2026-10-01&to=2026-10-31&queue=org"):
                everything_shown(client, query)
    assert in_views
    assert len(everything) > len(in_views)
    # The dashboard reads case metadata: counts, dates, ordinals.
    assert any('FROM "case"' in s for s in in_views)
    assert any("FROM case_deadline" in s for s in in_views)
    leaks = {s: secrets_in(s) for s in in_views if secrets_in(s)}
    assert leaks == {}
    # Nor does anything else the requests run (the login gate reads only the viewer's own
    # account and session).
    leaks = {s: secrets_in(s, allow_login=True) for s in everything
             if secrets_in(s, allow_login=True)}
    assert leaks == {}


# --- 5. access and bad input ----------------------------------------------------------------------


PATHS = ("/staff/supervision/", "/staff/supervision/counts.csv",
         "/staff/supervision/charts/volume.svg")


def test_only_supervisors_and_admins_open_the_dashboard(team: Team, editors,  # noqa: ANN001
                                                        supervisor: StaffMember,
                                                        admin: StaffMember) -> None:
    app = team.app
    anonymous = app.test_client()
    for path in PATHS:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert "/staff/login" in response.headers["Location"], path
    for member in (team.org, team.head, team.dic, team.dichead, editors[0]):
        client = login(app, member)
        for path in PATHS:
            assert client.get(path).status_code == 403, (member.username, path)
    for member in (supervisor, admin):
        client = login(app, member)
        page = client.get(PATHS[0])
        assert page.status_code == 200, member.username
        assert list(page_tables(page.get_data(as_text=True))) == list(TABLES)
        assert client.get(PATHS[1]).status_code == 200
        assert client.get(PATHS[2]).status_code == 200


@pytest.mark.clock("2026-11-04T10:00:00+08:00")  # "to" defaults to today: before 2026-12-01
def test_bad_periods_and_queues_are_refused(team: Team, supervisor: StaffMember) -> None:
    app = team.app
    client = login(app, supervisor)

    def refused(query: str, code: str) -> str:
        response = client.get(f"/staff/supervision/?{query}")
        assert response.status_code == 400, (query, response.status_code)
        page = response.get_data(as_text=True)
        message = tr(app, RANGE_ERRORS[code][0])
        assert f'role="alert">{escape(message)}</p>' in page, (query, code)
        assert page_tables(page) == {}  # no figure under a refused period
        for name in ("counts", "objections", "trend"):
            assert client.get(f"/staff/supervision/{name}.csv?{query}").status_code == 400
        for name in ("volume", "decision-days"):
            assert client.get(f"/staff/supervision/charts/{name}.svg?{query}").status_code == 400
        return page

    page = refused("from=2026-11-04&to=2026-11-03", "inverted")
    assert "期间的开始日期晚于结束日期。" in page
    assert 'value="2026-11-04"' in page  # the form keeps what was asked
    refused("from=2026-12-01", "inverted")  # "to" defaults to today, before it
    for bad in ("from=2026-13-45", "from=2026-02-30", "to=yesterday", "from=2026-11",
                "to=2026-11-04T00:00", "from=2026-1-5"):
        refused(bad, "bad-date")
    assert client.get("/staff/supervision/?from=%00").status_code == 400
    for absurd in ("from=2010-01-01&to=2026-11-04", "from=1999-12-31&to=2000-01-05",
                   "from=0001-01-01&to=0001-12-31", "from=2026-01-01&to=9999-12-31",
                   "from=2100-12-31&to=2101-01-01"):
        refused(absurd, "too-long")
    page = refused("queue=nosuch", "no-such-queue")
    page = refused("queue=%3Cscript%3Ealert(1)%3C/script%3E", "no-such-queue")
    assert "<script>alert(1)" not in page
    refused("queue=" + "x" * 5000, "no-such-queue")

    # Unknown tables and charts are not found.
    assert client.get("/staff/supervision/nosuch.csv").status_code == 404
    assert client.get("/staff/supervision/charts/nosuch.svg").status_code == 404
    assert client.get("/staff/supervision/charts/nosuch.svg?from=x").status_code == 404

    # Ten years is allowed; so is a single day.
    for fine in ("from=2016-01-01&to=2025-12-31", "from=2026-11-04&to=2026-11-04",
                 "from=2026-01-01&to=2026-11-04&queue=dic"):
        response = client.get(f"/staff/supervision/?{fine}")
        assert response.status_code == 200, fine
        assert list(page_tables(response.get_data(as_text=True))) == list(TABLES)


def test_a_period_of_more_than_ten_years_is_refused() -> None:
    """"At most ten years long", as the message says: ten years are allowed, ten years and
    five days are not."""
    assert supervision.Period.checked(d("2016-01-01"), d("2025-12-31"))
    assert supervision.Period.checked(d("2000-01-01"), d("2000-01-01"))
    assert supervision.Period.checked(d("2091-01-01"), d("2100-12-31"))
    with pytest.raises(supervision.RangeError) as info:
        supervision.Period.checked(d("2016-01-01"), d("2026-01-05"))
    assert info.value.code == "too-long"


def test_a_moment_counts_on_its_day_in_china(team: Team, publish) -> None:  # noqa: ANN001
    """Extensions and publications are stored as moments (UTC); the dashboard's period is of
    calendar days in Asia/Shanghai. An extension granted and a notice published at 07:00 on
    10-20 in Shanghai (23:00 on 10-19 in UTC) belong to 10-20."""
    app = team.app
    who = actors_of(team)
    with at(d("2026-10-19")):
        _receipt, no = file_direct(app, "discipline", "被举报人Z")
    with at(d("2026-10-20"), hour=7):
        on_case(app, workflow.extend, who.dichead, no, decision_clock(app, no), 3,
                "REASON-需要补充材料")
        publish(notice_input(d("2026-10-21")), approved_on=d("2026-10-20"))

    def figures(day: str) -> tuple[int, int, int]:
        with app.app_context():
            session = db.session()
            period = supervision.Period.checked(d(day), d(day))
            counts = supervision.total(supervision.counts(
                supervision.Scans(session, period), d("2026-10-22")).values())
            published = supervision.publicity_counts(session, period, d("2026-10-22"))
            return counts.extensions, published.notices, published.persons

    # extensions, notices published, persons published
    assert figures("2026-10-20") == (1, 1, 2)
    assert figures("2026-10-19") == (0, 0, 0)


# --- 6. CSV cells a spreadsheet would run ---------------------------------------------------------


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    for formula in ("=1+1", "+1", "-1", "@x", "\tx", "\rx", "=HYPERLINK(\"http://x\")",
                    "-2+3", "@SUM(A1:A2)", " =x"):  # blanks before `=`: finding 14 of #21
        assert safe_cell(formula) == "'" + formula, formula
    for plain in ("正常文本", "a=b", "1-2", "—", "2026-10-01 – 2026-10-09", "'quoted"):
        assert safe_cell(plain) == plain, plain
    assert safe_cell(None) == ""
    assert safe_cell(5) == "5"
    assert safe_cell(0) == "0"
    table = Table("t", "T", ["=H", "名称"], [["=cmd|' /C calc'!A0", 3, "正常"]])
    data = to_csv(table)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").split("\r\n") == [
        "'=H,名称", "'=cmd|' /C calc'!A0,3,正常", ""]


# --- 7. charts ------------------------------------------------------------------------------------


ALLOWED_URLS = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_trend_charts_are_plain_svg_images(team: Team, supervisor: StaffMember) -> None:
    app = team.app
    build(team)
    with at(VIEW):
        client = login(app, supervisor)
        page = client.get("/staff/supervision/?queue=org").get_data(as_text=True)
        for name in ("volume", "decision-days"):
            src = f"/staff/supervision/charts/{name}.svg?from=2026-01-01&amp;to=2026-11-04" \
                  "&amp;queue=org"
            assert f'<img src="{src}"' in page, name
        for query, months in (("", [f"2026-{m:02d}" for m in range(1, 12)]),
                              ("?from=2025-11-15&to=2026-02-01",
                               ["2025-11", "2025-12", "2026-01", "2026-02"])):
            for name in ("volume", "decision-days"):
                response = client.get(f"/staff/supervision/charts/{name}.svg{query}")
                assert response.status_code == 200, name
                assert response.mimetype == "image/svg+xml"
                body = response.get_data(as_text=True)
                root = ElementTree.fromstring(response.data)  # noqa: S314 (our own SVG)
                assert root.tag == "{http://www.w3.org/2000/svg}svg"
                lowered = body.lower()
                assert "<script" not in lowered
                assert "javascript:" not in lowered
                assert "@import" not in lowered
                assert not re.search(r"url\(\s*['\"]?(https?:)?//", lowered)
                for ref in re.findall(r'(?:href|src)\s*=\s*"([^"]*)"', body):
                    assert ref.startswith("#"), ref  # nothing fetched from elsewhere
                urls = set(re.findall(r"https?://[^\s\"'<>)]+", body))
                assert urls <= ALLOWED_URLS | {u for u in urls if "pygal" in u and
                                               re.search(r"<!--[^>]*" + re.escape(u), body)}, urls
                for month in months:
                    assert f">{month}<" in body, (name, month)
                assert ">2026-03<" not in body or query == ""
