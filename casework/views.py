"""Queue pages and case pages for queue members."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.access import roles_required
from portal.models import Role

bp = Blueprint("casework", __name__, url_prefix="/staff/cases")

QUEUE_ROLES = (Role.org_handler, Role.org_head, Role.dic_handler, Role.dic_head)


@bp.route("/")
@roles_required(*QUEUE_ROLES)
def cases() -> str:
    """The cases of the member's queue."""
    return render_template("casework/cases.html")
