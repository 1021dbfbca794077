"""Append-only audit log, chained by HMAC under the instance's audit MAC key.

Each entry's MAC covers its own fields and the previous entry's MAC, so editing, deleting or
reordering rows breaks the chain, and recomputing plain hashes does not repair it without the
key. Appends are serialized (an advisory lock on PostgreSQL, the write lock on SQLite) so
concurrent workers never fork the chain. Entries never contain report content, passwords,
receipts or client addresses: callers pass identifiers and reasons only.

The chain alone cannot show that its tail was cut: a shorter chain is still a valid chain. So
its *head* (how many entries, and the last one's MAC, MAC'd again under the audit key) is kept
outside the audited table, in the instance folder (`HEAD_FILE`) and in every backup (#21, item
8). Each commit that appended entries raises the head, under a file lock and never downwards;
`verify` fails when the chain is shorter than the head, when the entry at the head's position
is not the one the head names, when the head is missing beside a chain, and when the chain is
empty while staff accounts exist.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from portal import crypto, state
from portal.db import utcnow
from portal.models import AuditEntry, AuditPending, StaffUser

# Arbitrary constant naming the audit chain's advisory lock on PostgreSQL.
_PG_LOCK_ID = 0x61756469
# The chain's head, in the instance folder (mode 0600), and the lock serialising its writers.
HEAD_FILE = "audit-head.json"
_HEAD_LOCK = ".audit-head.lock"
# Session.info key: the head this transaction's appends reach, written once it commits.
_PENDING = "portal.audit.pending_head"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff account, or a named system/anonymous party."""

    label: str
    id: int | None = None


SYSTEM = Actor("system")
CLI = Actor("cli")
REPORTER = Actor("reporter")


def _entry_mac(key: bytes, prev: str, e: AuditEntry) -> str:
    return crypto.mac(
        key,
        "portal/audit",
        prev,
        str(e.seq),
        e.at.isoformat(),
        "" if e.actor_id is None else str(e.actor_id),
        e.actor,
        e.action,
        e.target,
        e.details,
    ).hex()


def _key() -> bytes:
    return state.secrets().audit_mac_key


def _this_hour() -> dt.datetime:
    return utcnow().replace(minute=0, second=0, microsecond=0)


def record_reporter_event(db: Session, action: str, target: str = "",
                          **details: object) -> None:
    """A content-free reporter event, held until its hour is over (#21, item 7).

    Appended at once, its place in the chain would sit between the exactly timed staff entries
    around it and narrow the hour to minutes. So it waits in `audit_pending` (random id) and
    joins the chain with the rest of its hour, dated to the hour, in an order sorted by what the
    entries say, after every staff entry of that hour: see `flush_held`."""
    db.add(AuditPending(id=crypto.random_id(), hour=_this_hour(), action=action,
                        target=target[:128], details=_details(details)))
    db.flush()


def serialise(db: Session) -> None:
    """Wait for every other audited write transaction to end (held until this one ends).

    A caller that decides from what committed writes say (the compliance history) takes it
    before reading, so two such decisions never both miss each other. On SQLite the write
    transaction already holds the database's one write lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})


def _details(details: dict[str, object]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)


def _append(db: Session, actor: Actor, action: str, target: str, at: dt.datetime,
            details: str) -> AuditEntry:
    """Append one entry (the caller holds the chain's lock: `serialise`)."""
    last = db.execute(
        select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.mac) if last else (1, "")
    entry = AuditEntry(seq=seq, at=at, actor_id=actor.id, actor=actor.label[:64],
                       action=action, target=target[:128], details=details)
    entry.mac = _entry_mac(_key(), prev, entry)
    db.add(entry)
    db.flush()
    pending: _Pending | None = db.info.get(_PENDING)
    db.info[_PENDING] = _Pending(
        Head(seq, entry.mac), state.config().instance_path,
        started=seq == 1 or (pending is not None and pending.started))
    return entry


def _flush_held(db: Session) -> int:
    """Append the held reporter events of every hour that is over (lock held); how many."""
    held = db.scalars(
        select(AuditPending).where(AuditPending.hour < _this_hour())
        .order_by(AuditPending.hour, AuditPending.action, AuditPending.target,
                  AuditPending.details, AuditPending.id)
    ).all()
    for event_ in held:
        _append(db, REPORTER, event_.action, event_.target, event_.hour, event_.details)
        db.delete(event_)
    if held:
        db.flush()
    return len(held)


def flush_held(db: Session) -> int:
    """Append the held reporter events of the hours that are over, inside the caller's
    transaction; every audited write does it first, and so does `audit verify`."""
    serialise(db)
    return _flush_held(db)


def record(db: Session, actor: Actor, action: str, target: str = "",
           **details: object) -> AuditEntry:
    """Append one entry inside the caller's transaction (the caller owns the commit)."""
    serialise(db)
    _flush_held(db)
    return _append(db, actor, action, target, utcnow().replace(microsecond=0),
                   _details(details))


# --- the head, outside the table -----------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """How many entries the chain had, and the MAC of the last of them ("" for none)."""

    count: int
    mac: str


@dataclass(frozen=True)
class _Pending:
    head: Head
    instance: Path
    started: bool  # this transaction appended entry 1: the chain starts here


class HeadDamaged(Exception):
    """The head file is not one this instance's audit key wrote."""


def _head_tag(key: bytes, head: Head) -> str:
    return crypto.mac(key, "portal/audit-head", str(head.count), head.mac).hex()


def head_document(head: Head) -> dict[str, object]:
    """The head as stored (in the instance folder and in a backup's manifest)."""
    return {"count": head.count, "mac": head.mac, "tag": _head_tag(_key(), head)}


def head_of_document(document: object) -> Head:
    """The head a stored document names; HeadDamaged unless its tag verifies."""
    if not isinstance(document, dict):
        raise HeadDamaged("malformed")
    try:
        head = Head(int(document["count"]), str(document["mac"]))
        tag = str(document["tag"])
    except (KeyError, TypeError, ValueError, OverflowError):  # "count": Infinity, too
        raise HeadDamaged("malformed") from None
    if head.count < 0 or not crypto.equal(_head_tag(_key(), head).encode(), tag.encode()):
        raise HeadDamaged("tag")
    return head


@contextmanager
def _head_locked(instance: Path) -> Iterator[None]:
    """Hold the instance's head lock (an exclusive flock: every worker on this host)."""
    fd = os.open(instance / _HEAD_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_head(instance: Path) -> Head | None:
    try:
        raw = (instance / HEAD_FILE).read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        raise HeadDamaged("json") from None
    return head_of_document(document)


def read_head(instance: Path) -> Head | None:
    """The head in the instance folder, None when there is none; HeadDamaged if it is not
    one this instance wrote."""
    with _head_locked(instance):
        return _read_head(instance)


def head_file_document(instance: Path) -> dict[str, object] | None:
    """The head file as stored, unchecked (a backup carries it as it is), or None."""
    with _head_locked(instance):
        try:
            document = json.loads((instance / HEAD_FILE).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            raise HeadDamaged("json") from None
    if not isinstance(document, dict):
        raise HeadDamaged("malformed")
    return document


def put_head_document(instance: Path, document: dict[str, object] | None) -> None:
    """Replace the head file by a stored document, or remove it (a restore puts a backup's
    head back, whatever the instance held; it is checked by the `verify` that follows)."""
    with _head_locked(instance):
        if document is None:
            (instance / HEAD_FILE).unlink(missing_ok=True)
        else:
            _write_atomically(instance, document)


def _write_atomically(instance: Path, document: dict[str, object]) -> None:
    fd, temporary = tempfile.mkstemp(dir=instance, prefix=".audit-head-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(document, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, instance / HEAD_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(instance, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


def write_head(instance: Path, head: Head, *, force: bool = False,
               create: bool = True) -> bool:
    """Raise the head to `head`; return whether it was written.

    Never lowers it (a worker whose commit finished later than a newer one's must not undo
    it), unless `force` (a restore puts a backup's head back). Without `create`, a missing
    head stays missing: the append path must not cover a deleted head with a new one."""
    with _head_locked(instance):
        if not force:
            try:
                current = _read_head(instance)
            except HeadDamaged:
                return False  # left for `verify` to report
            if current is None and not create:
                return False
            if current is not None and current.count >= head.count:
                return False
        _write_atomically(instance, head_document(head))
        return True


@event.listens_for(Session, "after_commit")
def _head_after_commit(session: Session) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None:
        return
    try:
        write_head(pending.instance, pending.head, create=pending.started)
    except (OSError, HeadDamaged) as exc:
        # The entries are committed; failing the request now would not undo them. The head
        # stays behind (a weaker check, never a false alarm), and the operator is told
        # (`audit verify` names a damaged head file).
        _log.error("the audit head in %s could not be written: %s", pending.instance,
                   getattr(exc, "strerror", None) or type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _head_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """Outcome of verifying the chain and its head.

    `problem` names what failed: "broken" (entry `first_bad_seq` does not verify or is
    missing), "short" (the chain has fewer entries than `head.count`), "head-differs" (the
    entry at the head's position is not the one it names), "head-damaged", "head-missing"
    (a chain but no head), "empty" (no chain, yet staff accounts exist)."""

    entries: int
    first_bad_seq: int | None
    problem: str | None = None
    head: Head | None = None
    last_mac: str = ""  # of the last entry verified

    @property
    def ok(self) -> bool:
        """True when every entry verifies, none is missing, and the head agrees."""
        return self.problem is None


def _walk(db: Session, batch: int, upto: int) -> tuple[int, int | None, str | None, str]:
    """Walk the chain: (entries verified, first bad seq, the MAC of entry `upto` if reached,
    the MAC of the last entry verified)."""
    key = _key()
    prev, expected_seq, count = "", 1, 0
    last_seq = 0
    at_head = "" if upto == 0 else None
    while True:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq or not crypto.equal(
                _entry_mac(key, prev, e).encode(), e.mac.encode()
            ):
                return count, e.seq, at_head, prev
            prev, expected_seq, count, last_seq = e.mac, e.seq + 1, count + 1, e.seq
            if e.seq == upto:
                at_head = e.mac
        db.expunge_all()
    return count, None, at_head, prev


def verify(db: Session, batch: int = 5000, *, instance: Path | None = None) -> ChainReport:
    """Walk the whole chain in order and hold it against its head (in `instance`, by default
    the configured instance folder); report the first thing that does not verify."""
    folder = state.config().instance_path if instance is None else instance
    try:
        head = read_head(folder)
    except HeadDamaged:
        count, bad, _at, last = _walk(db, batch, 0)
        return ChainReport(count, bad, "broken" if bad is not None else "head-damaged",
                           None, last)
    count, bad, at_head, last = _walk(db, batch, head.count if head else 0)
    problem: str | None = None
    if bad is not None:
        problem = "broken"
    elif head is not None and count < head.count:
        problem = "short"
    elif head is not None and (at_head is None or not crypto.equal(at_head.encode(),
                                                                    head.mac.encode())):
        problem = "head-differs"
    elif count == 0 and db.scalar(select(func.count()).select_from(StaffUser)):
        problem = "empty"
    elif head is None and count > 0:
        problem = "head-missing"
    return ChainReport(count, bad, problem, head, last)


def adopt_head(db: Session, *, instance: Path | None = None) -> ChainReport:
    """Verify the chain and, if only its head is missing (a legitimately new server, or one
    upgraded from a version without heads), write the head of the chain as it is now."""
    folder = state.config().instance_path if instance is None else instance
    report = verify(db, instance=folder)
    if report.problem != "head-missing":
        return report
    write_head(folder, Head(report.entries, report.last_mac))
    return verify(db, instance=folder)
