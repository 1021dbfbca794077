"""Security headers on every response (DESIGN.md, "Web hardening"), a bound on the request
bodies one process reads at once, and the "busy, try again" page."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l

from portal import state
from portal.config import Config

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Set per response by views that are public and cacheable (notices, feed, API).
PUBLIC_CACHE_FLAG = "portal_public_cache"


# How long a refused client is asked to wait (Retry-After, and the page says "a minute").
RETRY_AFTER_SECONDS = 60
BUSY_TITLE = _l("The portal is busy")
BUSY_MESSAGE = _l("Too many people are using the portal right now. Nothing you sent was kept. "
                  "Please try again in a minute.")


def busy(status: int) -> Response:
    """The "busy, try again in a minute" page (503, or 429 for a ceiling), with Retry-After.
    Rendered without reading the request's body, in the page language."""
    if request.path.startswith("/api/"):
        response = jsonify(error=str(BUSY_TITLE), status=status)
        response.status_code = status
    else:
        html = render_template("error.html", code=status, title=BUSY_TITLE,
                               message=BUSY_MESSAGE)
        response = Response(html, status=status, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


BAD_HOST_TITLE = _l("This address is not served here")
BAD_HOST_MESSAGE = _l("The address you used is not one of this portal's. Please open the "
                      "portal at its official address.")
# Development and tests (no PORTAL_PUBLIC_URL): only these names are served.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST = re.compile(r"(?P<name>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
_BAD_HOST = "portal.bad_host"


class HostGuard:
    """WSGI middleware, outermost: the request's host decides nothing (#21, item 10).

    A request for a configured address (PORTAL_PUBLIC_URL, PORTAL_EXTRA_PUBLIC_URLS) gets that
    address's host, port and scheme in its environment, whatever the port in its Host header
    or its X-Forwarded-Proto said, so every absolute link (`url_for(..., _external=True)`) and
    every public page's cache key names the configured address. X-Forwarded-Host is never
    read (ProxyFix is set up without `x_host`). Any other host is marked, given a configured
    one, and answered with the 400 page by `_refuse_bad_host`. Without a configured address
    (development, tests) loopback names are served as they came.
    """

    def __init__(self, app: WSGIApplication, urls: Iterable[str]) -> None:
        self.app = app
        self.sites: dict[str, tuple[str, str]] = {}  # host name → (scheme, netloc)
        for url in urls:
            parts = urlsplit(url)
            self.sites.setdefault(parts.hostname or "", (parts.scheme, parts.netloc.lower()))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        raw = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").lower()
        found = _HOST.fullmatch(raw)
        name = found["name"].rstrip(".") if found else ""
        if found and found["port"] and not 0 < int(found["port"]) < 65536:
            name = ""
        if self.sites:
            site = self.sites.get(name)
            if site is None:
                environ[_BAD_HOST] = True
                site = next(iter(self.sites.values()))
            scheme, netloc = site
            environ["HTTP_HOST"] = netloc
            environ["wsgi.url_scheme"] = scheme
            if "HTTP_X_FORWARDED_PROTO" in environ:
                environ["HTTP_X_FORWARDED_PROTO"] = scheme  # ProxyFix would set it again
        elif name not in LOOPBACK_HOSTS:
            environ[_BAD_HOST] = True
            environ["HTTP_HOST"] = "localhost"
        return self.app(environ, start_response)


def _bad_host_page() -> Response:
    if request.path.startswith("/api/"):
        response = jsonify(error=str(BAD_HOST_TITLE), status=400)
        response.status_code = 400
        return response
    html = render_template("error.html", code=400, title=BAD_HOST_TITLE,
                           message=BAD_HOST_MESSAGE)
    return Response(html, status=400, mimetype="text/html")


def _check_public_url(app: Flask, config: Config) -> None:
    """Without PORTAL_PUBLIC_URL only loopback names are served (HostGuard): fine for
    `make run` and the CLI, and loud in production, where every page answers 400."""
    if not config.public_url and config.secure_cookies and not config.testing:
        app.logger.warning(
            "PORTAL_PUBLIC_URL is not set: only localhost, 127.0.0.1 and [::1] are served and "
            "every other host gets 400; set it to the site's address (e.g. "
            "https://jubao.example.gov.cn)")


# How long a request with a body waits for a free slot before the "busy" page.
BODY_SLOT_WAIT_SECONDS = 10


def _has_body(method: str) -> bool:
    return method not in ("GET", "HEAD", "OPTIONS") and (
        bool(request.content_length) or bool(request.headers.get("Transfer-Encoding")))


def init_app(app: Flask) -> None:
    """Install the host guard, the body-reader bound and the after-request hook that
    hardens every response."""
    config = state.config(app)
    secure = config.secure_cookies
    _check_public_url(app, config)
    app.wsgi_app = HostGuard(app.wsgi_app, config.public_urls)  # type: ignore[method-assign]
    if config.public_urls:
        # Flask's own check as a second line: after the guard, only these names arrive.
        app.config["TRUSTED_HOSTS"] = [urlsplit(u).hostname for u in config.public_urls]

    @app.before_request
    def _refuse_bad_host() -> Response | None:
        return _bad_host_page() if request.environ.get(_BAD_HOST) else None
    # A body arrives as slowly as its sender sends it (nginx streams uploads): each one holds
    # a gunicorn thread while it is read. Claimed before anything reads the body (CSRF,
    # forms); released when the request ends. Per process, like gunicorn's threads.
    readers = state.config(app).body_readers_per_process
    body_slots = threading.BoundedSemaphore(readers)
    # An honest burst waits a little for a slot instead of being turned away at once; only
    # half as many requests as there are slots may wait, so waiting never takes every thread.
    waiting_room = threading.BoundedSemaphore(max(1, readers // 2))

    def _slot() -> bool:
        if body_slots.acquire(blocking=False):
            return True
        if not waiting_room.acquire(blocking=False):
            return False
        try:
            return body_slots.acquire(timeout=BODY_SLOT_WAIT_SECONDS)
        finally:
            waiting_room.release()

    @app.before_request
    def _claim_body_slot() -> Response | None:
        if not _has_body(request.method):
            return None
        if not _slot():
            # The body stays unread. gunicorn lingers on closing a connection with unread
            # bytes (up to 2 s in its main loop) for a sender that keeps sending: stop
            # reading now, so the refusal costs no thread and no wait.
            sock = request.environ.get("gunicorn.socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)
            return busy(503)
        g.portal_body_slot = True
        return None

    @app.teardown_request
    def _free_body_slot(_exc: BaseException | None) -> None:
        if g.pop("portal_body_slot", False):
            body_slots.release()

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["Content-Security-Policy"] = CSP
        h["Referrer-Policy"] = "no-referrer"
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.blueprint == "api" or request.path.startswith("/api/"):
            h["Cross-Origin-Resource-Policy"] = "cross-origin"
            h["Access-Control-Allow-Origin"] = "*"
        else:
            h["Cross-Origin-Resource-Policy"] = "same-origin"
        if secure:
            h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if not getattr(response, PUBLIC_CACHE_FLAG, False) and request.endpoint != "static":
            h["Cache-Control"] = "no-store"
        return response
