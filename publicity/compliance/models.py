"""Tables of appointment compliance: terms, settings, one record per notice, overrides."""

from __future__ import annotations

import datetime as dt

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


class AppointmentTerm(Base):
    """A term (届期) of the county Party committee, with its number of leadership posts."""

    __tablename__ = "appointment_term"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    # 领导干部职数: rule 6 limits the adjustments of a term to a share of it.
    leadership_posts: Mapped[int] = mapped_column(Integer)


class ComplianceSettings(Base):
    """One row: the rules' thresholds (text, see rules.THRESHOLDS) and public display."""

    __tablename__ = "compliance_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thresholds: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # One line per public notice: the deciding body and its attendance. Off by default.
    show_attendance: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplianceRecord(Base):
    """The process facts of one appointment batch (the notice that publishes it)."""

    __tablename__ = "compliance_record"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"),
                                           primary_key=True)
    batch_kind: Mapped[str] = mapped_column(String(16))
    term_id: Mapped[int] = mapped_column(ForeignKey("appointment_term.id"))
    meeting_body: Mapped[str] = mapped_column(String(16))
    meeting_date: Mapped[dt.date] = mapped_column(Date)
    members_in_office: Mapped[int] = mapped_column(Integer)
    members_present: Mapped[int] = mapped_column(Integer)
    # The full committee's secret ballot (全委会无记名投票), when one was held.
    ballot_date: Mapped[dt.date | None] = mapped_column(Date)
    ballot_in_office: Mapped[int | None] = mapped_column(Integer)
    ballot_present: Mapped[int | None] = mapped_column(Integer)
    # The prefecture organization department's prior approval of a large batch (rule 7).
    prefecture_approval_ref: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    nominees: Mapped[list[ComplianceNominee]] = relationship(
        back_populates="record", order_by="ComplianceNominee.position",
        cascade="all, delete-orphan", lazy="selectin",
    )

    __table_args__ = (
        Index("ix_compliance_record_term_kind", "term_id", "batch_kind"),
        Index("ix_compliance_record_meeting", "meeting_date"),
    )


class ComplianceNominee(Base):
    """One person considered in the batch, published or not; matched across batches by the
    source system's cadre_id, never by name."""

    __tablename__ = "compliance_nominee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_record.notice_id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    cadre_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(50))
    proposed_post: Mapped[str] = mapped_column(String(200))
    promotion: Mapped[bool] = mapped_column(Boolean, default=True)
    nominated_by: Mapped[str] = mapped_column(String(16))
    nominator: Mapped[str | None] = mapped_column(String(100))
    relationship_: Mapped[str | None] = mapped_column("relationship", String(16))
    reserve_pool: Mapped[bool] = mapped_column(Boolean, default=False)
    # Democratic-recommendation vote share in basis points (0–10000); None: none was held.
    vote_share_bp: Mapped[int | None] = mapped_column(Integer)
    inspection: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    objections: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    prefecture_review_ref: Mapped[str | None] = mapped_column(String(100))
    important_post: Mapped[bool] = mapped_column(Boolean, default=False)
    ballot_for: Mapped[int | None] = mapped_column(Integer)
    ballot_against: Mapped[int | None] = mapped_column(Integer)
    ballot_abstain: Mapped[int | None] = mapped_column(Integer)

    record: Mapped[ComplianceRecord] = relationship(back_populates="nominees")


class ComplianceOverride(Base):
    """The organization department head's override of one rule for one notice.

    It covers the verdict the head saw, identified by `fingerprint` (rules.fingerprint): when
    the record, the history or a threshold changes that verdict, the override lapses, and a new
    one is needed. `applied`: it was in force when the notice was approved."""

    __tablename__ = "compliance_override"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"),
                                           index=True)
    rule: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    by_user: Mapped[int | None] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    fingerprint: Mapped[str] = mapped_column(String(64))
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
