"""Only failed staff logins count toward the limit, shared across workers through Redis."""

from __future__ import annotations

import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token


def _post(client: FlaskClient, username: str, address: str, passphrase: str, code: str) -> int:
    env = {"REMOTE_ADDR": address}
    client.environ_base.update(env)
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"username": username, "passphrase": passphrase,
                                             "totp": code, "csrf_token": token}).status_code


def _address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def _check_only_failures_count(app: Flask, make_staff) -> None:
    member = make_staff(f"u{secrets.token_hex(4)}", "supervisor")
    client = app.test_client()
    address = _address()
    assert _post(client, member.username, address, "wrong", "000000") == 401
    assert _post(client, member.username, address, "wrong", "000000") == 401
    # Successful logins do not use up the allowance.
    for _ in range(2):
        assert _post(client, member.username, address, member.passphrase,
                     member.next_code()) == 303
    assert _post(client, member.username, address, "wrong", "000000") == 401
    # The fourth failure is over the limit of three: refused, even with the right credentials.
    assert _post(client, member.username, address, "wrong", "000000") == 429
    member.used_steps.clear()
    assert _post(client, member.username, address, member.passphrase, "000000") == 429


def test_only_failed_logins_count_in_memory(make_app, make_staff) -> None:
    _check_only_failures_count(make_app(login_failure_limit="3 per 15 minutes"), make_staff)


@pytest.mark.redis
def test_only_failed_logins_count_on_redis(make_app, make_staff, redis_url: str) -> None:
    app = make_app(login_failure_limit="3 per 15 minutes", ratelimit_storage_uri=redis_url)
    _check_only_failures_count(app, make_staff)


@pytest.mark.redis
def test_two_workers_share_one_count_through_redis(make_app, redis_url: str) -> None:
    worker_a = make_app(login_failure_limit="3 per 15 minutes", ratelimit_storage_uri=redis_url)
    worker_b = make_app(login_failure_limit="3 per 15 minutes", ratelimit_storage_uri=redis_url)
    username, address = f"u{secrets.token_hex(4)}", _address()
    a, b = worker_a.test_client(), worker_b.test_client()
    assert _post(a, username, address, "x", "0") == 401
    assert _post(b, username, address, "x", "0") == 401
    assert _post(a, username, address, "x", "0") == 401
    assert _post(b, username, address, "x", "0") == 429


def test_per_account_limit_holds_across_addresses(make_app) -> None:
    # Three failures, then the account's next attempt must wait (#21.14: a slow-down).
    app = make_app(login_failure_limit="3 per 15 minutes", login_account_free_failures=3)
    client, username = app.test_client(), f"u{secrets.token_hex(4)}"
    codes = [_post(client, username, _address(), "x", "0") for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_behind_tor_all_clients_share_one_bucket(make_app) -> None:
    app = make_app(login_failure_limit="3 per 15 minutes", behind_tor=True)
    client = app.test_client()
    codes = [_post(client, f"u{secrets.token_hex(4)}", "127.0.0.1", "x", "0") for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Without the switch, different addresses and accounts have separate buckets.
    plain = make_app(login_failure_limit="3 per 15 minutes").test_client()
    codes = [_post(plain, f"u{secrets.token_hex(4)}", _address(), "x", "0") for _ in range(4)]
    assert codes == [401, 401, 401, 401]
