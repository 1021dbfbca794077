"""Publicity end to end: four-eyes workflow, clock-driven states, corrections, outcomes, public
pages (feed, API, 304, no cookie), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from portal import audit, db, state
from portal.models import StaffUser
from publicity import service
from publicity.models import Notice, NoticePerson
from publicity.schemas import ApiNotice, ApiNoticePage
from publicity.validation import NoticeInput, PersonInput
from tests.compliance_support import allow_many_decisions, record_clean
from tests.conftest import AuthActions, StaffMember, csrf_token

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
EDITOR_NOTE = "内部备注：仅供编辑参考"


def at(day: dt.date, hour: int = 10) -> time_machine.travel:
    """Freeze the clock at a Shanghai date."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI),
                               tick=False)


def person(name: str = "王立新", **changes: object) -> PersonInput:
    base = PersonInput(name=name, gender="男", ethnicity="汉族", birth="1980-05",
                       native_place="示例省示例县", education="大学本科", work_start="2002-07",
                       party="2001-06", current_post="示例镇镇长", proposed_post="示例镇党委书记",
                       cadre_id="CADRE-000123")
    return replace(base, **changes)  # type: ignore[arg-type]


def notice_input(start: dt.date = dt.date(2026, 11, 30), *persons: PersonInput,
                 **changes: object) -> NoticeInput:
    data = NoticeInput(title="中共示例县委组织部干部任前公示", issuer="中共示例县委组织部",
                       period_start=start, working_days=5, phone="0000-12380",
                       letter_address="示例县人民路1号", visit_address="示例县人民路1号308室",
                       persons=persons or (person(), person("李春燕", gender="女")))
    return replace(data, **changes)  # type: ignore[arg-type]


@pytest.fixture
def editors(app: Flask, make_staff) -> tuple[StaffMember, StaffMember]:
    return make_staff("ed1", "publicity_editor"), make_staff("ed2", "publicity_editor")


def actor(app: Flask, member: StaffMember) -> audit.Actor:
    with app.app_context():
        user_id = db.session().scalar(select(StaffUser.id)
                                      .where(StaffUser.username == member.username))
    return audit.Actor(member.username, user_id)


@pytest.fixture
def publish(app: Flask, editors) -> Callable[..., int]:
    """Draft by ed1, with a clean compliance record by ed1, approved by ed2 on
    `approved_on`; returns the notice id. Some tests publish more than the plan's five partial
    decisions a year: the limit (rule 5) is raised, as it is not what they test."""
    with app.app_context():
        allow_many_decisions(db.session())

    def make(data: NoticeInput | None = None, approved_on: dt.date | None = None) -> int:
        data = data or notice_input()
        with app.app_context():
            notice = service.create_draft(db.session(), data, actor(app, editors[0]),
                                          note=EDITOR_NOTE)
            record_clean(db.session(), notice.id, actor(app, editors[0]))
            service.approve_notice(db.session(), notice.id, actor(app, editors[1]),
                                   approved_on or data.period_start)
            return notice.id
    return make


def get_notice(app: Flask, notice_id: int) -> Notice:
    with app.app_context():
        notice = db.session().get(Notice, notice_id)
        assert notice is not None
        db.session().expunge(notice)
        return notice


def editor_client(app: Flask, member: StaffMember) -> FlaskClient:
    client = app.test_client()
    assert AuthActions(client).login(member).status_code == 303
    return client


def post_form(client: FlaskClient, path: str, form_page: str, data: dict[str, object]):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page)})


# --- the workflow --------------------------------------------------------------------------

def test_four_eyes_approval_through_the_editor_pages(app: Flask, editors) -> None:
    form = {
        "title": "中共示例县委组织部干部任前公示", "issuer": "中共示例县委组织部",
        "period_start": "2026-11-30", "working_days": "5", "phone": "0000-12380",
        "letter_address": "示例县人民路1号", "visit_address": "",
        "persons-0-name": "王立新", "persons-0-gender": "男", "persons-0-ethnicity": "汉族",
        "persons-0-birth": "1980-05", "persons-0-native_place": "示例省示例县",
        "persons-0-education": "大学本科", "persons-0-work_start": "2002-07",
        "persons-0-party": "2001-06", "persons-0-current_post": "示例镇镇长",
        "persons-0-proposed_post": "示例镇党委书记", "save": "1",
    }
    with at(dt.date(2026, 11, 27)):  # the editors log in on that day too
        ed1, ed2 = (editor_client(app, e) for e in editors)
        created = post_form(ed1, "/staff/publicity/new", "/staff/publicity/new", form)
        assert created.status_code == 303
        notice_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
        page = ed1.get(f"/staff/publicity/{notice_id}").get_data(as_text=True)
        assert "2026年11月30日至2026年12月4日（5个工作日）" in page
        assert "另一名编辑审核" in page  # ed1 sees that someone else must approve
        with app.app_context():  # the batch's compliance record, by the author
            record_clean(db.session(), notice_id, actor(app, editors[0]))
        seen = {"version": str(get_notice(app, notice_id).version)}
        refused = post_form(ed1, f"/staff/publicity/{notice_id}/approve",
                            f"/staff/publicity/{notice_id}", seen)
        assert refused.status_code == 303
        assert get_notice(app, notice_id).status == "draft"
        page = ed2.get(f"/staff/publicity/{notice_id}").get_data(as_text=True)
        assert f'name="version" value="{seen["version"]}"' in page
        approved = post_form(ed2, f"/staff/publicity/{notice_id}/approve",
                             f"/staff/publicity/{notice_id}", seen)
        assert approved.status_code == 303
    notice = get_notice(app, notice_id)
    assert notice.status == "approved"
    assert (notice.period_start, notice.period_end) == (dt.date(2026, 11, 30),
                                                        dt.date(2026, 12, 4))


def test_editor_form_errors_are_shown_and_nothing_written(app: Flask, editors) -> None:
    ed1 = editor_client(app, editors[0])
    form = {"title": "", "issuer": "中共示例县委组织部", "period_start": "2026-11-30",
            "working_days": "4", "persons-0-name": "王" * 10_000, "persons-0-gender": "男",
            "persons-0-birth": "1980-13", "save": "1"}
    response = post_form(ed1, "/staff/publicity/new", "/staff/publicity/new", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "此项必填" in html
    assert "公示期不少于 5 个工作日" in html
    assert "年月格式应为" in html
    with app.app_context():
        assert db.session().scalars(select(Notice)).all() == []


def test_add_person_button_works_without_javascript(app: Flask, editors) -> None:
    ed1 = editor_client(app, editors[0])
    response = post_form(ed1, "/staff/publicity/new", "/staff/publicity/new",
                         {"title": "x", "period_start": "2026-11-30", "working_days": "5",
                          "persons-0-name": "王立新", "add_person": "1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="persons-1-name"' in html
    assert 'value="王立新"' in html


def test_approved_notice_is_never_edited_in_place(app: Flask, editors, publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    with app.app_context(), pytest.raises(service.PublicityError) as exc:
        service.update_draft(db.session(), notice_id, notice_input(title="改"),
                             actor(app, editors[0]), get_notice(app, notice_id).version)
    assert exc.value.code == "not-a-draft"
    ed1 = editor_client(app, editors[0])
    assert ed1.get(f"/staff/publicity/{notice_id}/edit").status_code == 303
    assert get_notice(app, notice_id).title == "中共示例县委组织部干部任前公示"


def test_concurrent_draft_edits_are_detected(app: Flask, editors) -> None:
    with app.app_context():
        notice = service.create_draft(db.session(), notice_input(), actor(app, editors[0]))
        notice_id, version = notice.id, notice.version
        service.update_draft(db.session(), notice_id, notice_input(title="一"),
                             actor(app, editors[0]), version)
        with pytest.raises(service.PublicityError) as exc:
            service.update_draft(db.session(), notice_id, notice_input(title="二"),
                                 actor(app, editors[1]), version)
    assert exc.value.code == "stale"
    assert get_notice(app, notice_id).title == "一"


def test_unloaded_year_and_past_start_refuse_approval(app: Flask, editors) -> None:
    with app.app_context(), at(dt.date(2026, 12, 20)):
        # Five working days from 2026-12-28 reach 2027, whose schedule is not loaded.
        late_id = service.create_draft(db.session(), notice_input(dt.date(2026, 12, 28)),
                                       actor(app, editors[0])).id
        record_clean(db.session(), late_id, actor(app, editors[0]))
        with pytest.raises(service.PublicityError) as exc:
            service.approve_notice(db.session(), late_id, actor(app, editors[1]),
                                   dt.date(2026, 12, 20))
        assert exc.value.code == "year-not-loaded"
        assert exc.value.params["year"] == 2027
        past = service.create_draft(db.session(), notice_input(dt.date(2026, 12, 1)),
                                    actor(app, editors[0]))
        with pytest.raises(service.PublicityError) as exc:
            service.approve_notice(db.session(), past.id, actor(app, editors[1]),
                                   dt.date(2026, 12, 20))
        assert exc.value.code == "start-passed"
    with at(dt.date(2026, 12, 20)):
        ed2 = editor_client(app, editors[1])
        page = ed2.get(f"/staff/publicity/{late_id}").get_data(as_text=True)
    assert "2027年节假日安排尚未发布，请管理员导入后再发布" in page
    assert get_notice(app, late_id).status == "draft"


def test_non_working_start_is_moved_and_shown_before_approval(app: Flask, editors) -> None:
    with app.app_context():
        draft_id = service.create_draft(db.session(), notice_input(dt.date(2026, 10, 1)),
                                        actor(app, editors[0])).id
        record_clean(db.session(), draft_id, actor(app, editors[0]))
    with at(dt.date(2026, 9, 28)):
        ed2 = editor_client(app, editors[1])
        page = ed2.get(f"/staff/publicity/{draft_id}").get_data(as_text=True)
        assert "不是工作日" in page
        assert "2026年10月8日" in page  # first working day after the National Day holiday
        with app.app_context():
            service.approve_notice(db.session(), draft_id, actor(app, editors[1]),
                                   dt.date(2026, 9, 28))
    assert get_notice(app, draft_id).period_start == dt.date(2026, 10, 8)


def test_states_follow_the_clock(app: Flask, client: FlaskClient, publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
        assert "待公示" in client.get(f"/notices/{notice_id}").get_data(as_text=True)
        assert client.get("/api/notices").get_json()["notices"][0]["status"] == "scheduled"
        assert "中共示例县委组织部干部任前公示" not in client.get("/").get_data(as_text=True)
    with at(dt.date(2026, 11, 30)):
        home = client.get("/").get_data(as_text=True)
        assert "剩余 5 个工作日" in home
    with at(dt.date(2026, 12, 4), hour=23):
        assert "剩余 1 个工作日" in client.get("/").get_data(as_text=True)
        assert client.get(f"/api/notices/{notice_id}").get_json()["status"] == "open"
    with at(dt.date(2026, 12, 5)):
        assert "中共示例县委组织部干部任前公示" not in client.get("/").get_data(as_text=True)
        assert client.get(f"/api/notices/{notice_id}").get_json()["status"] == "closed"
        assert "公示期已结束" in client.get(f"/notices/{notice_id}").get_data(as_text=True)


def test_substantive_correction_restarts_the_period_after_four_eyes(app: Flask, editors,
                                                                    publish, client) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    corrected = notice_input(dt.date(2026, 11, 30), person(proposed_post="示例县水利局局长"),
                             person("李春燕", gender="女"))
    with app.app_context():
        change = service.propose_correction(db.session(), notice_id, corrected,
                                            "拟任职务表述有误。", actor(app, editors[0]))
        assert change.substantive
        change_id = change.id
        with pytest.raises(service.PublicityError) as exc:
            service.approve_change(db.session(), change_id, actor(app, editors[0]),
                                   dt.date(2026, 12, 2))
        assert exc.value.code == "four-eyes"
    with at(dt.date(2026, 12, 2)):
        # Not yet approved: the public still sees the old text.
        assert "示例县水利局局长" not in client.get(f"/notices/{notice_id}").get_data(as_text=True)
        with app.app_context():
            service.approve_change(db.session(), change_id, actor(app, editors[1]),
                                   dt.date(2026, 12, 2))
        page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
        data = client.get(f"/api/notices/{notice_id}").get_json()
    notice = get_notice(app, notice_id)
    assert (notice.period_start, notice.period_end) == (dt.date(2026, 12, 2),
                                                        dt.date(2026, 12, 8))
    assert "示例县水利局局长" in page
    assert "拟任职务表述有误。" in page
    assert "公示期重新计算" in page
    assert data["corrections"][0]["substantive"] is True
    assert data["corrections"][0]["fields"] == ["proposed_post"]
    assert data["period_end"] == "2026-12-08"


def test_non_substantive_correction_keeps_the_period(app: Flask, editors, publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    with app.app_context():
        change = service.propose_correction(
            db.session(), notice_id, notice_input(phone="0000-12380（工作时间）"),
            "补充受理时间。", actor(app, editors[1]))
        assert not change.substantive
        with pytest.raises(service.PublicityError) as exc:
            service.propose_correction(db.session(), notice_id, notice_input(), "x",
                                       actor(app, editors[1]))
        assert exc.value.code == "change-pending"
        service.approve_change(db.session(), change.id, actor(app, editors[0]),
                               dt.date(2026, 12, 2))
        with pytest.raises(service.PublicityError) as exc:
            service.propose_correction(db.session(), notice_id,
                                       notice_input(phone="0000-12380（工作时间）"), "again",
                                       actor(app, editors[1]))
        assert exc.value.code == "no-changes"
    notice = get_notice(app, notice_id)
    assert notice.period_end == dt.date(2026, 12, 4)
    assert notice.phone == "0000-12380（工作时间）"


def test_withdrawal_needs_a_second_editor_and_is_public(app: Flask, editors, publish,
                                                        client) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    with app.app_context():
        with pytest.raises(service.PublicityError):
            service.propose_withdrawal(db.session(), notice_id, "  ", actor(app, editors[0]))
        change = service.propose_withdrawal(db.session(), notice_id, "人选另行研究。",
                                            actor(app, editors[0]))
        with pytest.raises(service.PublicityError):
            service.approve_change(db.session(), change.id, actor(app, editors[0]),
                                   dt.date(2026, 12, 1))
        service.approve_change(db.session(), change.id, actor(app, editors[1]),
                               dt.date(2026, 12, 1))
    with at(dt.date(2026, 12, 1)):
        page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
        assert "本公示已撤销" in page
        assert "人选另行研究。" in page
        assert "/report?notice=" not in page
        assert client.get(f"/api/notices/{notice_id}").get_json()["status"] == "withdrawn"
        assert "中共示例县委组织部干部任前公示" not in client.get("/").get_data(as_text=True)


def test_outcomes_and_the_objection_flag(app: Flask, editors, publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    notice = get_notice(app, notice_id)
    first, second = (p.id for p in notice.persons)
    ed = actor(app, editors[0])
    with app.app_context():
        session = db.session()
        with pytest.raises(service.PublicityError) as exc:
            service.set_outcome(session, first, "appointed", ed, dt.date(2026, 12, 1))
        assert exc.value.code == "period-not-over"
        # Casework opens an objection about the first person (inside its own transaction).
        with db.transaction(session):
            service.objection_opened(session, notice_id, first)
        with pytest.raises(service.NotFound), db.transaction(session):
            service.objection_opened(session, notice_id + 999, first)
        service.set_outcome(session, first, "suspended", ed, dt.date(2026, 12, 1))
        with pytest.raises(service.PublicityError) as exc:
            service.set_outcome(session, first, "appointed", ed, dt.date(2026, 12, 7))
        assert exc.value.code == "objection-open"
        service.set_outcome(session, second, "appointed", ed, dt.date(2026, 12, 7))
        with db.transaction(session):
            service.objection_resolved(session, first)
        service.set_outcome(session, first, "appointed", ed, dt.date(2026, 12, 7))
        outcomes = dict(session.execute(select(NoticePerson.id, NoticePerson.outcome)).all())
        with pytest.raises(service.PublicityError):
            service.set_outcome(session, first, "bogus", ed, dt.date(2026, 12, 7))
    assert outcomes == {first: "appointed", second: "appointed"}


# --- public pages --------------------------------------------------------------------------

def test_public_pages_set_no_cookie_and_answer_304(app: Flask, client: FlaskClient,
                                                   publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    with at(dt.date(2026, 12, 1)):
        for path in ("/", "/notices", "/notices/archive?q=王", f"/notices/{notice_id}",
                     "/notices/feed.atom", "/api/notices", f"/api/notices/{notice_id}"):
            first = client.get(path)
            assert first.status_code == 200, path
            assert "Set-Cookie" not in first.headers, path
            assert first.headers["Cache-Control"].startswith("public"), path
            etag = first.headers["ETag"]
            again = client.get(path, headers={"If-None-Match": etag})
            assert again.status_code == 304, path
            assert again.data == b""
            since = client.get(path, headers={"If-Modified-Since":
                                              first.headers["Last-Modified"]})
            assert since.status_code == 304, path
        detail_etag = client.get(f"/notices/{notice_id}").headers["ETag"]
        english = client.get(f"/notices/{notice_id}?lang=en")
        assert english.headers["ETag"] != detail_etag
    with at(dt.date(2026, 12, 2)):
        # A new day: "days left" changed, so the old validator no longer matches.
        response = client.get(f"/notices/{notice_id}", headers={"If-None-Match": detail_etag})
        assert response.status_code == 200


def test_drafts_cadre_ids_and_pending_corrections_never_reach_the_public(
    app: Flask, client: FlaskClient, editors, publish
) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
        with app.app_context():
            draft = service.create_draft(db.session(), notice_input(
                dt.date(2026, 12, 7), person("秘密草稿人")), actor(app, editors[0]))
            service.propose_correction(db.session(), notice_id,
                                       notice_input(title="未审核的更正标题"), "x",
                                       actor(app, editors[0]))
        pages = [client.get(p).get_data(as_text=True) for p in (
            "/", "/notices", "/notices/archive", "/notices/archive?q=秘密",
            f"/notices/{notice_id}", "/notices/feed.atom", "/api/notices",
            f"/api/notices/{notice_id}")]
        assert client.get(f"/notices/{draft.id}").status_code == 404
        assert client.get(f"/api/notices/{draft.id}").status_code == 404
    for page in pages:
        assert EDITOR_NOTE not in page
        assert "CADRE-000123" not in page
        assert "秘密草稿人" not in page
        assert "未审核的更正标题" not in page
        assert "cadre_id" not in page


def test_markup_in_every_field_is_rendered_inert(app: Flask, client: FlaskClient,
                                                 publish) -> None:
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    fields = {f: evil for f in ("native_place", "education", "current_post", "proposed_post",
                                "resume")}
    data = notice_input(dt.date(2026, 11, 30), person(evil[:50], **fields),
                        title=evil, issuer=evil[:100], letter_address=evil)
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(data, approved_on=dt.date(2026, 11, 27))
        for path in ("/notices", f"/notices/{notice_id}", "/notices/archive"):
            html = client.get(path).get_data(as_text=True)
            assert "<script>alert" not in html, path
            assert "<img src=x" not in html, path
            assert "&lt;script&gt;" in html, path
        feed = client.get("/notices/feed.atom").get_data(as_text=True)
        assert "<script>alert" not in feed
        assert client.get(f"/api/notices/{notice_id}").get_json()["title"] == evil


def test_atom_feed_is_valid_and_carries_corrections(app: Flask, client: FlaskClient,
                                                     editors, publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
        with app.app_context():
            change = service.propose_correction(db.session(), notice_id,
                                                notice_input(phone="0000-99999"),
                                                "电话更正。", actor(app, editors[0]))
            service.approve_change(db.session(), change.id, actor(app, editors[1]),
                                   dt.date(2026, 11, 27))
        response = client.get("/notices/feed.atom")
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # noqa: S314 (our own feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].find("a:title", ns).text == "中共示例县委组织部干部任前公示"  # type: ignore[union-attr]
    content = entries[0].find("a:content", ns).text or ""  # type: ignore[union-attr]
    assert "电话更正。" in content
    assert root.find("a:updated", ns) is not None


def test_api_is_cross_origin_and_paginated(app: Flask, client: FlaskClient, publish) -> None:
    with at(dt.date(2026, 11, 27)):
        ids = {publish(notice_input(dt.date(2026, 11, 30) + dt.timedelta(days=i % 3)),
                       approved_on=dt.date(2026, 11, 27)) for i in range(55)}
        first = client.get("/api/notices")
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        assert first.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        body = first.get_json()
        assert len(body["notices"]) == 50
        second = client.get(body["next"].replace("http://localhost", "")).get_json()
    seen = [n["id"] for n in body["notices"]] + [n["id"] for n in second["notices"]]
    assert second["next"] is None
    assert sorted(seen) == sorted(ids)
    item = body["notices"][0]
    assert {"id", "title", "issuer", "status", "period_start", "period_end", "working_days",
            "persons", "corrections"} <= set(item)
    assert {"id", "name", "proposed_post"} <= set(item["persons"][0])
    assert "cadre_id" not in json.dumps(body)


def test_archive_search_by_name_post_unit_and_year_with_keyset_pages(
    app: Flask, client: FlaskClient, publish
) -> None:
    with at(dt.date(2026, 3, 2)):
        ouyang = person("欧阳修远", proposed_post="示例县审计局局长")
        publish(notice_input(dt.date(2026, 3, 2), ouyang), approved_on=dt.date(2026, 3, 2))
        for i in range(24):
            publish(notice_input(dt.date(2026, 3, 3), person(f"张{i:02d}")),
                    approved_on=dt.date(2026, 3, 2))
    with at(dt.date(2026, 11, 27)):
        def names(query: str) -> list[str]:
            html = client.get(f"/notices/archive?{query}").get_data(as_text=True)
            return re.findall(r"(欧阳修远|张\d\d)（", html)

        assert names("q=欧阳") == ["欧阳修远"]
        assert names("q=欧阳修远") == ["欧阳修远"]
        assert names("q=审计局") == ["欧阳修远"]
        assert len(names("q=示例县委组织部")) == 20  # unit; first page only
        assert names("q=王") == []
        assert names("year=2025") == []
        page1 = client.get("/notices/archive?year=2026").get_data(as_text=True)
        cursor = re.search(r'after=([0-9_-]+)', page1)
        assert cursor
        page2 = client.get(f"/notices/archive?year=2026&after={cursor.group(1)}")
        first, rest = (re.findall(r"(欧阳修远|张\d\d)（", page1),
                       re.findall(r"(欧阳修远|张\d\d)（", page2.get_data(as_text=True)))
        assert len(first) == 20
        assert len(rest) == 5
        assert not set(first) & set(rest)
        assert client.get("/notices/archive?year=abc").status_code == 400


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    engine = state.engine(app)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_public_pages_do_not_issue_a_query_per_notice(app: Flask, client: FlaskClient,
                                                      publish) -> None:
    counts = []
    for batch in (1, 12):
        with at(dt.date(2026, 11, 27)):
            for _ in range(batch):
                publish(approved_on=dt.date(2026, 11, 27))
        with at(dt.date(2026, 12, 1)), count_queries(app) as statements:
            for path in ("/", "/notices", "/notices/archive", "/api/notices",
                         "/notices/feed.atom"):
                assert client.get(path).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_calendar_change_invalidates_cached_public_pages(app: Flask, client: FlaskClient,
                                                           publish) -> None:
    from portal import workdays

    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    with at(dt.date(2026, 12, 1)):
        before = client.get(f"/notices/{notice_id}")
        assert "剩余 4 个工作日" in before.get_data(as_text=True)
        with app.app_context():
            workdays.set_override(db.session(), dt.date(2026, 12, 3), False, audit.CLI)
        after = client.get(f"/notices/{notice_id}",
                           headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "剩余 3 个工作日" in after.get_data(as_text=True)


def test_approval_refuses_a_draft_changed_after_review(app: Flask, editors) -> None:
    with app.app_context():
        notice = service.create_draft(db.session(), notice_input(), actor(app, editors[0]))
        notice_id, reviewed = notice.id, notice.version
        service.update_draft(db.session(), notice_id, notice_input(title="审核后被改动"),
                             actor(app, editors[0]), reviewed)
        with pytest.raises(service.PublicityError) as exc:
            service.approve_notice(db.session(), notice_id, actor(app, editors[1]),
                                   dt.date(2026, 11, 27), reviewed)
    assert exc.value.code == "stale"
    assert get_notice(app, notice_id).status == "draft"


def test_correction_of_a_scheduled_notice_keeps_its_announced_start(app: Flask, editors,
                                                                    publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(notice_input(dt.date(2026, 12, 7)),
                            approved_on=dt.date(2026, 11, 27))
    with app.app_context():
        change = service.propose_correction(
            db.session(), notice_id, notice_input(dt.date(2026, 12, 7),
                                                  person(proposed_post="示例县县长助理"),
                                                  person("李春燕", gender="女")),
            "拟任职务更正。", actor(app, editors[0]))
        service.approve_change(db.session(), change.id, actor(app, editors[1]),
                               dt.date(2026, 11, 27))
    notice = get_notice(app, notice_id)
    assert (notice.period_start, notice.period_end) == (dt.date(2026, 12, 7),
                                                        dt.date(2026, 12, 11))


def test_final_outcomes_cannot_change_or_be_corrected_away(app: Flask, editors,
                                                           publish) -> None:
    with at(dt.date(2026, 11, 27)):
        notice_id = publish(approved_on=dt.date(2026, 11, 27))
    first = get_notice(app, notice_id).persons[0].id
    ed = actor(app, editors[0])
    with app.app_context():
        session = db.session()
        service.set_outcome(session, first, "withdrawn", ed, dt.date(2026, 12, 1))
        with pytest.raises(service.PublicityError) as exc:
            service.set_outcome(session, first, "appointed", ed, dt.date(2026, 12, 7))
        assert exc.value.code == "outcome-final"
        change = service.propose_correction(
            session, notice_id, notice_input(dt.date(2026, 11, 30),
                                             person("王立新", proposed_post="别的职务"),
                                             person("李春燕", gender="女")),
            "更正。", actor(app, editors[1]))
        with pytest.raises(service.PublicityError) as exc:
            service.approve_change(session, change.id, ed, dt.date(2026, 12, 8))
        assert exc.value.code == "person-decided"


@pytest.mark.parametrize("path", [
    "/notices/archive?year=%C2%B2", "/notices/3000000000", "/api/notices/3000000000",
    "/api/notices?after=2020-01-01_3000000000", "/notices/archive?q=%00",
    "/notices/archive?after=2020-01-01_%EF%BC%91",
])
def test_hostile_public_urls_never_500(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code in (200, 400, 404)


def test_nul_in_a_login_is_a_400_not_a_500(client: FlaskClient, make_staff) -> None:
    make_staff("nul", "supervisor")
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"username": "a\x00b", "passphrase": "x",
                                                 "totp": "1", "csrf_token": token})
    assert response.status_code == 400


def test_import_as_an_editor_keeps_four_eyes(app: Flask, runner, editors, tmp_path) -> None:
    path = tmp_path / "n.json"
    path.write_text(json.dumps({"notices": [{
        "title": "公示", "issuer": "中共示例县委组织部", "period_start": "2026-11-30",
        "persons": [{"name": "张三", "gender": "男", "ethnicity": "汉族", "birth": "1980-05",
                     "native_place": "示例", "education": "本科", "work_start": "2002-07",
                     "party": "2001-06", "current_post": "甲", "proposed_post": "乙"}]}]},
        ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["notices", "import", str(path), "--as", "nobody"]).exit_code == 1
    result = runner.invoke(args=["notices", "import", str(path), "--as", "ed1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        notice_id = db.session().scalar(select(Notice.id))
        with pytest.raises(service.PublicityError) as exc:
            service.approve_notice(db.session(), notice_id, actor(app, editors[0]),
                                   dt.date(2026, 11, 27))
    assert exc.value.code == "four-eyes"


def test_api_answers_match_the_published_schema(app: Flask, client: FlaskClient,
                                                publish, editors) -> None:
    # docs/schemas/api-notice(s).schema.json are generated from these models (strict, no
    # field left out or added), so a change of the API's output fails here.
    exceptional = replace(person("李四"), exceptional_circumstance="破格提拔",
                          exceptional_reason="实绩突出", resume="2002.07 参加工作")
    with at(dt.date(2026, 11, 27)):
        data = notice_input(dt.date(2026, 11, 30), person(), exceptional)
        notice_id = publish(data, approved_on=dt.date(2026, 11, 27))
        with app.app_context():
            change = service.propose_correction(db.session(), notice_id,
                                                replace(data, phone="0000-99999"),
                                                "电话更正。", actor(app, editors[0]))
            service.approve_change(db.session(), change.id, actor(app, editors[1]),
                                   dt.date(2026, 11, 27))
        page = client.get("/api/notices")
        one = client.get(f"/api/notices/{notice_id}")
    listed = ApiNoticePage.model_validate_json(page.data)
    shown = ApiNotice.model_validate_json(one.data)
    assert [n.id for n in listed.notices] == [notice_id]
    assert [p.exceptional is not None for p in shown.persons] == [False, True]
    assert [c.kind for c in shown.corrections] == ["correction"]
