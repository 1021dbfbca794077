"""Deny by default: walk every route and prove who can and cannot reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.routing import Rule

from portal.access import ANY_STAFF, PUBLIC, access_rule
from portal.models import Role
from tests.conftest import AuthActions

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
