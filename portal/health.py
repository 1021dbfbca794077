"""`/healthz` for load balancers: 200 while the database answers `SELECT 1`, 503 otherwise.

The answer is the status and nothing else: no body, no version, no database error, so a probe
learns only whether to send traffic here. An instance without its secrets (before
`portal init`) answers every request 503 from the access gate; this route says so bare too.
"""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from portal import db
from portal.access import public
from portal.http_cache import shared_page

bp = Blueprint("health", __name__)


def _bare(status: int) -> Response:
    # security.py adds Cache-Control: no-store, as on every uncacheable response.
    return Response(status=status, mimetype="text/plain")


# A shared page opens no session (no cookie is read or set) and carries no per-client rate
# limit, so a probe every few seconds neither counts against nor uses up anything.
@bp.get("/healthz")
@public
@shared_page
def healthz() -> Response:
    """200 when the database answers, 503 when it does not; an empty body either way."""
    try:
        with db.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        # Not logged: the probe repeats every few seconds, and the outage shows in the
        # requests that need the database (errors.py logs those).
        return _bare(503)
    return _bare(200)


@bp.errorhandler(503)
def _unavailable(_exc: HTTPException) -> Response:
    """The gate's 503 of an uninitialised instance, without the error page."""
    return _bare(503)
