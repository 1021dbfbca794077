"""Compliance records for tests that publish notices: since approval needs one, every test
that approves records the batch first. The record is clean (every rule passes) unless told
otherwise, and describes exactly the notice's persons, approved by the decision meeting."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from publicity.compliance import service as compliance
from publicity.compliance.models import AppointmentTerm
from publicity.compliance.validation import NomineeInput, RecordInput
from publicity.models import Notice

TERM = "测试届"
TERM_SPAN = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))
TERM_POSTS = 100000
MANY = 1000  # the largest limit the settings accept


def ensure_term(db: Session, name: str = TERM, posts: int = TERM_POSTS) -> AppointmentTerm:
    """A term covering every date the tests use (created once per database)."""
    term = db.scalar(select(AppointmentTerm).where(AppointmentTerm.name == name))
    if term is None:
        term = compliance.save_term(db, None, name, *TERM_SPAN, posts, audit.CLI)
    return term


def nominee(cadre_id: str, name: str = "王立新", **changes: object) -> NomineeInput:
    """A nominee who passes every rule: nominated by the department, 85% of the votes,
    passed inspection, approved."""
    base = NomineeInput(cadre_id=cadre_id, name=name, proposed_post="示例镇党委书记",
                        nominated_by="org_department", inspection="passed",
                        decision="approved", reserve_pool=True, vote_share_bp=8500)
    return replace(base, **changes)  # type: ignore[arg-type]


def clean_record(notice: Notice, meeting_date: dt.date | None = None,
                 **changes: object) -> RecordInput:
    """A partial-decision record approving exactly the notice's persons."""
    day = meeting_date or (notice.requested_start - dt.timedelta(days=7))
    nominees = tuple(nominee(p.cadre_id or f"P{p.id}", p.name, proposed_post=p.proposed_post)
                     for p in notice.persons)
    base = RecordInput(batch_kind="partial", term=TERM, meeting_body="standing",
                       meeting_date=day, members_in_office=11, members_present=10,
                       nominees=nominees)
    return replace(base, **changes)  # type: ignore[arg-type]


def allow_many_decisions(db: Session) -> None:
    """Raise rule 5's limit of partial decisions a year (the plan's 5) to the most the settings
    accept, for tests that publish more than five notices in a year to test something else.

    Changes the settings (an audit entry, a public revision) only the first time.
    """
    current = compliance.settings(db)
    if current.thresholds.partials_per_year < MANY:
        compliance.save_settings(db, {**current.thresholds.text, "partials_per_year": str(MANY)},
                                 current.show_attendance, audit.CLI)


def record_clean(db: Session, notice_id: int, actor: audit.Actor,
                 meeting_date: dt.date | None = None, **changes: object) -> RecordInput:
    """Record a clean batch for a draft (the term is created when missing).

    Persons without a cadre id get one (P<person id>), as the record needs it to match them;
    so does a person sharing another's cadre id (test builders often reuse one default id,
    which no record can represent: the same cadre listed twice).
    """
    ensure_term(db)
    notice = db.get_one(Notice, notice_id)
    seen: set[str] = set()
    for person in notice.persons:
        if not person.cadre_id or person.cadre_id in seen:
            person.cadre_id = f"P{person.id}"
        seen.add(person.cadre_id)
    db.commit()
    data = clean_record(notice, meeting_date, **changes)
    compliance.save_record(db, notice_id, data, actor)
    return data
