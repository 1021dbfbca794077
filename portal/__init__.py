"""The shell of the portal: the application factory."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

from flask import Flask, Request, Response
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from portal.access import public
from portal.config import Config, InstanceSecrets, NotInitialised

ROOT = Path(__file__).resolve().parent.parent
MAX_ID = 2**31 - 1


class MemoryRequest(Request):
    """Uploads stay in memory: a file is never spooled to disk in clear (DESIGN.md)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None,
                         content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()


class IdConverter(IntegerConverter):
    """`<id:…>`: a database row id (1 … 2³¹−1)."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


@public
def _no_favicon() -> Response:
    """Browsers ask for /favicon.ico by themselves: an empty answer instead of a 404 in every
    visitor's console."""
    return Response(status=204)


def create_app(config: Config | None = None) -> Flask:
    """Build the portal application from a configuration (default: PORTAL_* variables)."""
    from portal import access, cli, db, errors, http_cache, i18n, logs, security
    from portal.extensions import csrf, limiter
    from portal.forms import ROLE_LABELS

    config = config or Config.from_env()
    app = Flask(
        __name__,
        instance_path=str(config.instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.extensions["portal.config"] = config
    app.request_class = MemoryRequest
    # Row ids in URLs: positive and within a 32-bit column, so a huge id is a 404, not a 500.
    app.url_map.converters["id"] = IdConverter
    if config.proxy_count:
        n = config.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    try:
        secrets = InstanceSecrets.load(config.instance_path)
    except NotInitialised:
        secrets = None  # only `portal init` can run; requests get a 503 page
    app.extensions["portal.secrets"] = secrets
    app.config.update(
        SECRET_KEY=secrets.secret_key if secrets else None,
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=config.max_form_memory_bytes,
        SESSION_COOKIE_NAME="portal_form",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        # The form cookie only carries CSRF tokens; the public report form allows slow users.
        PERMANENT_SESSION_LIFETIME=24 * 3600,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        # Referrer-Policy is no-referrer, so the Referer check would refuse every HTTPS form;
        # the per-session token plus SameSite=Strict cookies carry the CSRF protection.
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=config.ratelimit_storage_uri,
        # A dead shared store degrades to per-process limits (logged) instead of refusing
        # reports; a hung one is given up on after a second instead of holding the worker.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STORAGE_OPTIONS=(
            {"socket_timeout": 1, "socket_connect_timeout": 1}
            if config.ratelimit_storage_uri.startswith(("redis", "rediss")) else {}
        ),
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_STRATEGY="moving-window",
        TEMPLATES_AUTO_RELOAD=False,
    )

    # Order matters: the access gate refuses before CSRF or rate limits are even considered.
    logs.init_app(app)
    db.init_app(app, config.database_url)
    i18n.init_app(app)
    security.init_app(app)
    http_cache.init_app(app)
    access.init_app(app)
    # Per-view limits are checked when the view runs, after the CSRF check: only requests
    # with a valid token count, and an over-limit client is refused before any work is done.
    limiter.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    cli.init_app(app)

    from casework.admin_views import bp as routing_bp
    from casework.keys_views import bp as queue_keys_bp
    from casework.supervision_views import bp as supervision_bp
    from casework.views import bp as casework_bp
    from intake.views import bp as intake_bp
    from portal.admin import bp as admin_bp
    from portal.auth_views import bp as auth_bp
    from portal.health import bp as health_bp
    from publicity.compliance.views import bp as compliance_bp
    from publicity.editor import bp as publicity_editor_bp
    from publicity.views import bp as publicity_bp

    blueprints = (publicity_bp, publicity_editor_bp, intake_bp, casework_bp, routing_bp,
                  queue_keys_bp, supervision_bp, auth_bp, admin_bp, compliance_bp, health_bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.add_url_rule("/favicon.ico", "favicon", _no_favicon)
    app.jinja_env.globals["role_labels"] = ROLE_LABELS
    # Templates link to other packages' pages only once those pages exist.
    app.jinja_env.globals["has_endpoint"] = app.view_functions.__contains__

    # Feature command groups, `portal init` steps and demo content, registered from one list
    # like the blueprints.
    from casework import deadlines, keys, queues
    from casework import demo as casework_demo
    from casework.cases_cli import cases_cli
    from casework.cli import queues_cli
    from publicity import demo as publicity_demo
    from publicity.cli import notices_cli

    for group in (notices_cli, queues_cli, cases_cli):
        app.cli.add_command(group)
    app.extensions["portal.init_steps"] = [queues.ensure_defaults]
    app.extensions["portal.demo_loaders"] = [publicity_demo.load, casework_demo.load]
    # Casework follows the calendar (deadlines) and accounts (a member who loses access
    # triggers a key rotation); the portal calls these hooks without importing casework.
    app.extensions["portal.calendar_hooks"] = [deadlines.recompute_open]
    app.extensions["portal.access_lost_hooks"] = [keys.on_access_lost]
    return app
