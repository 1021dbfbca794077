"""Security headers on every response (DESIGN.md, "Web hardening"), a bound on the request
bodies one process reads at once, and the "busy, try again" page."""

from __future__ import annotations

import contextlib
import socket
import threading

from flask import Flask, Response, g, render_template, request
from flask_babel import lazy_gettext as _l

from portal import state

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
    html = render_template("error.html", code=status, title=BUSY_TITLE, message=BUSY_MESSAGE)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _has_body(method: str) -> bool:
    return method not in ("GET", "HEAD", "OPTIONS") and (
        bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", ""))


def init_app(app: Flask) -> None:
    """Install the body-reader bound and the after-request hook that hardens every response."""
    secure = state.config(app).secure_cookies
    # A body arrives as slowly as its sender sends it (nginx streams uploads): each one holds
    # a gunicorn thread while it is read. Claimed before anything reads the body (CSRF,
    # forms); released when the request ends. Per process, like gunicorn's threads.
    body_slots = threading.BoundedSemaphore(state.config(app).body_readers_per_process)

    @app.before_request
    def _claim_body_slot() -> Response | None:
        if not _has_body(request.method):
            return None
        if not body_slots.acquire(blocking=False):
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
