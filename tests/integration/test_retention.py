"""Retention purge: a case closed longer than the retention period keeps only its skeleton.

Runs on SQLite (a file database, whose every file is then read as bytes) and on PostgreSQL (the
logic, and every column of every row). The byte scan is shown to work by finding the
ciphertexts before the purge.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from casework import content, people, retention, workflow
from casework import service as casework
from casework.models import (
    Case,
    CaseDeadline,
    CaseEntry,
    CaseEvent,
    CaseFeedback,
    CaseState,
    EntryKind,
    EvidenceChunk,
    EvidenceFile,
    PersonIndex,
)
from intake import service as intake
from intake.models import ReporterSession
from portal import clock, crypto, db
from portal import state as portal_state
from portal.models import AuditEntry
from tests.intake_support import Desk, make_desk, open_reporter, post_report, receipt_of

REPORT_MARKER = "RPT-MARKER-c41e-王五挪用公款"
FILE_MARKER = "FILE-MARKER-9d2b-银行流水明细"
NOTE_MARKER = "NOTE-MARKER-5a77-内部核查意见"
REASON_MARKER = "REASON-MARKER-e013-移送理由"


@pytest.fixture
def desk(app: Flask, make_staff) -> Desk:
    return make_desk(app, make_staff)


@dataclass
class Filed:
    """A filed case: its number and receipt."""

    case_no: str
    receipt: str


def _file(desk: Desk, facts: str, files: list[tuple[bytes, str]] | None = None,
          **extra: str) -> Filed:
    client = desk.app.test_client()
    status, html = post_report(client, {"category": str(desk.category_id("discipline")),
                                        "persons-0-name": "王五", "facts": facts, **extra},
                               files=files)
    assert status == 200, re.findall(r"class=\"error[^>]*>([^<]*)", html)
    receipt = receipt_of(html)
    with desk.app.app_context():
        case = db.session().scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
        return Filed(case.case_no, receipt)


def _case(case_no: str) -> Case:
    return db.session().scalars(select(Case).where(Case.case_no == case_no)).one()


def _close(case_no: str, state: CaseState, closed_on: dt.date | None) -> None:
    session = db.session()
    with db.transaction(session):
        session.execute(update(Case).where(Case.case_no == case_no)
                        .values(state=state, closed_on=closed_on))


def _count(case_column: InstrumentedAttribute[int], case_id: int) -> int:
    """How many rows of a table belong to a case (given the table's case_id column)."""
    return int(db.session().scalar(select(func.count()).where(case_column == case_id)) or 0)


def _db_files(app: Flask) -> list[Path]:
    url = portal_state.config(app).database_url
    base = Path(url.removeprefix("sqlite:///"))
    return [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]


def _found_in_files(app: Flask, needles: dict[str, bytes]) -> set[str]:
    """Which needles occur anywhere in the SQLite database's files, read as raw bytes."""
    raw = b"".join(path.read_bytes() for path in _db_files(app))
    return {name for name, needle in needles.items() if needle in raw}


def _found_in_rows(needles: dict[str, bytes]) -> set[str]:
    """Which needles occur in any column of any row (any backend)."""
    from portal.db import Base

    found = set()
    for table in Base.metadata.sorted_tables:
        for row in db.session().execute(select(table)):
            for value in row:
                data = value if isinstance(value, bytes) else str(value).encode()
                found |= {name for name, needle in needles.items() if needle in data}
    return found


def _markers() -> dict[str, bytes]:
    needles = {}
    for marker in (REPORT_MARKER, FILE_MARKER, NOTE_MARKER, REASON_MARKER):
        ascii_part, chinese = marker.rsplit("-", 1)
        needles[f"{marker}/utf-8"] = marker.encode()
        needles[f"{marker}/utf-16"] = marker.encode("utf-16-le")
        needles[f"{marker}/gb18030"] = chinese.encode("gb18030")
        needles[f"{marker}/ascii"] = ascii_part.encode()
    return needles


def _add_history(staff: object, case_no: str) -> None:
    """A note, a history event with an encrypted reason, feedback, and a person index row."""
    session = db.session()
    case = _case(case_no)
    workflow.note(session, staff, case.case_no, case.version, NOTE_MARKER)  # type: ignore[arg-type]
    keys = casework.unlock(session, staff, case)  # type: ignore[arg-type]
    uid = crypto.random_bytes(16).hex()
    with db.transaction(session):
        session.add(CaseEvent(
            case_id=case.id, uid=uid, queue_id=case.queue_id, action="transfer-outside",
            from_state=CaseState.received, to_state=CaseState.transferred,
            detail=json.dumps({"body": "某法院"}, ensure_ascii=False),
            reason=content.encrypt_entry(keys.internal, case.uid, uid, "event-reason",
                                         {"text": REASON_MARKER})))
        session.add(CaseFeedback(case_id=case.id, kind="acceptance_notice", channel="phone",
                                 given_on=case.received_on))
        people.index(session, case, case.queue.slug, ["王五"])


def test_purge_destroys_content_and_leaves_the_skeleton(desk: Desk, runner) -> None:
    sqlite = portal_state.config(desk.app).database_url.startswith("sqlite")
    expired = _file(desk, f"{REPORT_MARKER} 2026年2月挪用公款。",
                    files=[((FILE_MARKER + "\n").encode() * 50, "流水.txt")],
                    real_name="y", reporter_name="赵六", reporter_phone="13800000000")
    recent = _file(desk, "最近归档的举报，涉及违规发放补贴。")
    still_open = _file(desk, "仍在办理的举报，涉及违规公款吃喝。")
    with desk.app.app_context():
        staff = desk.staff(desk.dic)
        _add_history(staff, expired.case_no)
        retention_days = portal_state.config(desk.app).retention_days
        today = clock.today()
    # The reporter has a session open on the expired case when the purge comes.
    reporter = desk.app.test_client()
    assert open_reporter(reporter, expired.receipt)[0] == 200
    with desk.app.app_context():
        session = db.session()
        case = _case(expired.case_no)
        report = session.scalars(select(CaseEntry).where(
            CaseEntry.case_id == case.id, CaseEntry.kind == EntryKind.report)).one()
        note = session.scalars(select(CaseEntry).where(
            CaseEntry.case_id == case.id, CaseEntry.kind == EntryKind.note)).one()
        chunk = session.scalars(select(EvidenceChunk.data).join(EvidenceFile).where(
            EvidenceFile.case_id == case.id)).first()
        reason = session.scalars(select(CaseEvent.reason).where(
            CaseEvent.case_id == case.id, CaseEvent.reason.is_not(None))).one()
        ciphertexts = {"keys_wrap": case.keys_wrap, "identity_wrap": case.identity_wrap,
                       "reporter_box": case.reporter_box, "chunk": chunk,
                       "report": report.body, "note": note.body, "reason": reason}
        assert all(isinstance(v, bytes) and len(v) > 40 for v in ciphertexts.values())
        needles: dict[str, bytes] = {k: v for k, v in ciphertexts.items() if v is not None}
        skeleton = (CaseDeadline.case_id, CaseEvent.case_id, CaseFeedback.case_id)
        before = [_count(column, case.id) for column in skeleton]
        assert before[0] >= 1
        assert _count(ReporterSession.case_id, case.id) == 1
        assert _count(PersonIndex.case_id, case.id) >= 1
        _close(expired.case_no, CaseState.closed, today - dt.timedelta(days=retention_days + 1))
        _close(recent.case_no, CaseState.closed, today - dt.timedelta(days=retention_days - 1))
        # A closing day left on a case that is open again never makes it due.
        _close(still_open.case_no, CaseState.in_progress, today - dt.timedelta(days=3650))
        untouched = {c.case_no: (c.keys_wrap, c.reporter_box, c.version)
                     for c in (_case(recent.case_no), _case(still_open.case_no))}
        # The scan can fail: before the purge it finds every ciphertext in the files and rows.
        if sqlite:
            assert _found_in_files(desk.app, needles) == set(needles)
        assert _found_in_rows(needles) == set(needles)
        assert not _found_in_rows(_markers())

    result = runner.invoke(args=["cases", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert "purged 1 case(s)" in result.output

    if sqlite:  # the database, its WAL and shared memory: no old page survives anywhere
        assert _found_in_files(desk.app, needles | _markers()) == set()
        wal = [p for p in _db_files(desk.app) if p.name.endswith("-wal")]
        assert all(p.stat().st_size == 0 for p in wal)
    with desk.app.app_context():
        session = db.session()
        assert _found_in_rows(needles | _markers()) == set()
        case = _case(expired.case_no)
        assert case.purged
        assert (case.keys_wrap, case.identity_wrap, case.identity_public_key,
                case.identity_public_key_mac, case.epoch_id, case.reporter_box,
                case.receipt_salt, case.receipt_lookup, case.pending_detail) == (None,) * 9
        for column in (CaseEntry.case_id, EvidenceFile.case_id, ReporterSession.case_id,
                       PersonIndex.case_id):
            assert _count(column, case.id) == 0, column
        assert session.scalar(select(func.count()).select_from(EvidenceChunk)
                              .join(EvidenceFile)) == 0
        # The skeleton: metadata, history without reasons, deadlines, feedback.
        assert (case.state, case.category.code, case.queue.slug, case.real_name) == (
            CaseState.closed, "discipline", "dic", True)
        assert case.closed_on == today - dt.timedelta(days=retention_days + 1)
        assert [_count(column, case.id) for column in skeleton] == before
        event = session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.action == "transfer-outside")).one()
        assert event.reason is None
        assert json.loads(event.detail) == {"body": "某法院"}
        purges = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "case.purged")).all()
        assert [(a.target, a.details) for a in purges] == [(expired.case_no, "{}")]
        # The other cases are as they were.
        for case_no, (keys_wrap, box, version) in untouched.items():
            other = _case(case_no)
            assert not other.purged
            assert (other.keys_wrap, other.reporter_box, other.version) == (keys_wrap, box,
                                                                              version)
            entries = casework.read_entries(session, other,
                                            casework.unlock(session, staff, other))
            assert entries[0].kind == EntryKind.report

    # The receipt: the same answer as one never issued, on the page and in the service.
    random_receipt = "".join(str((int(d) + 1) % 10) for d in expired.receipt)
    wrong_status, wrong_page = open_reporter(desk.app.test_client(), random_receipt)
    purged_status, purged_page = open_reporter(desk.app.test_client(), expired.receipt)
    assert wrong_status == purged_status == 404
    assert _error_text(wrong_page) == _error_text(purged_page)
    with desk.app.app_context():
        for typed in (expired.receipt, random_receipt):
            with pytest.raises(intake.IntakeError) as raised:
                intake.open_session(db.session(), typed)
            assert raised.value.code == "receipt-unknown"
    # The reporter's open session is gone too.
    assert reporter.get("/report/case").status_code == 303

    again = runner.invoke(args=["cases", "purge-expired"])
    assert again.exit_code == 0, again.output
    assert "purged 0 case(s)" in again.output


def _error_text(page: str) -> str:
    return page[page.index('class="error-text"'):].split("</p>")[0]


def test_the_retention_period_ends_on_the_day(desk: Desk) -> None:
    """Closed exactly `retention_days` ago is due; one day less is not. Every final state."""
    filed = [_file(desk, f"第{i}件举报，涉及违规收受礼品礼金。") for i in range(5)]
    with desk.app.app_context():
        days = portal_state.config(desk.app).retention_days
        today = dt.date(2031, 6, 1)
        due_on = today - dt.timedelta(days=days)
        finals = (CaseState.closed, CaseState.not_accepted, CaseState.withdrawn,
                  CaseState.transferred)
        for f, state in zip(filed, finals, strict=False):
            _close(f.case_no, state, due_on)
        _close(filed[4].case_no, CaseState.concluded, due_on)  # concluded is not final
        session = db.session()
        assert retention.purge_expired(session, today - dt.timedelta(days=1)) == 0
        assert retention.purge_expired(session, today) == 4
        assert retention.purge_expired(session, today) == 0
        states = {row.state: row.purged for row in session.execute(select(Case.state,
                                                                           Case.purged))}
        assert states == {**dict.fromkeys(finals, True), CaseState.concluded: False}


def test_purge_works_in_batches(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    filed = [_file(desk, f"第{i}件举报，涉及违规收受礼品礼金。") for i in range(5)]
    with desk.app.app_context():
        for f in filed:
            _close(f.case_no, CaseState.closed, dt.date(2020, 1, 1))
        session = db.session()
        assert retention.purge_expired(session, dt.date(2030, 1, 1)) == 5
        assert session.scalar(select(func.count()).select_from(Case)
                              .where(Case.purged.is_(False))) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "case.purged")) == 5
