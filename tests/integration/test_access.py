"""Deny by default: walk every route and prove who can and cannot reach it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from portal import db
from portal.access import ANY_STAFF, PUBLIC, access_rule
from portal.models import Role, StaffUser
from tests.conftest import AuthActions, csrf_token

SAMPLE_VALUES = {"int": 1, "default": "x", "string": "x", "path": "x"}


def _routes(app: Flask) -> Iterator[tuple[Rule, str, str]]:
    """Every (rule, method, concrete URL) of the app, static files excluded."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: SAMPLE_VALUES.get(type(rule._converters[arg]).__name__.replace(
            "Converter", "").lower(), "1") for arg in rule.arguments}
        url = rule.build(values, append_unknown=False)
        assert url is not None
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method, url[1]


def test_every_route_declares_who_may_reach_it(app: Flask) -> None:
    with app.test_request_context():
        unmarked = [r.endpoint for r, _m, _u in _routes(app) if access_rule(r.endpoint) is None]
    assert unmarked == []


def test_anonymous_visitors_reach_only_public_routes(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    with app.test_request_context():
        routes = [(r.endpoint, m, u, access_rule(r.endpoint)) for r, m, u in _routes(app)]
    for endpoint, method, url, rule in routes:
        if rule == PUBLIC:
            continue
        response = client.open(url, method=method)
        checked += 1
        if method == "GET":
            assert response.status_code == 302, endpoint
            assert "/staff/login" in response.headers["Location"], endpoint
        else:
            assert response.status_code == 401, endpoint
    assert checked >= 5


def test_an_unmarked_route_refuses_everyone(make_app, make_staff) -> None:
    app = make_app()

    @app.route("/staff/forgotten")
    def forgotten() -> str:
        return "secret"

    admin = make_staff("root", "admin")
    client = app.test_client()
    assert client.get("/staff/forgotten").status_code == 403
    AuthActions(client).login(admin)
    response = client.get("/staff/forgotten")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_reaches_only_its_own_areas(app: Flask, make_staff, role: str) -> None:
    member = make_staff(f"user_{role}".replace("_", "-")[:30], role)
    client = app.test_client()
    assert AuthActions(client).login(member).status_code == 303
    with app.test_request_context():
        routes = [(r.endpoint, m, u, access_rule(r.endpoint)) for r, m, u in _routes(app)]
    allowed = refused = 0
    for endpoint, method, url, rule in routes:
        if rule == PUBLIC or endpoint == "auth.logout":
            continue
        response = client.open(url, method=method)
        if rule == ANY_STAFF or role in rule:  # type: ignore[operator]
            assert response.status_code not in (401, 403), (endpoint, method)
            allowed += 1
        else:
            assert response.status_code == 403, (endpoint, method)
            refused += 1
    assert allowed >= 1
    if role != Role.admin:
        assert refused >= 1


# --- escalation paths of a lone administrator (#21, item 3) ------------------------------------

SECRET_RE = re.compile(r'<code class="secret"[^>]*>([^<]+)</code>')
GRANT_FORM_RE = re.compile(r'action="/staff/roles/(\d+)/confirm"')


def _user_row(app: Flask, username: str) -> StaffUser | None:
    with app.app_context():
        return db.session().scalar(select(StaffUser).where(StaffUser.username == username))


def _roles_of(app: Flask, username: str) -> set[str]:
    user = _user_row(app, username)
    assert user is not None
    return set(user.role_names)


def _create(client: FlaskClient, username: str, *roles: str) -> TestResponse:
    token = csrf_token(client, "/staff/admin/")
    return client.post("/staff/admin/accounts",
                       data={"username": username, "roles": list(roles), "csrf_token": token})


def _ask_roles(client: FlaskClient, user_id: int, *roles: str) -> TestResponse:
    token = csrf_token(client, "/staff/admin/")
    return client.post(f"/staff/admin/accounts/{user_id}/roles",
                       data={"roles": list(roles), "csrf_token": token})


def _try_activation(app: Flask, username: str, first: str, second: str) -> int:
    """Step one of the activation page, as whoever holds these strings; the status."""
    person = app.test_client()
    token = csrf_token(person, "/staff/activate")
    return person.post("/staff/activate", data={
        "username": username, "code": first, "code2": second, "csrf_token": token}).status_code


def _every_way_to_activate(app: Flask, username: str, shown: list[str]) -> list[int]:
    """Every combination of what an administrator saw, in either field, alone or together."""
    candidates = [*shown, *("".join(p) for p in itertools.permutations(shown, 2)), ""]
    return [_try_activation(app, username, first, second)
            for first in candidates for second in candidates if first or second]


def test_an_admin_cannot_give_himself_any_other_role(app: Flask, client: FlaskClient,
                                                     auth: AuthActions, make_staff) -> None:
    root = make_staff("root", "admin")
    auth.login(root)
    root_id = _id(app, "root")
    for role in ("supervisor", "publicity_editor", "org_head", "dic_head"):
        _ask_roles(client, root_id, "admin", role)
        assert _roles_of(app, "root") == {"admin"}, role
    assert client.get("/staff/supervision/compliance").status_code == 403  # supervisors only
    assert client.get("/staff/publicity/").status_code == 403


def test_admin_accounts_hold_no_other_role(app: Flask, client: FlaskClient, auth: AuthActions,
                                           make_staff, runner) -> None:
    root = make_staff("root", "admin")
    auth.login(root)
    assert _create(client, "twohats", "admin", "org_head").status_code == 400
    assert _user_row(app, "twohats") is None
    # Nor can an administrator be asked for another role, or another role's holder be made admin.
    make_staff("other", "admin")
    make_staff("editor", "publicity_editor")
    _ask_roles(client, _id(app, "other"), "admin", "supervisor")
    _ask_roles(client, _id(app, "editor"), "publicity_editor", "admin")
    assert _roles_of(app, "other") == {"admin"}
    assert _roles_of(app, "editor") == {"publicity_editor"}
    assert GRANT_FORM_RE.search(client.get("/staff/roles/").get_data(as_text=True)) is None
    # The command line refuses it as well.
    result = runner.invoke(args=["staff", "create", "cli2hats", "--role", "admin", "--role",
                                 "supervisor"], input="copper meadow violin harbour\n")
    assert result.exit_code != 0
    assert _user_row(app, "cli2hats") is None


def test_an_admin_alone_cannot_activate_an_account_he_created(
        app: Flask, client: FlaskClient, auth: AuthActions, make_staff) -> None:
    root = make_staff("root", "admin")
    auth.login(root)
    page = _create(client, "newhead", "org_head")
    assert page.status_code == 200
    shown = SECRET_RE.findall(page.get_data(as_text=True))
    assert shown, "the creating admin is given his half of the code"
    shown += SECRET_RE.findall(client.get("/staff/admin/").get_data(as_text=True))
    assert set(_every_way_to_activate(app, "newhead", shown)) == {400}
    user = _user_row(app, "newhead")
    assert user is not None
    assert user.status == "pending"
    assert user.pending_totp_box is None


def test_an_admin_resets_a_heads_account_and_cannot_log_in_as_them(
        app: Flask, client: FlaskClient, auth: AuthActions, make_staff) -> None:
    root = make_staff("root", "admin")
    make_staff("dichead", "dic_head")
    auth.login(root)
    page = client.post(f"/staff/admin/accounts/{_id(app, 'dichead')}/reset",
                       data={"csrf_token": csrf_token(client, "/staff/admin/")})
    assert page.status_code == 200
    shown = SECRET_RE.findall(page.get_data(as_text=True))
    assert shown
    assert set(_every_way_to_activate(app, "dichead", shown)) == {400}
    user = _user_row(app, "dichead")
    assert user is not None
    assert user.status == "pending"


def test_an_admin_made_editor_does_not_reach_approve_before_a_second_person_confirms(
        app: Flask, client: FlaskClient, auth: AuthActions, make_staff) -> None:
    root = make_staff("root", "admin")
    second = make_staff("second", "admin")
    mole = make_staff("mole", "org_handler")
    auth.login(root)
    _ask_roles(client, _id(app, "mole"), "org_handler", "publicity_editor", "org_head")
    # The grant is pending: it gives no power, on the page or in the services.
    assert _roles_of(app, "mole") == {"org_handler"}
    mole_client = app.test_client()
    assert AuthActions(mole_client).login(mole).status_code == 303
    assert mole_client.get("/staff/publicity/").status_code == 403
    assert mole_client.get("/staff/publicity/compliance/").status_code == 403
    # The admin who asked cannot confirm his own request.
    pending = client.get("/staff/roles/").get_data(as_text=True)
    ids = GRANT_FORM_RE.findall(pending)
    assert ids == []  # no confirm button for the requester…
    with app.app_context():
        from portal.models import RoleRequest
        asked = list(db.session().scalars(select(RoleRequest.id).where(
            RoleRequest.state == "pending", RoleRequest.user_id == _id(app, "mole"))))
    assert len(asked) == 2
    for request_id in asked:  # …and a forged POST is refused
        response = client.post(f"/staff/roles/{request_id}/confirm",
                               data={"csrf_token": csrf_token(client, "/staff/roles/")})
        assert response.status_code == 403
    assert _roles_of(app, "mole") == {"org_handler"}
    # A second administrator confirms one and refuses the other.
    other = app.test_client()
    assert AuthActions(other).login(second).status_code == 303
    ids = GRANT_FORM_RE.findall(other.get("/staff/roles/").get_data(as_text=True))
    assert sorted(map(int, ids)) == sorted(asked)
    token = csrf_token(other, "/staff/roles/")
    assert other.post(f"/staff/roles/{asked[0]}/confirm",
                      data={"csrf_token": token}).status_code in (200, 303)
    assert other.post(f"/staff/roles/{asked[1]}/refuse",
                      data={"csrf_token": token}).status_code in (200, 303)
    assert len(_roles_of(app, "mole")) == 2
    assert mole_client.get("/staff/").status_code in (200, 302)


def test_the_head_concerned_confirms_and_the_holder_activates_with_both_halves(
        app: Flask, client: FlaskClient, auth: AuthActions, make_staff) -> None:
    root = make_staff("root", "admin")
    head = make_staff("orghead", "org_head")
    dichead = make_staff("dichead", "dic_head")
    auth.login(root)
    page = _create(client, "judy", "org_handler")
    first = SECRET_RE.findall(page.get_data(as_text=True))
    assert len(first) == 1
    # The other body's head has nothing to confirm for this account.
    dic = app.test_client()
    assert AuthActions(dic).login(dichead).status_code == 303
    assert GRANT_FORM_RE.findall(dic.get("/staff/roles/").get_data(as_text=True)) == []
    # The organization department's head confirms the role and the activation.
    head_client = app.test_client()
    assert AuthActions(head_client).login(head).status_code == 303
    ids = GRANT_FORM_RE.findall(head_client.get("/staff/roles/").get_data(as_text=True))
    assert len(ids) == 2  # the role and the activation code's second half
    seconds: list[str] = []
    for request_id in ids:
        done = head_client.post(f"/staff/roles/{request_id}/confirm",
                                data={"csrf_token": csrf_token(head_client, "/staff/roles/")})
        assert done.status_code == 200
        seconds += SECRET_RE.findall(done.get_data(as_text=True))
    assert len(seconds) == 1
    assert seconds[0] != first[0]
    assert _roles_of(app, "judy") == {"org_handler"}
    # Neither half alone opens the account; both together do.
    assert _try_activation(app, "judy", first[0], "") == 400
    assert _try_activation(app, "judy", seconds[0], "") == 400
    assert _try_activation(app, "judy", first[0], seconds[0]) == 200


def test_supervisors_see_every_role_change(app: Flask, client: FlaskClient, auth: AuthActions,
                                           make_staff) -> None:
    root = make_staff("root", "admin")
    second = make_staff("second", "admin")
    sup = make_staff("sup", "supervisor")
    make_staff("ann", "dic_handler")
    auth.login(root)
    ann = _id(app, "ann")
    _ask_roles(client, ann, "dic_handler", "supervisor")
    other = app.test_client()
    AuthActions(other).login(second)
    ids = GRANT_FORM_RE.findall(other.get("/staff/roles/").get_data(as_text=True))
    other.post(f"/staff/roles/{ids[0]}/refuse",
               data={"csrf_token": csrf_token(other, "/staff/roles/")})
    _ask_roles(client, ann, "dic_handler", "dic_head")
    ids = GRANT_FORM_RE.findall(other.get("/staff/roles/").get_data(as_text=True))
    other.post(f"/staff/roles/{ids[0]}/confirm",
               data={"csrf_token": csrf_token(other, "/staff/roles/")})
    _ask_roles(client, ann, "dic_head")  # revokes dic_handler at once
    viewer = app.test_client()
    AuthActions(viewer).login(sup)
    page = viewer.get("/staff/roles/changes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(r'<tr class="change[^"]*" data-state="([a-z]+)" data-kind="([a-z]+)"'
                      r' data-role="([a-z_]*)" data-user="([a-z0-9_.-]+)"', html)
    assert ("refused", "grant", "supervisor", "ann") in rows
    assert ("confirmed", "grant", "dic_head", "ann") in rows
    assert ("done", "revoke", "dic_handler", "ann") in rows
    assert "second" in html
    assert "root" in html
    # Read-only: no form on the page, and nobody but supervisors and admins reaches it.
    assert "<form" not in html.split("<main", 1)[-1].split("</main>")[0]
    head = app.test_client()
    assert AuthActions(head).login(make_staff("hd", "dic_head")).status_code == 303
    assert head.get("/staff/roles/changes").status_code == 403


def _id(app: Flask, username: str) -> int:
    user = _user_row(app, username)
    assert user is not None
    return user.id
