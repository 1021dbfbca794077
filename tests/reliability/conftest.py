"""Fixtures of the load and fault tests, and the figures they print at the end of the run.

Each test starts its own portal under gunicorn (tests.functional.server.running_portal) on a
fresh SQLite file or on a PostgreSQL schema of its own; nothing here is autouse, and no fixture
shares a name with the generic ones of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import FIGURES_PARTS, REDIS_URL, missing_service, private_pg_schema
from tests.reliability.harness import FIGURES


@pytest.fixture
def reliability_pg_url() -> Iterator[str]:
    """A PostgreSQL schema of this test alone (the integration tier empties the one it shares
    between its tests), dropped afterwards with whatever the server left in it."""
    with private_pg_schema("reliability") as url:
        yield url


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
