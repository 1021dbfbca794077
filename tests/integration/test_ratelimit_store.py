"""What the rate limiter leaves in Redis: counts without times, under keys that no stored secret
turns back into an address (issue #21, item 1); and the refusal to start on a Redis that
writes to disk.

The store is a database of its own on the real Redis (DB 13 of PORTAL_TEST_REDIS_URL's server),
emptied first, so every key in it is one the portal wrote.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from flask import Flask
from limits.storage import MemoryStorage, RedisStorage

from portal import crypto, ratelimit, state
from portal.config import SECRET_NAMES
from portal.extensions import client_key
from tests.conftest import REQUIRE_SERVICES, csrf_token
from tests.intake_support import make_desk, post_report
from tests.reliability.harness import free_port, wait_for

ADDRESS = "127.0.0.1"  # the test client's REMOTE_ADDR
FACTS = "2026年3月，某局局长在办公室收受现金两万元。"
_NUMBER = re.compile(rb"\d+(?:\.\d+)?")


@pytest.fixture
def store_url(redis_url: str) -> str:
    """DB 13 of the test Redis, emptied: this test's own."""
    url = re.sub(r"/\d*$", "", redis_url.rstrip("/")) + "/13"
    redis.Redis.from_url(url).flushdb()
    return url


def _everything(url: str) -> dict[bytes, list[bytes]]:
    """Every key of the database with its value(s), whatever the type."""
    store = redis.Redis.from_url(url)
    found: dict[bytes, list[bytes]] = {}
    for name in store.scan_iter():
        kind = store.type(name).decode()
        if kind == "string":
            found[name] = [store.get(name) or b""]
        elif kind == "list":
            found[name] = list(store.lrange(name, 0, -1))
        elif kind == "zset":
            found[name] = [m for pair in store.zrange(name, 0, -1, withscores=True)
                           for m in (pair[0], str(pair[1]).encode())]
        elif kind == "hash":
            found[name] = [x for kv in store.hgetall(name).items() for x in kv]
        else:
            found[name] = [repr(kind).encode()]
    return found


def _address_forms(secret: bytes, address: str) -> set[bytes]:
    """The ways a stored secret could turn the address into a stored string."""
    raw = address.encode()
    digests = [
        crypto.mac(secret, "portal/ratelimit", address),
        hmac.new(secret, raw, hashlib.sha256).digest(),
        hmac.new(secret, raw, hashlib.sha1).digest(),
        hmac.new(secret, raw, hashlib.blake2b).digest(),
        hashlib.sha256(secret + raw).digest(),
    ]
    if len(secret) <= 64:  # blake2b's longest key (the audit head file is longer)
        digests.append(hashlib.blake2b(raw, key=secret).digest())
    for name in ("secret_key", "pow"):  # keys derived from the stored secret
        derived = crypto.mac(secret, f"portal/{name}-key")
        digests += [crypto.mac(derived, "portal/ratelimit", address),
                    hmac.new(derived, raw, hashlib.sha256).digest()]
    forms = set()
    for digest in digests:
        for text in (digest.hex().encode(), base64.b64encode(digest),
                     base64.urlsafe_b64encode(digest).rstrip(b"=")):
            forms |= {text[:16], text[:32], text}
        forms.add(digest)
    return forms


def _times_near(now: float, blob: bytes) -> list[bytes]:
    """Numbers in a key or value that read as a time within a day of now (s, ms or µs)."""
    hits = []
    for match in _NUMBER.finditer(blob):
        number = float(match.group())
        if any(abs(number / scale - now) < 86_400 for scale in (1, 1e3, 1e6)):
            hits.append(match.group())
    return hits


def _check_receipt(app: Flask, receipt: str) -> int:
    client = app.test_client()
    token = csrf_token(client, "/report/check")
    return client.post("/report/check", data={"csrf_token": token,
                                               "receipt": receipt}).status_code


def _fail_login(app: Flask) -> int:
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"username": "nobody", "passphrase": "x",
                                             "totp": "000000", "csrf_token": token}).status_code


@pytest.mark.redis
def test_store_holds_no_time_and_no_key_a_stored_secret_reverses(make_app, make_staff,
                                                                 store_url: str) -> None:
    app = make_app(ratelimit_storage_uri=store_url, report_limit="3 per hour",
                   receipt_check_limit="5 per hour", login_failure_limit="3 per 15 minutes")
    desk = make_desk(app, make_staff)
    client = app.test_client()
    status, _ = post_report(client, {"category": str(desk.category_id("discipline")),
                                     "persons-0-name": "李四", "facts": FACTS})
    assert status == 200
    assert _check_receipt(app, "1234567890123456") == 400
    assert _fail_login(app) == 401
    now = time.time()

    stored = _everything(store_url)
    assert stored, "the limiter counted in the store"
    instance = state.config(app).instance_path
    secrets = [(instance / name).read_bytes() for name in SECRET_NAMES]
    assert {p.name for p in instance.iterdir() if p.is_file()} >= set(SECRET_NAMES)
    # Any other file small enough to be a key (BLAKE2's keys are at most 64 bytes; the audit
    # chain's head, a JSON document, is not one).
    secrets += [p.read_bytes() for p in instance.iterdir()
                if p.is_file() and p.stat().st_size <= 64 and p.name not in SECRET_NAMES]
    forms = {form for secret in secrets for form in _address_forms(secret, ADDRESS)}
    forms.add(ADDRESS.encode())
    problems = [(name, values, "time" if _times_near(now, blob) else "address")
                for name, values in stored.items() for blob in (name, *values)
                if _times_near(now, blob) or any(f in blob for f in forms)]
    assert not problems
    # What is there: this hour's address key, and counts (one filing, one failed receipt
    # check, one failed login) under the hashed address, the ceilings and the account.
    address_keys = [n for n in stored if n.startswith(b"portal:ratelimit-key:")]
    assert address_keys == [f"portal:ratelimit-key:{int(now // 3600)}".encode()]
    assert all(n.startswith(b"LIMITS:LIMITER/") for n in stored if n not in address_keys)
    per_address = {n.split(b"/", 2)[2]: int(v[0]) for n, v in stored.items()
                   if n.startswith(b"LIMITS:") and re.fullmatch(rb"[0-9a-f]{32}", n.split(b"/")[1])}
    assert per_address == {b"intake.report/3/1/hour": 1, b"intake.check/5/1/hour": 1,
                           b"auth.login/3/15/minute": 1}


@pytest.mark.redis
def test_the_address_key_rotates_with_the_period_and_lives_in_redis_only(
        make_app, store_url: str) -> None:
    app = make_app(ratelimit_storage_uri=store_url, login_failure_limit="3 per 15 minutes")
    period = ratelimit.rotation_seconds(state.config(app))
    assert period == 3600  # the longest of the default windows
    start = dt.datetime.fromtimestamp((time.time() // period + 1) * period + 5, dt.UTC)
    with time_machine.travel(start, tick=False):
        assert _fail_login(app) == 401
        with app.test_request_context(environ_base={"REMOTE_ADDR": ADDRESS}):
            first = client_key()
        store = redis.Redis.from_url(store_url)
        secrets = [k for k in store.scan_iter() if k.startswith(b"portal:ratelimit-key:")]
        assert len(secrets) == 1
        # It goes when its period ends (and is written nowhere: see the start-up check).
        assert 0 < store.ttl(secrets[0]) <= period - 5
        assert not any(first.encode() in v for v in (p.read_bytes() for p in
                                            state.config(app).instance_path.iterdir()
                                            if p.is_file()))
    # A second app server derives the same key in the same period…
    other = make_app(ratelimit_storage_uri=store_url, login_failure_limit="3 per 15 minutes")
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False), \
            other.test_request_context(environ_base={"REMOTE_ADDR": ADDRESS}):
        assert client_key() == first
    # …and a new one in the next.
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False), \
            other.test_request_context(environ_base={"REMOTE_ADDR": ADDRESS}):
        assert client_key() != first


@pytest.mark.redis
def test_limits_count_in_fixed_windows_on_redis(make_app, store_url: str) -> None:
    app = make_app(ratelimit_storage_uri=store_url, login_failure_limit="3 per 15 minutes")
    period = ratelimit.rotation_seconds(state.config(app))
    start = dt.datetime.fromtimestamp((time.time() // period + 1) * period + 5, dt.UTC)
    with time_machine.travel(start, tick=False):
        assert [_fail_login(app) for _ in range(4)] == [401, 401, 401, 429]
    # The next hour's key starts a new count (the documented cost of rotation).
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert _fail_login(app) == 401


def test_without_the_shared_store_each_process_keys_addresses_with_its_own_key(make_app) -> None:
    app = make_app()  # memory://
    config = state.config(app)
    period = ratelimit.rotation_seconds(config)
    unreachable = RedisStorage(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    start = dt.datetime.fromtimestamp((time.time() // period + 1) * period + 5, dt.UTC)
    with time_machine.travel(start, tick=False):
        key = ratelimit.client_key(config, MemoryStorage(), ADDRESS)
        assert ratelimit.client_key(config, unreachable, ADDRESS) == key
        stored = [crypto.client_key((config.instance_path / n).read_bytes(), ADDRESS)
                  for n in SECRET_NAMES]
        assert key not in stored
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert ratelimit.client_key(config, MemoryStorage(), ADDRESS) != key


# --- the start-up check: a store that writes to disk is refused ------------------------------


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Any]:
    """Start a redis-server of the test's own with given arguments; all killed at the end."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not on PATH (apt-get install redis-server)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> str:
        port = free_port()
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
             "--dir", str(tmp_path), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        started.append(process)
        client = redis.Redis(port=port, socket_timeout=1)
        wait_for(lambda: _pings(client), 15, f"redis-server on port {port}")
        return f"redis://127.0.0.1:{port}/0"

    yield start
    for process in started:
        process.kill()
        process.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.mark.parametrize(("args", "setting"), [
    (("--save", "3600 1", "--appendonly", "no"), "save 3600 1"),
    (("--save", "", "--appendonly", "yes"), "appendonly yes"),
])
def test_a_store_that_writes_to_disk_is_refused(make_app, redis_server, args: tuple[str, ...],
                                                setting: str) -> None:
    url = redis_server(*args)
    with pytest.raises(ratelimit.PersistentStore, match=setting):
        make_app(ratelimit_storage_uri=url)


def test_a_store_without_persistence_is_accepted(make_app, redis_server) -> None:
    make_app(ratelimit_storage_uri=redis_server("--save", "", "--appendonly", "no"))


def test_a_store_that_refuses_config_starts_with_a_warning(make_app, redis_server,
                                                           caplog) -> None:
    url = redis_server("--save", "", "--appendonly", "no", "--rename-command", "CONFIG", "")
    with caplog.at_level("WARNING"):
        make_app(ratelimit_storage_uri=url)
    assert any("cannot check that the rate-limit store keeps nothing on disk" in r.getMessage()
               for r in caplog.records), caplog.records
