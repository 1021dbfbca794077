"""A database writer's attacks, done the way such an attacker would: straight on the rows, with
SQL, and without the instance secrets (which live in files, never in the database).

* A swapped queue public key (their own key, or another queue's authentic key and MAC) is
  refused before anything is sealed to it, on the public form and on the handlers' register.
* An edited audit row, with every plain hash recomputed, is caught by `audit verify`.
* After a rotation (here caused by a revocation), the old epoch key, and the revoked member's
  own key, open nothing the database still holds.
* After a purge, nothing of the case is left: on SQLite not in any byte of the database files;
  on PostgreSQL not in any row, and the ciphertexts old row versions may still hold (which a
  test cannot reach: dead tuples until VACUUM, WAL segments, backups) open with no key left
  anywhere once the queue's key has been rotated.

One keyed desk per database (module scope); each test makes the members and cases it needs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import LargeBinary, delete, func, insert, select, update

from casework import content, queues, workflow
from casework.models import (
    Case,
    CaseEntry,
    EvidenceChunk,
    EvidenceFile,
    PersonIndex,
    Queue,
    QueueEpoch,
    QueueGrant,
    RecoveryKey,
)
from intake.models import ReporterSession
from portal import audit, clock, crypto, db, errors, state
from portal.db import Base
from portal.models import AuditEntry, Role
from tests.conftest import StaffMember
from tests.intake_support import (
    Desk,
    csrf_of,
    open_reporter,
    post_multipart,
    post_report,
    receipt_of,
)
from tests.reliability.roles import (
    another_instance,
    create_member,
    database_url,
    initialised_app,
    logged_in,
    make_desk_for,
    user_id,
)

FACTS = "2026年3月，某局局长在办公室收受现金两万元。"


@dataclass
class Office:
    """An initialised app whose default queues have keys and one handler each."""

    app: Flask
    desk: Desk

    @property
    def sqlite(self) -> bool:
        """Whether the database is a SQLite file."""
        return str(state.config(self.app).database_url).startswith("sqlite")


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def base(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    url = database_url(request, tmp_path_factory, request.param)
    with initialised_app(url, tmp_path_factory.mktemp("writer")) as app:
        yield Office(app, make_desk_for(app))


# --- helpers --------------------------------------------------------------------------------------


def _member(base: Office, role: str) -> StaffMember:
    """A new member of a queue role, granted the queue's key with the recovery secret."""
    member = create_member(base.app, f"u{secrets.token_hex(4)}", role)
    slug = "org" if role.startswith("org") else "dic"
    result = base.app.test_cli_runner().invoke(
        args=["queues", "grant", "--queue", slug, "--user", member.username],
        input=base.desk.recovery_secret + "\n")
    assert result.exit_code == 0, result.output
    return member


def _file(base: Office, code: str, tag: str) -> tuple[str, str]:
    """File a real-name report with evidence through the public form; (case number, receipt)."""
    status, html = post_report(base.app.test_client(), {
        "category": str(base.desk.category_id(code)), "persons-0-name": f"PERSON-{tag}",
        "facts": f"FACTS-{tag} 某局局长收受现金。", "real_name": "y",
        "reporter_name": f"IDENTITY-{tag}", "reporter_phone": "13800000000",
    }, files=[(f"EVIDENCE-{tag}\n".encode() * 40, "evidence.txt")])
    assert status == 200, html[:2000]
    with base.app.app_context():
        case_no = db.session().scalars(select(Case.case_no).order_by(Case.id.desc())
                                       .limit(1)).one()
    return case_no, receipt_of(html)


def _blobs(app: Flask) -> Iterator[tuple[str, bytes]]:
    """Every binary value of every row: (where, value)."""
    with app.app_context():
        session = db.session()
        for table in Base.metadata.sorted_tables:
            binary = [c for c in table.columns if isinstance(c.type, LargeBinary)]
            if not binary:
                continue
            keys = list(table.primary_key.columns)
            for row in session.execute(select(*keys, *binary)):
                for column, value in zip(binary, row[len(keys):], strict=True):
                    if value:
                        yield f"{table.name}.{column.name}{tuple(row[:len(keys)])}", bytes(value)


def opened_by(app: Flask, private_key: bytes) -> list[str]:
    """Every sealed box in the database that this X25519 private key opens."""
    opened = []
    for where, blob in _blobs(app):
        try:
            crypto.unseal(private_key, blob)
        except crypto.DecryptionFailed:
            continue
        opened.append(where)
    return opened


def _recovery_private(base: Office) -> bytes:
    return queues.parse_recovery_secret(base.desk.recovery_secret)


def _current_epoch_private(base: Office, slug: str) -> bytes:
    """A queue's current epoch private key, opened with the offline recovery secret."""
    with base.app.app_context():
        session = db.session()
        queue = queues.queue_by_slug(session, slug)
        epoch = queues.current_epoch(session, queue)
        assert epoch is not None
        return crypto.unseal(_recovery_private(base), epoch.recovery_wrap)


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


# --- a swapped queue public key -------------------------------------------------------------------


def _epoch_row(app: Flask, slug: str) -> tuple[int, bytes, bytes]:
    with app.app_context():
        session = db.session()
        queue = queues.queue_by_slug(session, slug)
        epoch = queues.current_epoch(session, queue)
        assert epoch is not None
        return epoch.id, bytes(epoch.public_key), bytes(epoch.public_key_mac)


def _write_epoch(app: Flask, epoch_id: int, public: bytes, mac: bytes) -> None:
    """What a database writer does: replace the key bytes of an epoch row."""
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(update(QueueEpoch).where(QueueEpoch.id == epoch_id)
                            .values(public_key=public, public_key_mac=mac))


def _register(client: FlaskClient, category: int) -> tuple[int, str]:
    """A handler registers a report received by telephone (the staff path into the queue)."""
    page = client.get("/staff/cases/register").get_data(as_text=True)
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"', page)
    assert token, page[:2000]
    response = client.post("/staff/cases/register", data={
        "csrf_token": csrf_of(page), "form_token": token.group(1), "channel": "phone",
        "category": str(category), "person_1": "王五", "facts": "电话反映：某局长收受礼金。"})
    return response.status_code, response.get_data(as_text=True)


def test_a_swapped_queue_key_is_refused_before_anything_is_sealed_to_it(
        base: Office, caplog: pytest.LogCaptureFixture) -> None:
    app, desk = base.app, base.desk
    org_category = desk.category_id("selection")
    handler = logged_in(app, _member(base, Role.org_handler.value))
    epoch_id, real_public, real_mac = _epoch_row(app, "org")
    _dic_id, dic_public, dic_mac = _epoch_row(app, "dic")
    attacker_public, attacker_private = crypto.generate_keypair()
    dic_private = _current_epoch_private(base, "dic")
    dic_opens = opened_by(app, dic_private)
    cases = _count(app, Case)
    with app.test_request_context():
        closed_message = str(errors.DETAILS["intake-closed"])
    swaps = {
        # The attacker's own key under the old MAC (they cannot compute a new one)…
        "own key": (attacker_public, real_mac),
        # …or the other queue's authentic key and MAC: org reports would open for dic.
        "dic's authentic key": (dic_public, dic_mac),
    }
    for name, (public, mac) in swaps.items():
        _write_epoch(app, epoch_id, public, mac)
        caplog.clear()
        status, html = post_report(app.test_client(), {
            "category": str(org_category), "persons-0-name": "王五", "facts": FACTS})
        # Refused, and the reporter is told to use another channel; nothing was kept.
        assert status == 503, (name, status)
        assert closed_message in html, name
        # The operator's log names the cause.
        assert any("public key MAC does not verify" in r.getMessage()
                   for r in caplog.records if r.levelno >= logging.ERROR), name
        status, html = _register(handler, org_category)
        assert status == 409, (name, status)
        assert _count(app, Case) == cases, name
        # Nothing anywhere in the database opens with the key slipped in.
        if name == "own key":
            assert opened_by(app, attacker_private) == []
        else:
            assert opened_by(app, dic_private) == dic_opens
    # With the authentic key back, the same report is filed and sealed to the real key.
    _write_epoch(app, epoch_id, real_public, real_mac)
    status, html = post_report(app.test_client(), {
        "category": str(org_category), "persons-0-name": "王五", "facts": FACTS})
    assert status == 200
    assert _count(app, Case) == cases + 1
    org_private = _current_epoch_private(base, "org")
    with app.app_context():
        newest = db.session().scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
        assert newest.keys_wrap is not None
        content.CaseKeys.unseal(org_private, newest.keys_wrap)
    assert opened_by(app, attacker_private) == []


def test_a_swapped_recovery_key_is_refused_with_a_clear_error(base: Office) -> None:
    """The recovery key is sealed to at every new epoch: a writer who swaps it for their own
    would read every report filed after the next rotation."""
    app = base.app
    head = logged_in(app, _member(base, Role.org_head.value))
    with app.app_context():
        row = db.session().get(RecoveryKey, queues.RECOVERY_ROW)
        assert row is not None
        real = bytes(row.public_key)
        expected = errors.message_of(queues.QueueError("recovery-key-integrity"))
    attacker_public, attacker_private = crypto.generate_keypair()
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(update(RecoveryKey).values(public_key=attacker_public))
        epochs = [(e.id, e.epoch) for e in session.scalars(select(QueueEpoch))]
    try:
        # A head rotating on the key page (a revocation rotates the same way)…
        page = head.get("/staff/queues/org/keys").get_data(as_text=True)
        rotated = head.post("/staff/queues/org/keys/rotate", data={"csrf_token": csrf_of(page)})
        assert rotated.status_code == 409
        assert expected in rotated.get_data(as_text=True)
        # …the rotation and key commands, and a new queue's first keys.
        with app.app_context():
            queues.create_escalation_queue(db.session(), "上级", "Escalation", audit.CLI)
        for args in (["queues", "rotate", "--queue", "org"], ["queues", "init"],
                     ["queues", "verify-recovery"]):
            result = app.test_cli_runner().invoke(args=args,
                                                  input=base.desk.recovery_secret + "\n")
            assert result.exit_code == 1, (args, result.output)
            assert isinstance(result.exception, SystemExit), (args, result.exception)
            assert expected in result.output, args
        with app.app_context():
            session = db.session()
            assert [(e.id, e.epoch) for e in session.scalars(select(QueueEpoch))] == epochs
        assert opened_by(app, attacker_private) == []
    finally:
        with app.app_context():
            session = db.session()
            with db.transaction(session):
                session.execute(update(RecoveryKey).values(public_key=real))
                session.execute(delete(Queue).where(Queue.is_escalation))
    assert app.test_cli_runner().invoke(args=["queues", "verify-recovery"],
                                        input=base.desk.recovery_secret + "\n").exit_code == 0


# --- the audit chain ---------------------------------------------------------------------------


def _audit_rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session().execute(select(AuditEntry.__table__).order_by(AuditEntry.seq))
        return [dict(r._mapping) for r in rows]


def _replace_audit(app: Flask, rows: list[dict[str, Any]]) -> None:
    """Write the whole table as given (an attacker's edit, or the restore)."""
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(delete(AuditEntry))
            session.execute(insert(AuditEntry), rows)


def _plain_chain(rows: list[dict[str, Any]], start: int, key: bytes | None = None) -> None:
    """Recompute `mac` from row `start` on, chained, as an attacker would without the key:
    a plain SHA-256 of the fields (or an HMAC under a key they guess)."""
    prev = rows[start - 1]["mac"] if start else ""
    for row in rows[start:]:
        parts = [prev, str(row["seq"]), row["at"].isoformat(),
                 "" if row["actor_id"] is None else str(row["actor_id"]), row["actor"],
                 row["action"], row["target"], row["details"]]
        if key is None:
            row["mac"] = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        else:
            row["mac"] = crypto.mac(key, "portal/audit", *parts).hex()
        prev = row["mac"]


def _verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_edited_audit_rows_are_caught_even_with_recomputed_hashes(base: Office) -> None:
    app = base.app
    # A few more real entries: logins, grants (the filing's own event waits for its hour to
    # end before it joins the chain, #21.7).
    _file(base, "discipline", "AUDIT")
    original = _audit_rows(app)
    assert len(original) >= 5
    assert _verify(app)[0] == 0
    k = len(original) // 2  # the attacked entry (0-based); its seq is k + 1

    def edit_details(rows: list[dict[str, Any]]) -> None:
        rows[k]["details"] = json.dumps({"reason": "nothing happened"})
        _plain_chain(rows, k)

    def edit_with_guessed_key(rows: list[dict[str, Any]]) -> None:
        rows[k]["target"] = "someone-else"
        _plain_chain(rows, k, key=bytes(32))

    def backdate(rows: list[dict[str, Any]]) -> None:
        rows[k]["at"] = rows[k]["at"] - dt.timedelta(days=30)
        _plain_chain(rows, k)

    def blame_another(rows: list[dict[str, Any]]) -> None:
        rows[k]["actor"], rows[k]["actor_id"] = "admin", 1
        _plain_chain(rows, k)

    def delete_and_renumber(rows: list[dict[str, Any]]) -> None:
        del rows[k]
        for row in rows[k:]:
            row["seq"] -= 1
        _plain_chain(rows, k)

    def swap_order(rows: list[dict[str, Any]]) -> None:
        rows[k], rows[k + 1] = rows[k + 1], rows[k]
        rows[k]["seq"], rows[k + 1]["seq"] = rows[k + 1]["seq"], rows[k]["seq"]
        _plain_chain(rows, k)

    def insert_forged(rows: list[dict[str, Any]]) -> None:
        forged = {**rows[k], "action": "login.ok", "target": "intruder"}
        rows.insert(k, forged)
        for row in rows[k + 1:]:
            row["seq"] += 1
        _plain_chain(rows, k)

    attacks = (edit_details, edit_with_guessed_key, backdate, blame_another,
               delete_and_renumber, swap_order, insert_forged)
    for attack in attacks:
        rows = [dict(r) for r in original]
        attack(rows)
        _replace_audit(app, rows)
        code, output = _verify(app)
        assert code != 0, (attack.__name__, output)
        assert f" {k + 1} " in output or f"{k + 1}" in output, (attack.__name__, output)
        _replace_audit(app, original)
        assert _verify(app)[0] == 0, attack.__name__  # the check itself is not just failing


# --- rotation -------------------------------------------------------------------------------------


def test_after_a_rotation_the_old_keys_open_nothing_in_the_database(base: Office) -> None:
    app = base.app
    head = _member(base, Role.org_head.value)
    leaver = _member(base, Role.org_handler.value)
    for tag in ("ROT1", "ROT2"):
        _file(base, "selection", tag)
    org_cases = _org_cases(app)
    # What the leaver and a curious head hold before: the epoch key (through their grants and
    # through the recovery secret, the same key) and the leaver's own private key.
    with app.app_context():
        session = db.session()
        queue = queues.queue_by_slug(session, "org")
        epoch = queues.current_epoch(session, queue)
        assert epoch is not None
        old_epoch_id = epoch.id
        head_staff = base.desk.staff(head)
        old_epoch = queues.epoch_private_key(session, head_staff, epoch.id)
        leaver_staff = base.desk.staff(leaver)
        leaver_private = leaver_staff.private_key(session)
        assert queues.epoch_private_key(session, leaver_staff, epoch.id) == old_epoch
    assert old_epoch == _current_epoch_private(base, "org")
    # The scan works: before the rotation, these keys open the case and grant wraps.
    before = opened_by(app, old_epoch)
    assert len([w for w in before if w.startswith("case.")]) >= 2 * len(org_cases)
    assert [w for w in opened_by(app, leaver_private) if w.startswith("queue_grant.")]
    case_keys = {case_no: _case_keys(app, case_no, old_epoch) for case_no in org_cases}
    # The head revokes the leaver on the key page: the queue key rotates at once.
    client = logged_in(app, head)
    page = client.get("/staff/queues/org/keys").get_data(as_text=True)
    leaver_id = user_id(app, leaver.username)
    response = client.post(f"/staff/queues/org/keys/revoke/{leaver_id}", data={
        "csrf_token": csrf_of(page), f"r{leaver_id}-reason": "调离岗位"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    # Neither the old epoch key nor the leaver's key opens anything the database holds.
    assert opened_by(app, old_epoch) == []
    assert opened_by(app, leaver_private) == []
    with app.app_context():
        session = db.session()
        assert session.get(QueueEpoch, old_epoch_id) is None
        assert session.scalar(select(func.count()).select_from(QueueGrant)
                              .where(QueueGrant.epoch_id == old_epoch_id)) == 0
    # The content survived: the new epoch opens the same case keys, and the head reads on.
    new_epoch = _current_epoch_private(base, "org")
    assert new_epoch != old_epoch
    for case_no, keys in case_keys.items():
        assert _case_keys(app, case_no, new_epoch) == keys
    shown = client.get(f"/staff/cases/{org_cases[-1]}")
    assert shown.status_code == 200
    assert "FACTS-ROT2" in shown.get_data(as_text=True)


def _org_cases(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(Case.case_no).join(Queue).where(
            Queue.slug == "org", Case.purged.is_(False)).order_by(Case.id)))


def _case_keys(app: Flask, case_no: str, epoch_private: bytes) -> content.CaseKeys:
    with app.app_context():
        case = db.session().scalars(select(Case).where(Case.case_no == case_no)).one()
        assert case.keys_wrap is not None
        return content.CaseKeys.unseal(epoch_private, case.keys_wrap)


# --- purge ----------------------------------------------------------------------------------------


def _db_files(app: Flask) -> list[Path]:
    path = Path(str(state.config(app).database_url).removeprefix("sqlite:///"))
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal"))
            if p.exists()]


def _in_files(app: Flask, needles: dict[str, bytes]) -> set[str]:
    raw = b"".join(p.read_bytes() for p in _db_files(app))
    return {name for name, needle in needles.items() if needle in raw}


def _in_rows(app: Flask, needles: dict[str, bytes]) -> set[str]:
    found = set()
    with app.app_context():
        session = db.session()
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                for value in row:
                    data = bytes(value) if isinstance(value, bytes | memoryview) else (
                        str(value).encode())
                    found |= {n for n, needle in needles.items() if needle in data}
    return found


def _fragments(name: str, blob: bytes) -> dict[str, bytes]:
    """Three 24-byte pieces of a ciphertext (one may straddle a page; not all three can), or
    the whole value when it is short."""
    size = len(blob)
    if size <= 72:
        return {f"{name}@0": blob}
    return {f"{name}@{at}": blob[at:at + 24] for at in {24, size // 2, max(24, size - 48)}
            if at + 24 <= size}


def test_after_a_purge_nothing_of_the_case_remains_readable(base: Office) -> None:
    app = base.app
    handler = _member(base, Role.dic_handler.value)
    case_no, receipt = _file(base, "discipline", "PURGE")
    # The reporter follows up with a message and another file.
    reporter = app.test_client()
    status, page = open_reporter(reporter, receipt)
    assert status == 200
    status, _html = post_multipart(reporter, "/report/case/reply", {
        "csrf_token": csrf_of(page), "text": "REPLY-PURGE 补充：还有转账记录。"},
        [(b"REPLYFILE-PURGE\n" * 40, "more.txt")])
    assert status in (200, 303)
    with app.app_context():
        session = db.session()
        staff = base.desk.staff(handler)
        version = session.scalar(select(Case.version).where(Case.case_no == case_no))
        workflow.message(session, staff, case_no, int(version or 0), "MESSAGE-PURGE 已收到。")
        version = session.scalar(select(Case.version).where(Case.case_no == case_no))
        workflow.note(session, staff, case_no, int(version or 0), "NOTE-PURGE 内部意见。")
        version = session.scalar(select(Case.version).where(Case.case_no == case_no))
        workflow.refuse(session, staff, case_no, int(version or 0), "other",
                        "ANSWER-PURGE 不予受理。", clock.today())
        case = session.scalars(select(Case).where(Case.case_no == case_no)).one()
        case_id, epoch_id = case.id, case.epoch_id
        # Every ciphertext and lookup value of the case, as the rows hold them now.
        captured: dict[str, bytes] = {}
        for column in ("keys_wrap", "identity_wrap", "reporter_box", "identity_public_key"):
            value = getattr(case, column)
            assert value, column
            captured |= _fragments(column, bytes(value))
        captured["receipt_lookup"] = str(case.receipt_lookup).encode()
        old_keys_wrap = bytes(case.keys_wrap or b"")
        entries = session.scalars(select(CaseEntry).where(CaseEntry.case_id == case_id)).all()
        kinds = {e.kind for e in entries}
        assert {"report", "identity", "reporter_message", "staff_message", "note"} <= kinds
        for entry in entries:
            captured |= _fragments(f"entry:{entry.kind}:{entry.id}", bytes(entry.body))
        files = session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case_id))
        for f in files:
            captured |= _fragments(f"file-meta:{f.id}", bytes(f.meta))
            for chunk in session.scalars(select(EvidenceChunk).where(
                    EvidenceChunk.file_id == f.id)):
                captured |= _fragments(f"chunk:{f.id}:{chunk.idx}", bytes(chunk.data))
        for token in session.scalars(select(PersonIndex.token).where(
                PersonIndex.case_id == case_id)):
            captured[f"person-index:{token}"] = str(token).encode()
        assert session.scalar(select(func.count()).select_from(ReporterSession)
                              .where(ReporterSession.case_id == case_id)) == 1
        assert epoch_id is not None
    plaintext = {m: m.encode() for m in ("FACTS-PURGE", "PERSON-PURGE", "IDENTITY-PURGE",
                                         "EVIDENCE-PURGE", "REPLY-PURGE", "REPLYFILE-PURGE",
                                         "MESSAGE-PURGE", "NOTE-PURGE", "ANSWER-PURGE")}
    # The checks can fail: before the purge every ciphertext is in the rows (and, on SQLite,
    # in the files); the plaintext never was.
    assert _in_rows(app, captured) == set(captured)
    if base.sqlite:
        found = _in_files(app, captured)
        pieces = {name.rsplit("@", 1)[0] for name in captured}
        assert {name.rsplit("@", 1)[0] for name in found} == pieces
        assert _in_files(app, plaintext) == set()
    assert _in_rows(app, plaintext) == set()
    # The current epoch key opens the captured wrap: so would any copy of it (an old row
    # version, a backup) until the key is rotated.
    content.CaseKeys.unseal(_current_epoch_private(base, "dic"), old_keys_wrap)

    with app.app_context():  # closed a day ago: the shortest retention has passed (#22.5)
        session = db.session()
        with db.transaction(session):
            closed = session.get(Case, case_id)
            assert closed is not None
            assert closed.closed_on is not None
            closed.closed_on -= dt.timedelta(days=1)
    result = another_instance(app, retention_days=1).test_cli_runner().invoke(
        args=["cases", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert "purged 1 case(s)" in result.output

    if base.sqlite:  # every byte of the database, its WAL and shared-memory files
        assert _in_files(app, captured | plaintext) == set()
    assert _in_rows(app, captured | plaintext) == set()
    with app.app_context():
        session = db.session()
        for model in (CaseEntry, EvidenceFile, ReporterSession, PersonIndex):
            assert session.scalar(select(func.count()).select_from(model)
                                  .where(model.case_id == case_id)) == 0, model
        purged = session.get(Case, case_id)
        assert purged is not None
        assert purged.purged
        assert (purged.keys_wrap, purged.identity_wrap, purged.reporter_box,
                purged.receipt_lookup, purged.epoch_id) == (None,) * 5
    # The receipt opens nothing.
    assert open_reporter(app.test_client(), receipt)[0] == 404
    # Crypto-shredding for what no scan can reach (PostgreSQL's old row versions, WAL,
    # backups): after the next rotation, no key the database or the recovery secret yields
    # opens the captured wrap.
    rotated = app.test_cli_runner().invoke(args=["queues", "rotate", "--queue", "dic"],
                                           input=base.desk.recovery_secret + "\n")
    assert rotated.exit_code == 0, rotated.output
    new_epoch = _current_epoch_private(base, "dic")
    with pytest.raises(crypto.DecryptionFailed):
        content.CaseKeys.unseal(new_epoch, old_keys_wrap)
    with app.app_context():
        session = db.session()
        # Every epoch key the database still wraps: through the recovery key, and through a
        # member's grant (the same key, shown both ways).
        reachable = {crypto.unseal(_recovery_private(base), e.recovery_wrap)
                     for e in session.scalars(select(QueueEpoch))}
        dic = queues.queue_by_slug(session, "dic")
        epoch = queues.current_epoch(session, dic)
        assert epoch is not None
        reachable.add(queues.epoch_private_key(session, base.desk.staff(handler), epoch.id))
    assert new_epoch in reachable
    for key in reachable:
        with pytest.raises(crypto.DecryptionFailed):
            crypto.unseal(key, old_keys_wrap)
