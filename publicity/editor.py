"""Editor pages under /staff/publicity: drafts, four-eyes approval, corrections, outcomes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal import clock, db, state, workdays
from portal.access import require_staff, roles_required
from portal.errors import message_of
from portal.forms import posted_version
from portal.models import Role
from publicity import queries, service
from publicity.compliance import service as compliance
from publicity.fields import put_on_form
from publicity.forms import CorrectionForm, NoticeForm, OutcomeForm, ReasonForm
from publicity.models import ChangeStatus, Notice, NoticeStatus
from publicity.schemas import parse_notice
from publicity.validation import FIELD_LABELS, MAX_PERSONS, InvalidNotice, NoticeInput
from publicity.views import days_left, objection_channels

bp = Blueprint("publicity_editor", __name__, url_prefix="/staff/publicity")
EDITOR = Role.publicity_editor

def _notice_or_404(notice_id: int) -> Notice:
    notice = db.session().get(Notice, notice_id)
    if notice is None:
        abort(404)
    return notice


def _min_days() -> int:
    return int(state.config().publicity_min_working_days)


def _validate(form: NoticeForm) -> NoticeInput | None:
    """Domain validation; errors are attached to the form's fields."""
    try:
        return parse_notice(form.as_import(), objection_channels(), _min_days())
    except InvalidNotice as exc:
        put_on_form(form, exc.errors, rows="persons")
        return None


def _checked(form: NoticeForm) -> bool:
    """Field-level checks (and CSRF); domain checks still run so every error shows at once."""
    valid = form.validate_on_submit()
    if not valid and form.is_submitted():
        _validate(form)
    return valid


def _handle_person_buttons(form: NoticeForm) -> bool:
    """'Add a person' / 'remove the last person': re-render without saving."""
    if form.add_person.data:
        if len(form.persons) < MAX_PERSONS:
            form.persons.append_entry()
        return True
    if form.remove_person.data:
        if len(form.persons) > 1:
            form.persons.pop_entry()
        return True
    return False


@bp.route("/")
@roles_required(EDITOR)
def index() -> str:
    """Drafts, pending changes and published notices."""
    today = clock.today()
    notices = service.list_for_editors(db.session())
    return render_template("publicity/editor_list.html", notices=notices, today=today,
                           state=service.public_state)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(EDITOR)
def new() -> Response | tuple[str, int]:
    """Draft a new notice."""
    form = NoticeForm()
    if request.method == "GET":
        channels = objection_channels()
        form.phone.data = channels["phone"]
        form.letter_address.data = channels["letter_address"]
        form.visit_address.data = channels["visit_address"]
        form.working_days.data = _min_days()
        return render_template("publicity/editor_form.html", form=form, notice=None), 200
    if _handle_person_buttons(form):
        return render_template("publicity/editor_form.html", form=form, notice=None), 200
    if _checked(form) and (data := _validate(form)):
        notice = service.create_draft(db.session(), data, require_staff().actor,
                                      form.editor_note.data or "")
        flash(_("Draft saved. Another editor must approve it before it is published."), "ok")
        return redirect(url_for(".detail", notice_id=notice.id), code=303)
    return render_template("publicity/editor_form.html", form=form, notice=None), 400


def _form_from(notice: Notice, form_class: type[NoticeForm]) -> NoticeForm:
    form = form_class(formdata=None, obj=notice)
    form.period_start.data = notice.requested_start
    form.version.data = str(notice.version)
    form.editor_note.data = notice.editor_note
    while len(form.persons) < len(notice.persons):
        form.persons.append_entry()
    for entry, person in zip(form.persons.entries, notice.persons, strict=False):
        for name in ("name", "gender", "ethnicity", "birth", "native_place", "education",
                     "work_start", "party", "current_post", "proposed_post",
                     "exceptional_circumstance", "exceptional_reason", "resume", "cadre_id"):
            getattr(entry.form, name).data = getattr(person, name)
        entry.form.exceptional.data = person.exceptional
    return form


@bp.route("/<id:notice_id>/edit", methods=["GET", "POST"])
@roles_required(EDITOR)
def edit(notice_id: int) -> Response | tuple[str, int]:
    """Edit a draft (an approved notice is never edited in place)."""
    notice = _notice_or_404(notice_id)
    if notice.status != NoticeStatus.draft:
        flash(message_of(service.PublicityError("not-a-draft")), "error")
        return redirect(url_for(".detail", notice_id=notice.id), code=303)
    if request.method == "GET":
        return render_template("publicity/editor_form.html", form=_form_from(notice, NoticeForm),
                               notice=notice), 200
    form = NoticeForm()
    if _handle_person_buttons(form):
        return render_template("publicity/editor_form.html", form=form, notice=notice), 200
    if _checked(form) and (data := _validate(form)):
        try:
            service.update_draft(db.session(), notice.id, data, require_staff().actor,
                                 posted_version(form.version.data), form.editor_note.data or "")
        except service.PublicityError as exc:
            flash(message_of(exc), "error")
            return render_template("publicity/editor_form.html", form=form, notice=notice), 409
        flash(_("Draft saved."), "ok")
        return redirect(url_for(".detail", notice_id=notice.id), code=303)
    return render_template("publicity/editor_form.html", form=form, notice=notice), 400


@bp.route("/<id:notice_id>")
@roles_required(EDITOR)
def detail(notice_id: int) -> str:
    """The notice as the public will see it, its planned period, changes and outcomes."""
    notice = _notice_or_404(notice_id)
    today = clock.today()
    session = db.session()
    planned, planned_error = None, None
    if notice.status == NoticeStatus.draft:
        try:
            planned = service.planned_period(session, notice, today)
        except workdays.YearNotLoaded as exc:
            planned_error = workdays.year_not_loaded_message(exc.year)
        except service.PublicityError as exc:
            planned_error = message_of(exc)
    staff = require_staff()
    state = service.public_state(notice, today)
    # The appointment rules' verdicts matter while the notice is a draft (they decide its
    # approval); for a published one, its overrides remain.
    check = compliance.check(session, notice)
    return render_template(
        "publicity/editor_notice.html", notice=notice, state=state, today=today,
        days_left=days_left(workdays.load_calendar(session), notice, today),
        planned=planned, planned_error=planned_error,
        may_approve=staff.user_id not in notice.editors,
        changes=[c for c in notice.changes if c.status == ChangeStatus.pending],
        published_changes=queries.published_changes(notice),
        confirm=ReasonForm(formdata=None), outcome_form=OutcomeForm(formdata=None),
        staff=staff, field_labels=FIELD_LABELS, check=check,
    )


@bp.route("/<id:notice_id>/approve", methods=["POST"])
@roles_required(EDITOR)
def approve(notice_id: int) -> Response:
    """Four-eyes approval: the draft is published with its computed period."""
    # The button carries only its CSRF token, which CSRFProtect checks for every POST.
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    try:
        service.approve_notice(db.session(), notice_id, require_staff().actor, clock.today(),
                               version)
    except service.PublicityError as exc:
        flash(message_of(exc), "error")
    else:
        flash(_("Approved and published."), "ok")
    return redirect(url_for(".detail", notice_id=notice_id), code=303)


@bp.route("/<id:notice_id>/correct", methods=["GET", "POST"])
@roles_required(EDITOR)
def correct(notice_id: int) -> Response | tuple[str, int]:
    """Propose a correction (更正); a second editor approves it."""
    notice = _notice_or_404(notice_id)
    if request.method == "GET":
        return render_template("publicity/editor_correct.html",
                               form=_form_from(notice, CorrectionForm), notice=notice), 200
    form = CorrectionForm()
    if _checked(form) and (data := _validate(form)):
        try:
            service.propose_correction(db.session(), notice.id, data, form.reason.data or "",
                                       require_staff().actor)
        except service.PublicityError as exc:
            flash(message_of(exc), "error")
            return render_template("publicity/editor_correct.html", form=form,
                                   notice=notice), 400
        flash(_("Correction proposed. Another editor must approve it."), "ok")
        return redirect(url_for(".detail", notice_id=notice.id), code=303)
    return render_template("publicity/editor_correct.html", form=form, notice=notice), 400


@bp.route("/<id:notice_id>/withdraw", methods=["POST"])
@roles_required(EDITOR)
def withdraw(notice_id: int) -> Response:
    """Propose withdrawing (撤销) a published notice, with a public reason."""
    form = ReasonForm()
    try:
        if not form.validate_on_submit():
            raise service.PublicityError("reason-required")
        service.propose_withdrawal(db.session(), notice_id, form.reason.data or "",
                                   require_staff().actor)
    except service.PublicityError as exc:
        flash(message_of(exc), "error")
    else:
        flash(_("Withdrawal proposed. Another editor must approve it."), "ok")
    return redirect(url_for(".detail", notice_id=notice_id), code=303)


@bp.route("/changes/<id:change_id>/approve", methods=["POST"])
@roles_required(EDITOR)
def approve_change(change_id: int) -> Response:
    """Four-eyes approval of a correction or withdrawal."""
    try:
        change = service.approve_change(db.session(), change_id, require_staff().actor,
                                        clock.today())
    except service.PublicityError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for(".index"), code=303)
    flash(_("Approved and published."), "ok")
    return redirect(url_for(".detail", notice_id=change.notice_id), code=303)


@bp.route("/changes/<id:change_id>/cancel", methods=["POST"])
@roles_required(EDITOR)
def cancel_change(change_id: int) -> Response:
    """Drop a pending correction or withdrawal."""
    try:
        service.cancel_change(db.session(), change_id, require_staff().actor)
    except service.PublicityError as exc:
        flash(message_of(exc), "error")
    return redirect(url_for(".index"), code=303)


@bp.route("/persons/<id:person_id>/outcome", methods=["POST"])
@roles_required(EDITOR)
def outcome(person_id: int) -> Response:
    """Record 暂缓 / 办理任职手续 / 不予任用 for a person."""
    form = OutcomeForm()
    notice_id = None
    try:
        if not form.validate_on_submit():
            raise service.PublicityError("bad-outcome")
        person = service.set_outcome(db.session(), person_id, form.outcome.data or "",
                                     require_staff().actor, clock.today())
        notice_id = person.notice_id
        flash(_("Outcome recorded."), "ok")
    except service.PublicityError as exc:
        flash(message_of(exc), "error")
    if notice_id is None:
        return redirect(url_for(".index"), code=303)
    return redirect(url_for(".detail", notice_id=notice_id), code=303)
