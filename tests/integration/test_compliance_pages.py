"""Appointment compliance through the pages: the editor's record form, approval refused with
the rules' list, the organization department head's override, the administrator's terms and
thresholds, the supervisors' panel and CSV, and the public attendance line, on SQLite and
PostgreSQL.

Pages render in Chinese (the default); until the lead translates the new messages they show
the English msgids, so the assertions check data values, status codes, CSS classes and what
the database holds rather than wording.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import audit, db
from portal.models import AuditEntry, StaffUser
from publicity import service
from publicity.compliance import service as compliance
from publicity.compliance.models import (
    AppointmentTerm,
    ComplianceOverride,
    ComplianceRecord,
    ComplianceSettings,
)
from publicity.models import Notice
from publicity.validation import NoticeInput, PersonInput
from tests.compliance_support import TERM, ensure_term, record_clean
from tests.conftest import AuthActions, StaffMember, csrf_token

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.date(2026, 11, 27)
START = dt.date(2026, 11, 30)
REASON = "常委会召开时两名常委因公出差，经县委书记同意如期研究"
REVIEW_REF = "州组审〔2026〕5号"


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    """Every test runs on 2026-11-27 in Shanghai (calendar loaded, the start ahead)."""
    with time_machine.travel(dt.datetime(2026, 11, 27, 10, tzinfo=SHANGHAI), tick=False):
        yield


def person(name: str, cadre_id: str, post: str) -> PersonInput:
    return PersonInput(name=name, gender="男", ethnicity="汉族", birth="1980-05",
                       native_place="示例省示例县", education="大学本科", work_start="2002-07",
                       party="2001-06", current_post="示例镇镇长", proposed_post=post,
                       cadre_id=cadre_id)


NOTICE = NoticeInput(title="中共示例县委组织部干部任前公示", issuer="中共示例县委组织部",
                     period_start=START, working_days=5, phone="0000-12380",
                     letter_address="示例县人民路1号", visit_address="示例县人民路1号308室",
                     persons=(person("王立新", "C-001", "示例镇党委书记"),
                              person("李春燕", "C-002", "示例县水利局副局长")))


@dataclass
class World:
    """The staff of these tests and their logged-in clients."""

    app: Flask
    members: dict[str, StaffMember]
    clients: dict[str, FlaskClient]

    def client(self, who: str) -> FlaskClient:
        if who not in self.clients:
            client = self.app.test_client()
            assert AuthActions(client).login(self.members[who]).status_code == 303
            self.clients[who] = client
        return self.clients[who]

    def actor(self, who: str) -> audit.Actor:
        with self.app.app_context():
            user_id = db.session().scalar(select(StaffUser.id).where(
                StaffUser.username == self.members[who].username))
        return audit.Actor(self.members[who].username, user_id)

    def draft(self, data: NoticeInput = NOTICE) -> int:
        """A draft by ed1, with the test term configured."""
        with self.app.app_context():
            ensure_term(db.session())
            return service.create_draft(db.session(), data, self.actor("ed1")).id

    def version(self, notice_id: int) -> int:
        with self.app.app_context():
            return db.session().get_one(Notice, notice_id).version


@pytest.fixture
def world(app: Flask, make_staff: Callable[..., StaffMember]) -> World:
    members = {"ed1": make_staff("ed1", "publicity_editor"),
               "ed2": make_staff("ed2", "publicity_editor"),
               "head": make_staff("head", "org_head"),
               "root": make_staff("root", "admin"),
               "sup": make_staff("sup", "supervisor")}
    return World(app, members, {})


def post(client: FlaskClient, path: str, data: dict[str, object], form_page: str | None = None):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page or path)})


def record_form(version: int, **changes: object) -> dict[str, object]:
    """The record form as an editor fills it: a partial decision approving both persons."""
    data: dict[str, object] = {
        "batch_kind": "partial", "term": TERM, "meeting_body": "standing",
        "meeting_date": "2026-11-20", "members_in_office": "11", "members_present": "9",
        "version": str(version), "save": "1",
    }
    for i, (cadre, name, post_) in enumerate((("C-001", "王立新", "示例镇党委书记"),
                                              ("C-002", "李春燕", "示例县水利局副局长"))):
        data.update({f"nominees-{i}-cadre_id": cadre, f"nominees-{i}-name": name,
                     f"nominees-{i}-proposed_post": post_, f"nominees-{i}-promotion": "y",
                     f"nominees-{i}-nominated_by": "org_department",
                     f"nominees-{i}-vote_share": "85", f"nominees-{i}-inspection": "passed",
                     f"nominees-{i}-decision": "approved"})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(html: str, field_id: str) -> list[str]:
    """The error texts shown beside the field with that id."""
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', html, re.S):
        if f'id="{field_id}"' in block:
            return re.findall(r'<p class="error-text" role="alert">(.*?)</p>', block, re.S)
    return []


def stored(app: Flask, notice_id: int) -> ComplianceRecord | None:
    with app.app_context():
        record = db.session().get(ComplianceRecord, notice_id)
        if record is not None:
            _ = record.nominees
            db.session().expunge(record)
        return record


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def table_rows(html: str, name: str) -> list[list[str]]:
    """The body rows of the panel table with that name, as cell texts."""
    match = re.search(rf'<table class="responsive {name}">(.*?)</table>', html, re.S)
    assert match, name
    body = match.group(1).split("<tbody>")[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row,
                                                                   re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


# --- the record form -------------------------------------------------------------------------

def test_record_form_starts_from_the_notice_and_saves_the_record(world: World) -> None:
    notice_id = world.draft()
    ed1 = world.client("ed1")
    page = ed1.get(f"/staff/publicity/{notice_id}/compliance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="nominees-0-cadre_id" name="nominees-0-cadre_id" type="text" value="C-001"' in html
    assert 'name="nominees-1-name" type="text" value="李春燕"' in html
    assert 'value="示例县水利局副局长"' in html
    assert f'<option selected value="{TERM}">' in html  # the term of today
    assert f'name="version" type="hidden" value="{world.version(notice_id)}"' in html

    saved = post(ed1, f"/staff/publicity/{notice_id}/compliance",
                 record_form(world.version(notice_id)))
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"/staff/publicity/{notice_id}")
    record = stored(world.app, notice_id)
    assert record is not None
    assert (record.batch_kind, record.members_in_office, record.members_present) == (
        "partial", 11, 9)
    assert [(n.cadre_id, n.vote_share_bp, n.decision) for n in record.nominees] == [
        ("C-001", 8500, "approved"), ("C-002", 8500, "approved")]

    # Every rule's verdict is on the notice page, each citing its clause and the plan's words.
    detail = world.client("ed2").get(f"/staff/publicity/{notice_id}").get_data(as_text=True)
    assert detail.count('class="badge verdict-pass"') == 10
    assert "常委到会不足三分之二的，不得研究干部任免事宜。" in detail
    assert "五、一是、5" in detail
    assert "81.8%" in field_text(detail, "rule-1")  # 9 of 11 present
    # The form starts from the stored record next time.
    again = ed1.get(f"/staff/publicity/{notice_id}/compliance").get_data(as_text=True)
    assert 'name="members_present" type="text" value="9"' in again


def field_text(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, row_id
    return match.group(1)


def test_add_and_remove_nominee_rows_without_javascript(world: World) -> None:
    notice_id = world.draft()
    ed1 = world.client("ed1")
    path = f"/staff/publicity/{notice_id}/compliance"
    form = record_form(world.version(notice_id), save=None, add_nominee="1")
    added = post(ed1, path, form)
    assert added.status_code == 200
    assert 'name="nominees-2-cadre_id"' in added.get_data(as_text=True)
    removed = post(ed1, path, record_form(world.version(notice_id), save=None,
                                          remove_nominee="1"))
    assert removed.status_code == 200
    html = removed.get_data(as_text=True)
    assert 'name="nominees-1-cadre_id"' not in html
    assert 'value="C-001"' in html
    assert stored(world.app, notice_id) is None


@pytest.mark.parametrize(("changes", "field_id", "values"), [
    ({"members_present": "12"}, "members_present", ("12", "11")),
    ({"nominees-0-vote_share": "120"}, "nominees-0-vote_share", ()),
    ({"nominees-1-nominated_by": "individual", "nominees-1-nominator": "张某某"},
     "nominees-1-relationship", ()),
    ({"prefecture_approval_ref": "州组函〔2026〕1号"}, "prefecture_approval_ref", ("2", "30")),
    ({"nominees-1-cadre_id": ""}, "nominees-1-cadre_id", ()),
    ({"term": "第九十九届"}, "term", ()),
    ({"meeting_date": "2026-02-30"}, "meeting_date", ()),
    # The decision comes before the notice: not after today (the 27th), nor after the start.
    ({"meeting_date": "2026-11-28"}, "meeting_date", ("2026-11-27",)),
], ids=["attendance", "vote-share", "relationship", "needless-reference", "cadre-id", "term",
        "date", "future-meeting"])
def test_invalid_record_is_refused_whole_with_the_message_beside_the_field(
        world: World, changes: dict[str, object], field_id: str, values: tuple[str, ...]
) -> None:
    notice_id = world.draft()
    ed1 = world.client("ed1")
    before = world.version(notice_id)
    response = post(ed1, f"/staff/publicity/{notice_id}/compliance",
                    record_form(before, **changes))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = field_errors(html, field_id)
    assert errors, html
    for value in values:
        assert value in errors[0]
    assert 'class="flash error"' in html  # the summary of every problem, at the top
    assert stored(world.app, notice_id) is None
    assert world.version(notice_id) == before


def test_invalid_change_leaves_the_stored_record_as_it_was(world: World) -> None:
    notice_id = world.draft()
    ed1 = world.client("ed1")
    path = f"/staff/publicity/{notice_id}/compliance"
    assert post(ed1, path, record_form(world.version(notice_id))).status_code == 303
    refused = post(ed1, path, record_form(world.version(notice_id), members_present="7",
                                          **{"nominees-0-vote_share": "abc"}))
    assert refused.status_code == 400
    record = stored(world.app, notice_id)
    assert record is not None
    assert record.members_present == 9
    assert record.nominees[0].vote_share_bp == 8500


def test_stale_record_form_is_refused_with_409(world: World) -> None:
    notice_id = world.draft()
    seen = world.version(notice_id)
    with world.app.app_context():  # someone else edits the draft meanwhile
        service.update_draft(db.session(), notice_id, replace(NOTICE, title="改过的标题"),
                             world.actor("ed2"), seen)
    response = post(world.client("ed1"), f"/staff/publicity/{notice_id}/compliance",
                    record_form(seen))
    assert response.status_code == 409
    assert 'value="C-001"' in response.get_data(as_text=True)  # the input is kept
    assert stored(world.app, notice_id) is None


# --- approval, review and override -----------------------------------------------------------

def test_approval_refused_with_the_list_then_overridden_by_the_head(world: World) -> None:
    notice_id = world.draft()
    # 7 of 11 present (63.6%) breaks rule 1; the second nominee is flagged, with the review.
    posted = post(world.client("ed1"), f"/staff/publicity/{notice_id}/compliance",
                  record_form(world.version(notice_id), members_present="7",
                              **{"nominees-1-flags": "disciplined",
                                 "nominees-1-prefecture_review_ref": REVIEW_REF}))
    assert posted.status_code == 303
    ed2 = world.client("ed2")
    detail = f"/staff/publicity/{notice_id}"
    refused = post(ed2, f"{detail}/approve", {"version": world.version(notice_id)}, detail)
    assert refused.status_code == 303
    # The flash (kept in the session cookie, signed but readable) says how many problems,
    # never what they are: they name unpublished nominees, relationships and flags.
    session = world.app.session_interface.get_signing_serializer(  # type: ignore[attr-defined]
        world.app).loads(ed2.get_cookie(world.app.config["SESSION_COOKIE_NAME"]).value)
    assert "63.6%" not in str(session)
    assert "_flashes" in session
    page = ed2.get(detail).get_data(as_text=True)
    assert '<html lang="zh' in page  # the list is shown in the page language, Chinese first
    flashed = re.search(r'<p class="flash error" role="status">(.*?)</p>', page, re.S)
    assert flashed is not None
    assert "1" in flashed.group(1)
    assert "63.6%" not in flashed.group(1)
    listed = re.search(r'<div class="flash error" role="alert">(.*?)</div>', page, re.S)
    assert listed is not None  # the list itself, on the page
    assert "63.6%" in listed.group(1)
    assert 'class="badge verdict-violation"' in page
    with world.app.app_context():
        assert db.session().get_one(Notice, notice_id).status == "draft"

    review = f"{detail}/compliance/review"
    head = world.client("head")
    assert world.client("head").get(detail).status_code == 403  # not an editor
    listed = head.get("/staff/publicity/compliance/").get_data(as_text=True)
    assert f'href="{review}"' in listed
    html = head.get(review).get_data(as_text=True)
    assert 'name="rule" value="1"' in html
    assert 'name="rule" value="2"' not in html  # rule 2 is met: nothing to override
    seen = world.version(notice_id)
    assert f'name="version" value="{seen}"' in html  # the draft reviewed
    assert REVIEW_REF in html

    # Neither an administrator nor an editor may override; a short reason is refused.
    override = f"{detail}/compliance/override"
    for who in ("root", "ed2"):
        forbidden = world.client(who).post(override, data={
            "rule": "1", "reason": REASON, "version": str(seen),
            "csrf_token": csrf_token(world.client(who), "/staff/")})
        assert forbidden.status_code == 403
    short = post(head, override, {"rule": "1", "reason": "人数不够", "version": seen}, review)
    assert short.status_code == 400
    assert field_errors(short.get_data(as_text=True), "reason-1")
    assert "人数不够" in short.get_data(as_text=True)  # the reason is kept for correction
    long = post(head, override, {"rule": "1", "reason": "理" * 2001, "version": seen}, review)
    assert long.status_code == 400
    assert field_errors(long.get_data(as_text=True), "reason-1")
    # A draft changed since the head reviewed it (or no version at all) is refused.
    for version in (seen - 1, "", "x" * 50):
        stale = post(head, override, {"rule": "1", "reason": REASON, "version": version},
                     review)
        assert stale.status_code == 303
    assert 'class="flash error"' in head.get(review).get_data(as_text=True)
    assert count(world.app, ComplianceOverride) == 0

    done = post(head, override, {"rule": "1", "reason": REASON, "version": seen}, review)
    assert done.status_code == 303
    with world.app.app_context():
        row = db.session().scalars(select(ComplianceOverride)).one()
        assert (row.notice_id, row.rule, row.reason, row.by_name) == (notice_id, 1, REASON,
                                                                      "head")
        entry = db.session().scalars(select(AuditEntry).where(
            AuditEntry.action == "compliance.override")).one()
        assert entry.actor == "head"
    again = post(head, override, {"rule": "1", "reason": REASON,
                                  "version": world.version(notice_id)}, review)
    assert again.status_code == 303  # already overridden: flashed, nothing added
    assert count(world.app, ComplianceOverride) == 1

    page = ed2.get(detail).get_data(as_text=True)
    assert re.search(r'<div class="override" role="note" data-override="\d+">', page)
    assert REASON in page
    approved = post(ed2, f"{detail}/approve", {"version": world.version(notice_id)}, detail)
    assert approved.status_code == 303
    with world.app.app_context():
        assert db.session().get_one(Notice, notice_id).status == "approved"
    # A published notice's record is no longer changed.
    closed = world.client("ed1").get(f"{detail}/compliance")
    assert closed.status_code == 303
    assert closed.headers["Location"].endswith(detail)
    assert REASON in head.get(review).get_data(as_text=True)


# --- the supervisors' panel ------------------------------------------------------------------

def publish_clean(world: World, data: NoticeInput = NOTICE, **changes: object) -> int:
    notice_id = world.draft(data)
    with world.app.app_context():
        record_clean(db.session(), notice_id, world.actor("ed1"), **changes)
        service.approve_notice(db.session(), notice_id, world.actor("ed2"), TODAY)
    return notice_id


def published_with_override(world: World) -> int:
    """A published batch: rule 1 broken and overridden, the second nominee flagged."""
    notice_id = world.draft()
    posted = post(world.client("ed1"), f"/staff/publicity/{notice_id}/compliance",
                  record_form(world.version(notice_id), members_present="7",
                              **{"nominees-1-flags": "disciplined",
                                 "nominees-1-prefecture_review_ref": REVIEW_REF}))
    assert posted.status_code == 303
    with world.app.app_context():
        compliance.override(db.session(), notice_id, 1, REASON, world.actor("head"))
        service.approve_notice(db.session(), notice_id, world.actor("ed2"), TODAY)
    return notice_id


def test_supervisors_panel_counts_overrides_flags_and_csv(world: World) -> None:
    published_with_override(world)
    # A notice published before the rules were checked (its record removed by hand).
    older = publish_clean(world, replace(NOTICE, persons=(person("赵六", "C-009", "示例乡乡长"),)))
    with world.app.app_context():
        db.session().delete(db.session().get_one(ComplianceRecord, older))
        db.session().commit()

    sup = world.client("sup")
    assert 'href="/staff/supervision/compliance"' in sup.get("/staff/supervision/").get_data(
        as_text=True)
    page = sup.get("/staff/supervision/compliance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    limits = table_rows(html, "limits")
    assert [row[1:] for row in limits[:2]] == [["0", "2"], ["1", "5"]]
    assert limits[2][1].startswith("2 (")  # persons adjusted in the term
    assert limits[3][1] == "1"  # published without a record
    # Every override in red, with its state: this one was in force at the approval.
    overrides = re.findall(r'<tr class="override applied">(.*?)</tr>', html, re.S)
    assert len(overrides) == 1
    assert REASON in overrides[0]
    assert "head" in overrides[0]
    assert len(table_rows(html, "overrides")) == 1
    flagged = table_rows(html, "flagged")
    assert len(flagged) == 1
    assert flagged[0][2:5] == ["李春燕", "C-002", "示例县水利局副局长"]
    assert flagged[0][6] == REVIEW_REF

    csv = sup.get("/staff/supervision/compliance/export.csv?table=overrides")
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert csv.data.startswith(b"\xef\xbb\xbf")
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert REASON in lines[1]
    flagged_csv = sup.get("/staff/supervision/compliance/export.csv?table=flagged&year=2026")
    assert REVIEW_REF in flagged_csv.data.decode("utf-8-sig")
    with world.app.app_context():
        term_id = ensure_term(db.session()).id
    limits_csv = sup.get(f"/staff/supervision/compliance/export.csv?term={term_id}&year=2026")
    assert limits_csv.data.decode("utf-8-sig").splitlines()[2].endswith(",1,5")

    assert sup.get("/staff/supervision/compliance?year=abc").status_code == 400
    assert sup.get("/staff/supervision/compliance?term=999999").status_code == 400
    assert sup.get("/staff/supervision/compliance/export.csv?year=1").status_code == 400
    assert sup.get("/staff/supervision/compliance/export.csv?table=x").status_code == 404
    # Unpublished persons with their flags: supervisors only, administrators included out.
    for who in ("ed1", "root", "head"):
        client = world.client(who)
        assert client.get("/staff/supervision/compliance").status_code == 403
        assert client.get("/staff/supervision/compliance/export.csv").status_code == 403
    dashboard = world.client("root").get("/staff/supervision/")
    assert dashboard.status_code == 200
    assert 'href="/staff/supervision/compliance"' not in dashboard.get_data(as_text=True)


def test_panel_shows_lapsed_overrides_and_thresholds_changed_from_the_plan(
        world: World) -> None:
    from publicity.compliance.rules import THRESHOLDS

    sup = world.client("sup")
    html = sup.get("/staff/supervision/compliance").get_data(as_text=True)
    thresholds = table_rows(html, "thresholds")
    assert [(row[2], row[3]) for row in thresholds] == [(t.default, t.default)
                                                       for t in THRESHOLDS]
    assert 'class="override changed"' not in html
    with world.app.app_context():  # 1/2 is the plan's 50%: not a change; 3/5 is
        plan = {t.key: t.default for t in THRESHOLDS}
        compliance.save_settings(db.session(), {**plan, "vote_share": "1/2",
                                                "attendance": "3/5"}, False, world.actor("root"))
    html = sup.get("/staff/supervision/compliance").get_data(as_text=True)
    changed = re.findall(r'<tr class="override changed">(.*?)</tr>', html, re.S)
    assert len(changed) == 1
    assert "3/5" in changed[0]
    assert "2/3" in changed[0]
    csv = sup.get("/staff/supervision/compliance/export.csv?table=thresholds")
    assert csv.status_code == 200
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + len(THRESHOLDS)
    assert ",3/5,2/3," in lines[1]

    # An override of rule 1; then the record changes (6 present, not 7): the verdict it
    # covered is gone, so it lapses, shown apart, and rule 1 blocks again until a new one.
    with world.app.app_context():
        compliance.save_settings(db.session(), plan, False, world.actor("root"))
    notice_id = world.draft()
    path = f"/staff/publicity/{notice_id}/compliance"
    ed1 = world.client("ed1")
    assert post(ed1, path, record_form(world.version(notice_id), members_present="7")
                ).status_code == 303
    with world.app.app_context():
        compliance.override(db.session(), notice_id, 1, REASON, world.actor("head"))
    assert post(ed1, path, record_form(world.version(notice_id), members_present="6")
                ).status_code == 303
    review = world.client("head").get(f"/staff/publicity/{notice_id}/compliance/review")
    html = review.get_data(as_text=True)
    assert re.search(r'<div class="override lapsed" role="note" data-override="\d+">', html)
    assert not re.search(r'<div class="override" role="note"', html)
    assert 'name="rule" value="1"' in html  # a new override is needed
    notice_page = world.client("ed2").get(f"/staff/publicity/{notice_id}")
    assert 'class="override lapsed"' in notice_page.get_data(as_text=True)
    panel = sup.get("/staff/supervision/compliance").get_data(as_text=True)
    assert len(re.findall(r'<tr class="override not-applied">', panel)) == 1


# --- administration --------------------------------------------------------------------------

def test_admin_configures_terms_and_refuses_a_term_without_posts(world: World) -> None:
    root = world.client("root")
    page = "/staff/admin/compliance"
    assert root.get(page).status_code == 200
    assert world.client("head").get(page).status_code == 403
    no_posts = post(root, f"{page}/terms", {"name": "第十五届", "starts_on": "2021-10-01",
                                            "ends_on": "2026-09-30", "leadership_posts": ""},
                    page)
    assert no_posts.status_code == 400
    assert field_errors(no_posts.get_data(as_text=True), "leadership_posts")
    assert count(world.app, AppointmentTerm) == 0

    added = post(root, f"{page}/terms", {"name": "第十五届", "starts_on": "2021-10-01",
                                         "ends_on": "2026-09-30", "leadership_posts": "220"},
                 page)
    assert added.status_code == 303
    with world.app.app_context():
        term = db.session().scalars(select(AppointmentTerm)).one()
        term_id = term.id
    edit_page = root.get(f"{page}?term={term_id}").get_data(as_text=True)
    assert 'value="220"' in edit_page
    assert f'name="term_id" type="hidden" value="{term_id}"' in edit_page
    changed = post(root, f"{page}/terms", {"term_id": str(term_id), "name": "第十五届",
                                           "starts_on": "2021-10-01", "ends_on": "2026-09-30",
                                           "leadership_posts": "230"}, page)
    assert changed.status_code == 303
    overlapping = post(root, f"{page}/terms", {"name": "第十六届", "starts_on": "2026-09-01",
                                               "ends_on": "2031-09-30", "leadership_posts": "230"},
                       page)
    assert overlapping.status_code == 400
    assert field_errors(overlapping.get_data(as_text=True), "starts_on")
    with world.app.app_context():
        assert [(t.name, t.leadership_posts) for t in
                db.session().scalars(select(AppointmentTerm))] == [("第十五届", 230)]


def defaults(**changes: str) -> dict[str, object]:
    from publicity.compliance.rules import THRESHOLDS

    return {**{t.key: t.default for t in THRESHOLDS}, "save_settings": "1", **changes}


def test_admin_thresholds_refuse_bad_values(world: World) -> None:
    root = world.client("root")
    page = "/staff/admin/compliance"
    bad = post(root, page, defaults(attendance="abc", batches_per_term="-1"))
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert field_errors(html, "attendance")
    assert field_errors(html, "batches_per_term")
    assert 'value="abc"' in html
    assert count(world.app, ComplianceSettings) == 0
    good = post(root, page, defaults(attendance="3/4"))
    assert good.status_code == 303
    with world.app.app_context():
        assert db.session().get_one(ComplianceSettings, 1).thresholds["attendance"] == "3/4"
    assert 'value="3/4"' in root.get(page).get_data(as_text=True)


def test_public_attendance_line_follows_the_setting(world: World, client: FlaskClient) -> None:
    notice_id = publish_clean(world)
    line = "经县委常委会研究（应到11人，实到10人）"
    public = f"/notices/{notice_id}"
    assert line not in client.get(public).get_data(as_text=True)  # off by default
    root = world.client("root")
    page = "/staff/admin/compliance"
    assert post(root, page, defaults(show_attendance="y")).status_code == 303
    assert line in client.get(public).get_data(as_text=True)
    assert post(root, page, defaults()).status_code == 303
    assert line not in client.get(public).get_data(as_text=True)


# --- hostile row numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("index", ["²", "٣", "1" * 5000, "00001", "-1", "1e3"],
                         ids=["superscript", "arabic-indic", "5000-digits", "5-digits",
                              "negative", "exponent"])
def test_row_numbers_that_are_not_small_ascii_numbers_never_crash_a_form(
        world: World, index: str) -> None:
    """WTForms' FieldList called int() on whatever str.isdigit() accepts: `nominees-²-name`
    was a ValueError, a 5000-digit index one too (Python's limit on int()). Such a row is
    ignored: the form is re-rendered or refused, never a server error."""
    notice_id = world.draft()
    ed1 = world.client("ed1")
    path = f"/staff/publicity/{notice_id}/compliance"
    record = post(ed1, path, record_form(world.version(notice_id), **{
        f"nominees-{index}-name": "王立新", f"nominees-{index}-cadre_id": "C-003"}))
    assert record.status_code in (303, 400)
    edit = f"/staff/publicity/{notice_id}/edit"
    notice = post(ed1, edit, {
        "title": NOTICE.title, "issuer": NOTICE.issuer, "period_start": START.isoformat(),
        "working_days": "5", "phone": NOTICE.phone, "version": str(world.version(notice_id)),
        f"persons-{index}-name": "王立新", f"persons-{index}-gender": "男", "save": "1"})
    assert notice.status_code in (200, 303, 400)
    new = post(ed1, "/staff/publicity/new", {f"persons-{index}-name": "王立新", "save": "1"},
               "/staff/publicity/new")
    assert new.status_code in (200, 400)


@pytest.mark.parametrize("number", ["²", "٣", "1" * 5000])
def test_ids_and_versions_that_are_not_ascii_numbers_never_crash_a_page(
        world: World, number: str) -> None:
    """str.isdigit() accepts '²' and '٣', on which int() fails (and int() refuses 5000
    digits): a tampered version, rule or term id is refused or ignored, never a 500."""
    notice_id = world.draft()
    ed1, head = world.client("ed1"), world.client("head")
    path = f"/staff/publicity/{notice_id}/compliance"
    record = post(ed1, path, {**record_form(world.version(notice_id)), "version": number})
    assert record.status_code == 409  # no readable version: refused as a stale form
    assert stored(world.app, notice_id) is None
    edit = post(ed1, f"/staff/publicity/{notice_id}/edit", {
        "title": "改过的标题", "issuer": NOTICE.issuer, "period_start": START.isoformat(),
        "working_days": "5", "phone": NOTICE.phone, "letter_address": NOTICE.letter_address,
        "visit_address": NOTICE.visit_address, "version": number, "save": "1",
        **{f"persons-{i}-{k}": v for i, p in enumerate(NOTICE.persons)
           for k, v in vars(p).items() if isinstance(v, str)}})
    assert edit.status_code < 500
    with world.app.app_context():
        assert db.session().get_one(Notice, notice_id).title == NOTICE.title
    record_clean_ok = post(ed1, path, record_form(world.version(notice_id), members_present="5"))
    assert record_clean_ok.status_code == 303
    review = f"/staff/publicity/{notice_id}/compliance/review"
    for data in ({"rule": number, "reason": REASON, "version": str(world.version(notice_id))},
                 {"rule": "1", "reason": REASON, "version": number}):
        response = post(head, f"{review.removesuffix('/review')}/override", data, review)
        assert response.status_code < 500
    assert count(world.app, ComplianceOverride) == 0
    root, sup = world.client("root"), world.client("sup")
    assert root.get(f"/staff/admin/compliance?term={number}").status_code == 200
    term = post(root, "/staff/admin/compliance/terms", {
        "term_id": number, "name": "第十五届", "starts_on": "2031-01-01",
        "ends_on": "2035-12-31", "leadership_posts": "100"},
        "/staff/admin/compliance")
    assert term.status_code < 500
    assert sup.get(f"/staff/supervision/compliance?term={number}").status_code == 400
