"""Administration of the routing table: which queue each report category goes to, and the
optional escalation queue (上级). Admins see queue states but never any key or content."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework import queues
from casework.forms import EscalationForm, QueueSettingsForm, RouteForm
from casework.models import Queue
from portal import db
from portal.access import require_staff, roles_required
from portal.errors import message_of
from portal.models import Role

bp = Blueprint("routing", __name__, url_prefix="/staff/admin/routing")


def _routable(all_queues: list[Queue]) -> list[SelectChoice]:
    """Queues a category can be routed to (the escalation queue is chosen by the form)."""
    return [SelectChoice(q.id, q.name_zh) for q in all_queues if not q.is_escalation]


def _settings_form(queue: Queue) -> QueueSettingsForm:
    lines = "\n".join(f"{d['zh']} | {d['en']}" for d in queues.dispositions(queue))
    return QueueSettingsForm(
        formdata=None, prefix=f"q{queue.id}", dispositions=lines,
        decision_days=queue.decision_days, transfer_days=queue.transfer_days,
        conclusion_days=queue.conclusion_days, notice_days=queue.notice_days,
        signoff_required=queue.signoff_required)


def _page(escalation_form: EscalationForm | None = None, status: int = 200,
          bad_settings: tuple[int, QueueSettingsForm] | None = None) -> tuple[str, int]:
    session = db.session()
    all_queues = queues.all_queues(session)
    routable = _routable(all_queues)
    rows = []
    for category in queues.all_categories(session):
        form = RouteForm(formdata=None, queue_id=category.queue_id, active=category.active,
                         prefix=f"c{category.id}")
        form.queue_id.choices = routable
        rows.append((category, form))
    states = [(q, len(queues.keyholders(session, q)), queues.lacking_access(session, q))
              for q in all_queues]
    failed = dict([bad_settings]) if bad_settings else {}
    settings = [(q, failed.get(q.id) or _settings_form(q)) for q in all_queues]
    return render_template(
        "casework/routing.html", rows=rows, states=states,
        settings=settings,
        escalation_form=escalation_form or EscalationForm(formdata=None),
        has_escalation=any(q.is_escalation for q in all_queues),
    ), status


@bp.route("/")
@roles_required(Role.admin)
def routing() -> tuple[str, int]:
    """The routing table and the queues' states."""
    return _page()


@bp.route("/<id:category_id>", methods=["POST"])
@roles_required(Role.admin)
def set_route(category_id: int) -> Response | tuple[str, int]:
    """Route one category to a queue, or take it off the form."""
    form = RouteForm(prefix=f"c{category_id}")
    form.queue_id.choices = _routable(queues.all_queues(db.session()))
    if not form.validate_on_submit() or form.queue_id.data is None:
        flash(_("Choose a queue."), "error")
        return redirect(url_for("routing.routing"), code=303)
    try:
        category = queues.set_route(db.session(), category_id, form.queue_id.data,
                                    bool(form.active.data), require_staff().actor)
    except queues.QueueError as exc:
        flash(message_of(exc), "error")
    else:
        flash(_("Routing of “%(name)s” saved.", name=category.name_zh), "ok")
    return redirect(url_for("routing.routing"), code=303)


@bp.route("/escalation", methods=["POST"])
@roles_required(Role.admin)
def create_escalation() -> Response | tuple[str, int]:
    """Configure the escalation queue; it gets its keys from `queues init`."""
    form = EscalationForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        queues.create_escalation_queue(db.session(), form.name_zh.data or "",
                                       form.name_en.data or "", require_staff().actor)
    except queues.QueueError as exc:
        form.name_zh.errors = [message_of(exc)]
        return _page(form, 400)
    flash(_("Escalation queue created. Run `flask --app wsgi queues init` to give it its keys; "
            "until then the question on the form is not shown."), "ok")
    return redirect(url_for("routing.routing"), code=303)


@bp.route("/queues/<id:queue_id>", methods=["POST"])
@roles_required(Role.admin)
def queue_settings(queue_id: int) -> Response | tuple[str, int]:
    """A queue's dispositions, deadlines and sign-off rule."""
    form = QueueSettingsForm(prefix=f"q{queue_id}")
    if form.validate_on_submit():
        settings = queues.QueueSettings(
            queues.parse_dispositions(form.dispositions.data or ""), form.decision_days.data or 0,
            form.transfer_days.data or 0, form.conclusion_days.data or 0,
            form.notice_days.data or 0, bool(form.signoff_required.data))
        try:
            queue = queues.update_settings(db.session(), queue_id, settings,
                                           require_staff().actor)
        except queues.QueueError as exc:
            if exc.code == "no-such-queue":
                abort(404)
            form.dispositions.errors = [message_of(exc)]
        else:
            flash(_("Settings of %(name)s saved; running deadlines keep their dates.",
                    name=queue.name_zh), "ok")
            return redirect(url_for("routing.routing"), code=303)
    return _page(status=400, bad_settings=(queue_id, form))
