"""#21, item 7: the order of rows must not place a reporter's filing between staff actions more
finely than the hour.

Reporter-originated times are kept to the hour; staff actions keep their exact times. If row
ids or audit sequence numbers followed the order of writing, a filing whose id falls between
those of two staff actions would be placed between their exact times. The attacker here reads
every table and every column the schema holds (ids, sequence numbers, counters) and tries.

What remains, and is documented in docs/security.md (#21.7): the case number and the case's
row id are one sequence shared with staff-registered cases; the order of entries within one
case (a conversation keeps its order); and what the storage itself keeps beyond the columns
(PostgreSQL transaction ids and physical row order, SQLite's hidden rowid of tables keyed by
text, free pages).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

import pytest
import time_machine
from flask import Flask
from sqlalchemy import BigInteger, DateTime, Integer, inspect, select, text

from casework import queues, workflow
from casework.models import Case, Category, Channel
from intake import evidence, receipts
from intake import service as intake
from intake.models import FormSubmission
from portal import audit, db
from portal.db import Base, UTCDateTime
from tests.intake_support import make_desk

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 4, 10, 0, tzinfo=SHANGHAI)
FILINGS = 6  # staff actions S0..S6 with filings F0..F5 between them, all within one hour
# What the attacker may not use because it stays, by design (docs/security.md, #21.7): the
# case's row id and number, and every column holding a case's row id.
KNOWN_REMAINING = {("case", "id"), ("case_counter", "last")}


def _staff_action(app: Flask, staff: object, base_case: str | None, i: int) -> str:
    """A staff registration by telephone (the rows a filing writes, but by a member at an
    exact time), and a note on the first registered case."""
    with app.app_context():
        session = db.session()
        queue = queues.queue_by_slug(session, "dic")
        category = session.scalar(select(Category.id).where(Category.code == "discipline"))
        photo = evidence.clean(f"staff ledger {i}\n".encode() * 50, max_bytes=1 << 20)
        no, _receipt = intake.register_report(
            session, staff.actor, queue,  # type: ignore[attr-defined]
            intake.ReportInput(category_id=int(category), facts=f"来电{i}",
                               persons=(intake.Person(f"丙{i}"),), channel=Channel.phone),
            [intake.Evidence("call.txt", photo)], secrets.token_hex(16), give_receipt=False)
        target = base_case or no
        version = session.scalar(select(Case.version).where(Case.case_no == target))
        session.rollback()
        workflow.note(session, staff, target, int(version), f"第{i}次记录")  # type: ignore[arg-type]
    return no


def _filing(app: Flask, i: int) -> tuple[str, str]:
    """A reporter's web filing with a person and a file; (case number, form token hash)."""
    token = secrets.token_hex(16)
    with app.app_context():
        session = db.session()
        category = session.scalar(select(Category.id).where(Category.code == "discipline"))
        ledger = evidence.clean(f"reporter ledger {i}\n".encode() * 50, max_bytes=1 << 20)
        receipt = intake.file_report(session, intake.ReportInput(
            category_id=int(category), facts=f"举报{i}", persons=(intake.Person(f"王{i}"),)),
            [intake.Evidence("ledger.txt", ledger)], token)
        no = session.scalar(select(Case.case_no).where(
            Case.receipt_lookup == receipts.lookup(receipt)))
        session.rollback()
    return str(no), intake._token_hash(token)


def _owners(app: Flask, events: dict[str, str], tokens: dict[str, str]
            ) -> dict[str, dict[str, list[dict[str, object]]]]:
    """Every row of every table, grouped by the event (S0…, F0…) that wrote it, as far as the
    attacker can tell: by case (any case_id or case number), file, or form token."""
    by_event: dict[str, dict[str, list[dict[str, object]]]] = defaultdict(lambda: defaultdict(list))
    with app.app_context():
        session = db.session()
        case_of = {int(r.id): events[r.case_no] for r in session.execute(
            select(Case.id, Case.case_no)) if r.case_no in events}
        engine = session.get_bind()
        with engine.connect() as conn:
            file_case = {int(r[0]): int(r[1]) for r in conn.execute(
                text("SELECT id, case_id FROM evidence_file"))}
            for table in inspect(conn).get_table_names():
                every_row = text(f'SELECT * FROM "{table}"')  # noqa: S608 - reflected names
                for row in conn.execute(every_row).mappings():
                    owner = None
                    if table == "case":
                        owner = case_of.get(int(row["id"]))
                    elif "case_id" in row:
                        owner = case_of.get(int(row["case_id"]))
                    elif "file_id" in row:
                        owner = case_of.get(file_case.get(int(row["file_id"]), -1))
                    elif table == "audit_entry":
                        owner = events.get(str(row["target"]))
                    elif table == FormSubmission.__tablename__:
                        owner = tokens.get(str(row["token_hash"]))
                    if owner is not None:
                        by_event[owner][table].append(dict(row))
    return by_event


def _integer_columns() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Integer | BigInteger) and not any(
                    fk.column.table.name == "case" for fk in column.foreign_keys):
                found[table.name].add(column.name)
    return found


def test_row_order_does_not_place_a_filing_between_staff_actions(
        app: Flask, make_staff, request: pytest.FixtureRequest) -> None:
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    desk = make_desk(app, make_staff)
    events: dict[str, str] = {}  # case number -> event name
    tokens: dict[str, str] = {}
    with app.app_context():
        staff = desk.staff(desk.dic)
    base = None
    for i in range(FILINGS + 1):
        clock.move_to(START + dt.timedelta(minutes=2 + 8 * i))  # S_i at :02, :10, :18, …
        no = _staff_action(app, staff, base, i)
        base = base or no
        events[no] = f"S{i}"
        if i < FILINGS:
            clock.move_to(START + dt.timedelta(minutes=6 + 8 * i))  # F_i at :06, :14, …
            filed, token = _filing(app, i)
            events[filed], tokens[token] = f"F{i}", f"F{i}"
    # The next hour: a staff action, after which an audit of the previous hour is complete.
    clock.move_to(START + dt.timedelta(hours=1, minutes=5))
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            audit.record(session, staff.actor, "test.later")

    rows = _owners(app, events, tokens)
    staff_events = [f"S{i}" for i in range(FILINGS + 1)]
    placed: list[str] = []
    for table, columns in _integer_columns().items():
        for column in columns - {c for t, c in KNOWN_REMAINING if t == table}:
            def first(event: str, table: str = table, column: str = column) -> int | None:
                values = [r[column] for r in rows[event][table] if r.get(column) is not None]
                return min(values) if values else None
            staff_values = [v for v in map(first, staff_events) if v is not None]
            guesses = []
            for i in range(FILINGS):
                mine = first(f"F{i}")
                if mine is None or len(staff_values) < len(staff_events):
                    break
                # The attacker's guess: after as many staff actions as have smaller values.
                guesses.append(sum(v < mine for v in staff_values))
            if len(guesses) == FILINGS and guesses == [i + 1 for i in range(FILINGS)]:
                placed.append(f"{table}.{column}")
    # With random identifiers a column places all six filings right by chance with
    # probability (1/8)^6, about 4e-6; with sequences it always does.
    assert placed == [], f"these columns place each filing between the staff actions: {placed}"

    # And every time a filing wrote is on the hour (staff times stay exact).
    for i in range(FILINGS):
        for table, table_rows in rows[f"F{i}"].items():
            for row in table_rows:
                for name, value in row.items():
                    column = Base.metadata.tables[table].columns.get(name)
                    if column is not None and isinstance(column.type, UTCDateTime | DateTime) \
                            and value is not None:
                        stamp = value if isinstance(value, dt.datetime) else \
                            dt.datetime.fromisoformat(str(value))
                        assert (stamp.minute, stamp.second, stamp.microsecond) == (0, 0, 0), (
                            f"{table}.{name} of filing F{i} is {value}")
