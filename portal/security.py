"""Security headers on every response (DESIGN.md, "Web hardening")."""

from __future__ import annotations

from flask import Flask, Response, request

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


def init_app(app: Flask) -> None:
    """Install the after-request hook that hardens every response."""
    secure = state.config(app).secure_cookies

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
