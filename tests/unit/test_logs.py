"""Client addresses never reach a log line."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine

from portal.logs import HourlyCounts, RedactAddresses, redact


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 - - [27/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 -',
        "Invalid request from ip=203.0.113.9: Invalid HTTP method",
        "Invalid request from ip=::1: bad",
        "connection from [2001:db8:85a3:0:0:8a2e:370:7334]:443",
        "peer fe80::1 closed",
    ],
)
def test_addresses_are_removed(line: str) -> None:
    cleaned = redact(line)
    for address in ("127.0.0.1", "203.0.113.9", "::1", "2001:db8", "fe80::1"):
        assert address not in cleaned


def test_times_and_versions_survive() -> None:
    line = '[27/Nov/2026 10:00:00] "GET /notices/12 HTTP/1.1" 200 v1.2.3'
    assert redact(line) == line


def test_filter_rewrites_message_and_arguments() -> None:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               "%s - - %s", ("192.0.2.7", "GET /"), None)
    assert RedactAddresses().filter(record)
    assert "192.0.2.7" not in record.getMessage()
    assert record.getMessage() == "- - - GET /"


def _record(name: str, msg: str, args: tuple[object, ...] | None = None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(("name", "msg", "args", "shown"), [
    # gunicorn's master, at start-up and on a re-exec: where it listens (#22.9).
    ("gunicorn.error", "Listening at: %s (%s)", ("http://127.0.0.1:5501", 4242),
     "Listening at: http://127.0.0.1:5501 (4242)"),
    ("gunicorn.error", "Listening at: %s", ("http://10.0.0.5:8000,http://[::1]:8000",),
     "Listening at: http://10.0.0.5:8000,http://[::1]:8000"),
    # ...and why it could not bind there.
    ("gunicorn.error", "Connection in use: %s", ("('127.0.0.1', 8000)",),
     "Connection in use: ('127.0.0.1', 8000)"),
    # The development server's banner.
    ("werkzeug", " * Running on http://127.0.0.2:5000", None,
     " * Running on http://127.0.0.2:5000"),
    ("werkzeug", "\x1b[31m\x1b[1mWARNING: This is a development server. Do not use it.\x1b[0m\n"
     " * Running on all addresses (0.0.0.0)\n * Running on http://127.0.0.1:5000\n"
     " * Running on http://192.0.2.4:5000", None,
     "\x1b[31m\x1b[1mWARNING: This is a development server. Do not use it.\x1b[0m\n"
     " * Running on all addresses (0.0.0.0)\n * Running on http://127.0.0.1:5000\n"
     " * Running on http://192.0.2.4:5000"),
])
def test_the_servers_own_addresses_are_configuration_and_kept(
        name: str, msg: str, args: tuple[object, ...] | None, shown: str) -> None:
    record = _record(name, msg, args)
    assert RedactAddresses().filter(record)
    assert record.getMessage() == shown


@pytest.mark.parametrize(("name", "msg", "args"), [
    ("gunicorn.error", "Invalid request from ip=%s: %s", ("203.0.113.9", "Invalid method")),
    # A client's request line that imitates a configuration line is still a request line.
    ("gunicorn.access", '[t] "GET /Listening at: 203.0.113.9" 404 0 1ms', None),
    ("gunicorn.error", "Listening at: 203.0.113.9", None),  # not gunicorn's template
    ("werkzeug", "%s - - [%s] %s", ("203.0.113.9", "t", '"GET / * Running on 203.0.113.9"')),
    ("werkzeug", '203.0.113.9 - - "GET / * Running on http://203.0.113.9"', None),
])
def test_client_addresses_are_removed_whatever_the_line_imitates(
        name: str, msg: str, args: tuple[object, ...] | None) -> None:
    record = _record(name, msg, args)
    assert RedactAddresses().filter(record)
    assert "203.0.113.9" not in record.getMessage()


def test_reporter_request_lines_are_dropped() -> None:
    for line in ('[27/Nov/2026:10:00:00 +0800] "POST /report HTTP/1.1" 200',
                 '127.0.0.1 - - "GET /report/check?x=1 HTTP/1.1" 200 -'):
        record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, line, None, None)
        assert not RedactAddresses().filter(record)
    kept = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                             '"GET /notices/12 HTTP/1.1" 200', None, None)
    assert RedactAddresses().filter(kept)


def _werkzeug_records(monkeypatch: pytest.MonkeyPatch, method: str, path: str,
                      code: int) -> list[logging.LogRecord]:
    """The records werkzeug's development server emits for one request, colours on."""
    from werkzeug import serving

    monkeypatch.setattr(serving, "_log_add_style", True)  # as on any POSIX terminal or file
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("werkzeug")
    monkeypatch.setattr(logger, "filters", [])  # the raw record, before any portal filter
    monkeypatch.setattr(logger, "handlers", [Collect()])
    monkeypatch.setattr(logger, "level", logging.INFO)
    handler = serving.WSGIRequestHandler.__new__(serving.WSGIRequestHandler)
    handler.client_address = ("192.0.2.7", 50000)
    handler.command, handler.path, handler.request_version = method, path, "HTTP/1.1"
    handler.requestline = f"{method} {path} HTTP/1.1"
    handler.log_request(code, "-")
    return records


@pytest.mark.parametrize("code", [303, 400, 404, 429, 500])
@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/report"), ("GET", "/report/check"), ("POST", "/report/check"),
    ("GET", "/report/case"), ("GET", "//report/case/evidence/1"),
])
def test_coloured_reporter_request_lines_are_dropped(monkeypatch: pytest.MonkeyPatch,
                                                    method: str, path: str, code: int) -> None:
    (record,) = _werkzeug_records(monkeypatch, method, path, code)
    assert "\x1b[" in record.getMessage()  # werkzeug did colour this status line
    assert not RedactAddresses().filter(record)


@pytest.mark.parametrize("code", [200, 303, 404, 429])
def test_coloured_other_request_lines_are_kept(monkeypatch: pytest.MonkeyPatch,
                                               code: int) -> None:
    (record,) = _werkzeug_records(monkeypatch, "GET", "/notices/12", code)
    assert RedactAddresses().filter(record)
    assert "192.0.2.7" not in record.getMessage()
    assert "/notices/12" in record.getMessage()


def test_hourly_counts_wait_for_the_end_of_the_hour(request: pytest.FixtureRequest) -> None:
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    clock.move_to(dt.datetime(2026, 11, 4, 9, 41, 17, 250000, tzinfo=dt.UTC))
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tests.hourly")
    logger.addHandler(Collect())
    logger.setLevel(logging.INFO)
    counts = HourlyCounts(logger, "%d × %s in the hour from %s")
    counts.add("OperationalError")
    counts.add("OperationalError")
    timer = counts._timer
    assert timer is not None
    assert timer.interval > (60 - 41) * 60 - 17  # fires after the hour, not now
    counts.flush()
    assert records == []  # the hour is not over
    clock.shift(dt.timedelta(hours=1))
    counts.flush()
    (record,) = records
    assert record.getMessage().startswith("2 × OperationalError in the hour from ")
    assert record.created % 3600 == 0
    assert record.msecs == 0
    assert counts._timer is None  # nothing left to count
    timer.cancel()


def test_hourly_counts_word_each_kind_of_event_its_own_way(
        request: pytest.FixtureRequest) -> None:
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tests.hourly.kinds")
    logger.addHandler(Collect())
    counts = HourlyCounts(logger, "%d × database %s in the hour from %s")
    counts.add("OperationalError")
    counts.add("KeyError at intake/views.py:12 in report", "%d × unhandled %s in the hour from %s")
    counts.add("OperationalError")
    timer = counts._timer
    assert timer is not None
    clock.shift(dt.timedelta(hours=1))
    counts.flush()
    timer.cancel()
    assert sorted(r.getMessage().rsplit(" in the hour", 1)[0] for r in records) == [
        "1 × unhandled KeyError at intake/views.py:12 in report",
        "2 × database OperationalError",
    ]
    assert counts._timer is None
