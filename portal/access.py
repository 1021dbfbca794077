"""Deny by default: every view declares who may reach it, or nobody can.

A view is marked `@public`, `@staff_required` (any logged-in staff member) or
`@roles_required(...)`. A route without a mark refuses every request, so a new route is
protected until someone decides otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from portal import accounts, db, state
from portal.accounts import CurrentStaff

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
ANY_STAFF = "staff"
STAFF_COOKIE = "portal_staff"
STAFF_COOKIE_PATH = "/staff"


def public(view: F) -> F:
    """Anyone may reach this view; it must not depend on who is asking."""
    view.portal_access = PUBLIC  # type: ignore[attr-defined]
    return view


def staff_required(view: F) -> F:
    """Any logged-in staff member may reach this view."""
    view.portal_access = ANY_STAFF  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only staff holding one of these roles may reach this view."""

    def mark(view: F) -> F:
        view.portal_access = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def access_rule(endpoint: str) -> object:
    """The access mark of an endpoint (None when it has none and is therefore refused)."""
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "portal_access", None)


def current_staff() -> CurrentStaff | None:
    """The logged-in staff member of this request, if any (staff views only)."""
    return g.get("staff")


def require_staff() -> CurrentStaff:
    """The logged-in staff member; only called from views marked for staff."""
    staff = current_staff()
    if staff is None:
        abort(401)
    return staff


def init_app(app: Flask) -> None:
    """Install the before-request gate."""

    @app.before_request
    def _gate() -> Response | None:
        if state.secrets_or_none(app) is None:
            abort(503, description="not-initialised")
        if request.endpoint is None:
            return None  # 404/405 follow
        rule = access_rule(request.endpoint)
        if rule == PUBLIC:
            return None
        if rule is None:
            app.logger.error("route %s has no access rule; refused", request.endpoint)
            abort(403)
        staff = accounts.load_session(db.session(), request.cookies.get(STAFF_COOKIE))
        if staff is None:
            if request.method == "GET":
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            abort(401)
        g.staff = staff
        if isinstance(rule, frozenset) and not staff.roles.intersection(rule):
            abort(403)
        return None

    @app.before_request
    def _reject_undecodable_input() -> None:
        # NUL cannot be stored (PostgreSQL refuses it) and is never typed by a person.
        if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
            abort(400, description="bad-encoding")
        if request.method == "POST" and (
            not _form_is_utf8() or any("\x00" in v for v in request.form.values())
        ):
            abort(400, description="bad-encoding")


def _form_is_utf8() -> bool:
    """Whether every submitted form value is valid UTF-8.

    Werkzeug keeps invalid percent-escapes literally and turns invalid multipart bytes into
    U+FFFD; either way such a form is refused whole rather than stored with mangled text.
    """
    if request.mimetype == "application/x-www-form-urlencoded":
        # The form's own size limit first: the raw body is read whole here (the request cap is
        # hundreds of megabytes), and decoding 30 MB of escapes costs seconds and gigabytes.
        limit = current_app.config.get("MAX_FORM_MEMORY_SIZE")
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)
        body = request.get_data(cache=True)
        try:
            for pair in body.split(b"&"):
                unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return not any("\ufffd" in v for v in request.form.values())
