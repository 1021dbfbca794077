"""Models of the shell: staff accounts and sessions, the audit log, the working-day calendar."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """Staff roles (PRODUCT.md, "Who uses it")."""

    admin = "admin"
    publicity_editor = "publicity_editor"
    org_handler = "org_handler"
    org_head = "org_head"
    dic_handler = "dic_handler"
    dic_head = "dic_head"
    supervisor = "supervisor"
    # Members of the optional escalation queue (上级): the level above, for reports that
    # concern a body's own principal leader, who must not be able to read them.
    escalation_handler = "escalation_handler"


class AccountStatus(enum.StrEnum):
    """Life of a staff account."""

    pending = "pending"  # created by an admin, waiting for its holder to activate it
    active = "active"
    deactivated = "deactivated"


class StaffUser(Base):
    """A staff member. Key material is only ever stored wrapped or MAC-authenticated."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.pending)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One-time activation (admin-created accounts and resets); only a hash is kept.
    activation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    activation_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # TOTP secret proposed during activation, boxed under a key derived from the code.
    pending_totp_box: Mapped[bytes | None] = mapped_column(LargeBinary)
    # argon2id salt; the login verifier; the X25519 key pair (private part wrapped).
    kdf_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    verifier: Mapped[bytes | None] = mapped_column(LargeBinary)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    public_key_mac: Mapped[bytes | None] = mapped_column(LargeBinary)
    private_key_box: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The TOTP secret, boxed under the passphrase-derived key: a stolen DB does not yield it.
    totp_box: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Last accepted TOTP time step: a code is never accepted twice, across all workers.
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0)
    # Where content-free notices (new cases, overdue digests) go; optional.
    email: Mapped[str | None] = mapped_column(String(254))
    # Incremented on every reset so old grants and sessions are recognisably stale.
    key_generation: Mapped[int] = mapped_column(Integer, default=0)

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> frozenset[str]:
        """The roles this account holds."""
        return frozenset(r.role for r in self.roles)

    @property
    def is_active(self) -> bool:
        """Whether the account may log in."""
        return self.status == AccountStatus.active


class StaffRole(Base):
    """One role held by one account."""

    __tablename__ = "staff_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[StaffUser] = relationship(back_populates="roles")


class RoleRequestKind(enum.StrEnum):
    """What a role request asks for (#21, item 3)."""

    grant = "grant"  # a role, given only once a second person confirms it
    revoke = "revoke"  # a role taken away (at once: losing power needs no second person)
    activation = "activation"  # the second half of an activation code, issued by a second person


class RoleRequestState(enum.StrEnum):
    """Where a role request stands."""

    pending = "pending"
    confirmed = "confirmed"
    refused = "refused"
    withdrawn = "withdrawn"  # replaced by a later request, or its account was reset or removed
    done = "done"  # a revocation, or a grant made on the command line by the holder


class RoleRequest(Base):
    """A change of an account's roles or activation, and who asked and who decided (#21.3).

    A grant is a pending row until a second person confirms it; only then does a `staff_role`
    row exist, so a pending grant gives no power. Supervisors read this table as the log of
    every role change. An activation row holds the second half of the account's activation
    code, boxed under an instance key, until a second person is shown it (then it is erased).
    """

    __tablename__ = "role_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    # Who asked (an administrator; no id: the command line) and when.
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    second_half_box: Mapped[bytes | None] = mapped_column(LargeBinary)

    user: Mapped[StaffUser] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed logins of one typed username, for the per-account slow-down (#21, item 14).

    Keyed by a keyed hash of the typed name (a name typed by mistake may be a passphrase),
    so unknown names slow down exactly like real ones. No address is kept.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """Server-side half of a staff session; the cookie holds the id and the session key Ks."""

    __tablename__ = "staff_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    # The staff private key boxed under Ks; Ks itself never reaches the database.
    private_key_box: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One append-only audit entry, chained by HMAC to the one before it."""

    __tablename__ = "audit_entry"
    # (action, seq): "the newest entry of this action" is one index lookup (e.g. the calendar
    # revision every public page reads), and it serves every filter by action alone.
    __table_args__ = (Index("ix_audit_entry_action_seq", "action", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    mac: Mapped[str] = mapped_column(String(64))


class AuditPending(Base):
    """A reporter event held until its hour is over (#21, item 7): then it joins the chain with
    the others of that hour, in an order that says nothing of when in the hour each happened.
    The id is random, so neither it nor SQLite's rowid tells the order of arrival."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True, autoincrement=False)
    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")


class CalendarOverride(Base):
    """A day whose working status differs from the base rule (import or manual override)."""

    __tablename__ = "calendar_override"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    # "import" (part of a whole-year schedule) or "manual" (`calendar set`, wins over import).
    origin: Mapped[str] = mapped_column(String(8))


class CalendarYear(Base):
    """A year whose official schedule was imported as a whole (it is then "loaded")."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarDay(Base):
    """Materialised calendar: working status and working-day ordinal of every day.

    Durations in working days are subtractions of ordinals, so dashboards compute them in SQL.
    Days of years without a loaded schedule are weekend-only and flagged provisional.
    """

    __tablename__ = "calendar_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    ordinal: Mapped[int] = mapped_column(Integer, index=True)
    provisional: Mapped[bool] = mapped_column(Boolean)


class InstanceMarker(Base):
    """Which instance secrets this database belongs to (#22, item 1): per secret family, a MAC
    of a fixed label under that secret, written by the first `portal init` (or the first start
    after the upgrade that brought the table). An app server whose secret files give other MACs
    refuses to start; the MACs say nothing of the secrets themselves."""

    __tablename__ = "instance_marker"

    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    tag: Mapped[bytes] = mapped_column(LargeBinary)
