"""Publicity use cases: drafts, four-eyes approval, corrections, withdrawals, outcomes, import.

Each public function is one transaction with its audit entries. Open and closed are never
stored: they follow from the period and today's date (:func:`public_state`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal import audit, workdays
from portal.db import transaction, utcnow
from portal.errors import DomainError
from publicity.compliance import service as compliance
from publicity.compliance.schemas import parse_record
from publicity.compliance.validation import InvalidRecord, RecordInput
from publicity.compliance.validation import describe as describe_record_error
from publicity.models import (
    SEARCH_SEPARATOR,
    ChangeKind,
    ChangeStatus,
    Notice,
    NoticeChange,
    NoticePerson,
    NoticeStatus,
    Outcome,
    PublicState,
)
from publicity.revision import bump_global_revision
from publicity.schemas import parse_notice
from publicity.validation import (
    SUBSTANTIVE_FIELDS,
    InvalidNotice,
    NoticeInput,
    PersonInput,
)

NOTICE_FIELDS = ("title", "issuer", "phone", "letter_address", "visit_address")
# Fields a published correction may change. cadre_id is internal: never part of a public change.
PERSON_FIELDS = ("name", "gender", "ethnicity", "birth", "native_place", "education",
                 "work_start", "party", "current_post", "proposed_post",
                 "exceptional_circumstance", "exceptional_reason", "resume")


class PublicityError(DomainError):
    """A publicity action was refused; `code` selects the user-facing message
    (publicity.messages)."""


class NotFound(PublicityError):
    """No such notice, person or change (or not in the expected state)."""

    def __init__(self) -> None:
        super().__init__("not-found")


def public_state(notice: Notice, today: dt.date) -> PublicState | None:
    """What the public sees today; None for a draft (never public)."""
    if notice.status == NoticeStatus.withdrawn:
        return PublicState.withdrawn
    if notice.status != NoticeStatus.approved or notice.period_start is None:
        return None
    if today < notice.period_start:
        return PublicState.scheduled
    if notice.period_end is not None and today > notice.period_end:
        return PublicState.closed
    return PublicState.open


def _notice(db: Session, notice_id: int) -> Notice:
    notice = db.get(Notice, notice_id)
    if notice is None:
        raise NotFound()
    return notice


def _bump_public_revision(db: Session, notice: Notice) -> None:
    notice.revision += 1
    notice.updated_at = utcnow()
    bump_global_revision(db)


def _person_values(p: PersonInput) -> dict[str, object]:
    values = asdict(p)
    values["exceptional"] = p.exceptional
    return values


def _fill(notice: Notice, data: NoticeInput) -> None:
    for name in NOTICE_FIELDS:
        setattr(notice, name, getattr(data, name))
    notice.requested_start = data.period_start
    notice.working_days = data.working_days
    existing = list(notice.persons)
    persons = []
    for i, p in enumerate(data.persons):
        person = existing[i] if i < len(existing) else NoticePerson()
        for key, value in _person_values(p).items():
            setattr(person, key, value)
        person.position = i
        persons.append(person)
    notice.persons = persons
    _index_for_search(notice)


def _index_for_search(notice: Notice) -> None:
    # In the same flush as the fields themselves; each database indexes the column itself.
    notice.search_text = SEARCH_SEPARATOR.join([
        notice.title, notice.issuer,
        *(post for p in notice.persons for post in (p.current_post, p.proposed_post))])


def create_draft(db: Session, data: NoticeInput, actor: audit.Actor, note: str = "") -> Notice:
    """Save a new draft; its author may not approve it."""
    with transaction(db):
        notice = Notice(status=NoticeStatus.draft, created_by=actor.id, editor_note=note.strip(),
                        editors=[actor.id] if actor.id is not None else [])
        _fill(notice, data)
        db.add(notice)
        db.flush()
        audit.record(db, actor, "notice.draft_created", f"notice:{notice.id}",
                     persons=len(data.persons))
    return notice


def update_draft(db: Session, notice_id: int, data: NoticeInput, actor: audit.Actor,
                 version: int, note: str = "") -> Notice:
    """Save changes to a draft; refuse if someone else saved it meanwhile."""
    try:
        with transaction(db):
            notice = _notice(db, notice_id)
            if notice.status != NoticeStatus.draft:
                raise PublicityError("not-a-draft")
            if notice.version != version:
                raise PublicityError("stale")
            _fill(notice, data)
            notice.editor_note = note.strip()
            if actor.id is not None and actor.id not in notice.editors:
                notice.editors = [*notice.editors, actor.id]
            audit.record(db, actor, "notice.draft_edited", f"notice:{notice.id}")
    except StaleDataError:
        raise PublicityError("stale") from None
    return notice


def planned_period(db: Session, notice: Notice, today: dt.date) -> workdays.Period:
    """The period the draft would get if approved today.

    Raises PublicityError("start-passed") or workdays.YearNotLoaded exactly as approval would.
    """
    if notice.requested_start < today:
        raise PublicityError("start-passed", day=notice.requested_start.isoformat())
    return workdays.publicity_period(workdays.load_calendar(db), notice.requested_start,
                                     notice.working_days)


def approve_notice(db: Session, notice_id: int, actor: audit.Actor, today: dt.date,
                   version: int | None = None) -> Notice:
    """A second editor approves and publishes a draft with its computed legal period.

    `version` is the draft revision the approver reviewed: a draft changed since is refused,
    so nobody can slip an unreviewed edit in between review and approval.
    """
    try:
        return _approve(db, notice_id, actor, today, version)
    except StaleDataError:  # a save or an override of the draft came first
        raise PublicityError("stale") from None


def _approve(db: Session, notice_id: int, actor: audit.Actor, today: dt.date,
             version: int | None) -> Notice:
    with transaction(db):
        notice = _notice(db, notice_id)
        if notice.status != NoticeStatus.draft:
            raise PublicityError("not-a-draft")
        if version is not None and notice.version != version:
            raise PublicityError("stale")
        if actor.id in notice.editors:
            raise PublicityError("four-eyes")
        if notice.requested_start < today:
            raise PublicityError("start-passed", day=notice.requested_start.isoformat())
        # The county plan's rules on appointments (publicity.compliance): a record is required
        # and no rule may be broken unless the organization department's head overrode it.
        audit.serialise(db)  # two approvals never both count the batches without the other
        problems = compliance.admit(db, notice)
        if problems:
            raise PublicityError("compliance", problems=problems)
        try:
            period = workdays.publicity_period(
                workdays.load_calendar(db), notice.requested_start, notice.working_days
            )
        except workdays.YearNotLoaded as exc:
            raise PublicityError("year-not-loaded", year=exc.year) from None
        notice.period_start, notice.period_end = period.start, period.end
        notice.status = NoticeStatus.approved
        notice.approved_by = actor.id
        notice.published_at = utcnow()
        _bump_public_revision(db, notice)
        audit.record(db, actor, "notice.approved", f"notice:{notice.id}",
                     period_start=period.start.isoformat(), period_end=period.end.isoformat(),
                     moved=period.moved)
    return notice


def _diff(notice: Notice, data: NoticeInput) -> list[dict[str, object]]:
    changes: list[dict[str, object]] = []
    for name in NOTICE_FIELDS:
        old, new = getattr(notice, name), getattr(data, name)
        if old != new:
            changes.append({"person": None, "field": name, "old": old, "new": new})
    if len(data.persons) != len(notice.persons):
        raise PublicityError("persons-fixed")
    for person, new_person in zip(notice.persons, data.persons, strict=True):
        values = _person_values(new_person)
        for name in PERSON_FIELDS:
            if getattr(person, name) != values[name]:
                changes.append({"person": person.id, "field": name,
                                "old": getattr(person, name), "new": values[name]})
    return changes


def _published(notice: Notice) -> None:
    if notice.status != NoticeStatus.approved:
        raise PublicityError("not-published")


def propose_correction(db: Session, notice_id: int, data: NoticeInput, reason: str,
                       actor: audit.Actor) -> NoticeChange:
    """Record a correction (更正) of a published notice, to be approved by another editor."""
    return _propose(db, notice_id, reason, actor, ChangeKind.correction, data)


def propose_withdrawal(db: Session, notice_id: int, reason: str,
                       actor: audit.Actor) -> NoticeChange:
    """Propose withdrawing (撤销) a published notice, with a public reason."""
    return _propose(db, notice_id, reason, actor, ChangeKind.withdrawal, None)


def _propose(db: Session, notice_id: int, reason: str, actor: audit.Actor, kind: ChangeKind,
             data: NoticeInput | None) -> NoticeChange:
    reason = reason.strip()
    if not reason:
        raise PublicityError("reason-required")
    with transaction(db):
        notice = _notice(db, notice_id)
        _published(notice)
        if any(c.status == ChangeStatus.pending for c in notice.changes):
            raise PublicityError("change-pending")
        changes = _diff(notice, data) if data is not None else []
        if data is not None and not changes:
            raise PublicityError("no-changes")
        substantive = any(c["field"] in SUBSTANTIVE_FIELDS for c in changes)
        change = NoticeChange(notice=notice, kind=kind, reason=reason[:2000], changes=changes,
                              substantive=substantive, proposed_by=actor.id)
        db.add(change)
        db.flush()
        audit.record(db, actor, f"notice.{kind}_proposed", f"notice:{notice.id}",
                     change=change.id, fields=sorted({str(c["field"]) for c in changes}),
                     substantive=substantive)
    return change


def _apply_correction(db: Session, notice: Notice, change: NoticeChange,
                      today: dt.date) -> None:
    persons = {p.id: p for p in notice.persons}
    decided = {p.id for p in notice.persons if p.outcome in (Outcome.appointed, Outcome.withdrawn)}
    if change.substantive and decided:
        raise PublicityError("person-decided")
    for c in change.changes:
        target = notice if c["person"] is None else persons[int(str(c["person"]))]
        setattr(target, str(c["field"]), c["new"])
    for person in notice.persons:
        person.exceptional = person.exceptional_circumstance is not None
    _index_for_search(notice)
    if change.substantive:
        # A substantive correction restarts the period from its publication (today), but never
        # before the start already announced: a scheduled notice keeps its announced start.
        start = max(today, notice.period_start or today)
        try:
            period = workdays.publicity_period(workdays.load_calendar(db), start,
                                               notice.working_days)
        except workdays.YearNotLoaded as exc:
            raise PublicityError("year-not-loaded", year=exc.year) from None
        notice.period_start, notice.period_end = period.start, period.end
        change.new_period_start, change.new_period_end = period.start, period.end


def approve_change(db: Session, change_id: int, actor: audit.Actor,
                   today: dt.date) -> NoticeChange:
    """A second editor approves a correction or withdrawal; it is published at once."""
    with transaction(db):
        change = db.get(NoticeChange, change_id)
        if change is None or change.status != ChangeStatus.pending:
            raise NotFound()
        if change.proposed_by == actor.id:
            raise PublicityError("four-eyes")
        notice = change.notice
        _published(notice)
        if change.kind == ChangeKind.correction:
            _apply_correction(db, notice, change, today)
            compliance.follow_correction(db, notice, actor)
        else:
            notice.status = NoticeStatus.withdrawn
            notice.withdrawn_reason = change.reason
            notice.withdrawn_at = utcnow()
        change.status = ChangeStatus.approved
        change.approved_by = actor.id
        change.published_at = utcnow()
        _bump_public_revision(db, notice)
        audit.record(db, actor, f"notice.{change.kind}_approved", f"notice:{notice.id}",
                     change=change.id, substantive=change.substantive)
    return change


def cancel_change(db: Session, change_id: int, actor: audit.Actor) -> None:
    """Drop a pending correction or withdrawal."""
    with transaction(db):
        change = db.get(NoticeChange, change_id)
        if change is None or change.status != ChangeStatus.pending:
            raise NotFound()
        change.status = ChangeStatus.cancelled
        audit.record(db, actor, f"notice.{change.kind}_cancelled", f"notice:{change.notice_id}",
                     change=change.id)


def set_outcome(db: Session, person_id: int, outcome: str, actor: audit.Actor,
                today: dt.date) -> NoticePerson:
    """Record 暂缓 / 办理任职手续 / 不予任用 for one person."""
    with transaction(db):
        return apply_outcome(db, person_id, outcome, actor, today)


def apply_outcome(db: Session, person_id: int, outcome: str, actor: audit.Actor,
                  today: dt.date) -> NoticePerson:
    """:func:`set_outcome` in the caller's transaction (casework sets 暂缓 from a case)."""
    if outcome not in (Outcome.suspended, Outcome.appointed, Outcome.withdrawn):
        raise PublicityError("bad-outcome")
    person = db.get(NoticePerson, person_id)
    if person is None:
        raise NotFound()
    state = public_state(person.notice, today)
    if state in (None, PublicState.withdrawn):
        raise PublicityError("not-published")
    if outcome == Outcome.appointed:
        if state != PublicState.closed:
            raise PublicityError("period-not-over")
        if person.objections_open:
            raise PublicityError("objection-open")
    before = person.outcome
    if before in (Outcome.appointed, Outcome.withdrawn):
        raise PublicityError("outcome-final")
    person.outcome = outcome
    person.outcome_at = utcnow()
    audit.record(db, actor, "notice.outcome", f"person:{person.id}",
                 notice=person.notice_id, before=before, after=outcome)
    return person


def find_person(db: Session, notice_id: int, person_id: int) -> NoticePerson | None:
    """A published person of a published notice (the objection link's target), or None."""
    person = db.get(NoticePerson, person_id)
    if person is None or person.notice_id != notice_id:
        return None
    if person.notice.status not in (NoticeStatus.approved, NoticeStatus.withdrawn):
        return None
    return person


def objection_opened(db: Session, notice_id: int, person_id: int) -> NoticePerson:
    """Casework: an objection about this person is under verification (caller's transaction)."""
    person = find_person(db, notice_id, person_id)
    if person is None:
        raise NotFound()
    db.execute(update(NoticePerson).where(NoticePerson.id == person_id).values(
        objections_open=NoticePerson.objections_open + 1,
        objections_total=NoticePerson.objections_total + 1))
    db.refresh(person)
    return person


def objection_resolved(db: Session, person_id: int) -> None:
    """Casework: an objection about this person is no longer under verification."""
    db.execute(update(NoticePerson).where(NoticePerson.id == person_id,
                                          NoticePerson.objections_open > 0)
               .values(objections_open=NoticePerson.objections_open - 1))


def objection_reopened(db: Session, person_id: int) -> None:
    """Casework: a resolved objection about this person is under verification again."""
    db.execute(update(NoticePerson).where(NoticePerson.id == person_id)
               .values(objections_open=NoticePerson.objections_open + 1))


def import_notices(db: Session, raw: object, actor: audit.Actor, *,
                   defaults: Mapping[str, str], min_days: int, today: dt.date,
                   ) -> list[tuple[Notice, workdays.Period]]:
    """Import drafts from the JSON format; any invalid notice rejects the whole file."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("notices"), list):
        raise ImportRejected([(None, _('The file must have the form {"notices": [ … ]}.'))])
    problems: list[tuple[int | None, str]] = []
    parsed: list[NoticeInput] = []
    notices_raw: Sequence[object] = raw["notices"]
    if not notices_raw:
        problems.append((None, _("The file contains no notice.")))
    cal = workdays.load_calendar(db)
    periods = []
    records: list[RecordInput | None] = []
    terms = compliance.term_spans(db)
    promotions = compliance.settings(db).thresholds.promotions_without_approval
    for i, item in enumerate(notices_raw):
        data, record = None, None
        try:
            data = parse_notice(item, defaults, min_days)
        except InvalidNotice as exc:
            problems.extend((i, e.describe()) for e in exc.errors)
        raw_record = item.get("compliance") if isinstance(item, Mapping) else None
        if raw_record is not None:
            # The decision meeting came before the notice, and not after today.
            latest = min(today, data.period_start) if data else today
            try:
                record = parse_record(raw_record, terms, promotions_without_approval=promotions,
                                      latest=latest)
            except InvalidRecord as exc:
                problems.extend((i, describe_record_error(e)) for e in exc.errors)
        if data is None:
            continue
        try:
            periods.append(workdays.publicity_period(cal, data.period_start, data.working_days))
        except workdays.YearNotLoaded as exc:
            problems.append((i, workdays.year_not_loaded_message(exc.year)))
            continue
        parsed.append(data)
        records.append(record)
    if problems:
        raise ImportRejected(problems)
    created = []
    with transaction(db):
        for data, period, record in zip(parsed, periods, records, strict=True):
            # The importing editor counts as an author: four-eyes applies to imports too.
            notice = Notice(status=NoticeStatus.draft, created_by=actor.id,
                            editors=[actor.id] if actor.id is not None else [])
            _fill(notice, data)
            db.add(notice)
            db.flush()
            audit.record(db, actor, "notice.draft_created", f"notice:{notice.id}",
                         persons=len(data.persons), via="import")
            if record is not None:
                compliance.write_record(db, notice, record, actor)
            created.append((notice, period))
    return created


class ImportRejected(ValueError):
    """The import file was refused whole; `problems` lists (notice index, message)."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def list_for_editors(db: Session) -> list[Notice]:
    """All notices, newest first (the editor list)."""
    return list(db.scalars(select(Notice).order_by(Notice.id.desc()).limit(500)))
