"""The archive's free-text search (titles, units, posts) through each database's trigram index,
on SQLite and PostgreSQL: what is found, what never is, and q taken as plain text."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlencode

import pytest
import time_machine
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select

from portal import audit, db, ratelimit, state
from portal.cli import ROOT, upgrade_database
from portal.extensions import limiter
from portal.models import StaffUser
from publicity import service
from publicity.models import NoticePerson
from publicity.validation import NoticeInput, PersonInput
from tests.compliance_support import allow_many_decisions, record_clean

# A Monday whose week is all working days in the calendar `portal init` loads.
MONDAY = dt.date(2026, 3, 2)


def person(name: str, proposed_post: str, current_post: str = "示例镇镇长") -> PersonInput:
    return PersonInput(name=name, gender="男", ethnicity="汉族", birth="1980-05",
                       native_place="示例省示例县", education="大学本科", work_start="2002-07",
                       party="2001-06", current_post=current_post, proposed_post=proposed_post)


def notice_input(*persons: PersonInput, start: dt.date = MONDAY, **changes: object
                 ) -> NoticeInput:
    data = NoticeInput(title="干部任前公示", issuer="中共示例县委组织部", period_start=start,
                       working_days=5, phone="0000-12380", letter_address="示例县人民路1号",
                       visit_address="示例县人民路1号308室", persons=persons)
    return replace(data, **changes)  # type: ignore[arg-type]


class Editors:
    """Two editors (four-eyes) acting through the service; the first records each batch's
    compliance (clean; more than five a year allowed, as rule 5 is not tested here)."""

    def __init__(self, app: Flask, make_staff: Callable[..., object]) -> None:
        make_staff("ed1", "publicity_editor")
        make_staff("ed2", "publicity_editor")
        with app.app_context():
            ids = dict(db.session().execute(select(StaffUser.username, StaffUser.id)).all())
            allow_many_decisions(db.session())
        self.app = app
        self.first, self.second = (audit.Actor(n, ids[n]) for n in ("ed1", "ed2"))

    def draft(self, data: NoticeInput) -> int:
        with self.app.app_context():
            return service.create_draft(db.session(), data, self.first).id

    def publish(self, data: NoticeInput) -> int:
        notice_id = self.draft(data)
        with self.app.app_context():
            record_clean(db.session(), notice_id, self.first)
            service.approve_notice(db.session(), notice_id, self.second, data.period_start)
        return notice_id

    def change(self, notice_id: int, data: NoticeInput | None) -> None:
        """Propose a correction (or, without data, a withdrawal) and have it approved."""
        with self.app.app_context():
            session = db.session()
            change = (service.propose_correction(session, notice_id, data, "更正。", self.first)
                      if data else
                      service.propose_withdrawal(session, notice_id, "撤销。", self.first))
            service.approve_change(session, change.id, self.second, MONDAY + dt.timedelta(2))


@pytest.fixture
def editors(app: Flask, make_staff) -> Editors:
    return Editors(app, make_staff)


def found(client: FlaskClient, query: str) -> list[int]:
    """The notice ids of an archive page, in order."""
    response = client.get(f"/notices/archive?{query}")
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'href="/notices/(\d+)"', response.get_data(as_text=True))]


def search(client: FlaskClient, q: str) -> list[int]:
    return found(client, urlencode({"q": q}))


def test_post_unit_and_title_substrings_are_found_published_only(
        app: Flask, client: FlaskClient, editors: Editors) -> None:
    archive = editors.publish(notice_input(person("王立新", "示例县档案馆馆长")))
    withdrawn = editors.publish(notice_input(person("李春燕", "示例县红十字会会长"),
                                             issuer="中共示例县委组织部ABC室"))
    editors.change(withdrawn, None)
    editors.draft(notice_input(person("赵秘密", "示例县档案馆副馆长")))
    editors.draft(notice_input(person("钱秘密", "示例县机密局局长")))

    assert search(client, "档案馆") == [archive]  # 3 characters: the trigram index
    assert search(client, "档案馆馆长") == [archive]
    assert search(client, "案馆") == [archive]  # 2 characters: a scan
    assert search(client, "馆") == [archive]
    assert search(client, "红十字会") == [withdrawn]  # withdrawn notices stay in the archive
    assert search(client, "abc室") == [withdrawn]  # Latin letters in either case, both DBs
    assert search(client, "ab") == [withdrawn]
    assert search(client, "示例镇镇长") == [withdrawn, archive]  # current posts too
    assert search(client, "任前公示") == [withdrawn, archive]  # titles
    assert search(client, "机密局") == []  # a draft is never found
    assert search(client, "馆长\n示例") == []  # never across two fields
    assert search(client, "组织部示例镇") == []


def test_a_published_correction_moves_a_notice_in_the_search(
        app: Flask, client: FlaskClient, editors: Editors) -> None:
    data = notice_input(person("王立新", "示例县水利局局长"))
    notice_id = editors.publish(data)
    other = editors.publish(notice_input(person("李春燕", "示例县水利局副局长")))
    corrected = notice_input(person("王立新", "示例县审计局局长"))
    with app.app_context():
        change = service.propose_correction(db.session(), notice_id, corrected, "更正。",
                                            editors.first)
    assert search(client, "审计局") == []  # proposed, not yet published
    assert search(client, "水利局局长") == [notice_id]
    with app.app_context():
        service.approve_change(db.session(), change.id, editors.second,
                               MONDAY + dt.timedelta(2))
    # A substantive correction restarts the period: the notice is now the newest.
    assert search(client, "审计局局长") == [notice_id]
    assert search(client, "水利局局长") == []
    assert search(client, "水利局") == [other]
    assert search(client, "示例县") == [notice_id, other]
    editors.change(notice_id, replace(corrected, title="干部任前公示（更正）"))
    assert search(client, "（更正）") == [notice_id]


@pytest.mark.parametrize(("q", "hit"), [
    ('"', True), ('"项目"', True), ("A*B", True), ("*", True), ("-OR^", True), ("^", True),
    ("NEAR(x)", True), ("NEAR(", True), ("OR", True), ("or^near", True), ("-", True),
    ("项%目", True),  # % and _ are dropped from q, as before
    ("档案馆 OR 项目", False), ('档案馆" OR "项目', False), ("NEAR(档案馆 项目)", False),
    ("项目*", False), ("档案馆*", False), ("-项目", False), ("^项目", False), ('"档案馆', False),
    ("\\", False), ("项目\\", False), ("档案馆\\%", False),
])
def test_query_syntax_in_q_is_plain_text(app: Flask, client: FlaskClient, editors: Editors,
                                         q: str, hit: bool) -> None:
    special = editors.publish(notice_input(person("王立新", 'A*B-OR^NEAR(x)"项目"办公室主任')))
    editors.publish(notice_input(person("李春燕", "示例县档案馆馆长")))
    assert search(client, q) == ([special] if hit else [])


def test_text_search_pages_by_key_and_filters_by_year(
        app: Flask, client: FlaskClient, editors: Editors) -> None:
    made = [editors.publish(notice_input(person(f"张{i:02d}", "示例县水利局局长"),
                                         start=MONDAY + dt.timedelta(i % 4)))
            for i in range(25)]
    editors.publish(notice_input(person("李春燕", "示例县审计局局长")))
    newest_first = sorted(made, key=lambda i: (made.index(i) % 4, i), reverse=True)
    for q in ("水利局局长", "水利"):
        page1 = client.get(f"/notices/archive?q={q}").get_data(as_text=True)
        cursor = re.search(r'after=([0-9_-]+)', page1)
        assert cursor
        first = [int(i) for i in re.findall(r'href="/notices/(\d+)"', page1)]
        rest = found(client, f"q={q}&after={cursor.group(1)}")
        assert first + rest == newest_first
        assert found(client, f"q={q}&year=2026") == newest_first[:20]
        assert found(client, f"q={q}&year=2025") == []
        assert found(client, f"q={q}&year=2027") == []


def test_migration_backfills_and_downgrades(app: Flask, client: FlaskClient,
                                            editors: Editors) -> None:
    notice_id = editors.publish(notice_input(person("王立新", "示例县档案馆馆长")))
    engine = state.engine(app)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0006")
    with engine.connect() as connection:
        assert "search_text" not in {c["name"] for c in inspect(connection).get_columns("notice")}
        assert "notice_search" not in inspect(connection).get_table_names()
    upgrade_database(engine)
    assert search(client, "档案馆") == [notice_id]
    assert search(client, "中共示例县委组织部") == [notice_id]
    with app.app_context():  # the persons survived both ways
        assert db.session().scalar(select(func.count()).select_from(NoticePerson)
                                   .where(NoticePerson.notice_id == notice_id)) == 1


# --- the installation-wide ceiling on uncached searches (#21, item 13) ----------------------


def _check_search_ceiling(app: Flask, editors: Editors, *, move_clock: Callable[[], None] | None
                          ) -> None:
    notice_id = editors.publish(notice_input(person("王立新", "示例县档案馆馆长")))
    client = app.test_client()
    # Three different searches render (each a database query): the ceiling is three a minute.
    assert search(client, "档案馆") == [notice_id]
    assert search(client, "示例") == [notice_id]
    assert found(client, "year=2026") == [notice_id]
    # A fourth uncached search, by anyone (behind Tor everyone shares one address): busy.
    for lang, words in (("zh", "平台繁忙"), ("en", "The portal is busy")):
        busy = client.get(f"/notices/archive?{urlencode({'q': '馆长', 'lang': lang})}")
        assert busy.status_code == 429
        assert busy.headers["Retry-After"] == "60"
        assert busy.headers["Cache-Control"] == "no-store"
        assert words in busy.get_data(as_text=True)
    # A JSON page of the archive is such a render too.
    api = client.get("/api/notices?after=2026-03-02_1")
    assert api.status_code == 429
    assert api.headers["Retry-After"] == "60"
    assert api.get_json()["status"] == 429
    # What is cached, and the notice pages, keep answering.
    assert search(client, "档案馆") == [notice_id]
    for path in ("/", "/notices", f"/notices/{notice_id}", "/notices/feed.atom",
                 f"/api/notices/{notice_id}", "/api/notices"):
        assert client.get(path).status_code == 200, path
    # A client that holds a page is answered 304 without a render, ceiling or not.
    etag = client.get("/notices/archive?q=%E7%A4%BA%E4%BE%8B").headers["ETag"]
    held = client.get("/notices/archive?q=%E7%A4%BA%E4%BE%8B", headers={"If-None-Match": etag})
    assert held.status_code == 304
    if move_clock is not None:
        move_clock()
        assert search(client, "馆长") == [notice_id]


def test_uncached_searches_meet_an_installation_wide_ceiling_in_memory(
        make_app: Callable[..., Flask], make_staff, request: pytest.FixtureRequest) -> None:
    clock: time_machine.Coordinates = request.getfixturevalue("_pinned_clock")
    app = make_app(search_ceiling="3 per minute", behind_tor=True)
    _check_search_ceiling(app, Editors(app, make_staff),
                          move_clock=lambda: clock.shift(dt.timedelta(seconds=61)))


@pytest.mark.redis
def test_uncached_searches_meet_an_installation_wide_ceiling_on_redis(
        make_app: Callable[..., Flask], make_staff, redis_url: str) -> None:
    app = make_app(search_ceiling="3 per minute", ratelimit_storage_uri=redis_url)
    with app.app_context():
        ratelimit.clear_ceiling(limiter.storage, "3 per minute", "archive-search")
    # Redis expires the window on its own clock: the reopening is checked in memory only.
    _check_search_ceiling(app, Editors(app, make_staff), move_clock=None)
