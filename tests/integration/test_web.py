"""The shell's web behaviour: headers, error pages, languages, size caps, CSRF, bad bytes."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import db
from portal.models import AuditEntry
from tests.conftest import AuthActions, csrf_token


def test_home_is_chinese_hardened_and_sets_no_cookie(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "干部任前公示" in html
    h = response.headers
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Cross-Origin-Opener-Policy"] == "same-origin"
    assert h["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "Set-Cookie" not in h


def test_pages_load_nothing_from_other_sites_and_have_no_inline_code(client: FlaskClient) -> None:
    for path in ("/", "/staff/login", "/staff/activate", "/nope"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href|action)="(https?:)?//', html), path
        assert "<script" not in html, path
        assert "style=" not in html, path
        assert "<style" not in html, path


def test_english_is_selectable_and_carried_through_links(client: FlaskClient) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Pre-appointment notices" in html
    assert 'href="/staff/login?lang=en"' in html


def test_unknown_language_is_a_clear_400(client: FlaskClient) -> None:
    response = client.get("/?lang=xx")
    assert response.status_code == 400
    assert "中文" in response.get_data(as_text=True)


def test_error_pages_in_the_page_language_without_traceback(client: FlaskClient) -> None:
    zh = client.get("/no/such/page")
    assert zh.status_code == 404
    assert "页面不存在" in zh.get_data(as_text=True)
    en = client.get("/no/such/page?lang=en")
    assert "Page not found" in en.get_data(as_text=True)


def test_unexpected_errors_show_a_500_page_without_traceback(make_app) -> None:
    app = make_app()
    from portal.access import public

    @app.route("/boom")
    @public
    def boom() -> str:
        raise RuntimeError("internal detail that must not leak")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "internal detail" not in html
    assert "Traceback" not in html


def test_missing_csrf_token_is_refused_and_nothing_written(app: Flask, client: FlaskClient,
                                                           make_staff) -> None:
    make_staff("nina", "supervisor")
    with app.app_context():
        before = db.session().scalar(select(func.count()).select_from(AuditEntry))
    response = client.post("/staff/login", data={"username": "nina", "passphrase": "x",
                                                 "totp": "123456"})
    assert response.status_code == 400
    assert "表单" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(AuditEntry)) == before


def test_oversized_request_gets_a_friendly_413(make_app) -> None:
    app = make_app(max_request_bytes=10_000)
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"csrf_token": token, "username": "x" * 20_000})
    assert response.status_code == 413
    assert "过大" in response.get_data(as_text=True)


def test_non_utf8_form_bytes_are_refused(app: Flask, client: FlaskClient, make_staff) -> None:
    make_staff("olga", "supervisor")
    token = csrf_token(client, "/staff/login")
    body = f"csrf_token={token}&username=olga%FF%FE&passphrase=x&totp=123456".encode()
    response = client.post("/staff/login", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)
    with app.app_context():
        actions = list(db.session().scalars(select(AuditEntry.action)))
    assert "login.failed" not in actions


def test_staff_pages_are_not_cached_and_cookies_are_strict(client: FlaskClient,
                                                          auth: AuthActions, make_staff) -> None:
    auth.login(make_staff("pat", "admin"))
    response = client.get("/staff/admin/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_secure_cookies_and_hsts_when_configured(make_app, make_staff) -> None:
    app = make_app(secure_cookies=True)
    client = app.test_client()
    response = client.get("/staff/login", base_url="https://localhost")
    assert "Strict-Transport-Security" in response.headers
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_uninitialised_instance_answers_503(tmp_path) -> None:
    from application import create_app
    from portal.config import Config

    app = create_app(Config(instance_path=tmp_path / "empty", testing=True))
    response = app.test_client().get("/")
    assert response.status_code == 503
    assert "portal init" in response.get_data(as_text=True)
