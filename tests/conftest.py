"""Shared fixtures: an initialised app on SQLite and (when configured) on the real PostgreSQL.

Set PORTAL_TEST_DATABASE_URL (PostgreSQL) and PORTAL_TEST_REDIS_URL to run the tiers that need
them; without them those tests skip and say which variable to set. With
PORTAL_TEST_REQUIRE_SERVICES=1 (as in .ci/run) a missing service fails the run instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import jinja2.bccache
import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool
from werkzeug.routing import Rule

from application import create_app
from portal import state
from portal.config import SECRET_NAMES, Config, InstanceSecrets
from portal.constants import ROOT
from tests.clock_scenarios import scenarios

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")
REQUIRE_SERVICES = os.environ.get("PORTAL_TEST_REQUIRE_SERVICES") == "1"
PASSPHRASE = "correct horse battery staple orbit"


# Every unit and integration test starts at this instant, with the clock running from there
# (time-machine), so no test reads the real date. A Wednesday, a working day of a loaded year.
DEFAULT_NOW = "2026-11-04T10:00:00+08:00"
DEFAULT_CLOCK = "default"


def clock_names() -> list[str]:
    """The clocks each unit and integration test runs on: PORTAL_TEST_CLOCKS names them
    ("all": the default and every scenario of tests/clock_scenarios.py, as in CI); unset, the
    default one only. On a scenario's clock a test that silently depends on "today" fails."""
    asked = os.environ.get("PORTAL_TEST_CLOCKS", "").strip()
    if not asked:
        return [DEFAULT_CLOCK]
    known = [DEFAULT_CLOCK, *scenarios()]
    names = known if asked == "all" else [n.strip() for n in asked.split(",") if n.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise pytest.UsageError(f"PORTAL_TEST_CLOCKS: unknown {unknown}; known: {known}")
    return names


def clock_start(request: pytest.FixtureRequest) -> dt.datetime:
    """The instant a unit or integration test's clock starts at: its `clock` mark, else its
    clock's (PORTAL_TEST_NOW may move the default one)."""
    mark = request.node.get_closest_marker("clock")
    name = getattr(request, "param", DEFAULT_CLOCK)
    if mark:
        value = mark.args[0]
    elif name == DEFAULT_CLOCK:
        value = os.environ.get("PORTAL_TEST_NOW") or DEFAULT_NOW
    else:
        return scenarios()[name]
    start = dt.datetime.fromisoformat(value)
    if start.tzinfo is None:
        raise pytest.UsageError(f"a test clock needs a UTC offset: {value!r}")
    return start


def pinned_clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """The clock of one test: starts at clock_start() and runs. The unit and integration tiers
    use it as an autouse fixture parametrized by clock_names(); a test whose expectations hold
    on one day only says which with `@pytest.mark.clock(ISO instant)`."""
    with time_machine.travel(clock_start(request), tick=True) as traveller:
        yield traveller


def _clock_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get("_pinned_clock", DEFAULT_CLOCK)) if callspec else DEFAULT_CLOCK


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the other days, SQLite only, and not the tests that pin their own day or whose code
    under test runs in a process of its own, on the real clock (they would repeat themselves).
    The tiers that start servers go first: when the run is spread over processes
    (pytest-xdist), the longest module starts early."""
    kept, dropped = [], []
    for item in items:
        other_day = _clock_of(item) != DEFAULT_CLOCK
        params = getattr(item, "callspec", None)
        on_postgres = params is not None and params.params.get("database_url") == "postgres"
        own_day = item.get_closest_marker("clock") or item.get_closest_marker("own_clock")
        if other_day and (on_postgres or own_day):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    first = ("tests/reliability/test_load.py", "tests/reliability", "tests/functional")

    def rank(item: pytest.Item) -> int:
        path = item.nodeid
        return next((n for n, prefix in enumerate(first) if path.startswith(prefix)), len(first))

    items[:] = sorted(kept, key=rank)


FIGURES_FILE = ROOT / "test-results" / "reliability-figures.txt"
FIGURES_PARTS = ROOT / "test-results" / "reliability-figures.parts"


def pytest_configure(config: pytest.Config) -> None:
    """The controlling process clears the reliability figures of an earlier run."""
    if not hasattr(config, "workerinput"):
        shutil.rmtree(FIGURES_PARTS, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures of every reliability scenario that ran (passed or not), whichever
    process ran it (tests/reliability/conftest.py), and keep them in FIGURES_FILE."""
    if hasattr(terminalreporter.config, "workerinput") or not FIGURES_PARTS.is_dir():
        return
    parts = sorted(FIGURES_PARTS.glob("*.txt"))
    if not parts:
        return
    text = "\n\n".join(part.read_text(encoding="utf-8").strip() for part in parts) + "\n"
    terminalreporter.section("reliability figures")
    for line in text.splitlines():
        terminalreporter.write_line(line)
    FIGURES_FILE.write_text(text, encoding="utf-8")
    terminalreporter.write_line(f"(also in {FIGURES_FILE.relative_to(ROOT)})")


def missing_service(variable: str, what: str) -> None:
    """Skip (or, when services are required, fail) a test whose service is not configured."""
    message = f"set {variable} to run this test against the real {what}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def private_pg_schema(purpose: str) -> Iterator[str]:
    """A schema of its own in the PostgreSQL test database, as a database URL; dropped, with
    whatever the server left in it, when the block ends. Skips (or fails, when services are
    required) without PORTAL_TEST_DATABASE_URL."""
    if not PG_URL:
        missing_service("PORTAL_TEST_DATABASE_URL", "PostgreSQL")
    base = make_url(PG_URL).set(drivername="postgresql+psycopg")
    schema = f"portal_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """The integration tier's schema, shared by its tests (each starts from init's rows)."""
    with private_pg_schema("test") as url:
        yield url


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
    """Delete every row of the app's database (the reliability tier's shared-schema apps)."""
    from portal.db import Base

    engine = state.engine(app)
    with engine.begin() as conn:
        present = set(inspect(conn).get_table_names())
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in present:
                conn.execute(table.delete())
    engine.dispose()


def _init_database(tmp_path: Path, database_url: str) -> None:
    """Run `portal init` once on an empty database (what every test's database starts from)."""
    app = create_app(config_for_tests(tmp_path, database_url))
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    assert result.exit_code == 0, result.output
    state.engine(app).dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised SQLite database, migrated once per run; each test gets a copy of it."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "portal.db"
    _init_database(folder, f"sqlite:///{path}")
    # The engine is disposed, so the write-ahead log is checkpointed into the file.
    assert not (folder / "portal.db-wal").exists() or not (folder / "portal.db-wal").stat().st_size
    return path


# A digest of the working-day calendar (3,288 rows after init): most tests leave it as it was,
# and then it is kept instead of being deleted and inserted again.
DAYS_DIGEST = text("SELECT md5(string_agg(concat_ws(',', day, is_workday, ordinal, provisional),"
                   " ';' ORDER BY day)) FROM calendar_day")


@dataclass(frozen=True)
class Snapshot:
    """The rows `portal init` leaves in a database, to restore between tests."""

    rows: dict[str, list[dict[str, object]]]
    days_digest: str
    # The instance folder `portal init` ran in: the database's marker is of its secrets.
    instance: Path


@pytest.fixture(scope="session")
def pg_template(pg_schema_url: str, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The shared PostgreSQL schema, migrated once per run, and what `portal init` put in it."""
    from portal.db import Base

    folder = tmp_path_factory.mktemp("pg-template")
    _init_database(folder, pg_schema_url)
    engine = create_engine(pg_schema_url)
    with engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(t.select())]
                for t in Base.metadata.sorted_tables}
        digest = conn.scalar(DAYS_DIGEST)
    engine.dispose()
    return Snapshot({name: found for name, found in rows.items() if found}, digest,
                    folder / "instance")


def _restore(url: str, snapshot: Snapshot) -> None:
    """Empty every table of the shared schema and put back what `portal init` made (the
    calendar only when a test changed it)."""
    from portal.db import Base

    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        keep_days = conn.scalar(DAYS_DIGEST) == snapshot.days_digest
        for table in reversed(Base.metadata.sorted_tables):
            if not (keep_days and table.name == "calendar_day"):
                conn.execute(table.delete())
        for name, rows in snapshot.rows.items():
            if not (keep_days and name == "calendar_day"):
                conn.execute(Base.metadata.tables[name].insert(), rows)
    engine.dispose()


def _copy_secrets(source: Path, instance: Path) -> None:
    """Give an instance folder the secret files of another (mode 0600), unless it has its own."""
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in SECRET_NAMES:
        if not (instance / name).exists():
            shutil.copyfile(source / name, instance / name)
            (instance / name).chmod(0o600)


class SharedTemplateCode(jinja2.BytecodeCache):
    """Compiled templates kept across the run's apps: each test builds its own app, and
    compiling every template again for each was a fifth of the integration tier's time."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Give the bucket the code compiled by an earlier app, if any (checked by checksum)."""
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep a newly compiled template's code."""
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


def _share_url_builders() -> None:
    """werkzeug compiles two URL-builder functions (Python source, via ``ast``) for each rule of
    each app, which was most of the cost of building an app; a run builds thousands of apps
    with the same rules. A builder depends only on the rule's parsed parts, its defaults, its
    converters and whether unknown arguments are appended, and it reads the rule through the
    instance it is bound to, so one compiled function serves every app's copy of the rule."""
    compile_builder = Rule._compile_builder
    compiled: dict[tuple[object, ...], Callable[..., tuple[str, str]]] = {}

    def shared(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        converters = tuple((name, type(c), c.regex, c.part_isolating)
                           for name, c in sorted(self._converters.items()))
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())),
               converters, append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = shared  # type: ignore[method-assign]


_share_url_builders()


@pytest.fixture
def make_app(request: pytest.FixtureRequest, tmp_path: Path,
             database_url: str) -> Iterator[Callable[..., Flask]]:
    """Factory: an initialised app (as after `portal init`) with optional config changes.

    The schema is migrated once per run: a test's SQLite database is a copy of the session's
    template, and the shared PostgreSQL schema is emptied and given back the initial rows. The
    instance secrets are the template's, copied as to a further app server: the database's
    marker is theirs (#22, item 1).
    """
    if database_url.startswith("sqlite"):
        template = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, database_url.removeprefix("sqlite:///"))
        _copy_secrets(template.parent / "instance", tmp_path / "instance")
    else:
        snapshot = request.getfixturevalue("pg_template")
        _restore(database_url, snapshot)
        _copy_secrets(snapshot.instance, tmp_path / "instance")
    made: list[Flask] = []

    def make(**changes: object) -> Flask:
        app = create_app(config_for_tests(tmp_path, database_url, **changes))
        app.jinja_env.bytecode_cache = TEMPLATE_CODE
        made.append(app)
        return app

    yield make
    for app in made:
        state.engine(app).dispose()


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
