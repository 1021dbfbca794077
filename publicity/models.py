"""Models of the publicity package: notices, their persons, changes and public revision."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

# The archive's free-text search looks in Notice.search_text: the title, the issuer and every
# person's current and proposed post, one per line (none of them can hold a line break).
SEARCH_SEPARATOR = "\n"
# Its index is database-specific, created by migration 0007 and not described by the models:
# on SQLite an FTS5 trigram table of that name (with its shadow tables) kept in step by
# triggers on notice, on PostgreSQL a GIN trigram index of that name.
SEARCH_INDEX = "notice_search"
_SEARCH_TABLES = frozenset(f"{SEARCH_INDEX}{suffix}" for suffix in (
    "", "_data", "_idx", "_docsize", "_config", "_content"))


def is_search_index(name: str | None, type_: str) -> bool:
    """Whether a reflected object belongs to the search index (alembic's include_name skips it:
    the comparison with the models must not drop what the models cannot express)."""
    return (type_ == "table" and name in _SEARCH_TABLES) or (
        type_ == "index" and name == SEARCH_INDEX)


def described_by_models(name: str | None, type_: str, _parent_names: object) -> bool:
    """alembic's `include_name` hook (migrations/env.py, the models-vs-head test): everything
    but the search index, which is database-specific DDL of migration 0007."""
    return not is_search_index(name, type_)


class NoticeStatus(enum.StrEnum):
    """Stored status. scheduled/open/closed are computed from the clock when read."""

    draft = "draft"
    approved = "approved"
    withdrawn = "withdrawn"


class PublicState(enum.StrEnum):
    """What the public sees: derived from the stored status and today's date."""

    scheduled = "scheduled"
    open = "open"
    closed = "closed"
    withdrawn = "withdrawn"


class Outcome(enum.StrEnum):
    """What became of a person after (or during) publicity."""

    pending = "pending"
    suspended = "suspended"  # 暂缓
    appointed = "appointed"  # 办理任职手续
    withdrawn = "withdrawn"  # 不予任用


class ChangeKind(enum.StrEnum):
    """A proposed change to a published notice, waiting for a second editor."""

    correction = "correction"
    withdrawal = "withdrawal"


class ChangeStatus(enum.StrEnum):
    """Life of a proposed change."""

    pending = "pending"
    approved = "approved"
    cancelled = "cancelled"


class Notice(Base):
    """One batch of pre-appointment publicity (公示公告)."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=NoticeStatus.draft, index=True)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40))
    letter_address: Mapped[str] = mapped_column(String(300))
    visit_address: Mapped[str] = mapped_column(String(300))
    # The start the editor asked for, the computed (possibly moved) start, and the end.
    requested_start: Mapped[dt.date] = mapped_column(Date)
    working_days: Mapped[int] = mapped_column(Integer, default=5)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(Integer)
    # Editors who wrote this draft: none of them may approve it (four-eyes).
    editors: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Internal note for editors; never public.
    editor_note: Mapped[str] = mapped_column(Text, default="")
    # Public revision: bumped by every published change; keys ETags and caches.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Optimistic concurrency: two editors saving the same draft do not overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # What the archive's free-text search looks in (SEARCH_SEPARATOR), written by the service
    # with every change of a title, issuer or post; never shown, so never loaded.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="",
                                             deferred=True)

    persons: Mapped[list[NoticePerson]] = relationship(
        back_populates="notice", order_by="NoticePerson.position", cascade="all, delete-orphan",
        lazy="selectin",
    )
    changes: Mapped[list[NoticeChange]] = relationship(
        back_populates="notice", order_by="NoticeChange.id", cascade="all, delete-orphan",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_notice_public_order", "status", "period_start", "id"),
        # The archive's order (newest first), walked backwards page by page.
        Index("ix_notice_archive_order", "period_start", "id"),
        # The supervision dashboard: notices published in a period, and those ended by today.
        Index("ix_notice_published_ended", "published_at", "period_end"),
    )


class NoticePerson(Base):
    """One person published in a notice (公示对象); the id is stable through corrections."""

    __tablename__ = "notice_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str] = mapped_column(String(4))
    ethnicity: Mapped[str] = mapped_column(String(20))
    birth: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    native_place: Mapped[str] = mapped_column(String(100))
    education: Mapped[str] = mapped_column(String(100))
    work_start: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    party: Mapped[str] = mapped_column(String(30))  # YYYY-MM of joining, or 政治面貌
    current_post: Mapped[str] = mapped_column(String(200))
    proposed_post: Mapped[str] = mapped_column(String(200))
    exceptional: Mapped[bool] = mapped_column(Boolean, default=False)
    exceptional_circumstance: Mapped[str | None] = mapped_column(String(300))
    exceptional_reason: Mapped[str | None] = mapped_column(Text)
    resume: Mapped[str | None] = mapped_column(Text)
    # The cadre-management system's own id: matching across batches, never public.
    cadre_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default=Outcome.pending)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Objection cases about this person still under verification (set by casework).
    objections_open: Mapped[int] = mapped_column(Integer, default=0)
    objections_total: Mapped[int] = mapped_column(Integer, default=0)

    notice: Mapped[Notice] = relationship(back_populates="persons")


class NoticeChange(Base):
    """A correction (更正) or withdrawal (撤销) proposed by one editor, approved by another."""

    __tablename__ = "notice_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.pending)
    reason: Mapped[str] = mapped_column(Text)
    # [{"person": id|None, "field": name, "old": value, "new": value}, …]
    changes: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    substantive: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by: Mapped[int | None] = mapped_column(Integer)
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # For substantive corrections: the restarted period.
    new_period_start: Mapped[dt.date | None] = mapped_column(Date)
    new_period_end: Mapped[dt.date | None] = mapped_column(Date)

    notice: Mapped[Notice] = relationship(back_populates="changes")


class PublicityRevision(Base):
    """One row: a counter bumped by every public change (keys list-page ETags and caches)."""

    __tablename__ = "publicity_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
