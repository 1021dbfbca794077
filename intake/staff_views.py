"""Staff registration of a report received by telephone, letter or visit: an intake use case,
encrypted like a web report, on a queue member's pages (/staff/cases/register)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework import queues
from casework.messages import CHANNEL_LABELS
from casework.models import Channel, Queue
from casework.views import QUEUE_ROLES, notify_arrival, queue_of_request
from intake import receipts, service
from intake.forms import RegisterForm
from intake.views import chosen_files, read_evidence
from portal import crypto, db
from portal.access import require_staff, roles_required
from portal.errors import describe
from portal.i18n import localized

bp = Blueprint("intake_staff", __name__, url_prefix="/staff/cases")


def _form_page(form: RegisterForm, queue: Queue, status: int) -> tuple[str, int]:
    return render_template("intake/register.html", form=form, queue=queue), status


def _form(session: db.Session) -> tuple[RegisterForm, Queue | None]:
    """The registration form with its choices, and the level above (上级) when it can take
    reports (only then is the leader question asked)."""
    form = RegisterForm()
    form.channel.choices = [SelectChoice(c, CHANNEL_LABELS[c])
                            for c in (Channel.phone, Channel.letter, Channel.visit)]
    form.category.choices = [SelectChoice(c.id, localized(c.name_zh, c.name_en))
                             for c in service.active_categories(session)]
    escalation = service.escalation_queue(session)
    if escalation is None or not service.queue_is_open(session, escalation):
        del form.concerns_leader
        return form, None
    return form, escalation


def _report_input(form: RegisterForm, concerns_leader: bool) -> service.ReportInput:
    persons = tuple(service.Person(name=n, post=u) for n, u in (
        (form.person_1.data, form.unit_1.data), (form.person_2.data, form.unit_2.data)) if n)
    identity = (service.Identity(form.reporter_name.data, form.reporter_phone.data or "",
                                 form.reporter_unit.data or "")
                if form.reporter_name.data else None)
    return service.ReportInput(
        category_id=form.category.data or 0, facts=form.facts.data or "", persons=persons,
        event_time=form.event_time.data or "", event_place=form.event_place.data or "",
        witnesses=form.witnesses.data or "", identity=identity,
        concerns_leader=concerns_leader, channel=Channel(form.channel.data))


@bp.route("/register", methods=["GET", "POST"])
@roles_required(*QUEUE_ROLES)
def register() -> Response | tuple[str, int]:
    """Register a report received by telephone, letter or visit (encrypted like a web one)."""
    session, staff = db.session(), require_staff()
    queue = queue_of_request(staff)
    if not queues.holds_key(session, staff.user_id, queue):
        return render_template("casework/no_queue.html", no_key=True, queues=[]), (
            403 if request.method == "POST" else 200)
    form, escalation = _form(session)
    if request.method == "GET":
        form.form_token.data = crypto.random_token(24)
        return _form_page(form, queue, 200)
    if not form.validate_on_submit():
        return _form_page(form, queue, 400)
    files, form.files.errors, status = read_evidence(chosen_files())
    if form.files.errors:
        return _form_page(form, queue, status)
    upper = escalation is not None and bool(form.concerns_leader.data)
    target = escalation if upper and escalation is not None else queue
    try:
        case_no, receipt = service.register_report(
            session, staff.actor, target, _report_input(form, upper), files,
            form.form_token.data or "", bool(form.give_receipt.data))
    except service.AlreadyFiled:
        flash(_("This form was already submitted; the case was registered once."), "error")
        return redirect(url_for("casework.cases", queue=queue.slug), code=303)
    except service.IntakeError as exc:
        message, status = describe(exc)
        form.category.errors = [message]
        return _form_page(form, queue, status)
    notify_arrival(target.id)
    return render_template("intake/registered.html", case_no=case_no, target=target,
                           receipt=receipts.grouped(receipt) if receipt else None,
                           queue=queue), 200
