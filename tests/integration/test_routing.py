"""The routing table and the escalation queue, edited by an admin in /staff/admin/routing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from casework import service as casework
from casework.models import Case
from portal import db
from tests.conftest import AuthActions, csrf_token
from tests.intake_support import Desk, make_desk, post_report


def _admin_client(app: Flask, make_staff) -> object:
    client = app.test_client()
    AuthActions(client).login(make_staff("admin1", "admin"))
    return client


def _route(client, desk: Desk, code: str, queue_slug: str, active: bool = True) -> int:  # noqa: ANN001
    from casework import queues

    category_id = desk.category_id(code)
    with desk.app.app_context():
        queue_id = queues.queue_by_slug(db.session(), queue_slug).id
    data = {f"c{category_id}-csrf_token": _prefixed_token(client, category_id),
            f"c{category_id}-queue_id": str(queue_id)}
    if active:
        data[f"c{category_id}-active"] = "y"
    return client.post(f"/staff/admin/routing/{category_id}", data=data).status_code


def _prefixed_token(client, category_id: int) -> str:  # noqa: ANN001
    page = client.get("/staff/admin/routing/").get_data(as_text=True)
    match = re.search(rf'name="c{category_id}-csrf_token"[^>]*value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_admin_reroutes_and_withdraws_categories(app: Flask, make_staff) -> None:
    desk = make_desk(app, make_staff)
    admin = _admin_client(app, make_staff)
    assert _route(admin, desk, "suggestion", "org") == 303
    status, _html = post_report(app.test_client(), {
        "category": str(desk.category_id("suggestion")),
        "facts": "建议公开干部选拔任用工作的监督电话。"})
    assert status == 200
    with app.app_context():
        assert db.session().scalars(select(Case)).one().queue.slug == "org"
    assert _route(admin, desk, "discipline", "dic", active=False) == 303
    page = app.test_client().get("/report").get_data(as_text=True)
    assert f'value="{desk.category_id("discipline")}"' not in page
    status, _html = post_report(app.test_client(), {
        "category": str(desk.category_id("discipline")), "persons-0-name": "李四",
        "facts": "2026年3月收受现金两万元。"})
    assert status == 400
    with app.app_context():
        from portal.models import AuditEntry

        assert db.session().scalars(select(AuditEntry.action).where(
            AuditEntry.action == "routing.changed")).all()


def test_non_admins_cannot_reach_the_routing_page(app: Flask, make_staff) -> None:
    client = app.test_client()
    AuthActions(client).login(make_staff("dichead", "dic_head"))
    assert client.get("/staff/admin/routing/").status_code == 403


def test_escalation_queue_takes_reports_about_the_principal_leader(app: Flask,
                                                                   make_staff) -> None:
    desk = make_desk(app, make_staff)
    admin = _admin_client(app, make_staff)
    created = admin.post("/staff/admin/routing/escalation", data={
        "csrf_token": csrf_token(admin, "/staff/admin/routing/"),
        "name_zh": "市纪委监委信访室", "name_en": "City commission petitions office"})
    assert created.status_code == 303
    # Without keys, the question is not asked.
    assert "主要负责人" not in app.test_client().get("/report").get_data(as_text=True)
    upper = make_staff("cityhandler", "escalation_handler")
    assert app.test_cli_runner().invoke(args=["queues", "init"]).exit_code == 0
    assert "主要负责人" in app.test_client().get("/report").get_data(as_text=True)
    status, _html = post_report(app.test_client(), {
        "category": str(desk.category_id("discipline")), "persons-0-name": "县纪委书记",
        "facts": "县纪委书记2026年收受现金。", "concerns_leader": "yes"})
    assert status == 200
    with app.app_context():
        case = db.session().scalars(select(Case)).one()
        assert case.queue.slug == "escalation"
        assert case.concerns_leader
        # The body concerned cannot open it; the level above can.
        with pytest.raises(casework.CaseError):
            casework.unlock(db.session(), desk.staff(desk.dic), case)
        keys = casework.unlock(db.session(), desk.staff(upper), case)
        assert "县纪委书记" in str(casework.read_entries(db.session(), case, keys)[0].payload)


def test_admin_sets_a_queues_dispositions_deadlines_and_sign_off(app: Flask, make_staff) -> None:
    from casework import queues
    from casework.models import Queue

    make_desk(app, make_staff)
    admin = _admin_client(app, make_staff)
    with app.app_context():
        org = queues.queue_by_slug(db.session(), "org")
        org_id, before = org.id, (org.dispositions, org.conclusion_days)
    page = admin.get("/staff/admin/routing/").get_data(as_text=True)
    assert "核查 | Verification" in page  # the defaults are shown for editing
    token = re.search(rf'name="q{org_id}-csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    good = {f"q{org_id}-csrf_token": token.group(1),
            f"q{org_id}-dispositions": "核查 | Verification\n立项督查\n",
            f"q{org_id}-decision_days": "10", f"q{org_id}-transfer_days": "5",
            f"q{org_id}-conclusion_days": "30", f"q{org_id}-notice_days": "10",
            f"q{org_id}-signoff_required": "y"}
    # Out of range or empty: refused with the form shown again, nothing saved.
    for bad in ({f"q{org_id}-conclusion_days": "0"}, {f"q{org_id}-dispositions": " \n "}):
        response = admin.post(f"/staff/admin/routing/queues/{org_id}", data={**good, **bad})
        assert response.status_code == 400
        with app.app_context():
            row = db.session().get(Queue, org_id)
            assert row is not None
            assert (row.dispositions, row.conclusion_days) == before
    assert admin.post("/staff/admin/routing/queues/999", data=good).status_code == 400
    response = admin.post(f"/staff/admin/routing/queues/{org_id}", data=good)
    assert response.status_code == 303
    with app.app_context():
        row = db.session().get(Queue, org_id)
        assert row is not None
        assert [d["zh"] for d in queues.dispositions(row)] == ["核查", "立项督查"]
        assert (row.decision_days, row.conclusion_days, row.notice_days) == (10, 30, 10)
        assert row.signoff_required
        from portal.models import AuditEntry

        assert db.session().scalars(select(AuditEntry.action).where(
            AuditEntry.action == "queue.settings")).all()
