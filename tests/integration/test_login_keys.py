"""A name typed into a login form is kept nowhere in a form that gives it back (#22, item 7).

A passphrase typed into the username field by mistake must not land in the rate-limit store or
the database: after failed logins and activations with such "usernames", every key and value
of the real Redis store (its own database, emptied first) and every column of every table is
searched for the typed text in every encoding a store might use.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from portal import db, state
from portal.db import Base
from tests.conftest import StaffMember, csrf_token
from tests.integration.test_ratelimit_store import _everything

# What a holder might type into the username field: their passphrase, in three shapes (one
# passes the username format, so it reaches the account lookup like a real name).
TYPED = ["Tr0ub4dor&3-Secret-Passphrase", "correct horse battery staple 9f2c",
         "zebra.violin.7341"]


@pytest.fixture
def login_store(redis_url: str) -> str:
    """DB 12 of the test Redis, emptied: this test's own."""
    url = re.sub(r"/\d*$", "", redis_url.rstrip("/")) + "/12"
    redis.Redis.from_url(url).flushdb()
    return url


def _forms(text: str) -> set[bytes]:
    """The typed text as a store could hold it: as typed, normalised, encoded."""
    forms = set()
    for variant in {text, text.strip().lower(), text[:64], text.strip().lower()[:64]}:
        raw = variant.encode()
        forms |= {raw, urllib.parse.quote(variant).encode(),
                  urllib.parse.quote_plus(variant).encode(), raw.hex().encode(),
                  base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"=")}
    # Fragments long enough to mean something, in case a key is cut.
    forms |= {text.encode()[:12], text.strip().lower().encode()[:12]}
    return forms


def _fail_everything(app: Flask, typed: str, real: str) -> list[int]:
    """Failed logins (unknown name, and a wrong passphrase for a real one) and activations."""
    client = app.test_client()
    statuses = []
    for username, passphrase in ((typed, "wrong"), (f"  {typed.upper()} ", "wrong"),
                                 (real, typed)):
        token = csrf_token(client, "/staff/login")
        statuses.append(client.post("/staff/login", data={
            "username": username, "passphrase": passphrase, "totp": "000000",
            "csrf_token": token}).status_code)
    token = csrf_token(client, "/staff/activate")
    statuses.append(client.post("/staff/activate", data={
        "username": typed, "code": "ABCD-EFGH", "code2": "IJKL-MNOP",
        "csrf_token": token}).status_code)
    return statuses


def _rows(app: Flask) -> Iterator[tuple[str, bytes]]:
    """Every value of every column of every table, as bytes."""
    with app.app_context():
        session = db.session()
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is None:
                        continue
                    blob = bytes(value) if isinstance(value, bytes | memoryview) \
                        else str(value).encode()
                    yield f"{table.name}.{column.name}", blob


@pytest.mark.redis
def test_a_typed_username_reaches_neither_redis_nor_the_database(
        make_app: Callable[..., Flask], make_staff: Callable[..., StaffMember],
        login_store: str) -> None:
    app = make_app(ratelimit_storage_uri=login_store, login_failure_limit="100 per hour",
                   login_account_free_failures=1)
    real = make_staff("kim", "dic_handler")
    for typed in TYPED:
        statuses = _fail_everything(app, typed, real.username)
        assert all(s in (400, 401, 403, 404, 429) for s in statuses), statuses
    # The failures were counted: in Redis (per hashed address) and in the slow-down table.
    stored = _everything(login_store)
    assert any(b"auth.login" in name for name in stored), sorted(stored)
    rows = list(_rows(app))
    assert any(name.startswith("login_throttle.") for name, _blob in rows)

    for typed in TYPED:
        forms = _forms(typed)
        for name, values in stored.items():
            for blob in (name, *values):
                assert not any(f in blob for f in forms), (typed, name, blob)
        for column, blob in rows:
            assert not any(f in blob for f in forms), (typed, column, blob[:200])
    assert state.config(app).ratelimit_storage_uri == login_store
