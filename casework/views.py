"""Queue pages and case pages for queue members."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from casework import service
from casework.models import Case
from portal import db
from portal.access import require_staff, roles_required
from portal.models import Role

bp = Blueprint("casework", __name__, url_prefix="/staff/cases")

QUEUE_ROLES = (Role.org_handler, Role.org_head, Role.dic_handler, Role.dic_head,
               Role.escalation_handler)


@bp.route("/")
@roles_required(*QUEUE_ROLES)
def cases() -> str:
    """The cases of the member's queue."""
    return render_template("casework/cases.html")


@bp.route("/<case_no>/files/<id:file_id>")
@roles_required(*QUEUE_ROLES)
def download(case_no: str, file_id: int) -> Response:
    """An evidence file, only ever as a download (never rendered inline); audited."""
    session = db.session()
    case = session.scalar(select(Case).where(Case.case_no == case_no[:20]))
    if case is None:
        abort(404)
    try:
        name, data = service.download_file(session, require_staff(), case, file_id)
    except service.CaseError as exc:
        abort(404 if exc.code == "no-such-file" else 403)
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"evidence-{file_id}\"; filename*=UTF-8''{quote(name)}")
    return response  # nosniff, CSP and no-store come from portal.security
