"""`/healthz` for load balancers: 200 while the database answers `SELECT 1` and the
installation's integrity checks hold, 503 otherwise.

The answer is the status and nothing else: no body, no version, no database error, and not
which check failed, so a probe learns only whether to send traffic here. An instance without its
secrets (before `portal init`) answers every request 503 from the access gate; this route says
so bare too.

The integrity checks (#22): the instance secrets belong to the database (its marker,
portal.marker), and the features' own checks hold (casework: every queue key's and the recovery
key's MAC verifies). They cost a few queries, so each process runs them at most every
CHECK_SECONDS and answers from the last result in between. Secrets found not to belong to the
database make every request of this server a 503, not only the probe.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from portal import db, marker, state
from portal.access import public
from portal.http_cache import shared_page

bp = Blueprint("health", __name__)

CHECK_SECONDS = 30
_LAST = "portal.health_checked"


def _integrity_holds(app: Flask) -> bool:
    """The secrets belong to the database and every feature's check holds."""
    engine = db.engine()
    status = marker.ensure(app, engine, state.secrets(app))
    if status == marker.Status.mismatch:
        marker.set_status(app, status)
        app.logger.error("the instance secrets do not belong to the database: every request "
                         "is refused (run `flask --app wsgi portal init` for what to copy from "
                         "where)")
    if status != marker.Status.ok:
        return False
    checks = [check for feature in state.features(app) for check in feature.health_checks]
    with Session(engine) as session:
        return all(check(session) for check in checks)


def _sound() -> bool:
    """The integrity checks' last result, run again when older than CHECK_SECONDS."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    now = time.time()
    last: tuple[float, bool] | None = app.extensions.get(_LAST)
    if last is not None and 0 <= now - last[0] < CHECK_SECONDS:
        return last[1]
    try:
        sound = _integrity_holds(app)
    except SQLAlchemyError:
        sound = False
    app.extensions[_LAST] = (now, sound)
    return sound


def _bare(status: int) -> Response:
    # security.py adds Cache-Control: no-store, as on every uncacheable response.
    return Response(status=status, mimetype="text/plain")


# A shared page opens no session (no cookie is read or set) and carries no per-client rate
# limit, so a probe every few seconds neither counts against nor uses up anything.
@bp.get("/healthz")
@public
@shared_page
def healthz() -> Response:
    """200 when the database answers and the integrity checks hold, 503 when not; an empty
    body either way."""
    try:
        with db.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        # Not logged: the probe repeats every few seconds, and the outage shows in the
        # requests that need the database (errors.py logs those).
        return _bare(503)
    return _bare(200 if _sound() else 503)


@bp.errorhandler(503)
def _unavailable(_exc: HTTPException) -> Response:
    """The gate's 503 of an uninitialised instance, without the error page."""
    return _bare(503)
