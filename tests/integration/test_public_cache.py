"""The public pages' render cache and conditional answers: never stale, never shared wrongly.

The oracle throughout: whatever the cache serves equals what a fresh render (cache cleared)
gives at that moment. Publications, corrections, calendar changes, local midnight, language
and host each change the key; a visitor's own session never reaches a shared render. On SQLite
and PostgreSQL; the revisions are re-read on every request here (TTL 0, as in all tests), and
the TTL itself is tested on the cache object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.http_cache import MAX_ENTRY_BYTES, RenderCache, Rendered, render_cache
from tests.conftest import StaffMember
from tests.integration.test_query_counts import SHANGHAI, START, publish, statements

TITLE = "中共示例县委组织部干部任前公示（{k}）"


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """10:00 on START (a Monday) in Shanghai, movable by the test."""
    with time_machine.travel(dt.datetime(START.year, START.month, START.day, 10,
                                         tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


@pytest.fixture
def editors(make_staff) -> tuple[StaffMember, StaffMember]:  # type: ignore[no-untyped-def]
    return make_staff("ed1", "publicity_editor"), make_staff("ed2", "publicity_editor")


def fresh(app: Flask, client: FlaskClient, path: str, **kw: object) -> TestResponse:
    """The page rendered now with an empty cache."""
    with app.app_context():
        render_cache().clear()
    return client.get(path, **kw)  # type: ignore[arg-type]


def served_equals_fresh(app: Flask, client: FlaskClient, path: str, **kw: object) -> str:
    served = client.get(path, **kw)  # type: ignore[arg-type]
    assert served.status_code == 200, (path, served.status_code)
    again = fresh(app, client, path, **kw)
    assert served.get_data() == again.get_data(), path
    return served.get_data(as_text=True)


PAGES = ("/", "/notices", "/notices/{id}", "/api/notices/{id}", "/api/notices",
         "/notices/archive?q=王立新", "/notices/feed.atom")


def test_a_repeated_page_is_answered_from_the_cache_with_one_small_read(
        app: Flask, editors: tuple[StaffMember, StaffMember],
        clock: time_machine.Coordinates) -> None:
    client = app.test_client()
    notice = publish(app, editors, persons=2, k=1)
    for page in PAGES:
        path = page.format(id=notice)
        first = client.get(path)
        assert first.status_code == 200, path
        with statements(app) as seen:
            second = client.get(path)
        assert second.get_data() == first.get_data(), path
        assert second.headers["ETag"] == first.headers["ETag"]
        # Only the revisions (publicity and calendar, one statement) are read.
        assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, (
            path, seen)
        with statements(app) as seen:
            not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert not_modified.status_code == 304
        assert not_modified.get_data() == b""
        assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1


def test_publications_corrections_calendar_and_midnight_change_what_is_served(
        app: Flask, editors: tuple[StaffMember, StaffMember],
        clock: time_machine.Coordinates) -> None:
    client = app.test_client()
    first = publish(app, editors, persons=1, k=1)
    before = {p: client.get(p.format(id=first)).get_data() for p in PAGES}

    # A new publication shows at once on every list, and every ETag changes.
    second = publish(app, editors, persons=1, k=2, corrections=1)
    assert TITLE.format(k=2) in served_equals_fresh(app, client, "/")
    assert TITLE.format(k=2) in served_equals_fresh(app, client, "/notices/feed.atom")
    served_equals_fresh(app, client, "/api/notices")
    assert second in [n["id"] for n in client.get("/api/notices").get_json()["notices"]]
    assert "更正0" in served_equals_fresh(app, client, f"/notices/{second}")

    # A calendar change (Wednesday made a holiday) changes the working days left.
    home = served_equals_fresh(app, client, "/")
    result = app.test_cli_runner().invoke(
        args=["calendar", "set", (START + dt.timedelta(days=2)).isoformat(), "holiday"])
    assert result.exit_code == 0, result.output
    assert served_equals_fresh(app, client, "/") != home

    # Local midnight: the next day's page is a new render with one day less.
    today_page = served_equals_fresh(app, client, f"/notices/{first}")
    tomorrow = START + dt.timedelta(days=1)
    clock.move_to(dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, 0, 0, 1,
                              tzinfo=SHANGHAI))
    assert served_equals_fresh(app, client, f"/notices/{first}") != today_page
    for page in PAGES:
        assert client.get(page.format(id=first)).get_data() != before[page] or \
            page == "/api/notices/{id}", page


def test_language_is_part_of_the_key_and_a_forged_host_never_is(
        app: Flask, editors: tuple[StaffMember, StaffMember],
        clock: time_machine.Coordinates) -> None:
    client = app.test_client()
    notice = publish(app, editors, persons=1, k=1)
    zh = served_equals_fresh(app, client, f"/notices/{notice}")
    en = served_equals_fresh(app, client, f"/notices/{notice}?lang=en")
    assert zh != en
    assert 'lang="zh-CN"' in zh
    assert 'lang="en"' in en
    assert client.get(f"/notices/{notice}").get_data(as_text=True) == zh

    # A request under a forged Host is refused, and leaves nothing in the cache (#21.10;
    # tests/integration/test_host_header.py tries the other headers).
    for path in (f"/api/notices/{notice}", "/notices/feed.atom", "/api/notices"):
        forged = client.get(path, headers={"Host": "evil.example"})
        assert forged.status_code == 400
        assert "evil.example" not in forged.get_data(as_text=True), path
        assert "evil.example" not in client.get(path).get_data(as_text=True), path


def test_a_visitors_flashed_message_never_enters_a_shared_page(
        app: Flask, editors: tuple[StaffMember, StaffMember],
        clock: time_machine.Coordinates) -> None:
    publish(app, editors, persons=1, k=1)
    visitor = app.test_client()
    with visitor.session_transaction("/report") as session:
        session["_flashes"] = [("ok", "只属于这位访客的提示")]
    page = visitor.get("/")
    assert "只属于这位访客的提示" not in page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers
    assert "Cookie" not in page.headers.get("Vary", "")
    assert page.headers["Cache-Control"].startswith("public")
    # Nobody else gets it from the cache either…
    assert "只属于这位访客的提示" not in app.test_client().get("/").get_data(as_text=True)
    # …and the visitor still has it, shown on the next page that is theirs (the report form).
    assert "只属于这位访客的提示" in visitor.get("/report").get_data(as_text=True)


def test_an_unpublished_notice_is_not_found_until_its_publication(
        app: Flask, editors: tuple[StaffMember, StaffMember],
        clock: time_machine.Coordinates) -> None:
    client = app.test_client()
    first = publish(app, editors, persons=1, k=1)
    missing = first + 1
    assert client.get(f"/notices/{missing}").status_code == 404
    assert client.get(f"/notices/{missing}").status_code == 404  # from the cache
    assert client.get(f"/api/notices/{missing}").status_code == 404
    assert publish(app, editors, persons=1, k=2) == missing
    assert TITLE.format(k=2) in served_equals_fresh(app, client, f"/notices/{missing}")
    assert client.get(f"/api/notices/{missing}").status_code == 200


# --- the cache object ---------------------------------------------------------------------


def test_the_cache_is_bounded_in_bytes_and_skips_huge_renders() -> None:
    cache = RenderCache(max_bytes=10_000)
    for i in range(40):
        cache.put(f"k{i}", Rendered(b"x" * 1000, "text/html"))
    assert cache.size <= 10_000
    assert cache.get("k0") is None
    assert cache.get("k39") is not None
    cache.put("huge", Rendered(b"x" * (MAX_ENTRY_BYTES + 1), "text/html"))
    assert cache.get("huge") is None


def test_held_state_is_reloaded_after_its_ttl_and_every_time_without_one() -> None:
    now = [0.0]
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    held = RenderCache(state_ttl=1.0, timer=lambda: now[0])
    assert [held.state("s", load) for _ in range(5)] == [1] * 5
    now[0] = 0.9
    assert held.state("s", load) == 1
    now[0] = 1.1
    assert held.state("s", load) == 2

    uncached = RenderCache(state_ttl=0)
    assert [uncached.state("s", load) for _ in range(3)] == [3, 4, 5]
