"""The shell of the portal: the application factory.

The shell imports no feature package. The application with every feature is assembled above
them (the `application` package), which passes the features' registrations here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO

from flask import Flask, Request, Response
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from portal import access, cli, db, errors, http_cache, i18n, logs, ratelimit, security, state
from portal.access import public
from portal.admin import bp as admin_bp
from portal.admin import roles_bp
from portal.auth_views import ACCOUNT_ERRORS
from portal.auth_views import bp as auth_bp
from portal.config import Config, InstanceSecrets, NotInitialised
from portal.constants import MAX_ID, ROOT
from portal.extensions import csrf, limiter
from portal.features import Feature
from portal.forms import ROLE_LABELS
from portal.health import bp as health_bp

__all__ = ["Feature", "create_app"]

# The shell's own pages; the features' come after them, in the order given.
SHELL_BLUEPRINTS = (auth_bp, admin_bp, roles_bp, health_bp)


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


class RowIdConverter(IntegerConverter):
    """`<rowid:…>`: the id of a row that carries a random 64-bit id (evidence files; #21,
    item 7): 1 … 2⁶³−1."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=2**63 - 1)


@public
def _no_favicon() -> Response:
    """Browsers ask for /favicon.ico by themselves: an empty answer instead of a 404 in every
    visitor's console."""
    return Response(status=204)


def create_app(config: Config | None = None, features: Sequence[Feature] = ()) -> Flask:
    """Build the portal from a configuration (default: PORTAL_* variables) and the features
    to serve (none: the shell alone; `application.create_app` passes every feature)."""
    app = configure(config or Config.from_env())
    init_extensions(app)
    register_blueprints(app, features)
    register_commands(app, features)
    subscribe(app, features)
    state.set_error_tables(app, (ACCOUNT_ERRORS, *(f.errors for f in features if f.errors)))
    # Last: the instance's secrets belong to its database, a production instance has its
    # database URL; every command checks the same before it runs (#22, items 1 and 2).
    cli.check_at_start(app)
    return app


def configure(config: Config) -> Flask:
    """The Flask object with the configuration, the instance secrets and Flask's settings."""
    app = Flask(
        __name__,
        instance_path=str(config.instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    state.set_config(app, config)
    app.request_class = MemoryRequest
    # Row ids in URLs: positive and within a 32-bit column, so a huge id is a 404, not a 500.
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["rowid"] = RowIdConverter
    if config.proxy_count:
        n = config.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    try:
        secrets: InstanceSecrets | None = InstanceSecrets.load(config.instance_path)
    except NotInitialised:
        secrets = None  # only `portal init` can run; requests get a 503 page
    state.set_secrets(app, secrets)
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
        # Fixed windows keep one count per key, no time per request (docs/security.md).
        RATELIMIT_STRATEGY="fixed-window",
        TEMPLATES_AUTO_RELOAD=False,
    )
    return app


def init_extensions(app: Flask) -> None:
    """Logging, database, languages, headers, caches, the access gate, limits, CSRF, errors."""
    # Order matters: the access gate refuses before CSRF or rate limits are even considered.
    logs.init_app(app)
    db.init_app(app, state.config(app).database_url)
    i18n.init_app(app)
    security.init_app(app)
    http_cache.init_app(app)
    access.init_app(app)
    # Per-view limits are checked when the view runs, after the CSRF check: only requests
    # with a valid token count, and an over-limit client is refused before any work is done.
    limiter.init_app(app)
    ratelimit.check_store(app, limiter.storage)
    csrf.init_app(app)
    errors.init_app(app)


def register_blueprints(app: Flask, features: Sequence[Feature]) -> None:
    """The shell's pages, then each feature's, from one list."""
    for blueprint in (*SHELL_BLUEPRINTS, *(bp for f in features for bp in f.blueprints)):
        app.register_blueprint(blueprint)
    app.add_url_rule("/favicon.ico", "favicon", _no_favicon)
    app.jinja_env.globals["role_labels"] = ROLE_LABELS
    # The layout's home link: the public home page a feature serves, else the staff home.
    app.jinja_env.globals["home_endpoint"] = next(
        (f.home for f in features if f.home), "auth.home")
    # Templates link to other packages' pages only once those pages exist.
    app.jinja_env.globals["has_endpoint"] = app.view_functions.__contains__


def register_commands(app: Flask, features: Sequence[Feature]) -> None:
    """The shell's command groups, then each feature's; `portal init` and `portal demo` run
    the features' steps in the order given."""
    cli.init_app(app)
    for feature in features:
        for group in feature.commands:
            app.cli.add_command(group)
    state.set_features(app, tuple(features))


def subscribe(app: Flask, features: Sequence[Feature]) -> None:
    """Let each feature connect its receivers to the shell's events for this application."""
    for feature in features:
        if feature.subscribe is not None:
            feature.subscribe(app)
