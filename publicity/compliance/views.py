"""Compliance pages: the record of a batch (editors), the review and override (the organization
department's head), the terms and thresholds (administrators) and the supervisors' panel."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response as BaseResponse

from portal import clock, db
from portal.access import require_staff, roles_required
from portal.errors import message_of
from portal.forms import posted_version, whole_number
from portal.models import Role
from portal.tables import Table, to_csv
from publicity.compliance import rules, service
from publicity.compliance.forms import OverrideForm, RecordForm, SettingsForm, TermForm
from publicity.compliance.models import AppointmentTerm, ComplianceRecord
from publicity.compliance.schemas import parse_record
from publicity.compliance.service import ComplianceError
from publicity.compliance.validation import (
    BATCH_KINDS,
    CONSULTED,
    DECISIONS,
    FLAGS,
    INSPECTIONS,
    MAX_NOMINEES,
    MEETING_BODIES,
    NOMINATORS,
    RELATIONSHIPS,
    InvalidRecord,
    RecordInput,
    describe,
)
from publicity.fields import put_on_form
from publicity.models import Notice, NoticeStatus

bp = Blueprint("compliance", __name__, url_prefix="/staff")

EDITOR = Role.publicity_editor
REVIEWERS = (Role.org_head, Role.publicity_editor)
WAITING_LIMIT = 200  # drafts checked for the waiting list, newest first

LABELS = {"batch_kinds": BATCH_KINDS, "bodies": MEETING_BODIES, "nominators": NOMINATORS,
          "relationships": RELATIONSHIPS, "inspections": INSPECTIONS, "decisions": DECISIONS,
          "consulted": CONSULTED, "flags": FLAGS}


def _notice_or_404(notice_id: int) -> Notice:
    notice = db.session().get(Notice, notice_id)
    if notice is None:
        abort(404)
    return notice


def _back_to_notice(notice: Notice, exc: ComplianceError) -> BaseResponse:
    flash(message_of(exc), "error")
    return redirect(url_for("publicity_editor.detail", notice_id=notice.id), code=303)


# --- the record of a batch (publicity editors) -----------------------------------------------

def _starting_point(session: Session, notice: Notice) -> dict[str, object]:
    """The stored record in the import format, or a start from the notice's persons."""
    record = session.get(ComplianceRecord, notice.id)
    if record is not None:
        term = session.get_one(AppointmentTerm, record.term_id)
        return service.as_import(service.as_input(record, term.name))
    current = service.term_on(session, clock.today())
    return {"term": current.name if current else "",
            "nominees": [{"name": p.name, "proposed_post": p.proposed_post,
                          "cadre_id": p.cadre_id or ""} for p in notice.persons]}


def _record_form(session: Session, formdata: bool) -> RecordForm:
    form = RecordForm() if formdata else RecordForm(formdata=None)
    form.set_terms([t.name for t in service.terms(session)])
    return form


def _parse(session: Session, form: RecordForm, notice: Notice
           ) -> tuple[RecordInput | None, list[str]]:
    """Domain validation of the whole record; errors are attached to the fields too. The
    meetings lie on or before today, and before the notice's requested start."""
    try:
        return parse_record(form.as_import(), service.term_spans(session),
                            promotions_without_approval=service.settings(session)
                            .thresholds.promotions_without_approval,
                            latest=min(clock.today(), notice.requested_start)), []
    except InvalidRecord as exc:
        put_on_form(form, exc.errors, rows="nominees")
        return None, [describe(e) for e in exc.errors]


def _handle_nominee_buttons(form: RecordForm) -> bool:
    """'Add a nominee' / 'remove the last nominee': re-render without saving."""
    if form.add_nominee.data:
        if len(form.nominees) < MAX_NOMINEES:
            form.nominees.append_entry()
        return True
    if form.remove_nominee.data:
        if len(form.nominees) > 1:
            form.nominees.pop_entry()
        return True
    return False


def _record_page(form: RecordForm, notice: Notice, problems: list[str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    return render_template("publicity/compliance_form.html", form=form, notice=notice,
                           problems=problems or [], no_terms=len(form.term.choices or []) <= 1,
                           **LABELS), status


@bp.route("/publicity/<id:notice_id>/compliance", methods=["GET", "POST"])
@roles_required(EDITOR)
def record(notice_id: int) -> BaseResponse | tuple[str, int]:
    """Record (or change) the process facts of a draft's batch."""
    session = db.session()
    notice = _notice_or_404(notice_id)
    if notice.status != NoticeStatus.draft:
        return _back_to_notice(notice, ComplianceError("not-a-draft"))
    if request.method == "GET":
        form = _record_form(session, formdata=False)
        form.fill(_starting_point(session, notice))
        form.version.data = str(notice.version)
        return _record_page(form, notice)
    form = _record_form(session, formdata=True)
    if _handle_nominee_buttons(form):
        return _record_page(form, notice)
    valid = form.validate_on_submit()  # the CSRF token; the record itself is checked below
    data, problems = _parse(session, form, notice)
    if not valid or data is None:
        return _record_page(form, notice, problems, 400)
    version = posted_version(form.version.data)
    try:
        service.save_record(session, notice.id, data, require_staff().actor, version)
    except ComplianceError as exc:
        if exc.code == "not-a-draft":
            return _back_to_notice(notice, exc)
        if exc.code == "not-found":
            abort(404)
        if exc.code == "no-term":
            form.term.errors = [*form.term.errors, message_of(exc)]
        flash(message_of(exc), "error")
        return _record_page(form, notice, status=409 if exc.code == "stale" else 400)
    flash(_("Compliance record saved. The rules' verdicts are shown below."), "ok")
    return redirect(url_for("publicity_editor.detail", notice_id=notice.id), code=303)


# --- review and override (the organization department's head) -------------------------------

def _review_page(notice: Notice, failed: tuple[int, OverrideForm] | None = None,
                 status: int = 200) -> tuple[str, int]:
    staff = require_staff()
    return render_template(
        "publicity/compliance_review.html", notice=notice,
        check=service.check(db.session(), notice),
        may_override=staff.has(Role.org_head) and notice.status == NoticeStatus.draft,
        failed_rule=failed[0] if failed else None, failed_form=failed[1] if failed else None,
        staff=staff, **LABELS), status


@bp.route("/publicity/<id:notice_id>/compliance/review")
@roles_required(*REVIEWERS)
def review(notice_id: int) -> tuple[str, int]:
    """Every rule's verdict on the batch with its facts, clause and quote; overrides."""
    return _review_page(_notice_or_404(notice_id))


@bp.route("/publicity/<id:notice_id>/compliance/override", methods=["POST"])
@roles_required(Role.org_head)
def override(notice_id: int) -> BaseResponse | tuple[str, int]:
    """Set one failing rule aside for this draft, with a written reason."""
    notice = _notice_or_404(notice_id)
    form = OverrideForm()
    rule_number = whole_number(form.rule.data, 3) or 0
    # The draft the head reviewed; without one (a form from before, or tampered) nothing was
    # reviewed, which is refused like a draft changed since.
    version = posted_version(form.version.data)
    try:
        service.override(db.session(), notice.id, rule_number, form.reason.data or "",
                         require_staff().actor, version)
    except ComplianceError as exc:
        if exc.code in ("reason-required", "reason-too-long") and (
                rule_number in rules.RULE_NUMBERS):
            form.reason.errors = [*form.reason.errors, message_of(exc)]
            return _review_page(notice, (rule_number, form), 400)
        if exc.code == "stale":
            flash(_("The draft or its compliance record changed since you opened this page. "
                    "Review the rules again before overriding."), "error")
        else:
            flash(message_of(exc), "error")
    else:
        flash(_("Rule %(n)s is overridden for this notice. The reason is in the audit log and "
                "shown to supervisors.", n=rule_number), "ok")
    return redirect(url_for(".review", notice_id=notice.id), code=303)


@bp.route("/publicity/compliance/")
@roles_required(*REVIEWERS)
def waiting() -> tuple[str, int]:
    """Drafts whose approval is blocked by the appointment rules."""
    session = db.session()
    # Drafts only, newest first; their persons (the page's second column, and what check()
    # matches the record against) in one query for all, not one per row.
    drafts = list(session.scalars(
        select(Notice).where(Notice.status == NoticeStatus.draft)
        .options(selectinload(Notice.persons))
        .order_by(Notice.id.desc()).limit(WAITING_LIMIT)))
    checks = [(n, service.check(session, n)) for n in drafts]
    blocked = [(n, c) for n, c in checks if c.blocking]
    return render_template("publicity/compliance_list.html", blocked=blocked,
                           clear=len(checks) - len(blocked)), 200


# --- terms and thresholds (administrators) ---------------------------------------------------

def _settings_form() -> SettingsForm:
    current = service.settings(db.session())
    form = SettingsForm(formdata=None)
    for t, field in form.threshold_fields():
        field.data = current.thresholds.text.get(t.key, t.default)
    form.show_attendance.data = current.show_attendance
    return form


def _term_form() -> TermForm:
    """A blank form to add a term, or the term named by ?term=<id> to change it."""
    form = TermForm(formdata=None)
    term_id = whole_number(request.args.get("term"))
    term = db.session().get(AppointmentTerm, term_id) if term_id is not None else None
    if term is not None:
        form.term_id.data = str(term.id)
        form.name.data = term.name
        form.starts_on.data, form.ends_on.data = term.starts_on, term.ends_on
        form.leadership_posts.data = term.leadership_posts
    return form


def _admin_page(settings_form: SettingsForm | None = None, term_form: TermForm | None = None,
                status: int = 200) -> tuple[str, int]:
    return render_template(
        "publicity/admin_compliance.html", terms=service.terms(db.session()),
        settings_form=settings_form or _settings_form(), term_form=term_form or _term_form(),
        rules_by_number={r.number: r for r in rules.RULES}), status


def _attach_problems(form: SettingsForm | TermForm, problems: object) -> None:
    for key, text in (problems if isinstance(problems, dict) else {}).items():
        field = form._fields.get(key)
        if field is not None:
            field.errors = [*field.errors, str(text)]


@bp.route("/admin/compliance", methods=["GET", "POST"])
@roles_required(Role.admin)
def admin() -> BaseResponse | tuple[str, int]:
    """Terms (届期) with their leadership posts, every rule threshold, the public line."""
    if request.method == "GET":
        return _admin_page()
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            service.save_settings(db.session(), {t.key: field.data or ""
                                                 for t, field in form.threshold_fields()},
                                  bool(form.show_attendance.data), require_staff().actor)
        except ComplianceError as exc:
            _attach_problems(form, exc.params.get("problems"))
            flash(message_of(exc), "error")
        else:
            flash(_("Compliance settings saved."), "ok")
            return redirect(url_for(".admin"), code=303)
    return _admin_page(settings_form=form, status=400)


@bp.route("/admin/compliance/terms", methods=["POST"])
@roles_required(Role.admin)
def save_term() -> BaseResponse | tuple[str, int]:
    """Add a term, or change one (its name, dates and number of leadership posts)."""
    form = TermForm()
    if form.validate_on_submit():
        raw = (form.term_id.data or "").strip()
        term_id = (whole_number(raw) or 0) if raw else None
        try:
            term = service.save_term(db.session(), term_id, form.name.data or "",
                                     form.starts_on.data, form.ends_on.data,
                                     form.leadership_posts.data, require_staff().actor)
        except ComplianceError as exc:
            _attach_problems(form, exc.params.get("problems"))
            flash(message_of(exc), "error")
        else:
            flash(_("Term %(name)s saved.", name=term.name), "ok")
            return redirect(url_for(".admin"), code=303)
    return _admin_page(term_form=form, status=400)


# --- the supervisors' panel ------------------------------------------------------------------

PANEL_TABLES = ("limits", "overrides", "flagged", "thresholds")


class PanelArgsError(ValueError):
    """The term or year asked for is not one."""


def _panel_args() -> tuple[AppointmentTerm | None, int, dict[str, str]]:
    """The term (default: today's) and year (default: this one) of the query string."""
    session = db.session()
    today = clock.today()
    raw_year = request.args.get("year", "").strip()
    if not raw_year:
        year = today.year
    elif re.fullmatch(r"[0-9]{4}", raw_year) and 2000 <= int(raw_year) <= 2100:
        year = int(raw_year)
    else:
        raise PanelArgsError(_("Write the year with four digits, from 2000 to 2100."))
    raw_term = request.args.get("term", "").strip()
    if not raw_term:
        term = service.term_on(session, today)
    elif (term_id := whole_number(raw_term)) is not None:
        term = session.get(AppointmentTerm, term_id)
        if term is None:
            raise PanelArgsError(_("There is no such term."))
    else:
        raise PanelArgsError(_("There is no such term."))
    args = {"year": str(year)}
    if term is not None:
        args["term"] = str(term.id)
    return term, year, args


def _decision_label(value: str) -> str:
    return str(DECISIONS.get(value, value))


def panel_tables(p: service.Panel) -> list[Table]:
    """The panel's tables (also its CSV downloads)."""
    t = p.thresholds
    if p.term is not None:
        term = p.term
        most = int(t.adjusted_share * term.leadership_posts)
        limits = [
            [_("Batch adjustments in term %(term)s", term=term.name), p.batches,
             t.batches_per_term],
            [_("Partial appointment decisions in %(year)s", year=p.year), p.partials,
             t.partials_per_year],
            [_("Persons adjusted in term %(term)s, of %(posts)s leadership posts",
               term=term.name, posts=term.leadership_posts),
             f"{p.adjusted} ({rules.percent(p.adjusted, term.leadership_posts)})",
             f"{most} ({t.text['adjusted_share']})"],
        ]
    else:
        limits = [
            [_("Batch adjustments in %(year)s (no term configured for it)", year=p.year),
             p.batches, t.batches_per_term],
            [_("Partial appointment decisions in %(year)s", year=p.year), p.partials,
             t.partials_per_year],
            [_("Persons adjusted in %(year)s", year=p.year), p.adjusted, "—"],
        ]
    limits.append([_("Notices published in %(year)s without a compliance record", year=p.year),
                   p.without_record, "—"])
    overrides: list[list[object]] = [
        [f"#{o.notice_id} {o.notice_title}", _status_label(o.notice_status),
         _override_state(o), f"{o.rule.number}. {o.rule.title}", o.rule.clause, o.reason,
         o.by_name, o.at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")]
        for o in p.overrides]
    thresholds: list[list[object]] = [
        [f"{x.rule}. {rules.rule(x.rule).title}", x.label, t.text.get(x.key, x.default),
         x.default, _("changed") if changed(x, t) else _("as in the plan")]
        for x in rules.THRESHOLDS]
    flagged: list[list[object]] = [
        [f"#{f.notice_id} {f.notice_title}", f.meeting_date.isoformat(), f.name, f.cadre_id,
         f.proposed_post, "、".join(str(FLAGS.get(x, x)) for x in f.flags),
         f.reference or _("missing"), _decision_label(f.decision)] for f in p.flagged]
    return [
        Table("limits", _("Limits of the plan"), [_("Figure"), _("Used"), _("Allowed")],
              limits),
        Table("overrides", _("Overrides by the organization department's head"), [
            _("Notice"), _("State"), _("Override"), _("Rule"), _("Clause"), _("Reason"),
            _("By"), _("When")], overrides),
        Table("flagged", _("Persons with special circumstances (rule 8)"), [
            _("Notice"), _("Decision meeting"), _("Name"), _("Cadre system id"),
            _("Proposed post"), _("Special flags"), _("Prefecture's review (reference)"),
            _("Decision result")], flagged),
        Table("thresholds", _("Thresholds in force"), [
            _("Rule"), _("Threshold"), _("In force"), _("The plan says"),
            _("Compared with the plan")], thresholds),
    ]


def changed(threshold: rules.Threshold, thresholds: rules.Thresholds) -> bool:
    """Whether the administrator set a threshold other than the plan's (by value: 50% and
    1/2 are the same share)."""
    text = thresholds.text.get(threshold.key, threshold.default)
    try:
        value = rules.parse_threshold(text, threshold.share)
    except ValueError:  # from_text keeps only readable values; never here
        return True
    return value != rules.parse_threshold(threshold.default, threshold.share)


def _override_state(o: service.OverrideRow) -> str:
    """Applied: in force when the notice was approved. Else the notice is still a draft, or
    the override had lapsed (the facts changed) before the approval."""
    if o.applied:
        return _("applied")
    if o.notice_status == NoticeStatus.draft.value:
        return _("not applied: the notice is a draft")
    return _("not applied: it had lapsed")


def _status_label(status: str) -> str:
    labels = {NoticeStatus.draft.value: _("draft"), NoticeStatus.approved.value: _("published"),
              NoticeStatus.withdrawn.value: _("withdrawn")}
    return labels.get(str(status), str(status))


@bp.route("/supervision/compliance")
@roles_required(Role.supervisor)
def panel() -> tuple[str, int]:
    """Batches and partial decisions used against the limits, the share of posts adjusted,
    every override and every flagged person, for a term and a year."""
    session = db.session()
    terms = service.terms(session)
    try:
        term, year, args = _panel_args()
    except PanelArgsError as exc:
        return render_template("casework/compliance_panel.html", tables=[], p=None,
                               terms=terms, args=request.args, error=str(exc)), 400
    p = service.panel(session, term, year)
    return render_template("casework/compliance_panel.html", tables=panel_tables(p), p=p,
                           terms=terms, args=args, error=""), 200


@bp.route("/supervision/compliance/export.csv")
@roles_required(Role.supervisor)
def panel_csv() -> Response:
    """One table of the compliance panel as CSV (?table=limits|overrides|flagged|thresholds)."""
    name = request.args.get("table", "limits")
    if name not in PANEL_TABLES:
        abort(404)
    try:
        term, year, args = _panel_args()
    except PanelArgsError:
        abort(400)
    table = next(t for t in panel_tables(service.panel(db.session(), term, year))
                 if t.name == name)
    response = Response(to_csv(table), mimetype="text/csv")
    scope = f"term{term.id}-{year}" if term is not None else str(year)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="compliance-{name}-{scope}.csv"')
    return response

