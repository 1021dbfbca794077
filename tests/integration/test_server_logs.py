"""No client address in any log line: the development server's and gunicorn's, errors included."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import io
import logging
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
import time_machine
from flask import Flask
from flask.logging import default_handler
from flask.testing import FlaskClient

from application import create_app
from intake import service as intake_service
from portal import logs, state
from portal.config import InstanceSecrets
from portal.constants import ROOT
from tests.conftest import config_for_tests
from tests.intake_support import make_desk, open_reporter, post_report, receipt_of

BIN = Path(sys.executable).parent


# The server listens on one loopback address (its configuration, which its start-up line
# shows) and every request comes from another (a client's, which no line may show) (#22.9).
SERVER, CLIENT = "127.0.0.2", "127.0.0.3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((SERVER, 0))
        return int(s.getsockname()[1])


def _connect(port: int) -> socket.socket:
    return socket.create_connection((SERVER, port), timeout=10, source_address=(CLIENT, 0))


def _wait(port: int) -> None:
    for _ in range(150):
        try:
            with _connect(port):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def _request(port: int, path: str, data: bytes | None = None) -> None:
    connection = http.client.HTTPConnection(SERVER, port, timeout=10,
                                            source_address=(CLIENT, 0))
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if data else {}
        connection.request("POST" if data else "GET", path, body=data, headers=headers)
        connection.getresponse().read()
    finally:
        connection.close()


def _traffic(port: int) -> None:
    for path in ("/", "/no-such-page", "/staff/login", "/report/safety", "/report/check",
                 "/static/pow.js", "/static/portal.css?v=1", "/favicon.ico"):
        _request(port, path)
    # Reporter pages answering other than 200: the development server colours these status
    # lines (a redirect, a refused form, a missing page), and they must be dropped all the same.
    for path, data in (("/report/case", None), ("/report", b"facts=x"),
                       ("/report/check", b"receipt=x"), ("/report/no-such-page", None)):
        _request(port, path, data)
    # A malformed request line makes gunicorn log "Invalid request from ip=…".
    with _connect(port) as s:
        s.sendall(b"BR0KEN\x01 / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(1024)
    with _connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        s.recv(1024)


@pytest.fixture
def instance_env(tmp_path: Path) -> dict[str, str]:
    instance = tmp_path / "instance"
    InstanceSecrets.ensure(instance)
    env = {"PATH": str(BIN), "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "PORTAL_PUBLIC_URL": f"http://{SERVER}"}  # the address the test requests (#21.10)
    subprocess.run([BIN / "flask", "--app", "wsgi", "portal", "init"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    return env


@pytest.mark.own_clock  # the servers run in processes of their own
@pytest.mark.parametrize("server", ["gunicorn", "flask"])
def test_no_client_address_in_server_logs(instance_env: dict[str, str], tmp_path: Path,
                                          server: str) -> None:
    port = _free_port()
    if server == "gunicorn":
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "1",
                   "-b", f"{SERVER}:{port}", "wsgi:app"]
        listening = f"Listening at: http://{SERVER}:{port}"
    else:
        command = [str(BIN / "flask"), "--app", "wsgi", "run", "--host", SERVER,
                   "--port", str(port)]
        listening = f"Running on http://{SERVER}:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=instance_env, stdout=out, stderr=out)
        try:
            _wait(port)
            _traffic(port)
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(10)
    text = log.read_text(errors="replace")
    assert "GET" in text or "/no-such-page" in text, text  # the requests were logged…
    assert CLIENT not in text, text  # …without the client's address
    assert "/report" not in text, text  # reporter pages leave no line (its time would date it)
    assert "/static" not in text, text  # nor the files they load (#22.4)
    assert "favicon" not in text, text
    # The server's own address is configuration, not a client's: its start-up line says
    # where it listens (#22.9).
    assert listening in text, text
    if server == "gunicorn":
        assert "Invalid request" in text, text


# --- database failures on the reporter's pages ------------------------------------------------

# A time of day finer than the hour: minutes, seconds or milliseconds other than zero.
_FINE_TIME = re.compile(r"\d{2}:(?!00:00(?:[,.]000)?\b)\d{2}:\d{2}(?:[,.]\d+)?")


def _token(client: FlaskClient) -> str:
    page = client.get("/report/check").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, page
    return found.group(1)


@pytest.mark.parametrize("formatter", [logging.Formatter(logs.FORMAT), default_handler.formatter],
                         ids=["portal-format", "flask-format"])
def test_database_failure_on_reporter_pages_logs_no_time_finer_than_the_hour(
        tmp_path: Path, formatter: logging.Formatter | None,
        request: pytest.FixtureRequest) -> None:
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    # Every connection fails: the filing, the form and the receipt check meet the failure.
    app = create_app(config_for_tests(tmp_path, f"sqlite:////nonexistent-{tmp_path.name}/p.db"))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    app.logger.addHandler(handler)
    client = app.test_client()
    token = _token(client)
    answers = [client.get("/report").status_code,
               client.post("/report", data={"csrf_token": token, "facts": "x" * 30}).status_code,
               client.post("/report/check", data={"csrf_token": token,
                                                  "receipt": "1234 5678 9012 3456 7890"}
                           ).status_code]
    assert answers == [503, 503, 503]
    assert out.getvalue() == ""  # nothing at the moment of the failures…
    # …only, once the hour is over, one line of counts dated to the hour.
    clock.shift(dt.timedelta(hours=1))
    state.hourly_counts(app).flush()
    text = out.getvalue()
    assert "database unavailable 3 times on the reporter's pages" in text, text
    assert "intake." not in text, text
    assert "/report" not in text, text
    assert not _FINE_TIME.search(text), text
    # A staff page's failure is still logged at once, with its endpoint.
    out.truncate(0)
    status = client.post("/staff/login", data={"csrf_token": token, "username": "a",
                                               "passphrase": "b", "totp": "123456"}).status_code
    assert status == 503
    assert "database unavailable (OperationalError) on " in out.getvalue()
    state.engine(app).dispose()


# --- unhandled errors on the reporter's pages -------------------------------------------------

# What the tests below send and what the failing code puts in its exception: neither may be
# logged (the exception's message is request data as much as the form is).
_RECEIPT = "2468 1357 9024 6813 5792"
_SECRET = "report-content-that-must-never-be-logged"


@pytest.mark.parametrize("formatter", [logging.Formatter(logs.FORMAT), default_handler.formatter],
                         ids=["portal-format", "flask-format"])
def test_unhandled_error_on_reporter_pages_logs_only_an_hourly_count(
        make_app: Callable[..., Flask], formatter: logging.Formatter | None,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        request: pytest.FixtureRequest) -> None:
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    clock.move_to(dt.datetime(2026, 11, 4, 2, 37, 41, 512000, tzinfo=dt.UTC))
    app = make_app()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    app.logger.addHandler(handler)
    caplog.set_level(logging.WARNING)  # every warning and error that reaches the root
    client = app.test_client()
    token = _token(client)

    def broken(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError(f"{_SECRET} {args[1:]} {kwargs}")

    monkeypatch.setattr(intake_service, "open_session", broken)
    monkeypatch.setattr(intake_service, "report_choices", broken)
    answers = [client.post("/report/check", data={"csrf_token": token, "receipt": _RECEIPT},
                           environ_base={"REMOTE_ADDR": "192.0.2.44"}).status_code,
               client.get(f"/report?notice={_SECRET}",
                          environ_base={"REMOTE_ADDR": "192.0.2.44"}).status_code]
    assert answers == [500, 500]
    # Nothing at the moment of the failures: no line, no traceback, in any handler…
    assert out.getvalue() == ""
    assert caplog.records == []
    # …only, once the hour is over, a count per kind and place, dated to the hour's start.
    clock.shift(dt.timedelta(hours=1))
    state.hourly_counts(app).flush()
    assert len(caplog.records) == 1, caplog.records  # what propagates to the root logger
    (record,) = caplog.records
    assert record.created % 3600 == 0
    assert record.msecs == 0
    assert record.exc_info is None
    for text in (out.getvalue(), caplog.text):
        # One line per type and place (file, line, function) where it was raised: both here.
        (line,) = text.splitlines()
        assert "unhandled error 2 times on the reporter's pages (RuntimeError at " in line, text
        assert re.search(r"tests/integration/test_server_logs\.py:\d+ in broken\)", line), text
        for leak in (_SECRET, "2468", "192.0.2.44", "127.0.0.1", "/report", "intake.",
                     "Traceback", "csrf"):
            assert leak not in text, (leak, text)
        assert not _FINE_TIME.search(text), text


def test_unhandled_error_on_staff_pages_is_logged_at_once(
        app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from portal import auth_views

    def broken(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("staff-side failure")

    monkeypatch.setattr(auth_views, "render_template", broken)
    caplog.set_level(logging.ERROR)
    assert app.test_client().get("/staff/login").status_code == 500
    (record,) = caplog.records
    assert record.exc_info is not None  # the traceback, for the operator
    assert "unhandled RuntimeError on auth.login" in record.getMessage()


def test_flask_own_exception_line_on_reporter_pages_is_counted_too(
        app: Flask, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> None:
    # Flask writes "Exception on /report/check [POST]" and the traceback itself when the error
    # handler fails in turn (outside the test mode, which re-raises instead).
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    caplog.set_level(logging.WARNING)
    for path in ("/report/check", "/staff/login"):
        with app.test_request_context(path, method="POST", data={"receipt": _RECEIPT}):
            try:
                raise KeyError(_SECRET)
            except KeyError:
                app.log_exception(sys.exc_info())
    (staff,) = caplog.records  # the staff page's line, at once
    assert "Exception on /staff/login [POST]" in staff.getMessage()
    caplog.clear()
    clock.shift(dt.timedelta(hours=1))
    state.hourly_counts(app).flush()
    (line,) = caplog.text.splitlines()
    assert "unhandled error 1 times on the reporter's pages (KeyError at " in line, line
    assert "test_server_logs.py" in line
    assert _SECRET not in line
    assert "/report" not in line


# --- static files of the reporter's pages (#22, item 4) ----------------------------------------

_ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
YEAR = 365 * 24 * 3600


def _reporter_assets(make_app: Callable[..., Flask], make_staff: Callable[..., object]
                     ) -> tuple[Flask, dict[str, set[str]]]:
    """Every static URL each reporter page links, behind Tor (where pow.js is loaded)."""
    app = make_app(behind_tor=True, pow_bits=4)
    desk = make_desk(app, make_staff)
    client = app.test_client()
    pages = {path: client.get(path).get_data(as_text=True)
             for path in ("/report", "/report/check", "/report/safety")}
    status, html = post_report(client, {"category": str(desk.category_id("discipline")),
                                        "persons-0-name": "李四", "facts": "x" * 40})
    assert status == 200, html[:500]
    status, pages["/report/case"] = open_reporter(app.test_client(), receipt_of(html))
    assert status == 200
    return app, {path: set(_ASSET.findall(page)) for path, page in pages.items()}


def test_reporter_static_files_are_versioned_and_cached_for_a_year(
        make_app: Callable[..., Flask], make_staff: Callable[..., object]) -> None:
    app, assets = _reporter_assets(make_app, make_staff)
    scripts = {url for urls in assets.values() for url in urls if "pow.js" in url}
    assert scripts, assets
    assert all(any("pow.js" in u for u in assets[p])
               for p in ("/report", "/report/check", "/report/case")), assets
    digest = hashlib.sha256((ROOT / "portal" / "static" / "pow.js").read_bytes()).hexdigest()
    client = app.test_client()
    for url in {u for urls in assets.values() for u in urls}:
        name, _sep, version = url.partition("?v=")
        # The URL names the content: another file, another URL.
        content = (ROOT / "portal" / name.removeprefix("/")).read_bytes()
        assert version, url
        assert version == hashlib.sha256(content).hexdigest()[:len(version)], url
        with client.get(url) as response:
            assert response.status_code == 200
            cache = response.cache_control
            assert cache.public, (url, cache)
            assert cache.immutable, (url, cache)
            assert cache.max_age == YEAR, (url, cache)
            assert not cache.no_cache, (url, cache)
            assert not cache.no_store, (url, cache)
            assert response.headers["Content-Security-Policy"]  # the headers of any answer
    assert any(digest.startswith(u.partition("?v=")[2]) for u in scripts)
    # A stale or made-up version is served (the current file) but not kept.
    for url in ("/static/pow.js", "/static/pow.js?v=0123456789abcdef"):
        with client.get(url) as response:
            cache = response.cache_control
            assert not cache.immutable, (url, cache)
            assert cache.max_age != YEAR, (url, cache)


def _nginx_unlogged() -> list[re.Pattern[str]]:
    """The regexes the shipped nginx map sends to "no access-log line" (value 0)."""
    conf = (ROOT / "deploy" / "nginx" / "portal.conf").read_text()
    found = re.search(r"map \$uri \$portal_loggable \{(.*?)\}", conf, re.S)
    assert found, "deploy/nginx/portal.conf: the map of $portal_loggable"
    return [re.compile(p) for p, value in re.findall(r"~(\S+)\s+(\d)\s*;", found.group(1))
            if value == "0"]


def test_reporter_static_files_leave_no_line_in_either_log(
        make_app: Callable[..., Flask], make_staff: Callable[..., object]) -> None:
    _app, assets = _reporter_assets(make_app, make_staff)
    unlogged = _nginx_unlogged()
    for url in {u for urls in assets.values() for u in urls} | {"/favicon.ico"}:
        path = url.partition("?")[0]
        # nginx: `map $uri` sees the path without the query.
        assert any(p.search(path) for p in unlogged), path
        # gunicorn's access line (%(U)s: the path) and the development server's request line.
        for record in (
            logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                              f'[04/Nov/2026:10:00:00 +0800] "GET {path}" 200 3443 1ms',
                              None, None),
            logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s - - [%s] %s",
                              ("192.0.2.7", "04/Nov/2026 10:00:00",
                               f'"GET {url} HTTP/1.1" 200 -'), None),
        ):
            assert not logs.RedactAddresses().filter(record), record.getMessage()
    # Other pages' lines stay: the operator still sees the site at work.
    kept = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                             '[04/Nov/2026:10:00:00 +0800] "GET /notices/1" 200 5000 3ms',
                             None, None)
    assert logs.RedactAddresses().filter(kept)
    assert not any(p.search("/notices/1") for p in unlogged)


@pytest.mark.own_clock  # nginx runs in a process of its own
def test_nginx_writes_no_line_for_reporter_pages_and_their_files(tmp_path: Path) -> None:
    """The shipped log_format and map, in a real nginx: reporter pages, static files and the
    icon leave no access-log line; other pages do (#22.4)."""
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    shipped = (ROOT / "deploy" / "nginx" / "portal.conf").read_text().splitlines()
    lines = [line for line in shipped
             if line.startswith(("log_format portal ", "map $uri $portal_loggable "))]
    assert len(lines) == 2, "deploy/nginx/portal.conf: log_format portal and the map"
    port, log = _free_port(), tmp_path / "portal.log"
    temp = " ".join(f"{kind}_temp_path {tmp_path};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; {temp}\n" + "\n".join(lines) + "\n"
        f"server {{ listen {SERVER}:{port}; access_log {log} portal if=$portal_loggable;\n"
        "location / { return 204; } } }\n")
    subprocess.run([nginx, "-c", str(conf), "-p", str(tmp_path)], check=True,
                   capture_output=True)
    try:
        _wait(port)
        for path in ("/report", "/report/check", "/static/pow.js?v=0123", "/static/portal.css",
                     "//static/pow.js", "/favicon.ico", "/", "/notices/1"):
            _request(port, path)
    finally:
        subprocess.run([nginx, "-c", str(conf), "-p", str(tmp_path), "-s", "stop"],
                       check=True, capture_output=True)
    text = log.read_text()
    assert '"GET /" 204' in text, text
    assert '"GET /notices/1" 204' in text, text
    for word in ("report", "static", "favicon", CLIENT):
        assert word not in text, text
