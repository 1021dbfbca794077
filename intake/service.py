"""Filing a report and the reporter's follow-up, each use case one transaction.

Everything expensive (argon2id over the receipt, encrypting evidence) happens before the
transaction opens, so no database lock is held while the CPU works; the transaction then writes
the case, its entries, its files and the used form token together, or nothing at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework import content, deadlines, people, queues
from casework.models import (
    REPORTER_VISIBLE,
    Case,
    CaseCounter,
    CaseEntry,
    CaseState,
    Category,
    CategoryKind,
    Channel,
    DeadlineKind,
    EntryKind,
    EvidenceChunk,
    EvidenceFile,
    Queue,
)
from intake import receipts
from intake.evidence import CleanFile
from intake.models import FormSubmission, ReporterSession
from portal import audit, clock, crypto, state, workdays
from portal.db import transaction, utcnow
from portal.errors import DomainError
from publicity import service as publicity
from publicity.models import NoticePerson

SWEEP_AFTER = dt.timedelta(days=1)
OPEN_STATES = (CaseState.received, CaseState.accepted, CaseState.in_progress)


class IntakeError(DomainError):
    """A report or follow-up that cannot be done; `code` names the reason (intake.messages)."""


class RegistrationRefused(IntakeError):
    """A staff registration that cannot be done (staff read their own messages for it)."""


class AlreadyFiled(Exception):
    """This form was already submitted: nothing new was filed (and its receipt, shown once
    when it was filed, is not kept to be shown again)."""

    def __init__(self) -> None:
        super().__init__("already filed")


@dataclass(frozen=True)
class Person:
    """A person the report concerns."""

    name: str
    unit: str = ""
    post: str = ""


@dataclass(frozen=True)
class Identity:
    """A real-name reporter's identity (sealed to the case identity key)."""

    name: str
    phone: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Evidence:
    """An uploaded file after type checking and metadata removal."""

    filename: str  # the name stored (inside the encrypted metadata) and shown to staff
    clean: CleanFile
    # The name it was sent under when that is not the one stored (#21, item 11): shown to the
    # reporter once, on the confirmation, and never stored.
    sent_as: str = ""


@dataclass(frozen=True)
class ReportInput:
    """What a reporter filed, validated by the form."""

    category_id: int
    facts: str
    subtype: str = ""
    persons: tuple[Person, ...] = ()
    event_time: str = ""
    event_place: str = ""
    witnesses: str = ""
    identity: Identity | None = None
    concerns_leader: bool = False
    objection: tuple[int, int] | None = None
    channel: Channel = Channel.web


def this_hour() -> dt.datetime:
    """Now, truncated to the hour: how reporter-originated times are stored."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


def _uid() -> str:
    return crypto.random_bytes(16).hex()


# --- routing -------------------------------------------------------------------------------


def active_categories(db: Session) -> list[Category]:
    """The routing table's active categories in form order."""
    return list(db.scalars(select(Category).where(Category.active).order_by(Category.position)))


def escalation_queue(db: Session) -> Queue | None:
    """The configured escalation queue (上级), if any."""
    return db.scalar(select(Queue).where(Queue.is_escalation).order_by(Queue.id).limit(1))


def route(db: Session, category: Category, concerns_leader: bool) -> Queue:
    """The queue a report goes to: the category's, or the escalation queue when it concerns
    the receiving body's own principal leader and one is configured."""
    if concerns_leader:
        escalation = escalation_queue(db)
        if escalation is not None:
            return escalation
    return category.queue


@dataclass(frozen=True)
class ReportChoices:
    """What the public report form offers now."""

    categories: list[Category]
    open_ids: set[int]  # the categories whose queue can take a report now
    escalation: bool  # whether the level above (上级) can take reports: the leader question
    objection: NoticePerson | None  # the person objected to, when asked and open
    objection_refused: bool  # an objection was asked for but is not possible

    @property
    def objection_category(self) -> int | None:
        """The objection category, preselected for an objection."""
        return next((c.id for c in self.categories if c.kind == CategoryKind.objection), None)


def report_choices(db: Session, objection: tuple[int | None, int | None] | None
                   ) -> ReportChoices:
    """The categories of the report form and which are open, whether the leader question is
    asked, and the person of an objection (`objection`: the notice and person asked for, or
    None when the form is not opened for an objection)."""
    categories = active_categories(db)
    open_queues = {q.id for q in {c.queue for c in categories}
                   if queue_is_open(db, q)}  # once per queue, not per category
    upper = escalation_queue(db)
    person = None
    if objection is not None and objection[0] and objection[1]:
        person = open_objection(db, objection[0], objection[1])
    return ReportChoices(
        categories=categories, open_ids={c.id for c in categories if c.queue_id in open_queues},
        escalation=upper is not None and queue_is_open(db, upper), objection=person,
        objection_refused=objection is not None and person is None)


def open_objection(db: Session, notice_id: int, person_id: int) -> NoticePerson | None:
    """The person of a notice that is open for objections today, or None."""
    person = publicity.find_person(db, notice_id, person_id)
    if person is None or publicity.public_state(person.notice, clock.today()) != "open":
        return None
    return person


def _effective_category(db: Session,
                        report: ReportInput) -> tuple[Category, tuple[int, int] | None]:
    category = db.get(Category, report.category_id)
    if category is None or not category.active:
        raise IntakeError("bad-category")
    if category.kind != CategoryKind.objection:
        return category, None
    if report.objection and open_objection(db, *report.objection) is not None:
        return category, report.objection
    # Not (or no longer) open for objections: an ordinary report about cadre selection.
    ordinary = db.scalar(select(Category).where(Category.code == "selection", Category.active))
    return ordinary or category, None


# --- filing --------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return crypto.hash_token("form:" + token)


def _already_filed(db: Session, token: str) -> AlreadyFiled | None:
    """If this form token was used: the error to raise (it carries no receipt)."""
    if db.get(FormSubmission, _token_hash(token)) is None:
        return None
    return AlreadyFiled()


def _sweep(db: Session) -> None:
    """Forget what reporter-side rows no longer need (caller's transaction)."""
    hour = this_hour()
    db.execute(delete(ReporterSession).where(ReporterSession.created_hour < hour - SWEEP_AFTER))
    db.execute(delete(FormSubmission).where(FormSubmission.created_hour < hour - SWEEP_AFTER))


def _next_case_no(db: Session, year: int) -> str:
    """The next number of the year, atomically (one upsert, safe under concurrent filings)."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CaseCounter).values(year=year, last=1)
    last = db.execute(statement.on_conflict_do_update(
        index_elements=[CaseCounter.year], set_={"last": CaseCounter.last + 1},
    ).returning(CaseCounter.last)).scalar_one()
    return f"{year}-{last:05d}"


@dataclass
class _Prepared:
    """Everything encrypted before the transaction opens."""

    uid: str
    keys: content.CaseKeys
    identity_public: bytes
    identity_private: bytes
    receipt: str
    salt: bytes
    reporter_box: bytes
    entries: list[CaseEntry] = field(default_factory=list)
    files: list[tuple[EvidenceFile, list[bytes]]] = field(default_factory=list)


def _report_payload(report: ReportInput, category: Category,
                    objection: tuple[int, int] | None) -> dict[str, object]:
    return {
        "category": category.name_zh, "subtype": report.subtype,
        "persons": [{"name": p.name, "unit": p.unit, "post": p.post} for p in report.persons],
        "event_time": report.event_time, "event_place": report.event_place,
        "facts": report.facts, "witnesses": report.witnesses,
        "objection": list(objection) if objection else None,
    }


def _file_rows(key: bytes, case_uid: str, files: list[Evidence], when: dt.datetime,
               from_reporter: bool = True) -> list[tuple[EvidenceFile, list[bytes]]]:
    """Evidence rows with their encrypted chunks, made before any transaction opens."""
    rows = []
    for item in files:
        file_uid = _uid()
        meta = {"name": item.filename, "mime": item.clean.mime, "kind": item.clean.kind,
                "extension": item.clean.extension, "size": len(item.clean.data),
                "removed": list(item.clean.removed), "warning": item.clean.warning}
        chunks = content.encrypt_file(key, case_uid, file_uid, item.clean.data)
        row = EvidenceFile(uid=file_uid, from_reporter=from_reporter, created_at=when,
                           meta=content.encrypt_file_meta(key, case_uid, file_uid, meta),
                           chunk_count=len(chunks))
        rows.append((row, chunks))
    return rows


def _prepare(report: ReportInput, category: Category, objection: tuple[int, int] | None,
             files: list[Evidence]) -> _Prepared:
    keys = content.CaseKeys.generate()
    identity_public, identity_private = crypto.generate_keypair()
    uid, receipt, salt = _uid(), receipts.generate(), crypto.random_bytes(16)
    reporter_box = crypto.encrypt(receipts.reporter_key(receipt, salt), keys.content,
                                  {"case": uid, "what": "reporter-key"})
    prepared = _Prepared(uid, keys, identity_public, identity_private, receipt, salt,
                         reporter_box)
    when = this_hour()
    entry_uid = _uid()
    prepared.entries.append(CaseEntry(
        uid=entry_uid, kind=EntryKind.report, created_at=when,
        body=content.encrypt_entry(keys.content, uid, entry_uid, EntryKind.report,
                                   _report_payload(report, category, objection))))
    if report.identity is not None:
        prepared.entries.append(_identity_entry(uid, identity_public, report.identity, when))
    prepared.files = _file_rows(keys.content, uid, files, when)
    return prepared


def _identity_entry(case_uid: str, identity_public: bytes, identity: Identity,
                    when: dt.datetime) -> CaseEntry:
    entry_uid = _uid()
    payload: dict[str, object] = {"name": identity.name, "phone": identity.phone,
                                  "unit": identity.unit}
    return CaseEntry(uid=entry_uid, kind=EntryKind.identity, created_at=when,
                     body=content.seal_identity(identity_public, case_uid, entry_uid, payload))


def _add_files(db: Session, case: Case, rows: list[tuple[EvidenceFile, list[bytes]]]) -> None:
    for row, chunks in rows:
        row.case_id = case.id
        db.add(row)
        db.flush()
        for i, blob in enumerate(chunks):
            db.add(EvidenceChunk(file_id=row.id, idx=i, data=blob))


def queue_is_open(db: Session, queue: Queue) -> bool:
    """Whether a queue can take a report now (keys, a keyholder, an authentic public key)."""
    epoch = queues.current_epoch(db, queue)
    if epoch is None or not queues.is_open(db, queue):
        return False
    try:
        queues.epoch_public_key(queue, epoch)
    except crypto.KeyIntegrityError:
        current_app.logger.error("queue %s: public key MAC does not verify", queue.slug)
        return False
    return True


def file_report(db: Session, report: ReportInput, files: list[Evidence], form_token: str) -> str:
    """File a report; return its receipt. All or nothing.

    Raises AlreadyFiled when this form token was used before (nothing new is filed), and
    IntakeError("queue-closed") when the target queue cannot take reports.
    """
    earlier = _already_filed(db, form_token)
    if earlier is not None:
        raise earlier
    category, objection = _effective_category(db, report)
    queue = route(db, category, report.concerns_leader)
    if not queue_is_open(db, queue):
        raise IntakeError("queue-closed")
    db.rollback()  # end the read transaction: no snapshot is held while the CPU works
    prepared = _prepare(report, category, objection, files)
    token_row = FormSubmission(token_hash=_token_hash(form_token), created_hour=this_hour())
    for attempt in (1, 2):
        try:
            with transaction(db):
                _write_case(db, report, prepared, category, objection, queue, token_row)
            return prepared.receipt
        except IntegrityError:
            db.rollback()
            # A concurrent submit of the same form won the race: "already filed".
            earlier = _already_filed(db, form_token)
            if earlier is not None:
                raise earlier from None
            # Or the queue's key was rotated between reading its epoch and writing the case
            # (the old epoch row is gone): seal again to the new one, once.
            if attempt == 2:
                raise
            token_row = FormSubmission(token_hash=token_row.token_hash,
                                       created_hour=token_row.created_hour)
    raise AssertionError("unreachable")  # pragma: no cover


def register_report(db: Session, actor: audit.Actor, queue: Queue, report: ReportInput,
                    files: list[Evidence], form_token: str,
                    give_receipt: bool) -> tuple[str, str | None]:
    """A report received by phone, letter or visit, registered by a member of `queue` and
    encrypted like a web report. Returns (case number, receipt or None when the caller was not
    handed one: nobody can then follow the case with a receipt)."""
    earlier = _already_filed(db, form_token)
    if earlier is not None:
        raise earlier
    category = db.get(Category, report.category_id)
    if category is None or report.channel == Channel.web:
        raise RegistrationRefused("bad-category")
    if not queue_is_open(db, queue):
        raise RegistrationRefused("queue-closed")
    db.rollback()
    prepared = _prepare(report, category, None, files)
    if not give_receipt:
        prepared = replace(prepared, receipt="", salt=b"", reporter_box=b"")
    token_row = FormSubmission(token_hash=_token_hash(form_token), created_hour=this_hour())
    try:
        with transaction(db):
            case = _write_case(db, report, prepared, category, None, queue, token_row)
            audit.record(db, actor, "case.registered", case.case_no, channel=report.channel,
                         receipt=give_receipt)
            case_no = case.case_no
    except IntegrityError:
        db.rollback()
        raise AlreadyFiled() from None  # the same form, submitted twice at once
    except IntakeError as exc:  # the queue closed meanwhile
        raise RegistrationRefused(exc.code) from None
    return case_no, prepared.receipt or None


def _write_case(db: Session, report: ReportInput, prepared: _Prepared, category: Category,
                objection: tuple[int, int] | None, queue: Queue, token_row: FormSubmission
                ) -> Case:
    _sweep(db)
    db.add(token_row)
    db.flush()  # a used token fails here, before anything else is written
    epoch = queues.current_epoch(db, queue)
    if epoch is None or not queues.is_open(db, queue):
        raise IntakeError("queue-closed")
    mac_key = state.secrets().pubkey_mac_key
    queue_public = queues.epoch_public_key(queue, epoch)
    today = clock.today()
    case = Case(
        uid=prepared.uid, case_no=_next_case_no(db, today.year), queue_id=queue.id,
        category_id=category.id, channel=report.channel, state=CaseState.received,
        real_name=report.identity is not None, concerns_leader=report.concerns_leader,
        notice_id=objection[0] if objection else None,
        notice_person_id=objection[1] if objection else None,
        received_at=this_hour(), received_on=today, epoch_id=epoch.id,
        keys_wrap=prepared.keys.seal_to(queue_public),
        identity_wrap=crypto.seal(queue_public, prepared.identity_private),
        identity_public_key=prepared.identity_public,
        identity_public_key_mac=crypto.public_key_mac(
            mac_key, content.identity_owner(prepared.uid), prepared.identity_public),
        receipt_lookup=receipts.lookup(prepared.receipt) if prepared.receipt else None,
        receipt_salt=prepared.salt or None, reporter_box=prepared.reporter_box or None,
    )
    db.add(case)
    db.flush()
    for entry in prepared.entries:
        entry.case_id = case.id
        db.add(entry)
    _add_files(db, case, prepared.files)
    names = [p.name for p in report.persons]
    if objection:
        names.append(publicity.objection_opened(db, *objection).name)
    people.index(db, case, queue.slug, names)
    _start_clocks(db, case, queue)
    audit.record_reporter_event(db, "case.filed", case.case_no, queue=queue.slug,
                 channel=report.channel, files=len(prepared.files), real_name=case.real_name)
    return case


def _start_clocks(db: Session, case: Case, queue: Queue) -> None:
    """Receipt starts the decision clock and, for a real-name report, the acceptance notice."""
    cal = workdays.load_calendar(db)
    deadlines.start(db, case, DeadlineKind.decision, case.received_on, queue.decision_days, cal)
    if case.real_name:
        deadlines.start(db, case, DeadlineKind.acceptance_notice, case.received_on,
                        queue.notice_days, cal)
    deadlines.refresh(db, case)


# --- the reporter's session ----------------------------------------------------------------


@dataclass(frozen=True)
class Reporter:
    """A reporter in an open session: their case and its content key (memory only)."""

    case: Case
    content_key: bytes
    session_hash: str


def _session_place(id_hash: str, case_uid: str) -> dict[str, object]:
    return {"what": "reporter-session", "s": id_hash, "case": case_uid}


def open_session(db: Session, typed: str) -> str:
    """Check a receipt; open a reporter session and return its token (cookie value).

    A malformed receipt raises IntakeError("receipt-format"); a wrong one and one whose case
    was purged both raise IntakeError("receipt-unknown") after the same work.
    """
    receipt = receipts.normalize(typed)
    if receipt is None:
        raise IntakeError("receipt-format")
    case = db.scalar(select(Case).where(Case.receipt_lookup == receipts.lookup(receipt)))
    salt = case.receipt_salt if case and case.receipt_salt else b"\0" * 16
    key = receipts.reporter_key(receipt, salt)  # spent either way: timing reveals nothing
    if case is None or case.reporter_box is None:
        raise IntakeError("receipt-unknown")
    try:
        content_key = crypto.decrypt(key, case.reporter_box, {"case": case.uid,
                                                              "what": "reporter-key"})
    except crypto.DecryptionFailed:
        raise IntakeError("receipt-unknown") from None
    session_id, session_key = crypto.random_bytes(), crypto.random_bytes()
    id_hash = crypto.session_id_hash(b"reporter" + session_id)
    with transaction(db):
        _sweep(db)
        db.add(ReporterSession(id_hash=id_hash, case_id=case.id, created_hour=this_hour(),
                               key_box=crypto.encrypt(session_key, content_key,
                                                      _session_place(id_hash, case.uid))))
    return crypto.b64(session_id + session_key)


def load_session(db: Session, token: str) -> Reporter | None:
    """The reporter of a session token, or None (unknown, ended, or the case is gone)."""
    try:
        raw = crypto.unb64(token)
    except ValueError:
        return None
    if len(raw) != 2 * crypto.KEY_BYTES:
        return None
    id_hash = crypto.session_id_hash(b"reporter" + raw[:crypto.KEY_BYTES])
    row = db.get(ReporterSession, id_hash)
    if row is None:
        return None
    case = db.get(Case, row.case_id)
    if case is None:
        return None
    try:
        key = crypto.decrypt(raw[crypto.KEY_BYTES:], row.key_box,
                             _session_place(id_hash, case.uid))
    except crypto.DecryptionFailed:
        return None
    return Reporter(case, key, id_hash)


def end_session(db: Session, reporter: Reporter) -> None:
    """Log the reporter out: the row goes, so the cookie's key opens nothing any more."""
    with transaction(db):
        db.execute(delete(ReporterSession).where(ReporterSession.id_hash == reporter.session_hash))


def end_sessions_of_cases(db: Session, case_ids: list[int]) -> None:
    """End every reporter session of these cases (their content was purged; caller's
    transaction)."""
    db.execute(delete(ReporterSession).where(ReporterSession.case_id.in_(case_ids)))


# --- what the reporter sees and does --------------------------------------------------------


@dataclass(frozen=True)
class VisibleEntry:
    """An entry the reporter may read."""

    kind: str
    created_at: dt.datetime
    payload: dict[str, object]


@dataclass(frozen=True)
class VisibleFile:
    """A file's metadata as the reporter sees it (the file itself is not served back)."""

    name: str
    size: int
    removed: list[str]
    warning: bool
    from_reporter: bool


@dataclass(frozen=True)
class CaseForReporter:
    """The reporter's view of their case."""

    state: str
    real_name: bool
    entries: list[VisibleEntry]
    files: list[VisibleFile]

    @property
    def can_act(self) -> bool:
        """Whether the reporter can still reply, add files or withdraw."""
        return self.state in OPEN_STATES


def reporter_view(db: Session, reporter: Reporter) -> CaseForReporter:
    """Decrypt what the reporter may see: the report and the conversation, never notes."""
    case = reporter.case
    rows = db.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id,
                                              CaseEntry.kind.in_(REPORTER_VISIBLE))
                      .order_by(CaseEntry.id))
    entries = [VisibleEntry(e.kind, e.created_at,
                            content.decrypt_entry(reporter.content_key, case.uid, e.uid, e.kind,
                                                  e.body)) for e in rows]
    files = []
    for f in db.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)
                        .order_by(EvidenceFile.id)):
        meta = content.decrypt_file_meta(reporter.content_key, case.uid, f.uid, f.meta)
        removed = meta.get("removed")
        files.append(VisibleFile(str(meta["name"]), int(str(meta["size"])),
                                 [str(r) for r in removed] if isinstance(removed, list) else [],
                                 bool(meta["warning"]), f.from_reporter))
    return CaseForReporter(case.state, case.real_name, entries, files)


def _open_case_for_update(db: Session, reporter: Reporter) -> Case:
    """The case as it is now (not as cached when the session loaded), locked for the update."""
    case = db.scalar(select(Case).where(Case.id == reporter.case.id).with_for_update(of=Case)
                     .execution_options(populate_existing=True))
    if case is None:
        raise IntakeError("receipt-unknown")
    if case.state not in OPEN_STATES:
        raise IntakeError("case-closed")
    return case


def evidence_count(db: Session, reporter: Reporter) -> int:
    """How many files the reporter's case holds (the next one is numbered after them)."""
    return int(db.scalar(select(func.count()).select_from(EvidenceFile)
                         .where(EvidenceFile.case_id == reporter.case.id)) or 0)


def reply(db: Session, reporter: Reporter, text: str, files: list[Evidence]) -> None:
    """The reporter writes to the handlers and/or adds evidence."""
    uid = reporter.case.uid
    when = this_hour()
    rows = _file_rows(reporter.content_key, uid, files, when)
    entry = None
    if text:
        entry_uid = _uid()
        entry = CaseEntry(uid=entry_uid, kind=EntryKind.reporter_message, created_at=when,
                          body=content.encrypt_entry(reporter.content_key, uid, entry_uid,
                                                     EntryKind.reporter_message,
                                                     {"text": text}))
    with transaction(db):
        case = _open_case_for_update(db, reporter)
        if entry is not None:
            entry.case_id = case.id
            db.add(entry)
            case.unread_replies += 1
        _add_files(db, case, rows)
        audit.record_reporter_event(db, "case.reporter-replied", case.case_no,
                     message=entry is not None, files=len(rows))


def add_identity(db: Session, reporter: Reporter, identity: Identity) -> None:
    """The reporter gives their real name later; sealed so only the queue can open it."""
    case = reporter.case
    mac_key = state.secrets().pubkey_mac_key
    if case.identity_public_key is None:
        raise IntakeError("receipt-unknown")
    public = crypto.check_public_key(mac_key, content.identity_owner(case.uid),
                                     case.identity_public_key, case.identity_public_key_mac)
    entry = _identity_entry(case.uid, public, identity, this_hour())
    with transaction(db):
        case = _open_case_for_update(db, reporter)
        entry.case_id = case.id
        db.add(entry)
        if not case.real_name and case.state == CaseState.received:
            deadlines.start(db, case, DeadlineKind.acceptance_notice, case.received_on,
                            case.queue.notice_days)
            deadlines.refresh(db, case)
        case.real_name = True
        audit.record_reporter_event(db, "case.identity-added", case.case_no)


def withdraw(db: Session, reporter: Reporter) -> None:
    """The reporter withdraws the report; an objection stops counting as under verification."""
    with transaction(db):
        case = _open_case_for_update(db, reporter)
        case.state, case.closed_on = CaseState.withdrawn, clock.today()
        # A decision waiting for sign-off goes with the report: nothing can revive it.
        if case.pending_state:
            db.execute(delete(CaseEntry).where(CaseEntry.case_id == case.id,
                                               CaseEntry.kind == EntryKind.draft))
            case.pending_state = case.pending_by_id = case.pending_detail = None
        deadlines.cancel(db, case)
        deadlines.refresh(db, case)
        if case.notice_person_id is not None:
            publicity.objection_resolved(db, case.notice_person_id)
        audit.record_reporter_event(db, "case.withdrawn", case.case_no)
