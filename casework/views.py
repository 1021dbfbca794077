"""Queue pages and case pages for queue members. Thin: forms in, service functions, pages out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework import case_view, deadlines, export, people, queries, queues, service, workflow
from casework.forms import (
    MAX_TEXT,
    AcceptForm,
    AssignForm,
    ConcludeForm,
    DuplicateForm,
    ExtendForm,
    FeedbackForm,
    HandoverForm,
    OutsideForm,
    ReasonForm,
    RefuseForm,
    SearchForm,
    SignOffForm,
    TextForm,
    TransferForm,
    VersionForm,
)
from casework.messages import (
    CHANNEL_LABELS,
    DEADLINE_LABELS,
    EVENT_LABELS,
    FEEDBACK_CHANNEL_LABELS,
    FINDING_LABELS,
    OUTCOME_LABELS,
    REFUSAL_LABELS,
    STATE_LABELS,
)
from casework.models import (
    Case,
    CaseDeadline,
    Category,
    Channel,
    DeadlineKind,
    Queue,
)
from portal import accounts, clock, db, errors
from portal.access import require_staff, roles_required
from portal.i18n import localized
from portal.models import Role, StaffUser

bp = Blueprint("casework", __name__, url_prefix="/staff/cases")

FILTER_KEYS = frozenset({"queue", "state", "assignee", "category", "channel", "due", "real_name",
                         "unread"})
QUEUE_ROLES = (Role.org_handler, Role.org_head, Role.dic_handler, Role.dic_head,
               Role.escalation_handler)


@bp.app_context_processor
def _labels() -> dict[str, object]:
    return {"state_labels": STATE_LABELS, "channel_labels": CHANNEL_LABELS,
            "deadline_labels": DEADLINE_LABELS, "finding_labels": FINDING_LABELS,
            "refusal_labels": REFUSAL_LABELS, "event_labels": EVENT_LABELS,
            "feedback_channel_labels": FEEDBACK_CHANNEL_LABELS, "outcome_labels": OUTCOME_LABELS}


def queue_of_request(staff: accounts.CurrentStaff) -> Queue:
    """The queue asked for in the query string, if the member is in it; else their first (404:
    no queue at all)."""
    mine = queries.member_queues(db.session(), staff.roles)
    if not mine:
        abort(404, description="no-queue")
    wanted = request.args.get("queue", "")
    return next((q for q in mine if q.slug == wanted), mine[0])


def _filters() -> queries.Filters:
    args = request.args
    category = args.get("category", "")
    return queries.Filters(
        state=args.get("state", ""), assignee=args.get("assignee", "")[:12],
        category=int(category) if category.isascii() and category.isdecimal()
        and len(category) < 10 else None,
        channel=args.get("channel", "") if args.get("channel", "") in set(Channel) else "",
        due=args.get("due", "") if args.get("due") in ("overdue", "soon") else "",
        real_name=args.get("real_name") == "1", unread=args.get("unread") == "1")


@bp.route("/")
@roles_required(*QUEUE_ROLES)
def cases() -> str:
    """The cases of the member's queue, most urgent first, from metadata only."""
    session, staff = db.session(), require_staff()
    if not queries.member_queues(session, staff.roles):
        # An escalation handler before the escalation queue is configured.
        return render_template("casework/no_queue.html")
    queue = queue_of_request(staff)
    if not queues.holds_key(session, staff.user_id, queue):
        # A role without the queue's key sees no case, not even metadata or name matches.
        return render_template("casework/no_queue.html", no_key=True,
                               queues=queries.member_queues(session, staff.roles))
    today = clock.today()
    today_ord = deadlines.today_ordinal(session, today)
    filters = _filters()
    rows, cursor = queries.list_cases(session, queue, filters, staff.user_id, today, today_ord,
                                      queries.parse_cursor(request.args.get("after", "")))
    names = queries.usernames(session, {c.assignee_id for c in rows if c.assignee_id})
    search = SearchForm(request.args, meta={"csrf": False})
    found = None
    if "name" in request.args and search.validate():
        found = people.cases_naming(session, queue.id, queue.slug, search.name.data or "")
    members = queues.members(session, queue)
    handover = HandoverForm(formdata=None)
    handover.from_user.choices = handover.to_user.choices = [
        SelectChoice(u.id, u.username) for u in members]
    # Only the list's own parameters go into the next-page link (never url_for's _scheme etc.).
    args = {k: v for k, v in request.args.items() if k in FILTER_KEYS}
    return render_template(
        "casework/cases.html", queue=queue, queues=queries.member_queues(session, staff.roles),
        rows=[(c, deadlines.of_case(c, today, today_ord)) for c in rows], today=today,
        names=names, cursor=cursor, filters=filters, args=args, search=search, found=found,
        categories=session.scalars(select(Category).order_by(Category.position)).all(),
        members=members, transfers=queries.transferred_out(session, queue),
        is_head=staff.has(queue.head_role), handover=handover,
        overdue=deadlines.overdue_count(session, queue.id, today))


@dataclass
class _Forms:
    """The action forms of a case page; the one that failed keeps its input and errors."""

    accept: AcceptForm
    refuse: RefuseForm
    conclude: ConcludeForm
    signoff: SignOffForm
    assign: AssignForm
    transfer: TransferForm
    outside: OutsideForm
    message: TextForm
    note: TextForm
    reopen: ReasonForm
    reveal: ReasonForm
    feedback: FeedbackForm
    extend: ExtendForm
    duplicate: DuplicateForm
    plain: VersionForm


def _choices(forms: _Forms, case: Case, members: list[StaffUser], other_queues: list[Queue],
             clocks: list[CaseDeadline]) -> None:
    forms.accept.disposition.choices = [SelectChoice(d["zh"], localized(d["zh"], d["en"]))
                                        for d in queues.dispositions(case.queue)]
    forms.refuse.reason.choices = [SelectChoice(k, v) for k, v in REFUSAL_LABELS.items()
                                   if k != "duplicate"]
    forms.conclude.finding.choices = [SelectChoice(k, v) for k, v in FINDING_LABELS.items()]
    forms.assign.user.choices = [SelectChoice(0, _("(nobody)")),
                                 *(SelectChoice(u.id, u.username) for u in members)]
    forms.transfer.queue.choices = [SelectChoice(q.id, q.name_zh) for q in other_queues]
    forms.feedback.kind.choices = [
        SelectChoice(k, DEADLINE_LABELS[k])
        for k in (DeadlineKind.acceptance_notice, DeadlineKind.result_notice)]
    forms.feedback.channel.choices = [SelectChoice(k, v)
                                      for k, v in FEEDBACK_CHANNEL_LABELS.items()]
    forms.extend.deadline.choices = [SelectChoice(c.id, DEADLINE_LABELS.get(c.kind, c.kind))
                                     for c in clocks]


def _blank_forms(case: Case) -> _Forms:
    def make(cls: type[FlaskForm], prefix: str) -> FlaskForm:
        return cls(formdata=None, prefix=prefix, version=case.version)

    forms = _Forms(**{name: make(cls, name) for name, cls in _FORM_TYPES.items()})
    forms.feedback.given_on.data = clock.today()
    return forms


_FORM_TYPES: dict[str, type[FlaskForm]] = {
    "accept": AcceptForm, "refuse": RefuseForm, "conclude": ConcludeForm,
    "signoff": SignOffForm, "assign": AssignForm, "transfer": TransferForm,
    "outside": OutsideForm, "message": TextForm, "note": TextForm, "reopen": ReasonForm,
    "reveal": ReasonForm, "feedback": FeedbackForm, "extend": ExtendForm,
    "duplicate": DuplicateForm, "plain": VersionForm,
}


def _load(case_no: str) -> Case:
    case = db.session().scalar(select(Case).where(Case.case_no == case_no[:20]))
    if case is None or not require_staff().roles & case.queue.roles:
        abort(404)  # another queue's case looks like no case at all
    return case


def _page(case: Case, forms: _Forms | None = None, status: int = 200, error: str = "",
          identities: list[dict[str, object]] | None = None) -> tuple[str, int]:
    """The case page (its read model, with these forms, message and status)."""
    page = case_view.case_page(db.session(), require_staff(), case, clock.today())
    forms = forms or _blank_forms(case)
    _choices(forms, case, page.members, page.other_queues, page.open_clocks)
    return render_template("casework/case.html", forms=forms, error=error, identities=identities,
                           allowed=workflow.ALLOWED, **page.context()), status


def _refused(case_no: str, exc: service.CaseError, forms: _Forms | None = None
             ) -> tuple[str, int]:
    """The case page again, from the database as it now is, with the refusal's message and
    status; a stale form is not kept. No such case (404) is the error handler's page."""
    message, status = errors.describe(exc)
    if status == 404:
        raise exc
    return _page(_load(case_no), None if exc.code == "stale" else forms, status, message)


@bp.route("/<case_no>")
@roles_required(*QUEUE_ROLES)
def case_page(case_no: str) -> tuple[str, int]:
    """One case, decrypted with the member's key; opening it is audited."""
    case = _load(case_no)
    session, staff = db.session(), require_staff()
    workflow.view(session, staff, case)
    shown = case.unread_replies
    page = _page(case)
    workflow.mark_read(session, staff, case, shown)
    return page


def _act(case_no: str, name: str, run: Callable[[FlaskForm, Case], object],
         done: str) -> Response | tuple[str, int]:
    """Validate one action form, run its service function, and answer (303 or the page)."""
    case = _load(case_no)
    forms = _blank_forms(case)
    form = _FORM_TYPES[name](prefix=name)
    setattr(forms, name, form)
    _choices(forms, case, queues.members(db.session(), case.queue),
             [q for q in queues.all_queues(db.session()) if q.id != case.queue_id],
             deadlines.open_clocks(db.session(), case))
    if not form.validate_on_submit():
        too_long = any(isinstance(f.data, str) and len(f.data) > MAX_TEXT for f in form)
        return _page(case, forms, 413 if too_long else 400,
                     _("Please correct the form below."))
    try:
        run(form, case)
    except service.CaseError as exc:
        return _refused(case_no, exc, forms)
    flash(done, "ok")
    return redirect(url_for("casework.case_page", case_no=case.case_no), code=303)


def _v(form: FlaskForm) -> int:
    return int(form.version.data or 0)


@bp.route("/<case_no>/accept", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def accept(case_no: str) -> Response | tuple[str, int]:
    """受理."""
    return _act(case_no, "accept", lambda f, c: workflow.accept(
        db.session(), require_staff(), c.case_no, _v(f), f.disposition.data, clock.today()),
        _("The case is accepted."))


@bp.route("/<case_no>/refuse", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def refuse(case_no: str) -> Response | tuple[str, int]:
    """不予受理."""
    return _act(case_no, "refuse", lambda f, c: workflow.refuse(
        db.session(), require_staff(), c.case_no, _v(f), f.reason.data, f.answer.data or "",
        clock.today(), f.explanation.data or ""), _("Refusal recorded."))


@bp.route("/<case_no>/conclude", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def conclude(case_no: str) -> Response | tuple[str, int]:
    """办结."""
    return _act(case_no, "conclude", lambda f, c: workflow.conclude(
        db.session(), require_staff(), c.case_no, _v(f), f.finding.data, f.answer.data or "",
        clock.today()), _("Conclusion recorded."))


@bp.route("/<case_no>/signoff", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def signoff(case_no: str) -> Response | tuple[str, int]:
    """A head's sign-off."""
    return _act(case_no, "signoff", lambda f, c: workflow.sign_off(
        db.session(), require_staff(), c.case_no, _v(f), f.decision.data == "approve",
        clock.today(), f.comment.data or ""), _("Sign-off recorded."))


@bp.route("/<case_no>/assign", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def assign(case_no: str) -> Response | tuple[str, int]:
    """Assign or reassign (heads)."""
    return _act(case_no, "assign", lambda f, c: workflow.assign(
        db.session(), require_staff(), c.case_no, _v(f), f.user.data or None),
        _("Assignment saved."))


@bp.route("/<case_no>/take", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def take(case_no: str) -> Response | tuple[str, int]:
    """Take an unassigned case."""
    return _act(case_no, "plain", lambda f, c: workflow.take(
        db.session(), require_staff(), c.case_no, _v(f)), _("The case is yours."))


@bp.route("/<case_no>/transfer", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def transfer(case_no: str) -> Response | tuple[str, int]:
    """Transfer to another queue; afterwards this queue cannot open the case."""
    session, staff = db.session(), require_staff()
    case = _load(case_no)
    form = TransferForm(prefix="transfer")
    form.queue.choices = [SelectChoice(q.id, q.name_zh) for q in queues.all_queues(session)]
    if not form.validate_on_submit():
        forms = _blank_forms(case)
        forms.transfer = form
        return _page(case, forms, 400, _("Please correct the form below."))
    try:
        target = workflow.transfer(session, staff, case.case_no, _v(form), form.queue.data or 0,
                                   form.reason.data or "", clock.today())
    except service.CaseError as exc:
        return _refused(case_no, exc)
    notify_arrival(target.id)
    flash(_("Case %(no)s transferred to %(queue)s; this queue can no longer open it.",
            no=case_no, queue=target.name_zh), "ok")
    return redirect(url_for("casework.cases"), code=303)


@bp.route("/<case_no>/outside", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def outside(case_no: str) -> Response | tuple[str, int]:
    """Transfer to an outside body (the case is closed here)."""
    return _act(case_no, "outside", lambda f, c: workflow.transfer_outside(
        db.session(), require_staff(), c.case_no, _v(f), f.body.data or "", f.reason.data or "",
        clock.today()), _("Transfer recorded; the case is closed here."))


@bp.route("/<case_no>/message", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def message(case_no: str) -> Response | tuple[str, int]:
    """A message to the reporter."""
    return _act(case_no, "message", lambda f, c: workflow.message(
        db.session(), require_staff(), c.case_no, _v(f), f.text.data or ""),
        _("Message sent; the reporter reads it with their receipt."))


@bp.route("/<case_no>/note", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def note(case_no: str) -> Response | tuple[str, int]:
    """An internal note."""
    return _act(case_no, "note", lambda f, c: workflow.note(
        db.session(), require_staff(), c.case_no, _v(f), f.text.data or ""), _("Note saved."))


@bp.route("/<case_no>/feedback", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def feedback(case_no: str) -> Response | tuple[str, int]:
    """Feedback given to a real-name reporter."""
    return _act(case_no, "feedback", lambda f, c: workflow.record_feedback(
        db.session(), require_staff(), c.case_no, _v(f), f.kind.data, f.channel.data,
        f.given_on.data, clock.today()), _("Feedback recorded."))


@bp.route("/<case_no>/close", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def close(case_no: str) -> Response | tuple[str, int]:
    """Archive a concluded case."""
    return _act(case_no, "plain", lambda f, c: workflow.close(
        db.session(), require_staff(), c.case_no, _v(f), clock.today()), _("Case archived."))


@bp.route("/<case_no>/reopen", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def reopen(case_no: str) -> Response | tuple[str, int]:
    """Reopen (heads)."""
    return _act(case_no, "reopen", lambda f, c: workflow.reopen(
        db.session(), require_staff(), c.case_no, _v(f), f.reason.data or "", clock.today()),
        _("Case reopened."))


@bp.route("/<case_no>/extend", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def extend(case_no: str) -> Response | tuple[str, int]:
    """延期 (heads)."""
    return _act(case_no, "extend", lambda f, c: workflow.extend(
        db.session(), require_staff(), c.case_no, _v(f), f.deadline.data or 0, f.days.data or 0,
        f.reason.data or ""), _("Deadline extended."))


@bp.route("/<case_no>/duplicate", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def duplicate(case_no: str) -> Response | tuple[str, int]:
    """Link a repeat report to its earlier case (重复举报, 登记留存)."""
    return _act(case_no, "duplicate", lambda f, c: workflow.mark_duplicate(
        db.session(), require_staff(), c.case_no, _v(f), f.original.data or "",
        f.answer.data or "", clock.today()), _("Linked as a repeat report."))


@bp.route("/<case_no>/suspend", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def suspend(case_no: str) -> Response | tuple[str, int]:
    """For an objection: the person's appointment is suspended (暂缓)."""
    return _act(case_no, "plain", lambda f, c: workflow.suspend_person(
        db.session(), require_staff(), c.case_no, _v(f), clock.today()),
        _("The person's outcome is now 暂缓 (suspended)."))


@bp.route("/<case_no>/reveal", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def reveal(case_no: str) -> tuple[str, int]:
    """Show a real-name reporter's identity once, after recording why (audited)."""
    case = _load(case_no)
    form = ReasonForm(prefix="reveal")
    forms = _blank_forms(case)
    forms.reveal = form
    if not form.validate_on_submit():
        return _page(case, forms, 400, _("Give a reason."))
    try:
        identities = workflow.reveal(db.session(), require_staff(), case.case_no,
                                     form.reason.data or "")
    except service.CaseError as exc:
        return _refused(case_no, exc, forms)
    return _page(_load(case_no), None, 200, "", identities or [])


@bp.route("/<case_no>/export", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def export_case(case_no: str) -> Response | tuple[str, int]:
    """The case as a ZIP for the investigation record (summary and evidence); audited."""
    case = _load(case_no)
    if not VersionForm(prefix="plain").validate_on_submit():
        return _page(case, None, 400, _("Please correct the form below."))
    try:
        name, data = export.build(db.session(), require_staff(), case)
    except service.CaseError as exc:
        return _refused(case_no, exc)
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"case.zip\"; filename*=UTF-8''{quote(name)}")
    return response


@bp.route("/handover", methods=["POST"])
@roles_required(*QUEUE_ROLES)
def handover() -> Response | tuple[str, int]:
    """Hand every open case of one handler to another (heads)."""
    session, staff = db.session(), require_staff()
    queue = queue_of_request(staff)
    form = HandoverForm()
    choices = [SelectChoice(u.id, u.username) for u in queues.members(session, queue)]
    form.from_user.choices = form.to_user.choices = choices
    # A departing handler may already be deactivated: allow any account as the source.
    form.from_user.validate_choice = False
    if not form.validate_on_submit() or not 0 < (form.from_user.data or 0) < 2**31:
        abort(400)
    try:
        moved = workflow.hand_over(session, staff, queue.id, form.from_user.data or 0,
                                   form.to_user.data or 0)
    except service.CaseError as exc:
        flash(errors.message_of(exc), "error")
        return redirect(url_for("casework.cases", queue=queue.slug), code=303)
    flash(_("%(n)d case(s) handed over.", n=moved), "ok")
    return redirect(url_for("casework.cases", queue=queue.slug), code=303)


def notify_arrival(queue_id: int) -> None:
    """Content-free e-mail to a queue's members after a case arrived (never fails a request)."""
    from casework import notify

    notify.case_arrived(db.session(), queue_id)


@bp.route("/<case_no>/files/<rowid:file_id>")
@roles_required(*QUEUE_ROLES)
def download(case_no: str, file_id: int) -> Response:
    """An evidence file, only ever as a download (never rendered inline); audited."""
    session = db.session()
    case = _load(case_no)
    try:
        name, data = service.download_file(session, require_staff(), case, file_id)
    except service.CaseError as exc:
        abort(404 if exc.code == "no-such-file" else 403)
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"evidence-{file_id}\"; filename*=UTF-8''{quote(name)}")
    return response  # nosniff, CSP and no-store come from portal.security

