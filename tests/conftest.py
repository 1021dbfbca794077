"""Shared fixtures: an initialised app on SQLite and (when configured) on the real PostgreSQL.

Set PORTAL_TEST_DATABASE_URL (PostgreSQL) and PORTAL_TEST_REDIS_URL to run the tiers that need
them; without them those tests skip and say which variable to set. With
PORTAL_TEST_REQUIRE_SERVICES=1 (as in .ci/run) a missing service fails the run instead.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from application import create_app
from portal.config import Config, InstanceSecrets

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")
REQUIRE_SERVICES = os.environ.get("PORTAL_TEST_REQUIRE_SERVICES") == "1"
PASSPHRASE = "correct horse battery staple orbit"


def missing_service(variable: str, what: str) -> None:
    """Skip (or, when services are required, fail) a test whose service is not configured."""
    message = f"set {variable} to run this test against the real {what}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def _psycopg_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = "postgresql+psycopg" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, *parts[1:]))


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A private schema in the PostgreSQL test database, dropped at the end of the run."""
    if not PG_URL:
        missing_service("PORTAL_TEST_DATABASE_URL", "PostgreSQL")
    base = _psycopg_url(PG_URL)
    schema = f"portal_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database of one test: a fresh SQLite file, or the shared PostgreSQL test schema."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"


def config_for_tests(tmp_path: Path, database_url: str, **changes: object) -> Config:
    """A configuration for tests: cheap KDFs, plain-HTTP cookies, its own instance folder."""
    instance = tmp_path / "instance"
    InstanceSecrets.ensure(instance)
    return Config(
        instance_path=instance,
        database_url=database_url,
        testing=True,
        secure_cookies=False,
        staff_kdf_time_cost=1,
        staff_kdf_memory_kib=8,
        receipt_kdf_time_cost=1,
        receipt_kdf_memory_kib=8,
        public_state_ttl_ms=0,
    ).with_(**changes)


def _wipe(app: Flask) -> None:
    from portal.db import Base

    engine = app.extensions["portal.engine"]
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Factory: an initialised app (`portal init` run) with optional config changes."""
    made: list[Flask] = []

    def make(**changes: object) -> Flask:
        app = create_app(config_for_tests(tmp_path, database_url, **changes))
        result = app.test_cli_runner().invoke(args=["portal", "init"])
        assert result.exit_code == 0, result.output
        made.append(app)
        return app

    yield make
    if made:
        _wipe(made[0])
    for app in made[1:]:
        app.extensions["portal.engine"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An initialised app with an empty database."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner of the app."""
    return app.test_cli_runner()


@dataclass
class StaffMember:
    """A test account with everything needed to log in as it."""

    username: str
    roles: tuple[str, ...]
    totp_secret: str
    passphrase: str = PASSPHRASE
    used_steps: set[int] = field(default_factory=set)

    def next_code(self) -> str:
        """A valid code for a time step this account has not used yet (t, then t+1)."""
        now = int(time.time() // 30)
        step = next(s for s in (now, now + 1) if not self.used_steps or s > max(self.used_steps))
        self.used_steps.add(step)
        return pyotp.TOTP(self.totp_secret).at(step * 30)


@pytest.fixture
def make_staff(app: Flask) -> Callable[..., StaffMember]:
    """Factory: create an active staff account with the given roles."""
    from portal import accounts, db

    def make(username: str, *roles: str) -> StaffMember:
        with app.app_context():
            _user, secret = accounts.create_account_with_passphrase(
                db.session(), username, roles, PASSPHRASE
            )
        return StaffMember(username, roles, secret)

    return make


class AuthActions:
    """Logs a test client in and out as a staff member."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, member: StaffMember, *, code: str | None = None):  # noqa: ANN201
        """POST the login form with a fresh code; returns the response."""
        self.client.get("/staff/login")
        return self.client.post(
            "/staff/login",
            data={
                "username": member.username,
                "passphrase": member.passphrase,
                "totp": code or member.next_code(),
                "csrf_token": csrf_token(self.client, "/staff/login"),
            },
        )


def csrf_token(client: FlaskClient, path: str) -> str:
    """Fetch a page and return the CSRF token of its first form."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Login helper bound to the test client."""
    return AuthActions(client)


@pytest.fixture
def redis_url() -> str:
    """The real Redis for rate-limit tests."""
    if not REDIS_URL:
        missing_service("PORTAL_TEST_REDIS_URL", "Redis")
    return REDIS_URL
