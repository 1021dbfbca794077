"""Fixtures of the load and fault tests, and the figures they print at the end of the run.

Each test starts its own portal under gunicorn (tests.functional.server.running_portal) on a
fresh SQLite file or on a PostgreSQL schema of its own; nothing here is autouse, and no fixture
shares a name with the generic ones of tests/conftest.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from portal.constants import ROOT
from tests.conftest import PG_URL, REDIS_URL, missing_service
from tests.reliability.harness import FIGURES

FIGURES_FILE = ROOT / "test-results" / "reliability-figures.txt"
FIGURES_PARTS = ROOT / "test-results" / "reliability-figures.parts"


@pytest.fixture
def reliability_pg_url() -> Iterator[str]:
    """A PostgreSQL schema of this test alone (the integration tier empties the one it shares
    between its tests), dropped afterwards with whatever the server left in it."""
    if not PG_URL:
        missing_service("PORTAL_TEST_DATABASE_URL", "PostgreSQL")
    base = make_url(PG_URL).set(drivername="postgresql+psycopg")
    schema = f"portal_reliability_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def reliability_redis_url() -> str:
    """The shared Redis (PORTAL_TEST_REDIS_URL) as the portal's rate-limit store."""
    if not REDIS_URL:
        missing_service("PORTAL_TEST_REDIS_URL", "Redis")
    return REDIS_URL


def _worker(config: pytest.Config) -> str | None:
    """The pytest-xdist worker's id, or None in the controlling (or only) process."""
    workerinput = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput["workerid"])


def pytest_configure(config: pytest.Config) -> None:
    """The controlling process clears the figures of an earlier run."""
    if _worker(config) is None:
        shutil.rmtree(FIGURES_PARTS, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Each process that ran scenarios leaves their figures for the controlling one."""
    if FIGURES:
        FIGURES_PARTS.mkdir(parents=True, exist_ok=True)
        part = FIGURES_PARTS / f"{_worker(session.config) or 'main'}.txt"
        part.write_text("\n\n".join(table for _title, table in FIGURES) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures of every scenario that ran (passed or not), from whichever process
    ran it, and keep them in test-results/reliability-figures.txt."""
    parts = sorted(FIGURES_PARTS.glob("*.txt")) if FIGURES_PARTS.is_dir() else []
    if not parts:
        return
    text = "\n\n".join(part.read_text(encoding="utf-8").strip() for part in parts) + "\n"
    terminalreporter.section("reliability figures")
    for line in text.splitlines():
        terminalreporter.write_line(line)
    FIGURES_FILE.write_text(text, encoding="utf-8")
    terminalreporter.write_line(f"(also in {FIGURES_FILE.relative_to(ROOT)})")
