"""/healthz: the load balancer's probe says whether the database answers, and nothing else."""

from __future__ import annotations

import logging
import secrets
import socket
from pathlib import Path
from typing import Any, cast

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from portal import create_app, state
from portal.config import Config
from portal.extensions import limiter
from tests.conftest import config_for_tests
from tests.intake_support import make_desk

# What a probe must not learn: software, versions, the database behind it.
REVEALING = ("werkzeug", "flask", "python", "gunicorn", "sqlalchemy", "sqlite", "postgres",
             "psycopg", "cadre", "portal", "0.1.0")


def _revealed(response: TestResponse) -> list[str]:
    """Headers and body text that name software or versions (empty when none)."""
    found = []
    for name, value in response.headers.items():
        if name.lower() in ("server", "x-powered-by"):
            found.append(f"header {name}")
        found += [f"{name}: {value}" for word in REVEALING if word in value.lower()]
    if response.get_data():
        found.append(f"body {response.get_data()[:80]!r}")
    return found


def _assert_bare(response: TestResponse, status: int) -> None:
    assert response.status_code == status
    assert response.get_data() == b""
    assert response.headers.getlist("Set-Cookie") == []
    assert "no-store" in response.headers["Cache-Control"]
    assert _revealed(response) == []


def _dead_postgres_url() -> str:
    """A PostgreSQL URL on a loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=2"


def test_healthz_is_200_and_bare_while_the_database_answers(client: FlaskClient) -> None:
    _assert_bare(client.get("/healthz"), 200)
    # HEAD is what some balancers send.
    assert client.head("/healthz").status_code == 200


def test_healthz_sets_no_cookie_for_a_visitor_who_has_one(client: FlaskClient) -> None:
    client.get("/staff/login")  # the form page puts a CSRF token in the session cookie
    assert client.get_cookie("portal_form") is not None
    response = client.get("/healthz")
    _assert_bare(response, 200)
    assert "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.parametrize("url", [
    pytest.param("sqlite:////nonexistent-{token}/portal.db", id="sqlite-unopenable"),
    pytest.param("postgres", id="postgres-refused"),
])
def test_healthz_is_503_and_bare_when_the_database_is_unreachable(
        tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture) -> None:
    url = _dead_postgres_url() if url == "postgres" else url.format(token=secrets.token_hex(8))
    app = create_app(config_for_tests(tmp_path, url))
    with caplog.at_level(logging.DEBUG):
        _assert_bare(app.test_client().get("/healthz"), 503)
    # Nothing logged: not the database's address, not the driver's message, not the probe.
    assert caplog.records == []
    app.extensions["portal.engine"].dispose()


def test_healthz_is_503_and_bare_before_portal_init(tmp_path: Path) -> None:
    config = Config(instance_path=tmp_path / "instance", database_url=f"sqlite:///{tmp_path}/p.db",
                    testing=True, secure_cookies=False)
    app = create_app(config)
    assert app.extensions["portal.secrets"] is None
    client = app.test_client()
    _assert_bare(client.get("/healthz"), 503)
    # Every other page of an uninitialised instance is the 503 error page, as before.
    other = client.get("/staff/login")
    assert other.status_code == 503
    assert other.get_data() != b""
    app.extensions["portal.engine"].dispose()


def test_probes_are_exempt_from_rate_limits(app: Flask) -> None:
    # Were a limit ever to cover the probe (a default limit, say), it must not apply: a
    # balancer asks every few seconds from one address and would lock itself out.
    view = app.view_functions["health.healthz"]
    app.view_functions["health.healthz"] = cast(Any, limiter.limit("2 per hour")(view))
    client = app.test_client()
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5


@pytest.fixture
def clock(_pinned_clock: time_machine.Traveller) -> time_machine.Traveller:
    """The test's running clock, to move past the interval between two checks."""
    return _pinned_clock


# What the checks of #22 alter in the database, and what puts it back.
TAMPERED = {
    "marker": ("UPDATE instance_marker SET tag = :tag WHERE family = 'audit_mac_key'",),
    "queue-key": ("UPDATE queue_epoch SET public_key_mac = :tag",),
    "recovery-key": ("UPDATE recovery_key SET public_key_mac = :tag",),
}


@pytest.mark.parametrize("what", sorted(TAMPERED))
def test_healthz_is_503_and_bare_when_an_integrity_check_fails(
        app: Flask, make_staff, clock: time_machine.Traveller, what: str) -> None:
    """Secrets that do not belong to the database, or a queue key or the recovery key whose
    MAC does not verify: the same bare 503, which says nothing of which (#22)."""
    from portal import health

    make_desk(app, make_staff)  # queue keys and the recovery key
    client = app.test_client()
    _assert_bare(client.get("/healthz"), 200)
    (statement,) = TAMPERED[what]
    with state.engine(app).begin() as conn:
        conn.execute(text(statement), {"tag": b"\x00" * 32})
    # The checks run at most every CHECK_SECONDS per process; after that the probe knows.
    clock.shift(getattr(health, "CHECK_SECONDS", 30) + 1)
    _assert_bare(client.get("/healthz"), 503)
    if what == "marker":
        # This server's secrets no longer belong to the database: it refuses everything.
        assert client.get("/report").status_code == 503
    assert client.get("/healthz").status_code == 503  # until the next check, from its result
