"""Case services for queue members: open a case's keys, read it, write messages and notes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import content, queues
from casework.models import Case, CaseEntry, EntryKind, EvidenceChunk, EvidenceFile
from portal import accounts, audit, crypto
from portal.db import transaction
from portal.errors import DomainError


class CaseError(DomainError):
    """A case action that cannot be done; `code` names the reason (casework.messages)."""


def _epoch_key(db: Session, staff: accounts.CurrentStaff, case: Case) -> bytes:
    if not staff.roles & case.queue.roles:
        raise CaseError("not-your-queue")
    if case.epoch_id is None or case.keys_wrap is None:
        raise CaseError("purged")
    try:
        return queues.epoch_private_key(db, staff, case.epoch_id)
    except queues.QueueError:
        raise CaseError("no-access") from None


def unlock(db: Session, staff: accounts.CurrentStaff, case: Case) -> content.CaseKeys:
    """The case's working keys, opened with the member's grant to the case's queue epoch."""
    key = _epoch_key(db, staff, case)
    if case.keys_wrap is None:
        raise CaseError("purged")
    return content.CaseKeys.unseal(key, case.keys_wrap)


def identity_key(db: Session, staff: accounts.CurrentStaff, case: Case) -> bytes:
    """The case's identity private key, for a reveal (the caller records why, audited)."""
    key = _epoch_key(db, staff, case)
    if case.identity_wrap is None:
        raise CaseError("purged")
    return crypto.unseal(key, case.identity_wrap)


@dataclass(frozen=True)
class Entry:
    """A decrypted entry for a queue member (identities stay sealed until a reveal)."""

    kind: str
    author_id: int | None
    payload: dict[str, object]


def entry_key(keys: content.CaseKeys, kind: str) -> bytes:
    """Which key an entry kind is encrypted under."""
    return keys.internal if kind in (EntryKind.note, EntryKind.draft) else keys.content


def read_entries(db: Session, case: Case, keys: content.CaseKeys) -> list[Entry]:
    """The report, the conversation and the notes, decrypted (identity entries excluded)."""
    rows = db.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id,
                                              CaseEntry.kind != EntryKind.identity)
                      .order_by(CaseEntry.id))
    return [Entry(e.kind, e.author_id,
                  content.decrypt_entry(entry_key(keys, e.kind), case.uid, e.uid, e.kind, e.body))
            for e in rows]


def read_identities(db: Session, case: Case,
                    identity_private: bytes) -> list[dict[str, object]]:
    """The real-name identities of a case (callers audit this as a reveal, with a reason)."""
    rows = db.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id,
                                              CaseEntry.kind == EntryKind.identity)
                      .order_by(CaseEntry.id))
    return [content.open_identity(identity_private, case.uid, e.uid, e.body) for e in rows]


def read_file(db: Session, case: Case, keys: content.CaseKeys,
              file_id: int) -> tuple[dict[str, object], bytes]:
    """One evidence file's metadata and bytes, every chunk authenticated in order."""
    row = db.get(EvidenceFile, file_id)
    if row is None or row.case_id != case.id:
        raise CaseError("no-such-file")
    chunks = db.scalars(select(EvidenceChunk.data).where(EvidenceChunk.file_id == row.id)
                        .order_by(EvidenceChunk.idx)).all()
    if len(chunks) != row.chunk_count:
        raise crypto.DecryptionFailed("file: chunk count")
    data = b"".join(content.decrypt_file(keys.content, case.uid, row.uid, chunks))
    return content.decrypt_file_meta(keys.content, case.uid, row.uid, row.meta), data


def download_file(db: Session, staff: accounts.CurrentStaff, case: Case,
                  file_id: int) -> tuple[str, bytes]:
    """A file for download by a queue member: (download name, bytes); audited."""
    keys = unlock(db, staff, case)
    meta, data = read_file(db, case, keys, file_id)
    name = f"{case.case_no}-{file_id}.{meta.get('extension') or 'bin'}"
    with transaction(db):
        audit.record(db, staff.actor, "case.file-downloaded", case.case_no, file=file_id)
    return name, data
