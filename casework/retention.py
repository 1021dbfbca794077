"""Retention (PRODUCT.md, "Casework"): a case closed longer than the retention period loses its
content; a content-free skeleton stays for statistics.

What goes: every entry (report, messages, notes, drafts, identities), every evidence file and
chunk, reporter sessions, the person index, the reasons typed into the history, the pending
sign-off detail, and every key wrap and receipt field, so neither staff nor the reporter's receipt
opens anything any more and the receipt answers like one never issued. What stays: queue,
category, channel, dates, states, disposition, finding, deadlines, feedback, transfers and the
content-free history. On SQLite, deleted and overwritten content is zeroed in place
(`secure_delete`) and the write-ahead log is checkpointed and truncated after the commit; on
PostgreSQL, old row versions and backups hold only ciphertext whose keys die with the queue's
next key rotation (DESIGN.md, "Transactions and data safety").
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from casework import events
from casework.models import (
    NO_DUE,
    Case,
    CaseDeadline,
    CaseEntry,
    CaseEvent,
    CaseState,
    DeadlineState,
    EvidenceChunk,
    EvidenceFile,
    PersonIndex,
)
from portal import audit, state
from portal.db import checkpoint_wal, transaction

# Cases purged per transaction: a long backlog never holds the write lock for long.
BATCH = 100
# States nothing follows (a closed_on left on any other state is a bug, never a reason to purge).
FINAL_STATES = (CaseState.closed, CaseState.not_accepted, CaseState.withdrawn,
                CaseState.transferred)


def cutoff(today: dt.date) -> dt.date:
    """The latest closing day whose cases are due for purging on `today`."""
    return today - dt.timedelta(days=state.config().retention_days)


def _due(last_day: dt.date) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a case due for purging."""
    return (Case.closed_on <= last_day, Case.purged.is_(False), Case.state.in_(FINAL_STATES))


def _purge_batch(db: Session, last_day: dt.date, actor: audit.Actor) -> int:
    """Purge up to BATCH due cases inside the caller's transaction; how many were purged."""
    rows = db.execute(select(Case.id, Case.case_no).where(*_due(last_day)).order_by(Case.id)
                      .limit(BATCH).with_for_update(of=Case, skip_locked=True)).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    files = select(EvidenceFile.id).where(EvidenceFile.case_id.in_(ids))
    db.execute(delete(EvidenceChunk).where(EvidenceChunk.file_id.in_(files)))
    db.execute(delete(EvidenceFile).where(EvidenceFile.case_id.in_(ids)))
    db.execute(delete(CaseEntry).where(CaseEntry.case_id.in_(ids)))
    db.execute(delete(PersonIndex).where(PersonIndex.case_id.in_(ids)))
    # Reporter sessions are intake's: it subscribes and ends them in this transaction.
    events.cases_purged.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                             db=db, case_ids=ids)
    db.execute(update(CaseEvent).where(CaseEvent.case_id.in_(ids), CaseEvent.reason.is_not(None))
               .values(reason=None))
    # A clock still running (an owed real-name notice) can no longer be met: it stops, so the
    # purged case does not stay overdue in lists, digests and the dashboard forever.
    db.execute(update(CaseDeadline).where(CaseDeadline.case_id.in_(ids),
                                          CaseDeadline.state == DeadlineState.open)
               .values(state=DeadlineState.cancelled))
    # The version moves on, so a member's form opened before the purge is refused as stale.
    db.execute(update(Case).where(Case.id.in_(ids), *_due(last_day)).values(
        keys_wrap=None, identity_wrap=None, identity_public_key=None,
        identity_public_key_mac=None, epoch_id=None, reporter_box=None, receipt_salt=None,
        receipt_lookup=None, pending_state=None, pending_by_id=None, pending_detail=None,
        unread_replies=0, purged=True, next_due_on=None, next_due_ordinal=None,
        next_due_kind=None, next_due_provisional=False, urgency=NO_DUE,
        version=Case.version + 1,
    ).execution_options(synchronize_session=False))
    for row in rows:
        audit.record(db, actor, "case.purged", row.case_no)
    return len(rows)


def purge_expired(db: Session, today: dt.date, actor: audit.Actor = audit.SYSTEM) -> int:
    """Destroy the content of every case closed on or before today minus the retention period;
    return how many cases were purged. Each batch is one transaction; running it again purges
    nothing more."""
    last_day = cutoff(today)
    purged = 0
    while True:
        with transaction(db):
            done = _purge_batch(db, last_day, actor)
        purged += done
        if done < BATCH:
            break
    # Cases loaded earlier in this session must not show their former content.
    db.expire_all()
    # Also on a run that purged nothing: it retries a checkpoint an earlier run could not end.
    if not checkpoint_wal(db.get_bind().engine):
        current_app.logger.error("retention: the SQLite WAL checkpoint did not complete (a "
                                 "reader was active); run `cases purge-expired` again")
    return purged
