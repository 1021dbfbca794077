"""Case export (PRODUCT.md, "Casework"): one ZIP for the investigation record, audited.

The ZIP holds `summary.html`, a printable page that needs nothing outside itself (no scripts,
no external resources; its own CSP forbids both should it be opened in a browser), and each
evidence file as it was stored after cleaning. Everything is decrypted in memory with the
member's grant and written to an in-memory ZIP: no plaintext touches the disk. The reporter's
real-name identity is never included: only the audited reveal opens it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import content, messages, service
from casework.messages import bilingual
from casework.models import (
    Case,
    CaseDeadline,
    CaseEntry,
    CaseEvent,
    CaseFeedback,
    EntryKind,
    EvidenceFile,
)
from casework.service import CaseError
from portal import accounts, audit, clock
from portal.db import transaction, utcnow
from portal.models import StaffUser

CONVERSATION = (EntryKind.reporter_message, EntryKind.staff_message)
INTERNAL = (EntryKind.note, EntryKind.draft)
# What a file name inside the ZIP may keep: letters and digits of any script, and . _ - ( ).
_UNSAFE = re.compile(r"[^\w.()\-]+")
MAX_NAME = 80


@dataclass(frozen=True)
class ExportEntry:
    """A decrypted entry as the summary shows it."""

    kind: str
    label: str
    author: str
    at: str
    payload: dict[str, object]


@dataclass(frozen=True)
class ExportEvent:
    """One history event with its decrypted reason."""

    at: str
    actor: str
    action: str
    from_state: str
    to_state: str
    detail: dict[str, object]
    reason: str


@dataclass(frozen=True)
class ExportFile:
    """An evidence file as listed in the summary, with its bytes for the ZIP."""

    path: str
    name: str
    size: int
    from_reporter: bool
    removed: list[str]
    at: str
    data: bytes


def label(labels: dict[str, str], code: str | None) -> str:
    """The label of a stored code, or the code itself when unknown (empty for None)."""
    return "" if code is None else labels.get(code, code)


def safe_name(name: str, extension: str, fallback: str = "file") -> str:
    """A file name that is harmless inside a ZIP: no directories, no control or shell
    characters, no leading dot, bounded length, ending with the stored type's extension."""
    base = unicodedata.normalize("NFC", re.split(r"[/\\]", name)[-1])
    base = _UNSAFE.sub("_", base).strip("._") or fallback
    extension = _UNSAFE.sub("", extension).strip("._")[:16]
    suffix = f".{extension}" if extension else ""
    if not base.lower().endswith(suffix.lower()):
        base += suffix
    if len(base) > MAX_NAME:  # cut the stem, keep the extension
        tail = base[-len(suffix):] if suffix else ""
        base = base[:MAX_NAME - len(tail)] + tail
    return base


def _local(when: dt.datetime | None) -> str:
    return "" if when is None else when.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")


def _name(names: dict[int, str], user_id: int | None) -> str:
    return "" if user_id is None else names.get(user_id, "")


def _usernames(db: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.username for row in db.execute(
        select(StaffUser.id, StaffUser.username).where(StaffUser.id.in_(wanted)))}


def _entries(db: Session, case: Case,
             keys: content.CaseKeys) -> list[tuple[CaseEntry, dict[str, object]]]:
    # Read here rather than through service.read_entries: the record needs each entry's time.
    rows = db.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id,
                                              CaseEntry.kind != EntryKind.identity)
                      .order_by(CaseEntry.id))
    return [(e, content.decrypt_entry(service.entry_key(keys, e.kind), case.uid, e.uid, e.kind,
                                      e.body)) for e in rows]


def _tables() -> dict[str, dict[str, str]]:
    """The labels of stored codes, Chinese then English, from the pages' own labels."""
    return {"state": bilingual(messages.STATE_LABELS),
            "channel": bilingual(messages.CHANNEL_LABELS),
            "finding": bilingual(messages.FINDING_LABELS),
            "reason": bilingual(messages.REFUSAL_LABELS),
            "kind": bilingual(messages.DEADLINE_LABELS),
            "deadline_state": bilingual(messages.DEADLINE_STATE_LABELS),
            "feedback_channel": bilingual(messages.FEEDBACK_CHANNEL_LABELS),
            "entry": bilingual(messages.ENTRY_LABELS),
            "action": bilingual(messages.EVENT_LABELS)}


# History details are content-free codes, shown with the label of their kind where one exists.
DETAIL_TABLES = {"finding": "finding", "reason": "reason", "kind": "kind",
                 "channel": "feedback_channel", "target": "state"}


def _events(db: Session, case: Case, keys: content.CaseKeys,
            names: dict[int, str], t: dict[str, dict[str, str]]) -> list[ExportEvent]:
    events = []
    for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                        .order_by(CaseEvent.at, CaseEvent.id)):
        reason = ""
        if e.reason is not None:
            reason = str(content.decrypt_entry(keys.internal, case.uid, e.uid, "event-reason",
                                               e.reason).get("text", ""))
        detail = json.loads(e.detail or "{}")
        if not isinstance(detail, dict):
            detail = {}
        shown = {key: label(t[DETAIL_TABLES[key]], str(value)) if key in DETAIL_TABLES else value
                 for key, value in detail.items()}
        events.append(ExportEvent(
            _local(e.at), _name(names, e.actor_id), label(t["action"], e.action),
            label(t["state"], e.from_state), label(t["state"], e.to_state),
            shown, reason))
    return events


def _files(db: Session, case: Case, keys: content.CaseKeys) -> list[ExportFile]:
    files = []
    rows = db.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)
                      .order_by(EvidenceFile.id)).all()
    for n, row in enumerate(rows, start=1):
        meta, data = service.read_file(db, case, keys, row.id)
        name = str(meta.get("name") or "")
        removed = meta.get("removed")
        path = f"evidence/{n}-{safe_name(name, str(meta.get('extension') or ''))}"
        files.append(ExportFile(path, name, len(data), row.from_reporter,
                                [str(r) for r in removed] if isinstance(removed, list) else [],
                                _local(row.created_at), data))
    return files


def _summary_html(db: Session, staff: accounts.CurrentStaff, case: Case,
                  keys: content.CaseKeys, files: list[ExportFile]) -> str:
    """The printable record of a case (HTML, autoescaped, self-contained)."""
    t = _tables()
    entries = _entries(db, case, keys)
    events = db.scalars(select(CaseEvent.actor_id).where(CaseEvent.case_id == case.id)).all()
    feedback = db.scalars(select(CaseFeedback).where(CaseFeedback.case_id == case.id)
                          .order_by(CaseFeedback.given_on, CaseFeedback.id)).all()
    names = _usernames(db, {e.author_id for e, _ in entries} | set(events)
                       | {f.actor_id for f in feedback} | {case.assignee_id})

    def shown(entry: CaseEntry, payload: dict[str, object]) -> ExportEntry:
        return ExportEntry(entry.kind, label(t["entry"], entry.kind),
                           _name(names, entry.author_id),
                           _local(entry.created_at), payload)

    deadlines = db.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)
                           .order_by(CaseDeadline.start_on, CaseDeadline.id)).all()
    return render_template(
        "casework/export_summary.html", case=case,
        queue=case.queue.name_zh, category=case.category.name_zh,
        channel=label(t["channel"], case.channel), state=label(t["state"], case.state),
        finding=label(t["finding"], case.finding),
        refusal_reason=label(t["reason"], case.refusal_reason),
        assignee=_name(names, case.assignee_id),
        reports=[shown(e, p) for e, p in entries if e.kind == EntryKind.report],
        conversation=[shown(e, p) for e, p in entries if e.kind in CONVERSATION],
        notes=[shown(e, p) for e, p in entries if e.kind in INTERNAL],
        events=_events(db, case, keys, names, t),
        deadlines=[(label(t["kind"], d.kind), label(t["deadline_state"], d.state), d)
                   for d in deadlines],
        feedback=[(label(t["kind"], f.kind), label(t["feedback_channel"], f.channel),
                   _name(names, f.actor_id), f) for f in feedback],
        files=files,
        exported_by=staff.username, exported_at=_local(utcnow()),
    )


def build(db: Session, staff: accounts.CurrentStaff, case: Case) -> tuple[str, bytes]:
    """The case's record as a ZIP for a member of its queue: (download name, bytes); audited.

    Raises CaseError for a non-member (from `service.unlock`) and for a purged case.
    """
    if case.purged or case.keys_wrap is None:
        raise CaseError("purged")
    keys = service.unlock(db, staff, case)
    files = _files(db, case, keys)
    summary = _summary_html(db, staff, case, keys, files)
    now = dt.datetime.now(clock.zone())
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("summary.html", stamp), summary.encode("utf-8"),
                         zipfile.ZIP_DEFLATED)
        for f in files:
            archive.writestr(zipfile.ZipInfo(f.path, stamp), f.data, zipfile.ZIP_DEFLATED)
    with transaction(db):
        audit.record(db, staff.actor, "case.exported", case.case_no, files=len(files))
    return f"{case.case_no}.zip", out.getvalue()
