"""The Host header never reaches a link (#21, item 10).

The feed and the API are cacheable (browsers and proxies keep them 60 s) and carry absolute
links; those were built from the request's Host (and could have been from X-Forwarded-Host),
so one request with a forged host could poison a shared cache. Links are now built from
PORTAL_PUBLIC_URL (or PORTAL_EXTRA_PUBLIC_URLS), and a request for any other host is a clean
400 page.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from portal.config import ConfigError
from tests.integration.test_archive_search import Editors, notice_input, person

PUBLIC = "https://jubao.example.gov.cn"
ONION = "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion"
EVIL = "evil.example"
PAGES = ("/notices/feed.atom", "/api/notices", "/api/notices/{id}", "/", "/notices",
         "/notices/{id}", "/notices/archive?q=%E5%8E%BF")


def _published(app: Flask, make_staff: Callable[..., object]) -> int:
    return Editors(app, make_staff).publish(notice_input(person("张三", "示例县副县长")))


def _text(response: TestResponse) -> str:
    head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return head + "\n" + response.get_data(as_text=True)


def _evil_free(response: TestResponse) -> None:
    assert EVIL not in _text(response).lower()
    assert response.status_code < 500


@pytest.fixture
def production(make_app: Callable[..., Flask], make_staff: Callable[..., object]
               ) -> tuple[Flask, int]:
    app = make_app(public_url=PUBLIC, extra_public_urls=ONION, proxy_count=1)
    return app, _published(app, make_staff)


def test_a_forged_host_gets_a_clean_400_in_the_page_language(production: tuple[Flask, int]
                                                              ) -> None:
    app, notice_id = production
    client = app.test_client()
    for page in PAGES:
        path = page.format(id=notice_id)
        for lang in ("", "lang=en"):
            url = path + (("&" if "?" in path else "?") + lang if lang else "")
            response = client.get(url, base_url=f"http://{EVIL}")
            _evil_free(response)
            assert response.status_code == 400, (url, response.status_code)
    page = client.get("/notices", base_url=f"http://{EVIL}").get_data(as_text=True)
    assert "此网址不属于本平台" in page  # Chinese by default
    page = client.get("/notices?lang=en", base_url=f"http://{EVIL}").get_data(as_text=True)
    assert "This address is not served here" in page
    api = client.get("/api/notices", base_url=f"http://{EVIL}")
    assert api.is_json
    assert api.get_json()["status"] == 400


def test_forwarded_host_and_ports_never_reach_a_link(production: tuple[Flask, int]) -> None:
    app, notice_id = production
    client = app.test_client()
    variants = [
        ({"X-Forwarded-Host": EVIL}, "http://jubao.example.gov.cn"),
        ({"X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"}, "https://jubao.example.gov.cn"),
        ({"X-Forwarded-Host": EVIL, "Forwarded": f"host={EVIL}"},
         "http://jubao.example.gov.cn:8443"),
        ({"X-Forwarded-Server": EVIL, "X-Host": EVIL, "X-Original-Host": EVIL},
         "http://JUBAO.example.gov.cn."),
    ]
    for headers, base_url in variants:
        for page in ("/notices/feed.atom", "/api/notices", "/api/notices/{id}"):
            response = client.get(page.format(id=notice_id), base_url=base_url, headers=headers)
            assert response.status_code == 200, (page, base_url, response.status_code)
            _evil_free(response)
            body = response.get_data(as_text=True)
            assert f"{PUBLIC}/notices/{notice_id}" in body, (page, base_url)
            assert "8443" not in body
            assert "http://jubao" not in body


def test_a_cached_page_is_never_served_with_another_hosts_links(production: tuple[Flask, int]
                                                                ) -> None:
    app, notice_id = production
    client = app.test_client()
    client.get("/notices/feed.atom", base_url=f"http://{EVIL}")
    onion = client.get("/notices/feed.atom", base_url=ONION).get_data(as_text=True)
    assert f"{ONION}/notices/{notice_id}" in onion
    assert PUBLIC not in onion
    clear = client.get("/notices/feed.atom", base_url=PUBLIC).get_data(as_text=True)
    assert f"{PUBLIC}/notices/{notice_id}" in clear
    assert ONION not in clear
    api = client.get(f"/api/notices/{notice_id}", base_url=ONION).get_json()
    assert api["url"] == f"{ONION}/notices/{notice_id}"


def test_development_answers_loopback_names_only(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()  # no PORTAL_PUBLIC_URL, cookies not Secure
    assert client.get("/notices/feed.atom").status_code == 200  # Host: localhost
    for base in ("http://127.0.0.1:5000", "http://[::1]:8000", "http://localhost:5000"):
        assert client.get("/notices/feed.atom", base_url=base).status_code == 200, base
    response = client.get("/notices/feed.atom", base_url=f"http://{EVIL}")
    assert response.status_code == 400
    _evil_free(response)
    response = client.get("/notices/feed.atom", base_url="http://localhost:5000",
                          headers={"X-Forwarded-Host": EVIL})
    _evil_free(response)


def test_production_without_a_public_url_serves_loopback_only_and_says_so(
        make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        client = make_app(testing=False, secure_cookies=True).test_client()
    assert "PORTAL_PUBLIC_URL is not set" in caplog.text
    assert client.get("/notices/feed.atom", base_url="https://localhost").status_code == 200
    response = client.get("/notices/feed.atom", base_url=f"https://{EVIL}")
    assert response.status_code == 400
    _evil_free(response)


def test_a_public_url_is_checked(make_app: Callable[..., Flask]) -> None:
    for bad in ("jubao.example.gov.cn", "ftp://jubao.example.gov.cn", "https://user@x.cn",
                "https://x.cn/portal?a=1", "https://x.cn:99999"):
        with pytest.raises(ConfigError):
            make_app(public_url=bad)
