"""Fixtures of the browser tier: one gunicorn-served portal, headless Chromium, and the tools
that check every page (watched contexts, screenshots, axe-core).

Chromium is Debian's (`/usr/bin/chromium`, or PORTAL_TEST_CHROMIUM); axe-core and jsQR come
from `npm ci --prefix tests/functional`. Without them the tier skips and says what to install;
with PORTAL_TEST_REQUIRE_BROWSER=1 (as in .ci/run) it fails instead. The database is
PostgreSQL when PORTAL_TEST_DATABASE_URL is set, else SQLite.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.constants import ROOT
from tests.conftest import PG_URL, private_pg_schema

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.functional.browser import Axe, QrReader, Screenshots, Web
    from tests.functional.journey import Story
    from tests.functional.server import Portal

REQUIRE_BROWSER = os.environ.get("PORTAL_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM = Path(os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium"))
HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
JSQR_JS = HERE / "node_modules" / "jsqr" / "dist" / "jsQR.js"
SCREENSHOTS = ROOT / "test-results" / "screenshots"
BACKEND = "postgres" if PG_URL else "sqlite"
TAKEN: list[Screenshots] = []  # the run's screenshots, named at the end of the log
CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def _unavailable(reason: str) -> None:
    """Skip the tier (or fail it, when the browser is required) for a missing tool."""
    if REQUIRE_BROWSER:
        pytest.fail(f"PORTAL_TEST_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser_tools() -> Path:
    """Check that Playwright, Chromium and the npm tools are there; return Chromium's path."""
    if importlib.util.find_spec("playwright") is None:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) "
                     "or point PORTAL_TEST_CHROMIUM at one")
    for tool in (AXE_JS, JSQR_JS):
        if not tool.is_file():
            _unavailable(f"{tool.relative_to(ROOT)} is missing: run "
                         "`npm ci --prefix tests/functional`")
    return CHROMIUM


def _placeholder_schedule(portal: Portal, year: int) -> None:
    """Load a year the calendar lacks (weekends off, no holidays) so a period reaching into it
    can be approved; only a test database ever gets such a guess."""
    path = Path(portal.app.instance_path) / f"calendar-{year}.json"
    path.write_text(json.dumps({"year": year, "source": "browser tests: weekday rule only",
                                "holidays": [], "workdays": []}), encoding="utf-8")
    portal.cli("calendar", "import", str(path))


def _open_today(portal: Portal) -> None:
    """Make a notice approved today open today, whatever day the tier runs on.

    A notice's period starts on its first working day, so on a weekend or holiday a notice
    approved today would only be scheduled: the admin's override (`calendar set`) makes today
    a working day in this test database. A period reaching into a year whose schedule is not
    loaded yet (late December) could not be approved: that year gets a placeholder.
    """
    from portal.workdays import YearNotLoaded

    today = portal.today()
    while True:
        try:
            portal.publicity_period(today)
            break
        except YearNotLoaded as missing:
            _placeholder_schedule(portal, missing.year)
    if not portal.is_workday(today):
        portal.cli("calendar", "set", today.isoformat(), "workday")


def _appointment_term(portal: Portal) -> None:
    """Configure a term covering the journeys' decision meetings, as an administrator does on
    /staff/admin/compliance: without one no compliance record can be saved, so no notice can
    be approved. It spans two years back and three ahead, whatever day the tier runs on."""
    from portal import audit, db
    from publicity.compliance import service as compliance
    from tests.functional.server import TERM, TERM_POSTS

    today = portal.today()
    with portal.app.app_context():
        compliance.save_term(db.session(), None, TERM, today.replace(day=1, year=today.year - 2),
                             today.replace(day=1, year=today.year + 3), TERM_POSTS, audit.CLI)


@pytest.fixture(scope="package", params=[
    pytest.param(BACKEND, marks=[pytest.mark.postgres] if BACKEND == "postgres" else [])])
def portal(request: pytest.FixtureRequest, browser_tools: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal under gunicorn on a fresh database, its staff accounts and queue keys made,
    today a working day and an appointment term configured."""
    from tests.functional.server import running_portal

    workdir = tmp_path_factory.mktemp("portal")
    with contextlib.ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(private_pg_schema("browser"))
        else:
            url = f"sqlite:///{workdir / 'portal.db'}"
        running = stack.enter_context(running_portal(workdir, url))
        _open_today(running)
        _appointment_term(running)
        yield running


@pytest.fixture(scope="package")
def chromium(browser_tools: Path) -> Iterator[Browser]:
    """Headless Debian Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    from tests.functional.browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(browser_tools),
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def web(request: pytest.FixtureRequest, chromium: Browser, portal: Portal,
        shots: Screenshots) -> Iterator[Web]:
    """The browser contexts of one test; fails the test on a foreign request, a console
    error, a CSP violation or an uncaught script error in any of them. After a failure every
    open page is photographed under test-results/screenshots/failed/."""
    from tests.functional.browser import Web

    session = Web(chromium, portal.base_url)
    yield session
    call = request.node.stash.get(CALL_REPORT, None)
    if call is not None and call.failed:
        session.photograph(shots.folder / "failed", request.node.name)
    problems = session.close()
    if problems:
        pytest.fail("the browser saw problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="package")
def shots(browser_tools: Path) -> Screenshots:
    """Where the full-page screenshots go (emptied when the tier starts, so that what is
    there after a run is from that run)."""
    from tests.functional.browser import Screenshots

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    TAKEN.append(Screenshots(SCREENSHOTS))
    return TAKEN[-1]


@pytest.fixture(scope="package")
def axe(browser_tools: Path) -> Axe:
    """axe-core from tests/functional/node_modules."""
    from tests.functional.browser import Axe

    return Axe(AXE_JS.read_text(encoding="utf-8"))


@pytest.fixture(scope="package")
def qr(browser_tools: Path) -> QrReader:
    """jsQR from tests/functional/node_modules."""
    from tests.functional.browser import QrReader

    return QrReader(JSQR_JS.read_text(encoding="utf-8"))


@pytest.fixture(scope="package")
def story(portal: Portal) -> Story:
    """What the journeys leave for the ones after them (a notice, receipts, case numbers)."""
    from tests.functional.journey import Story

    return Story(today=portal.today())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each journey's outcome for the `web` fixture, and attach the end of gunicorn's
    log to a failed journey's report."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    running = getattr(item, "funcargs", {}).get("portal")
    if report.failed and running is not None:
        tail = running.server_log().splitlines()[-40:]
        report.sections.append(("gunicorn log (last lines)", "\n".join(tail)))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the screenshot folder in the log, so a person can look at the pages."""
    for shots in TAKEN:
        count = len(list(shots.folder.rglob("*.png")))
        terminalreporter.write_line(f"browser tier screenshots: {shots.folder} ({count} files)")
