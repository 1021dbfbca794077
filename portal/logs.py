"""Logging without client addresses: no IP reaches any log line, ours or the servers'."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import Flask

# IPv4 and bracketed/bare IPv6 addresses as they appear in server log lines.
_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
# Full eight-group form, or any compressed form (with "::"); clock times like 10:00:00 stay.
_IPV6 = (
    r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|[0-9a-fA-F:]*::[0-9a-fA-F:.]*)(?![\w:])"
)
_ADDRESS = re.compile(f"{_IPV4}|{_IPV6}")
# Request lines of the reporter's pages are not logged at all: their time would date a report.
# Matched in a request line passed as an argument (werkzeug) and in the whole message (gunicorn),
# after removing the ANSI colours werkzeug puts around every status line but a 200's.
_REPORTER_REQUEST_LINE = re.compile(r"[A-Z]+ /+report\b")
_REPORTER_REQUEST = re.compile(r'"[A-Z]+ /+report\b')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def redact(text: str) -> str:
    """Replace anything that looks like an IP address with a placeholder."""
    return _ADDRESS.sub("-", text)


class RedactAddresses(logging.Filter):
    """Rewrites a record so that neither its message nor its arguments carry an address, and
    drops request lines of the reporter's pages (/report…) altogether."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if _is_reporter_request(record.args, message):
            return False
        record.msg = redact(message)
        record.args = None
        return True


def _is_reporter_request(args: tuple[object, ...] | Mapping[str, object] | None,
                         message: str) -> bool:
    arguments = args.values() if isinstance(args, Mapping) else args or ()
    if any(isinstance(a, str) and _REPORTER_REQUEST_LINE.match(_ANSI.sub("", a))
           for a in arguments):
        return True
    return _REPORTER_REQUEST.search(_ANSI.sub("", message)) is not None


def install(logger: logging.Logger) -> None:
    """Attach the redaction filter to a logger and to each of its handlers (once)."""
    if not any(isinstance(f, RedactAddresses) for f in logger.filters):
        logger.addFilter(RedactAddresses())
    for handler in logger.handlers:
        if not any(isinstance(f, RedactAddresses) for f in handler.filters):
            handler.addFilter(RedactAddresses())


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
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    install(logger)


def init_app(app: Flask) -> None:
    """Redact the app's, werkzeug's (development server) and the root logger's output."""
    for logger in (app.logger, logging.getLogger("werkzeug"), logging.getLogger()):
        install(logger)
    _install_limiter_logging()
