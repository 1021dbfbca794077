"""Append-only audit log, chained by HMAC under the instance's audit MAC key.

Each entry's MAC covers its own fields and the previous entry's MAC, so editing, deleting or
reordering rows breaks the chain, and recomputing plain hashes does not repair it without the
key. Appends are serialized (an advisory lock on PostgreSQL, the write lock on SQLite) so
concurrent workers never fork the chain. Entries never contain report content, passwords,
receipts or client addresses: callers pass identifiers and reasons only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal import crypto, state
from portal.db import utcnow
from portal.models import AuditEntry

# Arbitrary constant naming the audit chain's advisory lock on PostgreSQL.
_PG_LOCK_ID = 0x61756469


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


def record_reporter_event(db: Session, action: str, target: str = "",
                          **details: object) -> AuditEntry:
    """A content-free reporter event; its time is kept only to the hour, like all
    reporter-originated times (the chain order still places it among staff entries)."""
    return record(db, REPORTER, action, target, _hour_only=True, **details)


def serialise(db: Session) -> None:
    """Wait for every other audited write transaction to end (held until this one ends).

    A caller that decides from what committed writes say (the compliance history) takes it
    before reading, so two such decisions never both miss each other. On SQLite the write
    transaction already holds the database's one write lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})


def record(
    db: Session, actor: Actor, action: str, target: str = "", *, _hour_only: bool = False,
    **details: object
) -> AuditEntry:
    """Append one entry inside the caller's transaction (the caller owns the commit)."""
    serialise(db)
    last = db.execute(
        select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.mac) if last else (1, "")
    entry = AuditEntry(
        seq=seq,
        at=utcnow().replace(minute=0, second=0, microsecond=0) if _hour_only
        else utcnow().replace(microsecond=0),
        actor_id=actor.id,
        actor=actor.label[:64],
        action=action,
        target=target[:128],
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    )
    entry.mac = _entry_mac(_key(), prev, entry)
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """Outcome of verifying the chain."""

    entries: int
    first_bad_seq: int | None

    @property
    def ok(self) -> bool:
        """True when every entry verifies and none is missing."""
        return self.first_bad_seq is None


def verify(db: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole chain in order; report the first entry that does not verify."""
    key = _key()
    prev, expected_seq, count = "", 1, 0
    last_seq = 0
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
                return ChainReport(count, e.seq)
            prev, expected_seq, count, last_seq = e.mac, e.seq + 1, count + 1, e.seq
        db.expunge_all()
    return ChainReport(count, None)
