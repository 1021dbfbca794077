"""Queue key pages for heads: grant a member after a fingerprint check, revoke a member (which
rotates the queue at once), rotate the queue's key (DESIGN.md, "Grants, revocation, rotation").

The forms live here rather than in casework/forms.py because they belong to these pages only.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from casework import keys, queues
from portal import clock, db
from portal.access import require_staff, roles_required
from portal.errors import message_of
from portal.forms import ConfirmForm
from portal.models import Role

bp = Blueprint("queue_keys", __name__, url_prefix="/staff/queues")

# The head roles of the default queues and of the escalation queue; which queue a head heads is
# checked against the queue's own `head_role` in the service.
HEAD_ROLES = (Role.org_head, Role.dic_head, Role.escalation_handler)
# Refusals shown as an error page; every other refusal re-renders the key page with a 409.
ERROR_STATUS = {"no-such-queue": 404, "no-such-member": 404, "not-a-head": 403}


class GrantForm(FlaskForm):
    """The fingerprint a member read out to the head."""

    fingerprint = StringField(
        _l("Fingerprint the member read out to you"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("They find it on their own staff home page. Spaces and dashes do not "
                       "matter."))


class RevokeForm(FlaskForm):
    """Why a member's access is revoked (audited)."""

    reason = TextAreaField(_l("Reason (recorded in the audit log)"),
                           validators=[DataRequired(), Length(max=keys.REASON_MAX)])


def _refused(exc: queues.QueueError) -> None:
    if exc.code in ERROR_STATUS:
        abort(ERROR_STATUS[exc.code])


def _page(queue_slug: str, *, form: FlaskForm | None = None, user_id: int | None = None,
          error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The key page; `form` (with its errors) replaces the fresh form of row `user_id`."""
    session, staff = db.session(), require_staff()
    try:
        view = keys.queue_keys_view(session, staff, queue_slug[:32], clock.today())
    except queues.QueueError as exc:
        _refused(exc)
        raise
    grants = [(m, form if isinstance(form, GrantForm) and user_id == m.user.id
               else GrantForm(formdata=None, prefix=f"g{m.user.id}")) for m in view.lacking]
    revokes = [(u, usable, form if isinstance(form, RevokeForm) and user_id == u.id
                else RevokeForm(formdata=None, prefix=f"r{u.id}")) for u, usable in view.holders]
    others = [q for q in keys.headed_queues(session, staff) if q.id != view.queue.id]
    return render_template("casework/keys.html", view=view, grants=grants, revokes=revokes,
                           confirm=ConfirmForm(formdata=None), error=error, staff=staff,
                           others=others), status


def _back(queue_slug: str) -> Response:
    return redirect(url_for("queue_keys.page", queue_slug=queue_slug), code=303)


@bp.route("/")
@roles_required(*HEAD_ROLES)
def index() -> Response:
    """The key page of the first queue this person heads (each page links the others)."""
    headed = keys.headed_queues(db.session(), require_staff())
    if not headed:
        abort(404)  # e.g. an escalation handler before the escalation queue is configured
    return _back(headed[0].slug)


@bp.route("/<queue_slug>/keys")
@roles_required(*HEAD_ROLES)
def page(queue_slug: str) -> tuple[str, int]:
    """A queue's key page: members waiting for a grant, keyholders, rotation."""
    return _page(queue_slug)


@bp.route("/<queue_slug>/keys/grant/<id:user_id>", methods=["POST"])
@roles_required(*HEAD_ROLES)
def grant(queue_slug: str, user_id: int) -> Response | tuple[str, int]:
    """Grant a member the queue key once the fingerprint they read out matches."""
    form = GrantForm(prefix=f"g{user_id}")
    if not form.validate_on_submit():
        return _page(queue_slug, form=form, user_id=user_id, status=400)
    try:
        user = keys.grant(db.session(), require_staff(), queue_slug[:32], user_id,
                          form.fingerprint.data or "")
    except queues.QueueError as exc:
        _refused(exc)
        if exc.code == "fingerprint-mismatch":
            form.fingerprint.errors = [message_of(exc)]
            return _page(queue_slug, form=form, user_id=user_id, status=409)
        return _page(queue_slug, error=message_of(exc), status=409)
    flash(_("%(name)s can now open this queue's cases.", name=user.username), "ok")
    return _back(queue_slug)


@bp.route("/<queue_slug>/keys/revoke/<id:user_id>", methods=["POST"])
@roles_required(*HEAD_ROLES)
def revoke(queue_slug: str, user_id: int) -> Response | tuple[str, int]:
    """Withdraw a member's access; the queue key is rotated at once."""
    form = RevokeForm(prefix=f"r{user_id}")
    if not form.validate_on_submit():
        return _page(queue_slug, form=form, user_id=user_id, status=400)
    try:
        report = keys.revoke(db.session(), require_staff(), queue_slug[:32], user_id,
                             form.reason.data or "")
    except queues.QueueError as exc:
        _refused(exc)
        return _page(queue_slug, error=message_of(exc), status=409)
    flash(_("Access revoked. The queue key was rotated to epoch %(n)s and %(c)s case(s) were "
            "re-sealed; the revoked member's old key opens none of them.",
            n=report.epoch, c=report.cases), "ok")
    return _back(queue_slug)


@bp.route("/<queue_slug>/keys/rotate", methods=["POST"])
@roles_required(*HEAD_ROLES)
def rotate(queue_slug: str) -> Response | tuple[str, int]:
    """Rotate the queue key now, from this head's own grant."""
    if not ConfirmForm().validate_on_submit():
        return _page(queue_slug, status=400)
    staff = require_staff()
    try:
        report = keys.rotate(db.session(), queue_slug[:32], staff=staff, actor=staff.actor)
    except queues.QueueError as exc:
        _refused(exc)
        return _page(queue_slug, error=message_of(exc), status=409)
    flash(_("The queue key was rotated to epoch %(n)s; %(c)s case(s) were re-sealed.",
            n=report.epoch, c=report.cases), "ok")
    return _back(queue_slug)
