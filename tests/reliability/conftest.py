"""Fixtures of the load and fault tests, and the figures they print at the end of the run.

Each test starts its own portal under gunicorn (tests.functional.server.running_portal) on a
fresh SQLite file or on a PostgreSQL schema of its own; nothing here is autouse, and no fixture
shares a name with the generic ones of tests/conftest.py.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import FIGURES_PARTS, PG_URL, REDIS_URL, missing_service
from tests.reliability.harness import FIGURES


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Each process that ran scenarios leaves their figures for the controlling one, which
    prints them (tests/conftest.py, `pytest_terminal_summary`)."""
    if FIGURES:
        FIGURES_PARTS.mkdir(parents=True, exist_ok=True)
        workerinput = getattr(session.config, "workerinput", None)
        name = "main" if workerinput is None else workerinput["workerid"]
        part = FIGURES_PARTS / f"{name}.txt"
        part.write_text("\n\n".join(table for _title, table in FIGURES) + "\n", encoding="utf-8")
