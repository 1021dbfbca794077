"""Error pages in the page language; never a traceback. Domain errors: one base class, one
table of messages and statuses per package, one handler.

A service refuses a use case by raising a `DomainError` subclass with a code (and parameters
for its message). Each package declares one table, `ErrorTable`: for each of its error types,
code → (lazy message, HTTP status); the features hand their tables to the shell (see
`portal.features.Feature.errors`). A view that re-renders a form puts `message_of(exc)` on it;
any other domain error reaches the single handler registered here, which renders the error
page with the table's message and status. The service's transaction has already rolled back
(`portal.db.transaction`): nothing is half-written, and no view rolls back by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeAlias

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from portal import logs, state

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please log in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("What you sent is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is not available"),
}
MESSAGES = {
    400: _l("Please go back, check what you entered and try again."),
    401: _l("This page is for staff. Please log in first."),
    403: _l("If you think you should have access, ask an administrator."),
    404: _l("The address may be mistyped, or the page was removed."),
    405: _l("Please go back and use the buttons on the page."),
    413: _l("Files and text together exceed the size limit. Send fewer or smaller files."),
    429: _l("Please wait a while before trying again."),
    500: _l("Nothing you did caused this. Please try again in a few minutes."),
    503: _l("Please try again later."),
}
# Specific explanations raised with abort(code, description=<key>).
DETAILS = {
    "csrf": _l(
        "The form expired or was opened in another window. Reload the page and send it again."
    ),
    "unsupported-language": _l("This language is not supported. Choose 中文 or English."),
    "bad-encoding": _l("The form contained characters that are not valid UTF-8 text."),
    "no-queue": _l("Your role belongs to a queue that has not been configured yet."),
    "intake-closed": _l(
        "Reports of this kind cannot be received online yet: the receiving office has not "
        "finished setting up. Please use the telephone line 12380, a letter or a visit, or try "
        "again later. Nothing you typed was kept."
    ),
    "honeypot": _l("The form could not be accepted. Please reload the page and fill it in again."),
    "db-interrupted": _l(
        "The connection to the database was interrupted. Nothing was saved. "
        "Please send the form again, or try again in a minute."
    ),
    "not-initialised": _l(
        "The portal is not initialised yet. An administrator must run: flask --app wsgi portal init"
    ),
}



class DomainError(Exception):
    """A use case refused for a reason the user is told; `code` names the reason and `params`
    fill in its message (the package's table holds both the message and the HTTP status)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# A message: a lazy string (formatted with the error's parameters), or a function of the
# parameters for one that needs more than formatting.
Message: TypeAlias = LazyString | Callable[[Mapping[str, object]], str]
Entry: TypeAlias = tuple[Message, int]
# One package's table: for each of its error types, code → (message, HTTP status). The code
# FALLBACK, when present, answers for a code the section does not list.
ErrorTable: TypeAlias = Mapping[type[DomainError], Mapping[str, Entry]]
FALLBACK = "*"
UNKNOWN: Entry = (_l("The request could not be completed."), 400)


def _entry(exc: DomainError) -> Entry:
    tables = state.error_tables()
    for kind in type(exc).__mro__:  # the most specific error type first
        for table in tables:
            section = table.get(kind)
            if section is not None:
                found = section.get(exc.code) or section.get(FALLBACK)
                if found is not None:
                    return found
    return UNKNOWN


def describe(exc: DomainError) -> tuple[str, int]:
    """The message of a domain error in the page language, and its HTTP status."""
    message, status = _entry(exc)
    if isinstance(message, LazyString):
        text = str(message)
        return (text % exc.params if exc.params else text), status
    return message(exc.params), status


def message_of(exc: DomainError) -> str:
    """The message of a domain error in the page language (for a form or a flash)."""
    return describe(exc)[0]


def _render(code: int, detail: str | None = None,
            message: str | None = None) -> tuple[Response | str, int]:
    if request.path.startswith("/api/"):
        return jsonify(error=str(TITLES.get(code, code)), status=code), code
    if message is None:
        message = DETAILS.get(detail or "", MESSAGES.get(code, ""))
    html = render_template("error.html", code=code, title=TITLES.get(code, ""), message=message)
    return html, code


def init_app(app: Flask) -> None:
    """Register handlers for domain errors, every HTTP error and unexpected exceptions."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> tuple[Response | str, int]:
        message, status = describe(exc)
        return _render(status, message=message)

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> tuple[Response | str, int]:
        return _render(400, "csrf")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response | str, int] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        detail = exc.description if exc.description in DETAILS else None
        return _render(exc.code, detail)

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> tuple[Response | str, int]:
        # A cut connection, a restarted server or a lock that outlasted its wait: the request's
        # transaction was rolled back, so the page says nothing was kept and to send it again.
        # The pool discards the connection; the next request gets a fresh one.
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            kind = type(exc.orig).__name__
            if logs.is_reporter_path(request.path):
                # A line at the moment of the failure would date a filing: counted per hour.
                state.hourly_counts().add(kind)
            else:
                app.logger.warning("database unavailable (%s) on %s", kind, request.endpoint)
            return _render(503, "db-interrupted")
        return _unexpected(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int]:
        # Logged without request data: no addresses, no form content.
        app.logger.exception("unhandled %s on %s", type(exc).__name__, request.endpoint)
        return _render(InternalServerError.code)
