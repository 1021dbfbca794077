"""Compliance use cases: terms and settings, the record of a batch, its checks, overrides.

Each writing function is one transaction with its audit entry. :func:`blocking` is what
approval of a notice asks (publicity.service.approve_notice, in its transaction); the
supervisors' figures (:func:`panel`) are read-only queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal import audit
from portal.db import transaction, utcnow
from portal.errors import DomainError
from portal.models import Role, StaffUser
from publicity.compliance import rules
from publicity.compliance.models import (
    AppointmentTerm,
    ComplianceNominee,
    ComplianceOverride,
    ComplianceRecord,
    ComplianceSettings,
)
from publicity.compliance.validation import NomineeInput, RecordInput, TermSpan
from publicity.models import Notice, NoticeStatus
from publicity.revision import bump_global_revision

# Batches that count for the history: published ones, including those withdrawn later (their
# decision meeting took place). Drafts count for nothing until they are approved.
COUNTED = (NoticeStatus.approved, NoticeStatus.withdrawn)
MIN_REASON, MAX_REASON = 10, 2000


class ComplianceError(DomainError):
    """A compliance action was refused; `code` selects the user-facing message
    (publicity.messages)."""


# ---------------------------------------------------------------------------------------------
# Settings and terms (administrator)

@dataclass(frozen=True)
class Settings:
    """The thresholds in force and whether the public notice shows the attendance line."""

    thresholds: rules.Thresholds
    show_attendance: bool


def settings(db: Session) -> Settings:
    """The settings in force (the plan's defaults until an administrator changes them)."""
    row = db.get(ComplianceSettings, 1)
    if row is None:
        return Settings(rules.Thresholds(), False)
    return Settings(rules.Thresholds.from_text(row.thresholds or {}), row.show_attendance)


def save_settings(db: Session, texts: Mapping[str, str], show_attendance: bool,
                  actor: audit.Actor) -> Settings:
    """Store thresholds (every one checked first) and the public attendance line."""
    problems = {}
    for t in rules.THRESHOLDS:
        try:
            rules.parse_threshold(texts.get(t.key, ""), t.share)
        except ValueError as exc:
            problems[t.key] = str(exc)
    if problems:
        raise ComplianceError("bad-thresholds", problems=problems)
    stored = {t.key: texts[t.key].translate(rules.FULL_WIDTH).strip() for t in rules.THRESHOLDS}
    with transaction(db):
        row = db.get(ComplianceSettings, 1)
        if row is None:
            row = ComplianceSettings(id=1)
            db.add(row)
        before = (dict(row.thresholds or {}), bool(row.show_attendance))
        row.thresholds, row.show_attendance, row.updated_at = stored, show_attendance, utcnow()
        if before[1] != show_attendance:
            bump_global_revision(db)  # the public notice pages change
        audit.record(db, actor, "compliance.settings", "compliance",
                     thresholds=stored, show_attendance=show_attendance)
    return settings(db)


def terms(db: Session) -> list[AppointmentTerm]:
    """Every configured term, newest first."""
    return list(db.scalars(select(AppointmentTerm).order_by(AppointmentTerm.starts_on.desc())))


def term_spans(db: Session) -> list[TermSpan]:
    """What record validation needs of the terms."""
    return [TermSpan(t.name, t.starts_on, t.ends_on) for t in terms(db)]


def save_term(db: Session, term_id: int | None, name: str, starts_on: dt.date | None,
              ends_on: dt.date | None, leadership_posts: int | None,
              actor: audit.Actor) -> AppointmentTerm:
    """Add a term (term_id None) or change one; its dates may not overlap another term's."""
    name = " ".join((name or "").split())
    problems = _term_problems(name, starts_on, ends_on, leadership_posts)
    with transaction(db):
        problems |= _term_clashes(db, term_id, name, starts_on, ends_on)
        if problems or starts_on is None or ends_on is None or leadership_posts is None:
            raise ComplianceError("bad-term", problems=problems)
        term = db.get(AppointmentTerm, term_id) if term_id is not None else AppointmentTerm()
        if term is None:
            raise ComplianceError("not-found")
        term.name, term.starts_on, term.ends_on = name, starts_on, ends_on
        term.leadership_posts = leadership_posts
        db.add(term)
        db.flush()
        audit.record(db, actor, "compliance.term_saved", f"term:{term.id}", name=name,
                     starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat(),
                     leadership_posts=leadership_posts)
    return term


def _term_problems(name: str, starts_on: dt.date | None, ends_on: dt.date | None,
                   leadership_posts: int | None) -> dict[str, str]:
    """What is wrong with a term's own values, by field."""
    problems: dict[str, str] = {}
    if not name or len(name) > 50:
        problems["name"] = _("Give the term a name of at most 50 characters, e.g. 第十五届.")
    if starts_on is None or ends_on is None or ends_on <= starts_on:
        problems["ends_on"] = _("A term ends after it starts.")
    if leadership_posts is None or not 1 <= leadership_posts <= 100000:
        problems["leadership_posts"] = _("A term needs its number of leadership posts (职数), "
                                         "from 1 to 100000.")
    return problems


def _term_clashes(db: Session, term_id: int | None, name: str, starts_on: dt.date | None,
                  ends_on: dt.date | None) -> dict[str, str]:
    """Where a term clashes with the others (its name, its dates), by field."""
    others = [t for t in db.scalars(select(AppointmentTerm)) if t.id != term_id]
    clashes: dict[str, str] = {}
    if any(t.name == name for t in others):
        clashes["name"] = _("Another term has this name.")
    if starts_on and ends_on and any(t.starts_on <= ends_on and starts_on <= t.ends_on
                                     for t in others):
        clashes["starts_on"] = _("The dates overlap another term.")
    return clashes


# ---------------------------------------------------------------------------------------------
# The record of a batch

# Nominee fields are stored column for column; `relationship` is `relationship_` on the model
# (the name is SQLAlchemy's), and the tuples are JSON lists.
_NOMINEE_FIELDS = tuple(f.name for f in fields(NomineeInput))
_RECORD_FIELDS = tuple(f.name for f in fields(RecordInput) if f.name not in ("term", "nominees"))


def _column(name: str) -> str:
    return "relationship_" if name == "relationship" else name


def _read(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: tuple(value) if isinstance(value := getattr(row, _column(name)), list)
            else value for name in names}


def as_input(record: ComplianceRecord, term_name: str) -> RecordInput:
    """A stored record as the rules read it."""
    return RecordInput(term=term_name, **_read(record, _RECORD_FIELDS), nominees=tuple(
        NomineeInput(**_read(n, _NOMINEE_FIELDS)) for n in record.nominees))


def as_import(record: RecordInput) -> dict[str, object]:
    """A record in the import format (the editor form starts from it)."""
    return {
        "batch_kind": record.batch_kind, "term": record.term,
        "meeting": {"body": record.meeting_body, "date": record.meeting_date.isoformat(),
                    "members_in_office": record.members_in_office,
                    "members_present": record.members_present},
        "ballot": None if record.ballot_date is None else {
            "date": record.ballot_date.isoformat(), "members_in_office": record.ballot_in_office,
            "members_present": record.ballot_present},
        "prefecture_approval_ref": record.prefecture_approval_ref,
        "nominees": [{
            "cadre_id": n.cadre_id, "name": n.name, "proposed_post": n.proposed_post,
            "promotion": n.promotion, "nominated_by": n.nominated_by, "nominator": n.nominator,
            "relationship": n.relationship, "reserve_pool": n.reserve_pool,
            "vote_share": None if n.vote_share_bp is None else f"{n.vote_share_bp / 100:g}",
            "inspection": n.inspection, "decision": n.decision,
            "consultation_objections": list(n.objections), "flags": list(n.flags),
            "prefecture_review_ref": n.prefecture_review_ref,
            "important_post": n.important_post,
            "ballot": None if n.ballot_for is None else {
                "for": n.ballot_for, "against": n.ballot_against,
                "abstain": n.ballot_abstain},
        } for n in record.nominees],
    }


def _term_named(db: Session, name: str) -> AppointmentTerm:
    term = db.scalar(select(AppointmentTerm).where(AppointmentTerm.name == name))
    if term is None:
        raise ComplianceError("no-term", term=name)
    return term


def write_record(db: Session, notice: Notice, data: RecordInput, actor: audit.Actor) -> None:
    """Store the record of a draft in the caller's transaction (also used by the import)."""
    term = _term_named(db, data.term)
    record = db.get(ComplianceRecord, notice.id)
    if record is None:
        record = ComplianceRecord(notice_id=notice.id)
        db.add(record)
    for name in _RECORD_FIELDS:
        setattr(record, name, getattr(data, name))
    record.term_id = term.id
    record.recorded_by, record.recorded_at = actor.id, utcnow()
    record.nominees = []
    for i, n in enumerate(data.nominees):
        values: dict[str, Any] = {_column(name): list(value) if isinstance(
            value := getattr(n, name), tuple) else value for name in _NOMINEE_FIELDS}
        record.nominees.append(ComplianceNominee(position=i, **values))
    # An override covers the verdict it saw (its fingerprint): changed facts lapse it.
    # The record is part of what the approver reviews: saving it is an edit of the draft (its
    # author may not approve, and an approval of the version seen before is refused).
    _edited(notice, actor)
    audit.record(db, actor, "compliance.recorded", f"notice:{notice.id}",
                 nominees=len(data.nominees), batch_kind=data.batch_kind)


def _edited(notice: Notice, actor: audit.Actor) -> None:
    """Count a change of the draft's record or overrides as an edit of the draft by `actor`."""
    notice.updated_at = utcnow()
    if actor.id is not None and actor.id not in notice.editors:
        notice.editors = [*notice.editors, actor.id]


def follow_correction(db: Session, notice: Notice, actor: audit.Actor) -> None:
    """A published correction (更正) of a person's name or proposed post carries over to the
    record of the same cadre (by `cadre_id`), so that the record keeps describing the notice
    and supervisors see the corrected name. Part of the correction's transaction."""
    record = db.get(ComplianceRecord, notice.id)
    if record is None:
        return
    published = {p.cadre_id: p for p in notice.persons if p.cadre_id}
    followed = []
    for nominee in record.nominees:
        person = published.get(nominee.cadre_id)
        if person is None or nominee.decision != "approved":
            continue
        if (nominee.name, nominee.proposed_post) != (person.name, person.proposed_post):
            nominee.name, nominee.proposed_post = person.name, person.proposed_post
            followed.append(nominee.cadre_id)
    if followed:
        audit.record(db, actor, "compliance.corrected", f"notice:{notice.id}",
                     cadre_ids=sorted(followed))


def _draft(db: Session, notice_id: int, version: int | None) -> Notice:
    """The draft being changed, as the user saw it (`version`, when given)."""
    notice = db.get(Notice, notice_id)
    if notice is None:
        raise ComplianceError("not-found")
    if notice.status != NoticeStatus.draft:
        raise ComplianceError("not-a-draft")
    if version is not None and notice.version != version:
        raise ComplianceError("stale")
    return notice


def save_record(db: Session, notice_id: int, data: RecordInput, actor: audit.Actor,
                version: int | None = None) -> None:
    """Record (or replace) the process facts of a draft's batch."""
    try:
        with transaction(db):
            write_record(db, _draft(db, notice_id, version), data, actor)
    except StaleDataError:  # another save, override or approval of the draft came first
        raise ComplianceError("stale") from None


# ---------------------------------------------------------------------------------------------
# Checks

def history(db: Session, notice_id: int, data: RecordInput, term: AppointmentTerm
            ) -> rules.History:
    """What the published batches other than this one say, as the rules need it."""
    counted = (select(ComplianceRecord.notice_id)
               .join(Notice, Notice.id == ComplianceRecord.notice_id)
               .where(Notice.status.in_(COUNTED), ComplianceRecord.notice_id != notice_id))
    others = counted.subquery()
    in_term = ComplianceRecord.term_id == term.id
    batches = db.scalar(select(func.count()).select_from(ComplianceRecord).where(
        ComplianceRecord.notice_id.in_(select(others)), in_term,
        ComplianceRecord.batch_kind == "batch")) or 0
    year = data.meeting_date.year
    partials = db.scalar(select(func.count()).select_from(ComplianceRecord).where(
        ComplianceRecord.notice_id.in_(select(others)), ComplianceRecord.batch_kind == "partial",
        ComplianceRecord.meeting_date >= dt.date(year, 1, 1),
        ComplianceRecord.meeting_date <= dt.date(year, 12, 31))) or 0
    adjusted = db.scalar(
        select(func.count()).select_from(ComplianceNominee)
        .join(ComplianceRecord, ComplianceRecord.notice_id == ComplianceNominee.record_id)
        .where(ComplianceRecord.notice_id.in_(select(others)), in_term,
               ComplianceNominee.decision == "approved")) or 0
    cadres = [n.cadre_id for n in data.nominees]
    failures = db.execute(
        select(ComplianceNominee.cadre_id, ComplianceRecord.meeting_date,
               ComplianceRecord.notice_id)
        .join(ComplianceRecord, ComplianceRecord.notice_id == ComplianceNominee.record_id)
        .where(ComplianceRecord.notice_id.in_(select(others)),
               ComplianceNominee.cadre_id.in_(cadres),
               (ComplianceNominee.inspection == "failed")
               | (ComplianceNominee.decision == "rejected"))
        .order_by(ComplianceRecord.meeting_date)).all() if cadres else []
    return rules.History(
        term_name=term.name, leadership_posts=term.leadership_posts, batches_before=batches,
        partials_before=partials, adjusted_before=adjusted,
        failures=tuple(rules.Failure(c, d, n) for c, d, n in failures))


@dataclass(frozen=True)
class Check:
    """A notice's compliance: the record, every rule's verdict and override, and what blocks
    approval (in Chinese first, as the editor sees it)."""

    notice_id: int
    record: RecordInput | None
    results: list[rules.RuleResult] = field(default_factory=list)
    overrides: dict[int, ComplianceOverride] = field(default_factory=dict)  # in force
    lapsed: list[ComplianceOverride] = field(default_factory=list)  # the verdict changed since
    fingerprints: dict[int, str] = field(default_factory=dict)  # what an override would cover
    problems: list[str] = field(default_factory=list)  # the record against the notice

    @property
    def blocking(self) -> list[str]:
        """Why approval is refused; empty when it may go ahead."""
        if self.record is None:
            return [_("No compliance record: the organization department records the batch's "
                      "process facts before approval.")]
        reasons = list(self.problems)
        for r in self.results:
            if not r.passed and r.rule.number not in self.overrides:
                verdict = (_("violated") if r.status == rules.Status.violation
                           else _("reference missing"))
                reasons.append(_("Rule %(n)s (%(title)s), %(verdict)s: %(facts)s",
                                 n=r.rule.number, title=r.rule.title, verdict=verdict,
                                 facts=" ".join(r.facts)))
        return reasons


def _problems(notice: Notice, data: RecordInput) -> list[str]:
    """A record that does not describe the notice's persons is no record of it."""
    approved = {n.cadre_id: n for n in data.nominees if n.decision == "approved"}
    problems = []
    for person in notice.persons:
        nominee = approved.get(person.cadre_id or "")
        if not person.cadre_id:
            problems.append(_("%(name)s is published without a cadre system id: the record "
                              "cannot be matched to this person.", name=person.name))
        elif nominee is None:
            problems.append(_("%(name)s (%(id)s) is published, but the record does not show "
                              "this person approved by the decision meeting.",
                              name=person.name, id=person.cadre_id))
        elif nominee.name != person.name:
            problems.append(_("%(id)s is published as %(name)s, but the record names %(other)s.",
                              id=person.cadre_id, name=person.name, other=nominee.name))
    return problems


def check(db: Session, notice: Notice) -> Check:
    """Evaluate every rule for the notice from its record and the history."""
    record = db.get(ComplianceRecord, notice.id)
    if record is None:
        return Check(notice.id, None)
    term = db.get_one(AppointmentTerm, record.term_id)
    data = as_input(record, term.name)
    past, thresholds = history(db, notice.id, data, term), settings(db).thresholds
    results = rules.evaluate(data, past, thresholds)
    current = rules.fingerprints(data, past, thresholds)
    overrides: dict[int, ComplianceOverride] = {}
    lapsed = []
    for o in db.scalars(select(ComplianceOverride).where(ComplianceOverride.notice_id
                                                         == notice.id)
                        .order_by(ComplianceOverride.id)):
        if o.fingerprint == current.get(o.rule):
            overrides[o.rule] = o
        else:
            lapsed.append(o)
    return Check(notice.id, data, results, overrides, lapsed, current, _problems(notice, data))


def admit(db: Session, notice: Notice) -> list[str]:
    """Approval's question (its transaction, serialised): why the notice may not be approved
    now. When nothing stands in the way, the overrides in force are marked applied."""
    result = check(db, notice)
    if not result.blocking:
        for o in result.overrides.values():
            o.applied = True
    return result.blocking


def override(db: Session, notice_id: int, rule_number: int, reason: str,
             actor: audit.Actor, version: int | None = None) -> ComplianceOverride:
    """The organization department head sets one rule aside for one draft, with a reason.

    `version` is the draft the head reviewed: a draft changed since is refused. The override
    covers the verdict as it stands (its fingerprint) and lapses when that changes. An account
    that is also an administrator may not override: administrators cannot, whatever roles
    they give themselves.
    """
    reason = _override_reason(reason)
    if rule_number not in rules.RULE_NUMBERS:
        raise ComplianceError("not-found")
    try:
        with transaction(db):
            _require_org_head(db, actor)
            notice = _draft(db, notice_id, version)
            result = check(db, notice)
            verdict = _overridable(result, rule_number)
            row = ComplianceOverride(notice_id=notice_id, rule=rule_number, reason=reason,
                                     by_user=actor.id, by_name=actor.label,
                                     fingerprint=result.fingerprints[rule_number])
            db.add(row)
            # An override changes what the approver reviews, like an edit; and its author is
            # one of the draft's authors (four-eyes: the head may not also approve it).
            _edited(notice, actor)
            audit.record(db, actor, "compliance.override", f"notice:{notice_id}",
                         rule=rule_number, status=verdict.status, reason=reason,
                         facts=list(verdict.facts))
    except StaleDataError:
        raise ComplianceError("stale") from None
    return row


def _override_reason(reason: str) -> str:
    """The reason given for an override, refused when too short or too long."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ComplianceError("reason-required")
    if len(reason) > MAX_REASON:
        raise ComplianceError("reason-too-long", most=MAX_REASON)
    return reason


def _require_org_head(db: Session, actor: audit.Actor) -> None:
    """Refuse anyone but an active organization department head who is not an administrator."""
    user = db.get(StaffUser, actor.id) if actor.id is not None else None
    if (user is None or not user.is_active or Role.org_head not in user.role_names
            or Role.admin in user.role_names):
        raise ComplianceError("not-org-head")


def _overridable(result: Check, rule_number: int) -> rules.RuleResult:
    """The verdict on the rule, which must have failed and not be overridden already."""
    if result.record is None:
        raise ComplianceError("no-record")
    verdict = next(r for r in result.results if r.rule.number == rule_number)
    if verdict.passed:
        raise ComplianceError("rule-passes")
    if rule_number in result.overrides:
        raise ComplianceError("already-overridden")
    return verdict


# ---------------------------------------------------------------------------------------------
# Public and supervision (read-only)

BODY_LINE = {"standing": "县委常委会", "full": "县委全委会"}


def attendance_line(db: Session, notice_id: int) -> str | None:
    """"经县委常委会研究（应到11人，实到9人）" when the setting is on and a record exists."""
    if not settings(db).show_attendance:
        return None
    row = db.execute(select(ComplianceRecord.meeting_body, ComplianceRecord.members_in_office,
                            ComplianceRecord.members_present)
                     .where(ComplianceRecord.notice_id == notice_id)).first()
    if row is None:
        return None
    return (f"经{BODY_LINE.get(row.meeting_body, row.meeting_body)}研究"
            f"（应到{row.members_in_office}人，实到{row.members_present}人）")


@dataclass(frozen=True)
class Flagged:
    """A person with a special flag in a published batch, and the prefecture's review."""

    notice_id: int
    notice_title: str
    meeting_date: dt.date
    name: str
    cadre_id: str
    proposed_post: str
    flags: list[str]
    reference: str | None
    decision: str


@dataclass(frozen=True)
class OverrideRow:
    """An override, for supervisors (shown in red)."""

    notice_id: int
    notice_title: str
    notice_status: str
    rule: rules.Rule
    reason: str
    by_name: str
    at: dt.datetime
    applied: bool = False  # in force when the notice was approved (else a draft's, or lapsed)


@dataclass(frozen=True)
class Panel:
    """The supervisors' compliance figures for a term and a year."""

    term: AppointmentTerm | None
    year: int
    thresholds: rules.Thresholds
    batches: int
    partials: int
    adjusted: int
    overrides: list[OverrideRow]
    flagged: list[Flagged]
    without_record: int  # published notices of the year with no record (before this feature)


def panel(db: Session, term: AppointmentTerm | None, year: int) -> Panel:
    """Batches and partial decisions used against the limits, share of posts adjusted, every
    override and every flagged person (of the term, or of the year when there is no term)."""
    counted = Notice.status.in_(COUNTED)
    joined = select(ComplianceRecord).join(Notice, Notice.id == ComplianceRecord.notice_id)
    scope = (ComplianceRecord.term_id == term.id if term is not None else
             ComplianceRecord.meeting_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    batches = db.scalar(select(func.count()).select_from(joined.where(
        counted, scope, ComplianceRecord.batch_kind == "batch").subquery())) or 0
    partials = db.scalar(select(func.count()).select_from(joined.where(
        counted, ComplianceRecord.batch_kind == "partial",
        ComplianceRecord.meeting_date >= dt.date(year, 1, 1),
        ComplianceRecord.meeting_date <= dt.date(year, 12, 31)).subquery())) or 0
    adjusted = db.scalar(
        select(func.count()).select_from(ComplianceNominee)
        .join(ComplianceRecord, ComplianceRecord.notice_id == ComplianceNominee.record_id)
        .join(Notice, Notice.id == ComplianceRecord.notice_id)
        .where(counted, scope, ComplianceNominee.decision == "approved")) or 0
    overrides = [OverrideRow(o.notice_id, title, status, rules.rule(o.rule), o.reason,
                             o.by_name, o.at, o.applied)
                 for o, title, status in db.execute(
                     select(ComplianceOverride, Notice.title, Notice.status)
                     .join(Notice, Notice.id == ComplianceOverride.notice_id)
                     .order_by(ComplianceOverride.at.desc(), ComplianceOverride.id.desc()))]
    flagged = [Flagged(r.notice_id, title, r.meeting_date, n.name, n.cadre_id, n.proposed_post,
                       list(n.flags or ()), n.prefecture_review_ref, n.decision)
               for n, r, title in db.execute(
                   select(ComplianceNominee, ComplianceRecord, Notice.title)
                   .join(ComplianceRecord,
                         ComplianceRecord.notice_id == ComplianceNominee.record_id)
                   .join(Notice, Notice.id == ComplianceRecord.notice_id)
                   .where(counted, scope)
                   .order_by(ComplianceRecord.meeting_date.desc(), ComplianceNominee.id))
               if n.flags]
    without = db.scalar(select(func.count()).select_from(Notice).where(
        counted, Notice.id.not_in(select(ComplianceRecord.notice_id)),
        Notice.published_at >= dt.datetime(year, 1, 1, tzinfo=dt.UTC),
        Notice.published_at < dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC))) or 0
    return Panel(term, year, settings(db).thresholds, batches, partials, adjusted, overrides,
                 flagged, without)


def term_on(db: Session, day: dt.date) -> AppointmentTerm | None:
    """The term a day falls in."""
    return db.scalar(select(AppointmentTerm).where(AppointmentTerm.starts_on <= day,
                                                   AppointmentTerm.ends_on >= day))

