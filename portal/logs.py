"""Logging without client addresses: no IP reaches any log line, ours or the servers'."""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from flask import Flask, has_request_context, request

from portal import state
from portal.constants import ROOT

# IPv4 and bracketed/bare IPv6 addresses as they appear in server log lines.
_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
# Full eight-group form, or any compressed form (with "::"); clock times like 10:00:00 stay.
_IPV6 = (
    r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|[0-9a-fA-F:]*::[0-9a-fA-F:.]*)(?![\w:])"
)
_ADDRESS = re.compile(f"{_IPV4}|{_IPV6}")
# The portal's own log lines (the rate-limit store's, the hourly counts'), as operators read them.
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Request lines of the reporter's pages are not logged at all: their time would date a report.
# Matched in a request line passed as an argument (werkzeug) and in the whole message (gunicorn),
# after removing the ANSI colours werkzeug puts around every status line but a 200's.
_REPORTER_REQUEST_LINE = re.compile(r"[A-Z]+ /+report\b")
# Nor are the files those pages make the browser load (#22.4): the static files (pow.js is
# loaded by reporter pages only, so its line would be a reporter's line under another name)
# and the icon browsers ask for with every page. deploy/nginx/portal.conf's map does the same.
_UNLOGGED_REQUEST_LINE = re.compile(r"[A-Z]+ /+(?:report\b|static/|favicon\.ico\b)")
_UNLOGGED_REQUEST = re.compile(r'"[A-Z]+ /+(?:report\b|static/|favicon\.ico\b)')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# Lines that state where the server itself listens — configuration, not a client — keep their
# addresses (#22.9): gunicorn's master says where it listens at start-up and on a re-exec, and
# why it could not bind; the development server prints its banner. Recognised by the record's
# unformatted message (gunicorn's own template; werkzeug's banner, logged without arguments),
# never by the formatted text, which a client's request line could imitate.
_SERVER_TEMPLATES = frozenset({"Listening at: %s (%s)", "Listening at: %s",
                               "Connection in use: %s", "Invalid address: %s"})
_SERVER_BANNER = re.compile(r"(?:WARNING: This is a development server\.[^\n]*\n)?"
                            r"(?: \* Running on [^\n]*(?:\n|$))+")


def _states_configuration(record: logging.LogRecord) -> bool:
    if record.name.startswith("gunicorn.error") and record.args:
        return str(record.msg) in _SERVER_TEMPLATES
    if record.name == "werkzeug" and not record.args:
        return _SERVER_BANNER.fullmatch(_ANSI.sub("", str(record.msg))) is not None
    return False


def redact(text: str) -> str:
    """Replace anything that looks like an IP address with a placeholder."""
    return _ADDRESS.sub("-", text)


class RedactAddresses(logging.Filter):
    """Rewrites a record so that neither its message nor its arguments carry an address, and
    drops request lines of the reporter's pages (/report…) and of the files they load
    (/static/…, /favicon.ico) altogether. The servers' lines
    about where they listen are left as they are (configuration, not clients)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if _is_reporter_request(record.args, message):
            return False
        if _states_configuration(record):
            return True
        record.msg = redact(message)
        record.args = None
        return True


def _is_reporter_request(args: tuple[object, ...] | Mapping[str, object] | None,
                         message: str) -> bool:
    arguments = args.values() if isinstance(args, Mapping) else args or ()
    if any(isinstance(a, str) and _UNLOGGED_REQUEST_LINE.match(_ANSI.sub("", a))
           for a in arguments):
        return True
    return _UNLOGGED_REQUEST.search(_ANSI.sub("", message)) is not None


def install(logger: logging.Logger) -> None:
    """Attach the redaction filter to a logger and to each of its handlers (once)."""
    if not any(isinstance(f, RedactAddresses) for f in logger.filters):
        logger.addFilter(RedactAddresses())
    for handler in logger.handlers:
        if not any(isinstance(f, RedactAddresses) for f in handler.filters):
            handler.addFilter(RedactAddresses())


def is_reporter_path(path: str) -> bool:
    """Whether a request path is one of the reporter's pages, whose times must not be logged."""
    return _REPORTER_REQUEST_LINE.match(f"GET {path}") is not None


class HourlyCounts:
    """Events of the reporter's pages, counted by kind within each clock hour and logged only
    once the hour is over, as one line per kind dated to the hour's start.

    Neither the line's time nor its place among the other lines (it is written by a timer
    at the end of the hour, not by a request) dates the event more finely than its hour. A
    process that exits before the hour is over loses that hour's counts.
    """

    HOUR = 3600

    def __init__(self, logger: logging.Logger, message: str) -> None:
        # `message` takes the count, the kind and the hour (as "%Y-%m-%d %H:00").
        self._logger = logger
        self._message = message
        self._counts: Counter[tuple[int, str, str]] = Counter()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def add(self, kind: str, message: str | None = None) -> None:
        """Count one event of this kind in the current hour; `message` words its line (the
        one given at construction by default)."""
        now = time.time()
        with self._lock:
            self._counts[(int(now) // self.HOUR * self.HOUR, message or self._message, kind)] += 1
            self._schedule(now)

    def flush(self) -> None:
        """Log the counts of every hour that is over (the timer calls this)."""
        now = time.time()
        current = int(now) // self.HOUR * self.HOUR
        with self._lock:
            done = sorted(key for key in self._counts if key[0] < current)
            lines = [(key, self._counts.pop(key)) for key in done]
            self._timer = None
            if self._counts:
                self._schedule(now)
        for (hour, message, kind), count in lines:
            self._emit(hour, message, kind, count)

    def _schedule(self, now: float) -> None:
        if self._timer is None:
            delay = (int(now) // self.HOUR + 1) * self.HOUR - now + 1
            self._timer = threading.Timer(delay, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def _emit(self, hour: int, message: str, kind: str, count: int) -> None:
        if not self._logger.isEnabledFor(logging.WARNING):
            return
        stamp = time.strftime("%Y-%m-%d %H:00", time.localtime(hour))
        record = self._logger.makeRecord(self._logger.name, logging.WARNING, __file__, 0,
                                         message, (count, kind, stamp), None)
        record.created, record.msecs = float(hour), 0.0
        self._logger.handle(record)


# An unhandled error's line on the reporter's pages, sent at the end of its hour.
REPORTER_ERROR = "unhandled error %d times on the reporter's pages (%s) in the hour from %s"


class ReporterErrors(logging.Filter):
    """Keeps errors of the reporter's pages out of the application's log at the moment they
    happen: a record that carries an exception (the error handler's "unhandled …", Flask's own
    "Exception on /report [POST]") is dropped during a request to a reporter's page and counted
    in the app's hourly counts by the exception's type and the place that raised it.

    Its time would date a filing; its path, its message and the traceback's source lines may
    carry what was sent (the exception's message is never kept). The operator learns what
    failed and where, to the hour, and reproduces it from there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or not has_request_context() \
                or not is_reporter_path(request.path):
            return True
        exc = record.exc_info[1]
        if exc is None:
            return True
        state.hourly_counts().add(f"{type(exc).__name__} at {_raised_at(exc.__traceback__)}",
                                  REPORTER_ERROR)
        return False


def _raised_at(tb: TracebackType | None) -> str:
    """The innermost frame of the project's own code in a traceback ("intake/service.py:120 in
    file_report"), or else the innermost frame's file name, line and function."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return "?"
    ours = [f for f in frames if _project_file(f.filename)]
    frame = (ours or frames)[-1]
    path = Path(frame.filename)
    name = path.relative_to(ROOT).as_posix() if ours else path.name
    return f"{name}:{frame.lineno} in {frame.name}"


def _project_file(filename: str) -> bool:
    path = Path(filename)
    return path.is_relative_to(ROOT) and not any(
        part.startswith(".venv") or part == "site-packages" for part in path.parts)


class RateLimitStoreState(logging.Filter):
    """Words flask-limiter's switch to and from its in-memory fallback for the operator, both
    as warnings: a degraded shared store means limits are counted per process."""

    MESSAGES = {
        "Rate limit storage unreachable - falling back to in-memory storage":
            "rate-limit store unreachable: per-process fallback limits apply until it returns",
        "Rate limit storage recovered":
            "rate-limit store reachable again: shared limits apply",
    }

    def filter(self, record: logging.LogRecord) -> bool:
        worded = self.MESSAGES.get(str(record.msg))
        if worded is not None:
            record.msg, record.args = worded, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _install_limiter_logging() -> None:
    """flask-limiter's logger writes its store changes to stderr (the server's error log)."""
    logger = logging.getLogger("flask-limiter")
    if any(isinstance(f, RateLimitStoreState) for f in logger.filters):
        return
    logger.addFilter(RateLimitStoreState())
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.propagate = False
    install(logger)


def init_app(app: Flask) -> None:
    """Redact the app's, werkzeug's (development server) and the root logger's output; give
    the app its hourly counts of the reporter's pages' database failures and unhandled
    errors."""
    for logger in (app.logger, logging.getLogger("werkzeug"), logging.getLogger()):
        install(logger)
    if not any(isinstance(f, ReporterErrors) for f in app.logger.filters):
        app.logger.addFilter(ReporterErrors())
    _install_limiter_logging()
    state.set_hourly_counts(app, HourlyCounts(
        app.logger, "database unavailable %d times on the reporter's pages (%s) in the hour "
                    "from %s"))
