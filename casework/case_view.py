"""The read model of a case page: one query function, `case_page`, returning everything the page
shows as one small typed object, decrypted with the member's key when they hold it. The view
adds only its forms and the message of a refused action."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import content, deadlines, people, queries, queues, service
from casework.models import (
    Case,
    CaseDeadline,
    CaseEvent,
    CaseFeedback,
    EntryKind,
    EvidenceFile,
    Queue,
)
from portal import accounts
from portal.models import StaffUser
from publicity.models import NoticePerson

History = list[tuple[CaseEvent, dict[str, object], str]]
Files = list[tuple[EvidenceFile, dict[str, object]]]


@dataclass(frozen=True)
class CasePage:
    """What a queue member sees of one case (names as the template uses them)."""

    case: Case
    keys: content.CaseKeys | None
    no_access: bool  # a member without a grant to the case's key epoch sees metadata only
    entries: list[service.Entry]
    drafts: list[service.Entry]
    files: Files
    history: History
    clocks: list[tuple[CaseDeadline, deadlines.Standing | None]]
    feedback: list[CaseFeedback]
    names: dict[int, str]
    related: list[Case]
    person: NoticePerson | None
    is_head: bool
    me: int
    standing: deadlines.Standing | None
    pending: dict[str, object] | None
    duplicate_of: Case | None
    # For the action forms' choices.
    members: list[StaffUser]
    other_queues: list[Queue]
    open_clocks: list[CaseDeadline]

    def context(self) -> dict[str, object]:
        """The fields by name, for the template (no copy of the ORM objects, unlike asdict)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _keys(db: Session, staff: accounts.CurrentStaff, case: Case) -> content.CaseKeys | None:
    if case.purged:
        return None
    try:
        return service.unlock(db, staff, case)
    except service.CaseError:
        return None


def _history(db: Session, case: Case, keys: content.CaseKeys | None) -> History:
    rows = []
    for event in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                            .order_by(CaseEvent.id)):
        reason = ""
        if event.reason is not None and keys is not None:
            reason = str(content.decrypt_entry(keys.internal, case.uid, event.uid,
                                               "event-reason", event.reason).get("text", ""))
        rows.append((event, json.loads(event.detail or "{}"), reason))
    return rows


def _files(db: Session, case: Case, keys: content.CaseKeys | None) -> Files:
    if keys is None:
        return []
    return [(f, content.decrypt_file_meta(keys.content, case.uid, f.uid, f.meta))
            for f in db.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)
                                .order_by(EvidenceFile.id))]


def _names(db: Session, case: Case, entries: list[service.Entry], history: History
           ) -> dict[int, str]:
    ids = ({e.author_id for e in entries if e.author_id}
           | {event.actor_id for event, _, _ in history if event.actor_id}
           | {case.assignee_id or 0, case.pending_by_id or 0})
    return queries.usernames(db, ids)


def _clocks(clocks: list[CaseDeadline], today: dt.date, today_ord: int
            ) -> list[tuple[CaseDeadline, deadlines.Standing | None]]:
    return [(c, deadlines.standing(c.kind, c.due_on, c.due_ordinal, c.provisional, today,
                                   today_ord) if c.state == "open" else None)
            for c in clocks]


def _other_open_queues(db: Session, case: Case) -> list[Queue]:
    return [q for q in queues.all_queues(db) if q.id != case.queue_id and queues.is_open(db, q)]


def case_page(db: Session, staff: accounts.CurrentStaff, case: Case,
              today: dt.date) -> CasePage:
    """The case page of `case` for `staff` (already allowed to see the case) on `today`."""
    keys = _keys(db, staff, case)
    read = service.read_entries(db, case, keys) if keys else []
    entries = [e for e in read if e.kind != EntryKind.draft]
    history = _history(db, case, keys)
    today_ord = deadlines.today_ordinal(db, today)
    clocks = deadlines.all_clocks(db, case)
    return CasePage(
        case=case, keys=keys, no_access=not case.purged and keys is None, entries=entries,
        drafts=[e for e in read if e.kind == EntryKind.draft], files=_files(db, case, keys),
        history=history, clocks=_clocks(clocks, today, today_ord),
        feedback=list(db.scalars(select(CaseFeedback).where(CaseFeedback.case_id == case.id)
                                 .order_by(CaseFeedback.id))),
        names=_names(db, case, entries, history), related=people.related(db, case),
        person=db.get(NoticePerson, case.notice_person_id) if case.notice_person_id else None,
        is_head=staff.has(case.queue.head_role), me=staff.user_id,
        standing=deadlines.of_case(case, today, today_ord),
        pending=json.loads(case.pending_detail) if case.pending_detail else None,
        duplicate_of=db.get(Case, case.duplicate_of_id) if case.duplicate_of_id else None,
        members=queues.members(db, case.queue), other_queues=_other_open_queues(db, case),
        open_clocks=[c for c in clocks if c.state == "open"],
    )
