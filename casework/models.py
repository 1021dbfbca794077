"""Models of queues, their keys, the routing table and cases (DESIGN.md, "Keys").

Nothing a reporter wrote is stored in clear: report text, messages, identity and evidence are
ciphertexts bound to their place. What stays in clear is the metadata casework and supervision
need (queue, category, channel, state, real-name flag, dates), and reporter-originated times are
truncated to the hour.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import crypto
from portal.db import Base, UTCDateTime, utcnow

# Row ids of tables a reporter writes to (#21, item 7): random, 64-bit on PostgreSQL (SQLite's
# INTEGER is 64-bit already), so an id never places a reporter's row between staff actions.
RowId = BigInteger().with_variant(Integer(), "sqlite")


def _after_siblings(table: str) -> object:
    """A column default: a random id above the newest of the same case's rows (entries, files
    and clocks of a case keep the order they were written in; nothing else does)."""
    newest = text(f"SELECT max(id) FROM {table} WHERE case_id = :case")  # noqa: S608 - constant

    def next_id(context: DefaultExecutionContext) -> int:
        case_id = context.get_current_parameters()["case_id"]
        return crypto.random_id_after(context.connection.execute(
            newest, {"case": case_id}).scalar())

    return next_id


class Queue(Base):
    """A body that receives and handles cases (the organization department, the commission…)."""

    __tablename__ = "queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # Space-separated staff roles whose holders are this queue's members.
    member_roles: Mapped[str] = mapped_column(String(200))
    head_role: Mapped[str] = mapped_column(String(32))
    # Reports concerning a body's own principal leader go here (the level above).
    is_escalation: Mapped[bool] = mapped_column(Boolean, default=False)
    # Casework settings (PRODUCT.md, "Casework"): dispositions offered on acceptance (JSON list
    # of {"zh", "en"}), deadlines in working days, and whether refusals and conclusions need a
    # head's sign-off.
    dispositions: Mapped[str] = mapped_column(Text, default="[]")
    decision_days: Mapped[int] = mapped_column(Integer, default=15)
    transfer_days: Mapped[int] = mapped_column(Integer, default=5)
    conclusion_days: Mapped[int] = mapped_column(Integer, default=60)
    notice_days: Mapped[int] = mapped_column(Integer, default=15)
    signoff_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when a member lost access without a keyholder present (an admin deactivated or reset
    # the account): the next rotation, by a head's session or `queues rotate`, clears it.
    rotation_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # The newest case the members were told about (`cases notify`, run hourly, batches web
    # filings so no e-mail reveals the minute a report arrived).
    notified_case_id: Mapped[int] = mapped_column(Integer, default=0)
    # 0 until `queues init` gives the queue its first key pair.
    current_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def roles(self) -> frozenset[str]:
        """The roles whose holders are members of this queue."""
        return frozenset(self.member_roles.split())


class QueueEpoch(Base):
    """One key pair of a queue; its private key exists only sealed to members and recovery."""

    __tablename__ = "queue_epoch"
    __table_args__ = (UniqueConstraint("queue_id", "epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_key_mac: Mapped[bytes] = mapped_column(LargeBinary)
    # The private key sealed to the installation recovery key (offline custody).
    recovery_wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueueGrant(Base):
    """A member's access to one epoch: the epoch private key sealed to their public key."""

    __tablename__ = "queue_grant"
    __table_args__ = (UniqueConstraint("epoch_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch_id: Mapped[int] = mapped_column(ForeignKey("queue_epoch.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    # The account's key generation the wrap was made for; a reset makes the grant stale.
    key_generation: Mapped[int] = mapped_column(Integer)
    wrap: Mapped[bytes] = mapped_column(LargeBinary)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryKey(Base):
    """The installation's recovery public key; its secret was printed once for offline custody."""

    __tablename__ = "recovery_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_key_mac: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CategoryKind(enum.StrEnum):
    """What the form asks for a category (objections are bound to a notice and person)."""

    ordinary = "ordinary"
    objection = "objection"
    suggestion = "suggestion"  # no person concerned is required


class Category(Base):
    """One row of the routing table: a report category, its sub-types and its queue."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=CategoryKind.ordinary)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # JSON list of {"zh": …, "en": …}
    subtypes: Mapped[str] = mapped_column(Text, default="[]")
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    queue: Mapped[Queue] = relationship(lazy="joined")


class CaseState(enum.StrEnum):
    """Case states (PRODUCT.md, "Casework")."""

    received = "received"
    accepted = "accepted"
    in_progress = "in_progress"
    not_accepted = "not_accepted"
    transferred = "transferred"
    withdrawn = "withdrawn"
    concluded = "concluded"
    closed = "closed"


class Channel(enum.StrEnum):
    """How a report reached the portal."""

    web = "web"
    phone = "phone"
    letter = "letter"
    visit = "visit"


# The urgency of a case without a running clock: after every working-day ordinal.
NO_DUE = 2**31 - 1
# The condition of the partial index of cases with unread replies (queries.py repeats it).
UNREAD = "unread_replies > 0"


class CaseCounter(Base):
    """The last case number handed out in a year."""

    __tablename__ = "case_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """A report and everything that follows from it. Content lives in entries and files."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Random identity used as the cryptographic place of every ciphertext of this case.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_no: Mapped[str] = mapped_column(String(20), unique=True)
    # Indexed as the first column of ix_case_queue_urgency.
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    channel: Mapped[str] = mapped_column(String(8), default=Channel.web)
    state: Mapped[str] = mapped_column(String(16), default=CaseState.received, index=True)
    real_name: Mapped[bool] = mapped_column(Boolean, default=False)
    concerns_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    # An objection to a published person (the notice and the person are public anyway).
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"), index=True)
    notice_person_id: Mapped[int | None] = mapped_column(ForeignKey("notice_person.id"))
    # Truncated to the hour (reporter-originated); the local calendar day drives deadlines.
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_on: Mapped[dt.date] = mapped_column(Date, index=True)
    # Queue key epoch the wraps below are sealed to: Kr‖Ki, and (apart, opened only by an
    # audited reveal) the identity private key Kid.
    epoch_id: Mapped[int | None] = mapped_column(ForeignKey("queue_epoch.id"))
    keys_wrap: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_wrap: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The identity key pair's public half: anyone may seal an identity to it, only the queue
    # (which holds the private half inside keys_wrap) opens it. MAC-authenticated.
    identity_public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_public_key_mac: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Reporter access: lookup = HMAC(pepper, receipt); Kr boxed under argon2id(receipt, salt).
    receipt_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_box: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Unread reporter messages (for staff lists, without decrypting).
    unread_replies: Mapped[int] = mapped_column(Integer, default=0)
    # Casework metadata (never content): who handles it, what was decided, when.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    disposition: Mapped[str | None] = mapped_column(String(100))
    refusal_reason: Mapped[str | None] = mapped_column(String(32))
    finding: Mapped[str | None] = mapped_column(String(16))
    outside_body: Mapped[str | None] = mapped_column(String(200))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date)
    # Set when the case reaches a state nothing follows (closed, refused, withdrawn, sent
    # outside); retention counts from here.
    closed_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # A refusal or conclusion waiting for a head's sign-off: the target state and its author.
    pending_state: Mapped[str | None] = mapped_column(String(16))
    pending_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    pending_detail: Mapped[str | None] = mapped_column(Text)
    # The most urgent open deadline, copied here so lists sort and filter on indexed columns.
    next_due_on: Mapped[dt.date | None] = mapped_column(Date)
    next_due_ordinal: Mapped[int | None] = mapped_column(Integer)
    next_due_kind: Mapped[str | None] = mapped_column(String(24))
    next_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # The queue list's sort key: next_due_ordinal, or NO_DUE when no clock runs (never NULL,
    # so the list walks an index on (queue_id, urgency, id) in order instead of sorting the
    # queue by an expression). Written with next_due_ordinal (deadlines.refresh).
    urgency: Mapped[int] = mapped_column(Integer, default=NO_DUE, server_default=str(NO_DUE))
    # Content destroyed by the retention purge; the skeleton stays for statistics.
    purged: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    queue: Mapped[Queue] = relationship(lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")

    # Covering indexes of the supervision dashboard: each count is a range scan of one index.
    __table_args__ = (
        Index("ix_case_received_stats", "received_on", "queue_id", "channel", "real_name"),
        Index("ix_case_accepted_stats", "accepted_on", "queue_id"),
        Index("ix_case_concluded_stats", "concluded_on", "queue_id", "finding", "assignee_id"),
        Index("ix_case_closed_stats", "state", "closed_on", "queue_id"),
        Index("ix_case_state_queue", "state", "queue_id", "assignee_id", "next_due_on"),
        # The queue list, most urgent first: its first page is the first rows of one of these
        # (unfiltered, or filtered by state), and the next page a range from the cursor.
        Index("ix_case_queue_urgency", "queue_id", "urgency", "id"),
        Index("ix_case_queue_state_urgency", "queue_id", "state", "urgency", "id"),
        # The list filtered to unread replies: few cases at any time, so a partial index.
        Index("ix_case_queue_unread", "queue_id", "urgency", "id",
              sqlite_where=text(UNREAD), postgresql_where=text(UNREAD)),
    )


class EntryKind(enum.StrEnum):
    """What an entry of a case is, which also says under which key it is encrypted."""

    report = "report"  # what the reporter filed (Kr)
    reporter_message = "reporter_message"  # Kr
    staff_message = "staff_message"  # Kr, visible to the reporter
    note = "note"  # Ki, never visible to the reporter
    draft = "draft"  # Ki: an answer waiting for a head's sign-off
    identity = "identity"  # sealed to the case identity key (Kid)


REPORTER_VISIBLE = (EntryKind.report, EntryKind.reporter_message, EntryKind.staff_message)


class CaseEntry(Base):
    """One encrypted entry: the report, a message either way, a note, an identity."""

    __tablename__ = "case_entry"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False,
                                    default=_after_siblings("case_entry"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    # Staff author (None: the reporter, or a registration on their behalf).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # Reporter entries: truncated to the hour.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class EvidenceFile(Base):
    """An evidence file: name, type and what was removed are encrypted in `meta`."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False,
                                    default=_after_siblings("evidence_file"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    from_reporter: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    meta: Mapped[bytes] = mapped_column(LargeBinary)
    chunk_count: Mapped[int] = mapped_column(Integer)


class EvidenceChunk(Base):
    """One encrypted chunk of a file; its index and last-chunk flag are bound into the AD."""

    __tablename__ = "evidence_chunk"

    file_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("evidence_file.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DeadlineKind(enum.StrEnum):
    """The clocks of a case (PRODUCT.md, "Deadlines, in working days")."""

    decision = "decision"  # accept or refuse (15 after receipt; 5 after a transfer in)
    transfer = "transfer"  # a transfer out, measured against 5 after receipt
    conclusion = "conclusion"  # conclude (60 after acceptance)
    acceptance_notice = "acceptance_notice"  # real name: tell the decision (15 after receipt)
    result_notice = "result_notice"  # real name: tell the result (15 after conclusion)


class DeadlineState(enum.StrEnum):
    """Whether a clock is running, was met (on `met_on`) or no longer applies."""

    open = "open"
    met = "met"
    cancelled = "cancelled"


class CaseDeadline(Base):
    """One clock of a case. The due date and its working-day ordinal are stored when the clock
    starts, so lists and the dashboard compare ordinals in SQL; provisional dates (reaching a
    year whose schedule is not loaded) are recomputed when the calendar changes."""

    __tablename__ = "case_deadline"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False,
                                    default=_after_siblings("case_deadline"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(12), default=DeadlineState.open, index=True)
    start_on: Mapped[dt.date] = mapped_column(Date)
    working_days: Mapped[int] = mapped_column(Integer)
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_ordinal: Mapped[int] = mapped_column(Integer, index=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    met_on: Mapped[dt.date | None] = mapped_column(Date)
    met_ordinal: Mapped[int | None] = mapped_column(Integer)
    # Working days from the start to the day it was met: met_ordinal - (due_ordinal -
    # working_days - extended_days), stored with it so the dashboard groups by a column.
    took_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # Durations of met clocks by day (supervision): grouping by (kind, met_on, took_days)
        # follows this index, so the database streams the groups instead of sorting a year.
        Index("ix_deadline_met_stats", "kind", "state", "met_on", "took_days", "queue_id"),
        Index("ix_deadline_due_stats", "kind", "due_on", "state", "met_on", "queue_id"),
        Index("ix_deadline_open", "state", "due_on", "queue_id", "case_id"),
    )


class CaseEvent(Base):
    """The history of a case: who did what, when, from which state to which.

    `detail` holds content-free metadata (a disposition, a finding, a target queue); a reason a
    person typed is encrypted under the case's internal key in `reason`.
    """

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Extensions granted in a period (supervision) without reading the whole history.
    __table_args__ = (Index("ix_case_event_action_at", "action", "at", "queue_id"),)


class CaseTransfer(Base):
    """A transfer between queues, kept so the source queue's list still shows that it happened
    (metadata only: the source can no longer open the case)."""

    __tablename__ = "case_transfer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    from_queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    to_queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    on: Mapped[dt.date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))


class FeedbackChannel(enum.StrEnum):
    """How a real-name reporter was told."""

    portal = "portal"
    phone = "phone"
    letter = "letter"
    in_person = "in_person"


class CaseFeedback(Base):
    """Feedback given to a real-name reporter: the acceptance decision or the result."""

    __tablename__ = "case_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # acceptance_notice | result_notice
    channel: Mapped[str] = mapped_column(String(12))
    given_on: Mapped[dt.date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))


class PersonIndex(Base):
    """Keyed blind index of the normalized names a case concerns, per queue: earlier cases about
    the same person are found without decrypting any case."""

    __tablename__ = "person_index"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False,
                                    default=crypto.random_id)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    token: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_person_index_queue_token", "queue_id", "token"),)


class DigestSent(Base):
    """The last day an overdue digest went to a queue, so a re-run the same day sends nothing."""

    __tablename__ = "digest_sent"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), primary_key=True)
    last_on: Mapped[dt.date] = mapped_column(Date)
