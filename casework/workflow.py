"""What queue members do with a case (PRODUCT.md, "Casework"): one service function per action.

Each action owns one transaction: it locks the case row, refuses a stale form (the version the
member saw is not the version now), refuses a transition the state diagram does not allow, then
writes the change, its history event and its audit entry together. The views only show what is
allowed; this module is what enforces it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from casework import content, deadlines, people, queues
from casework.models import (
    Case,
    CaseEntry,
    CaseEvent,
    CaseFeedback,
    CaseState,
    CaseTransfer,
    DeadlineKind,
    EntryKind,
    FeedbackChannel,
    Queue,
)
from casework.service import CaseError, entry_key, identity_key, read_identities, unlock
from portal import accounts, audit, crypto
from portal.db import transaction, utcnow
from portal.models import StaffUser
from publicity import service as publicity
from publicity.models import NoticePerson, Outcome

S = CaseState
OPEN = frozenset({S.received, S.accepted, S.in_progress})
FINAL = frozenset({S.not_accepted, S.transferred, S.withdrawn, S.closed})
# Which states each action may start from (PRODUCT.md's diagram).
ALLOWED: dict[str, frozenset[str]] = {
    "accept": frozenset({S.received}),
    "refuse": frozenset({S.received}),
    "transfer": OPEN,
    "transfer-outside": OPEN,
    "assign": OPEN,
    "take": OPEN,
    "extend": OPEN | {S.concluded},
    "conclude": frozenset({S.accepted, S.in_progress}),
    "close": frozenset({S.concluded}),
    "reopen": frozenset({S.concluded, S.closed}),
    "message": OPEN | {S.concluded},
    "note": OPEN | {S.concluded} | FINAL,
    "feedback": OPEN | {S.concluded} | FINAL,
    "suspend-person": OPEN,
    "duplicate": frozenset({S.received}),
}
REFUSAL_REASONS = ("out-of-scope", "no-substance", "duplicate", "other")
FINDINGS = ("substantiated", "partly", "unsubstantiated", "unverifiable")
MAX_TEXT = 20_000
MAX_EXTENSION_DAYS = 60


@dataclass(frozen=True)
class Member:
    """The acting member and the case's queue roles they hold."""

    staff: accounts.CurrentStaff
    head: bool


def _member(staff: accounts.CurrentStaff, case: Case) -> Member:
    if not staff.roles & case.queue.roles:
        raise CaseError("no-such-case")  # another queue's case: as if it did not exist
    return Member(staff, staff.has(case.queue.head_role))


def find(db: Session, staff: accounts.CurrentStaff, case_no: str) -> tuple[Case, Member]:
    """A case of the member's queue by number (CaseError "no-such-case" otherwise)."""
    case = db.scalar(select(Case).where(Case.case_no == case_no[:20]))
    if case is None:
        raise CaseError("no-such-case")
    return case, _member(staff, case)


@contextmanager
def _acting(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
            action: str) -> Iterator[tuple[Case, Member]]:
    """One action's transaction on a locked, current, allowed case."""
    try:
        with transaction(db):
            case = db.scalar(select(Case).where(Case.case_no == case_no[:20])
                             .with_for_update(of=Case)
                             .execution_options(populate_existing=True))
            if case is None:
                raise CaseError("no-such-case")
            member = _member(staff, case)
            if case.purged:
                raise CaseError("purged")
            if not queues.holds_key(db, staff.user_id, case.queue):
                raise CaseError("no-access")
            if case.version != version:
                raise CaseError("stale")
            if case.state not in ALLOWED[action]:
                raise CaseError("bad-transition")
            if case.pending_state and action not in ("note", "message", "feedback", "extend"):
                raise CaseError("pending-signoff")
            yield case, member
            # Every action moves the version, even one that changes only other rows (a
            # note, an extension of a later clock), so a second stale form is refused.
            flag_modified(case, "unread_replies")
            db.flush()
    except StaleDataError:
        db.rollback()
        raise CaseError("stale") from None


def _text(value: str, code: str) -> str:
    text = value.strip()
    if not text:
        raise CaseError(code)
    if len(text) > MAX_TEXT:
        raise CaseError("too-long")
    return text


def _event(db: Session, staff: accounts.CurrentStaff, case: Case, action: str,
           before: str | None, why: str = "", **detail: Any) -> CaseEvent:
    """A history event; a typed reason is encrypted under the case's internal key."""
    uid = crypto.random_bytes(16).hex()
    blob = None
    if why:
        keys = unlock(db, staff, case)
        blob = content.encrypt_entry(keys.internal, case.uid, uid, "event-reason",
                                     {"text": why})
    event = CaseEvent(case_id=case.id, uid=uid, queue_id=case.queue_id, actor_id=staff.user_id,
                      action=action, from_state=before,
                      to_state=case.state if case.state != before else None,
                      detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
                      reason=blob)
    db.add(event)
    audit.record(db, staff.actor, f"case.{action}", case.case_no, state=case.state, **detail)
    return event


def _entry(db: Session, staff: accounts.CurrentStaff, case: Case, kind: EntryKind,
           payload: dict[str, object]) -> CaseEntry:
    keys = unlock(db, staff, case)
    uid = crypto.random_bytes(16).hex()
    row = CaseEntry(case_id=case.id, uid=uid, kind=kind, author_id=staff.user_id,
                    created_at=utcnow(),
                    body=content.encrypt_entry(entry_key(keys, kind), case.uid, uid, kind,
                                               payload))
    db.add(row)
    return row


def _finish(db: Session, case: Case, today: dt.date, *, was_open: bool = True) -> None:
    """The case reached a state nothing follows: clocks that no longer apply stop, and an
    objection it carried stops counting as under verification (once: a concluded case already
    stopped counting when it was concluded)."""
    case.closed_on = today
    deadlines.cancel(db, case, DeadlineKind.decision, DeadlineKind.conclusion)
    if was_open and case.notice_person_id is not None:
        publicity.objection_resolved(db, case.notice_person_id)


# --- decisions ---------------------------------------------------------------------------


def accept(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
           disposition: str, today: dt.date) -> None:
    """Accept (受理) with one of the queue's dispositions; the conclusion clock starts."""
    with _acting(db, staff, case_no, version, "accept") as (case, _):
        if disposition not in {d["zh"] for d in queues.dispositions(case.queue)}:
            raise CaseError("bad-disposition")
        before = case.state
        case.state, case.disposition, case.accepted_on = S.accepted, disposition, today
        deadlines.meet(db, case, DeadlineKind.decision, today)
        deadlines.start(db, case, DeadlineKind.conclusion, today, case.queue.conclusion_days)
        deadlines.refresh(db, case)
        _event(db, staff, case, "accept", before, disposition=disposition)


def _decide(db: Session, staff: accounts.CurrentStaff, case: Case, target: str,
            detail: dict[str, Any], answer: str, today: dt.date) -> None:
    """Apply a refusal or conclusion: the answer becomes a message the reporter reads."""
    before = case.state
    case.pending_state = case.pending_by_id = case.pending_detail = None
    _entry(db, staff, case, EntryKind.staff_message, {"text": answer, "answer": target,
                                                       **detail})
    if target == S.not_accepted:
        case.state = S.not_accepted
        case.refusal_reason = str(detail["reason"])
        deadlines.meet(db, case, DeadlineKind.decision, today)
        _finish(db, case, today)
    else:
        case.state, case.finding, case.concluded_on = S.concluded, str(detail["finding"]), today
        deadlines.meet(db, case, DeadlineKind.conclusion, today)
        if case.real_name:
            deadlines.start(db, case, DeadlineKind.result_notice, today, case.queue.notice_days)
        if case.notice_person_id is not None:
            publicity.objection_resolved(db, case.notice_person_id)
    deadlines.refresh(db, case)
    _event(db, staff, case, "refuse" if target == S.not_accepted else "conclude", before,
           **detail)


def _propose(db: Session, staff: accounts.CurrentStaff, case: Case, target: str,
             detail: dict[str, Any], answer: str, today: dt.date) -> None:
    if not case.queue.signoff_required:
        _decide(db, staff, case, target, detail, answer, today)
        return
    draft = _entry(db, staff, case, EntryKind.draft, {"text": answer})
    db.flush()
    case.pending_state, case.pending_by_id = target, staff.user_id
    case.pending_detail = json.dumps({**detail, "draft": draft.id}, ensure_ascii=False)
    _event(db, staff, case, "proposed", case.state, proposal=target, **detail)


def refuse(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int, reason: str,
           answer: str, today: dt.date, explanation: str = "") -> None:
    """Refuse (不予受理) with a reason and the answer the reporter will read."""
    if reason not in REFUSAL_REASONS:
        raise CaseError("bad-reason")
    text = _text(answer, "answer-required")
    with _acting(db, staff, case_no, version, "refuse") as (case, _):
        _propose(db, staff, case, S.not_accepted, {"reason": reason}, text, today)
        if explanation.strip():
            _entry(db, staff, case, EntryKind.note, {"text": explanation.strip()[:MAX_TEXT]})


def conclude(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
             finding: str, answer: str, today: dt.date) -> None:
    """Conclude (办结) with a finding and the answer the reporter will read."""
    if finding not in FINDINGS:
        raise CaseError("bad-finding")
    text = _text(answer, "answer-required")
    with _acting(db, staff, case_no, version, "conclude") as (case, _):
        _propose(db, staff, case, S.concluded, {"finding": finding}, text, today)


def sign_off(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
             approve: bool, today: dt.date, comment: str = "") -> None:
    """A head signs off (or sends back) a pending refusal or conclusion; never their own."""
    try:
        with transaction(db):
            case = db.scalar(select(Case).where(Case.case_no == case_no[:20])
                             .with_for_update(of=Case).execution_options(populate_existing=True))
            if case is None:
                raise CaseError("no-such-case")
            member = _member(staff, case)
            if not queues.holds_key(db, staff.user_id, case.queue):
                raise CaseError("no-access")
            if case.version != version:
                raise CaseError("stale")
            if not case.pending_state or case.pending_detail is None:
                raise CaseError("nothing-pending")
            action = "refuse" if case.pending_state == S.not_accepted else "conclude"
            if case.purged or case.state not in ALLOWED[action]:
                raise CaseError("bad-transition")  # e.g. withdrawn meanwhile
            if not member.head:
                raise CaseError("heads-only")
            if case.pending_by_id == staff.user_id:
                raise CaseError("own-decision")
            detail = json.loads(case.pending_detail)
            draft = db.get(CaseEntry, int(detail.pop("draft")))
            target = case.pending_state
            if not approve:
                case.pending_state = case.pending_by_id = case.pending_detail = None
                if draft is not None and draft.case_id == case.id:
                    db.delete(draft)  # the answer goes back with the decision
                if detail.get("reason") == "duplicate":
                    case.duplicate_of_id = None
                _event(db, staff, case, "sent-back", case.state, comment.strip()[:MAX_TEXT],
                       proposal=target)
                return
            if draft is None or draft.case_id != case.id:
                raise CaseError("nothing-pending")
            keys = unlock(db, staff, case)
            answer = content.decrypt_entry(keys.internal, case.uid, draft.uid, draft.kind,
                                           draft.body)
            db.delete(draft)
            _decide(db, staff, case, target, detail, str(answer["text"]), today)
            _event(db, staff, case, "signed-off", None, comment.strip()[:MAX_TEXT],
                   proposal=target)
    except StaleDataError:
        db.rollback()
        raise CaseError("stale") from None


# --- people ------------------------------------------------------------------------------


def _active_member(db: Session, queue: Queue, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None or not user.is_active or not user.role_names & queue.roles:
        raise CaseError("not-a-member")
    return user


def _assign(db: Session, case: Case, user: StaffUser | None) -> None:
    case.assignee_id = user.id if user else None
    if user is not None and case.state == S.accepted:
        case.state = S.in_progress


def assign(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
           user_id: int | None) -> None:
    """A head assigns or reassigns the case (None: unassigned)."""
    with _acting(db, staff, case_no, version, "assign") as (case, member):
        if not member.head:
            raise CaseError("heads-only")
        user = _active_member(db, case.queue, user_id) if user_id else None
        before = case.state
        _assign(db, case, user)
        _event(db, staff, case, "assign", before, to=user.username if user else None)


def take(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int) -> None:
    """A handler takes an unassigned case."""
    with _acting(db, staff, case_no, version, "take") as (case, _):
        if case.assignee_id is not None:
            raise CaseError("already-assigned")
        before = case.state
        _assign(db, case, _active_member(db, case.queue, staff.user_id))
        _event(db, staff, case, "take", before)


def hand_over(db: Session, staff: accounts.CurrentStaff, queue_id: int, from_user: int,
              to_user: int) -> int:
    """A head hands every open case of a departing handler to another member at once."""
    with transaction(db):
        queue = db.get(Queue, queue_id)
        if queue is None or not staff.roles & queue.roles:
            raise CaseError("no-such-case")
        if not staff.has(queue.head_role):
            raise CaseError("heads-only")
        if not queues.holds_key(db, staff.user_id, queue):
            raise CaseError("no-access")
        if from_user == to_user:
            raise CaseError("same-person")
        target = _active_member(db, queue, to_user)
        giver = db.get(StaffUser, from_user)
        if giver is None:
            raise CaseError("not-a-member")
        moved = list(db.scalars(select(Case).where(
            Case.queue_id == queue.id, Case.assignee_id == from_user,
            Case.state.in_(OPEN | {S.concluded})).with_for_update(of=Case)))
        for case in moved:
            before = case.state
            _assign(db, case, target)
            db.add(CaseEvent(case_id=case.id, uid=crypto.random_bytes(16).hex(),
                             queue_id=queue.id, actor_id=staff.user_id, action="handover",
                             from_state=before,
                             to_state=case.state if case.state != before else None,
                             detail=json.dumps({"from": giver.username,
                                                "to": target.username})))
        audit.record(db, staff.actor, "queue.handover", queue.slug, source=giver.username,
                     to=target.username, cases=[c.case_no for c in moved])
    return len(moved)


# --- transfers ---------------------------------------------------------------------------


def transfer(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
             target_queue_id: int, reason: str, today: dt.date) -> Queue:
    """Move the case to another queue: its keys are sealed to that queue and the old wraps
    dropped, so this queue can no longer open it. The receiving queue decides within its
    transfer deadline."""
    text = _text(reason, "reason-required")
    with _acting(db, staff, case_no, version, "transfer") as (case, member):
        if not member.head:
            raise CaseError("heads-only")
        target = db.get(Queue, target_queue_id)
        if target is None:
            raise CaseError("no-such-queue")
        if target.id == case.queue_id:
            raise CaseError("same-queue")
        epoch = queues.current_epoch(db, target)
        if epoch is None or not queues.is_open(db, target):
            raise CaseError("queue-closed")
        keys = unlock(db, staff, case)
        identity_private = identity_key(db, staff, case)
        names = _names(db, case, keys)
        before, source = case.state, case.queue
        # The reason stays readable on both sides' history: sealed under Ki, which moves along.
        event = _event(db, staff, case, "transfer", before, text, to=target.slug)
        public = queues.epoch_public_key(target, epoch)
        case.keys_wrap = keys.seal_to(public)
        case.identity_wrap = crypto.seal(public, identity_private)
        case.epoch_id = epoch.id
        db.add(CaseTransfer(case_id=case.id, from_queue_id=source.id, to_queue_id=target.id,
                            on=today, actor_id=staff.user_id))
        deadlines.cancel(db, case, DeadlineKind.decision, DeadlineKind.conclusion)
        deadlines.record_met(db, case, DeadlineKind.transfer, case.received_on,
                             source.transfer_days, today)
        case.queue_id, case.queue = target.id, target
        for running in deadlines.open_clocks(db, case):
            running.queue_id = target.id  # still-running clocks now count for the new queue
        case.state, case.assignee_id, case.disposition, case.accepted_on = (
            S.received, None, None, None)
        event.to_state = case.state
        people.index(db, case, target.slug, names)
        deadlines.start(db, case, DeadlineKind.decision, today, target.transfer_days)
        deadlines.refresh(db, case)
    return target


def transfer_outside(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
                     body: str, reason: str, today: dt.date) -> None:
    """Send the case to an outside body (court, another authority): recorded, closed here."""
    name = _text(body, "body-required")[:200]
    text = _text(reason, "reason-required")
    with _acting(db, staff, case_no, version, "transfer-outside") as (case, member):
        if not member.head:
            raise CaseError("heads-only")
        before = case.state
        case.state, case.outside_body = S.transferred, name
        deadlines.record_met(db, case, DeadlineKind.transfer, case.received_on,
                             case.queue.transfer_days, today)
        _finish(db, case, today)
        deadlines.refresh(db, case)
        _event(db, staff, case, "transfer-outside", before, text, body=name)


# --- conversation, feedback, closing -------------------------------------------------------


def message(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
            text: str) -> None:
    """A message the reporter reads with their receipt; reporter replies count as read."""
    body = _text(text, "text-required")
    with _acting(db, staff, case_no, version, "message") as (case, _):
        _entry(db, staff, case, EntryKind.staff_message, {"text": body})
        case.unread_replies = 0
        _event(db, staff, case, "message", case.state)


def note(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
         text: str) -> None:
    """An internal note (under Ki: the reporter's key never opens it)."""
    body = _text(text, "text-required")
    with _acting(db, staff, case_no, version, "note") as (case, _):
        _entry(db, staff, case, EntryKind.note, {"text": body})
        _event(db, staff, case, "note", case.state)


def mark_read(db: Session, staff: accounts.CurrentStaff, case: Case, shown: int) -> None:
    """The member read the replies counted when the page was drawn (no version bump: nothing
    the case says moved); a reply that arrived meanwhile stays unread."""
    if shown:
        with transaction(db):
            db.execute(update(Case).where(Case.id == case.id, Case.unread_replies >= shown)
                       .values(unread_replies=Case.unread_replies - shown)
                       .execution_options(synchronize_session=False))


def record_feedback(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
                    kind: str, channel: str, given_on: dt.date, today: dt.date) -> None:
    """Record that a real-name reporter was told the acceptance decision or the result."""
    if kind not in (DeadlineKind.acceptance_notice, DeadlineKind.result_notice):
        raise CaseError("bad-feedback")
    if channel not in set(FeedbackChannel):
        raise CaseError("bad-channel")
    with _acting(db, staff, case_no, version, "feedback") as (case, _):
        if not case.real_name:
            raise CaseError("not-real-name")
        earliest = (case.concluded_on if kind == DeadlineKind.result_notice
                    else case.accepted_on or case.closed_on) or case.received_on
        if given_on > today or given_on < earliest:
            raise CaseError("bad-date")
        if kind == DeadlineKind.acceptance_notice and case.state == S.received:
            raise CaseError("not-decided")
        if kind == DeadlineKind.result_notice and case.concluded_on is None:
            raise CaseError("not-concluded")
        db.add(CaseFeedback(case_id=case.id, kind=kind, channel=channel, given_on=given_on,
                            actor_id=staff.user_id))
        deadlines.meet(db, case, DeadlineKind(kind), given_on)
        deadlines.refresh(db, case)
        _event(db, staff, case, "feedback", case.state, kind=kind, channel=channel,
               given_on=given_on.isoformat())


def close(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
          today: dt.date) -> None:
    """Archive (已归档) a concluded case; a real-name reporter must have been told the result."""
    with _acting(db, staff, case_no, version, "close") as (case, _):
        # The result of this conclusion (not of an earlier one, before a reopening) must have
        # been told: its clock stops only when that feedback is recorded.
        owed = any(c.kind == DeadlineKind.result_notice for c in deadlines.open_clocks(db, case))
        if case.real_name and (owed or db.scalar(select(CaseFeedback.id).where(
                CaseFeedback.case_id == case.id,
                CaseFeedback.kind == DeadlineKind.result_notice).limit(1)) is None):
            raise CaseError("feedback-missing")
        before = case.state
        case.state = S.closed
        _finish(db, case, today, was_open=False)
        deadlines.refresh(db, case)
        _event(db, staff, case, "close", before)


def reopen(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int, reason: str,
           today: dt.date) -> None:
    """A head reopens a concluded or archived case; a new conclusion clock starts."""
    text = _text(reason, "reason-required")
    with _acting(db, staff, case_no, version, "reopen") as (case, member):
        if not member.head:
            raise CaseError("heads-only")
        before = case.state
        case.state, case.closed_on, case.finding, case.concluded_on = (
            S.in_progress, None, None, None)
        deadlines.cancel(db, case, DeadlineKind.result_notice)
        deadlines.start(db, case, DeadlineKind.conclusion, today, case.queue.conclusion_days)
        if case.notice_person_id is not None and case.notice_id is not None:
            publicity.objection_reopened(db, case.notice_person_id)
        deadlines.refresh(db, case)
        _event(db, staff, case, "reopen", before, text)


def extend(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
           deadline_id: int, days: int, reason: str) -> None:
    """A head extends (延期) a running clock by N working days, with a reason."""
    text = _text(reason, "reason-required")
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise CaseError("bad-days")
    with _acting(db, staff, case_no, version, "extend") as (case, member):
        if not member.head:
            raise CaseError("heads-only")
        clock = next((c for c in deadlines.open_clocks(db, case) if c.id == deadline_id), None)
        if clock is None:
            raise CaseError("no-such-deadline")
        before_due = clock.due_on
        deadlines.extend(db, clock, days)
        deadlines.refresh(db, case)
        _event(db, staff, case, "extend", case.state, text, kind=clock.kind, days=days,
               was=before_due.isoformat(), now=clock.due_on.isoformat())


# --- same person, duplicates, objections, identity -----------------------------------------


def _names(db: Session, case: Case, keys: content.CaseKeys) -> list[str]:
    """Names of the persons a case concerns, from its report entry."""
    row = db.scalar(select(CaseEntry).where(CaseEntry.case_id == case.id,
                                            CaseEntry.kind == EntryKind.report).limit(1))
    if row is None:
        return []
    report = content.decrypt_entry(keys.content, case.uid, row.uid, row.kind, row.body)
    persons = report.get("persons")
    names = [str(p.get("name", "")) for p in persons if isinstance(p, dict)] \
        if isinstance(persons, list) else []
    if case.notice_person_id is not None:
        person = db.get(NoticePerson, case.notice_person_id)
        if person is not None:
            names.append(person.name)
    return names


def mark_duplicate(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
                   original_no: str, answer: str, today: dt.date) -> None:
    """Link a repeat report to the earlier case and refuse it as 重复举报 (登记留存)."""
    text = _text(answer, "answer-required")
    with _acting(db, staff, case_no, version, "duplicate") as (case, _):
        original = db.scalar(select(Case).where(Case.case_no == original_no.strip()[:20]))
        if original is None or original.queue_id != case.queue_id:
            raise CaseError("no-such-original")
        if original.id == case.id:
            raise CaseError("same-case")
        case.duplicate_of_id = original.id
        _event(db, staff, case, "duplicate", case.state, of=original.case_no)
        _propose(db, staff, case, S.not_accepted, {"reason": "duplicate",
                                                   "of": original.case_no}, text, today)


def suspend_person(db: Session, staff: accounts.CurrentStaff, case_no: str, version: int,
                   today: dt.date) -> None:
    """For an objection: set the person's outcome to 暂缓 (through publicity's service)."""
    with _acting(db, staff, case_no, version, "suspend-person") as (case, _):
        if case.notice_person_id is None:
            raise CaseError("not-an-objection")
        try:
            publicity.apply_outcome(db, case.notice_person_id, Outcome.suspended, staff.actor,
                                    today)
        except publicity.PublicityError as exc:
            raise CaseError(f"publicity-{exc.code}") from None
        _event(db, staff, case, "suspend-person", case.state, person=case.notice_person_id)


def reveal(db: Session, staff: accounts.CurrentStaff, case_no: str,
           reason: str) -> list[dict[str, object]]:
    """Open a real-name reporter's identity after recording why it is needed (audited)."""
    text = _text(reason, "reason-required")
    with transaction(db):
        case, _ = find(db, staff, case_no)
        if case.purged or case.identity_wrap is None:
            raise CaseError("purged")
        identities = read_identities(db, case, identity_key(db, staff, case))
        _event(db, staff, case, "reveal", case.state, text, count=len(identities))
    return identities


def view(db: Session, staff: accounts.CurrentStaff, case: Case) -> None:
    """Opening a case is audited: who, which case, when."""
    with transaction(db):
        audit.record(db, staff.actor, "case.viewed", case.case_no)
