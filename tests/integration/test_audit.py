"""The audit chain: tamper-evident against someone who can write the database."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, select, update

from portal import audit, db, state
from portal.models import AuditEntry


def _append(app: Flask, n: int, label: str = "tester") -> None:
    with app.app_context():
        session = db.session()
        for i in range(n):
            with db.transaction(session):
                audit.record(session, audit.Actor(label), "test.event", str(i), n=i)


def test_untouched_chain_verifies(app: Flask, runner: FlaskCliRunner) -> None:
    _append(app, 5)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "5" in result.output


def test_edit_with_recomputed_plain_hashes_is_still_caught(app: Flask,
                                                           runner: FlaskCliRunner) -> None:
    _append(app, 6)
    with app.app_context():
        session = db.session()
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        # The attacker rewrites entry 3 and, lacking the key, recomputes every later "mac" as
        # a plain SHA-256 chain so that the values look consistent.
        prev = rows[1].mac
        with db.transaction(session):
            for row in rows[2:]:
                details = json.dumps({"n": 999}) if row.seq == 3 else row.details
                fields = [prev, str(row.seq), row.at.isoformat(), row.actor, row.action,
                          row.target, details]
                new_mac = hashlib.sha256("|".join(fields).encode()).hexdigest()
                session.execute(update(AuditEntry).where(AuditEntry.seq == row.seq)
                                .values(details=details, mac=new_mac))
                prev = new_mac
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "3" in result.output


def test_deleted_entry_is_caught(app: Flask) -> None:
    _append(app, 4)
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.delete(session.get(AuditEntry, 2))
        report = audit.verify(session)
    assert not report.ok
    assert report.first_bad_seq == 3


def test_concurrent_appends_never_fork_the_chain(app: Flask) -> None:
    threads = [threading.Thread(target=_append, args=(app, 15, f"t{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        report = audit.verify(db.session())
        seqs = list(db.session().scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert report.ok
    # Every append landed, each exactly once, in one unbroken sequence.
    assert report.entries == len(seqs) >= 60
    assert seqs == list(range(1, len(seqs) + 1))
    # The head outside the table (#21, item 8) ends where the chain ends, whatever the order
    # in which the workers' commits wrote it.
    with app.app_context():
        head = audit.read_head(state.config(app).instance_path)
    assert head is not None
    assert head.count == len(seqs)


def test_entries_carry_no_addresses(app: Flask, client, make_staff) -> None:
    make_staff("quinn", "supervisor")
    client.post("/staff/login", data={"username": "quinn"}, environ_base={
        "REMOTE_ADDR": "198.51.100.23", "HTTP_USER_AGENT": "AgentSmith/1.0"})
    with app.app_context():
        for entry in db.session().scalars(select(AuditEntry)):
            blob = f"{entry.actor} {entry.target} {entry.details}"
            assert "198.51.100.23" not in blob
            assert "AgentSmith" not in blob


# --- the head outside the table (#21, item 8) ----------------------------------------------


def _head_path(app: Flask) -> Path:
    return state.config(app).instance_path / audit.HEAD_FILE


def _cut(app: Flask, *, keep: int) -> None:
    """What someone who can write the database does: delete every entry after the first `keep`."""
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(delete(AuditEntry).where(AuditEntry.seq > keep))


def test_cutting_the_last_entry_is_caught(app: Flask, runner: FlaskCliRunner) -> None:
    _append(app, 5)
    _cut(app, keep=4)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "4" in result.output
    assert "5" in result.output
    assert "短于" in result.output  # shorter than the head says


def test_cutting_the_whole_chain_is_caught(app: Flask, runner: FlaskCliRunner) -> None:
    _append(app, 3)
    _cut(app, keep=0)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "已验证 0 条" not in result.output
    assert "短于" in result.output


def test_an_empty_chain_beside_staff_accounts_is_caught_without_a_head(
        app: Flask, runner: FlaskCliRunner, make_staff) -> None:
    make_staff("quinn", "supervisor")
    _cut(app, keep=0)
    _head_path(app).unlink()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "为空" in result.output


def test_a_missing_head_is_caught_and_can_be_adopted_on_purpose(
        app: Flask, runner: FlaskCliRunner) -> None:
    _append(app, 3)
    _head_path(app).unlink()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "缺少" in result.output
    assert "--adopt-head" in result.output
    # Appending does not quietly make a new head over a chain it did not see start.
    _append(app, 1)
    assert not _head_path(app).exists()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    # The operator, having decided this server is legitimately new, adopts the chain as it is.
    result = runner.invoke(args=["audit", "verify", "--adopt-head"])
    assert result.exit_code == 0, result.output
    assert _head_path(app).stat().st_mode & 0o777 == 0o600
    _cut(app, keep=3)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_a_head_of_another_chain_or_edited_without_the_key_is_caught(
        app: Flask, runner: FlaskCliRunner) -> None:
    _append(app, 3)
    path = _head_path(app)
    good = json.loads(path.read_text())
    # Edited without the key: its own MAC no longer verifies.
    path.write_text(json.dumps({**good, "count": 2}))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "头记录" in result.output
    # A well-formed head (made with the key) whose last MAC is not this chain's.
    with app.app_context():
        audit.write_head(state.config(app).instance_path,
                         audit.Head(3, "00" * 32), force=True)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "不符" in result.output


def test_a_head_file_counting_to_infinity_is_named_and_breaks_no_write(
        app: Flask, runner: FlaskCliRunner) -> None:
    # A review found that "count": Infinity raised OverflowError out of the commit hook.
    _append(app, 2)
    path = _head_path(app)
    path.write_text(path.read_text().replace('"count": 2', '"count": Infinity'))
    assert "Infinity" in path.read_text()
    _append(app, 1)  # committed, and no exception escapes the hook
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "头记录" in result.output


def test_the_head_never_goes_backwards(app: Flask) -> None:
    _append(app, 4)
    instance = state.config(app).instance_path
    with app.app_context():
        head = audit.read_head(instance)
        assert head is not None
        assert head.count == 4
        # A late writer (a worker whose commit landed before a newer one's) cannot lower it.
        audit.write_head(instance, audit.Head(2, "ab" * 32))
        assert audit.read_head(instance) == head


def test_a_rolled_back_append_does_not_advance_the_head(app: Flask) -> None:
    _append(app, 2)
    with app.app_context():
        session = db.session()
        session.begin()
        audit.record(session, audit.Actor("tester"), "test.event", "x")
        session.rollback()
        head = audit.read_head(state.config(app).instance_path)
        assert head is not None
        assert head.count == 2
        assert audit.verify(session).ok
