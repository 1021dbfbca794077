"""The proof-of-work exemption: tokens, single use, the limiter hook and the browser script."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from intake import pow
from portal import crypto, state
from portal.extensions import limiter

KEY = b"k" * 32
SCRIPT = Path(__file__).resolve().parents[2] / "portal" / "static" / "pow.js"


def solve(challenge: str, bits: int) -> str:
    """The smallest counter meeting the difficulty (what pow.js computes)."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(counter)
        counter += 1


def _wrong(challenge: str, bits: int) -> str:
    """A counter that does not meet the difficulty."""
    counter = 0
    while pow.check(KEY, challenge, str(counter)):
        counter += 1
    return str(counter)


def test_round_trip() -> None:
    challenge = pow.issue(KEY, bits=8)
    assert pow.check(KEY, challenge, solve(challenge, 8))
    assert not pow.check(KEY, challenge, _wrong(challenge, 8))


def test_challenges_are_unique_and_url_safe() -> None:
    tokens = {pow.issue(KEY, bits=8) for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", token) for token in tokens)


@pytest.mark.parametrize("bits", [0, 33, -1])
def test_issue_refuses_silly_difficulty(bits: int) -> None:
    with pytest.raises(ValueError, match="bits"):
        pow.issue(KEY, bits=bits)


def test_tampered_challenge_fails() -> None:
    challenge = pow.issue(KEY, bits=8)
    raw = bytearray(crypto.unb64(challenge))
    # Lower the difficulty field (byte 9: after version and expiry) and re-solve: MAC breaks.
    raw[9] = 1
    easier = crypto.b64(bytes(raw))
    assert not pow.check(KEY, easier, solve(easier, 1))
    # Flip one character anywhere in the text.
    for i in (0, len(challenge) // 2, len(challenge) - 2):
        flipped = challenge[:i] + ("A" if challenge[i] != "A" else "B") + challenge[i + 1 :]
        assert not pow.check(KEY, flipped, solve(flipped, 8))


def test_non_canonical_spelling_fails() -> None:
    challenge = pow.issue(KEY, bits=4)
    # urlsafe_b64decode would skip junk characters; the same bytes spelled differently must not
    # count as a new challenge (it would get a fresh single-use key).
    for variant in (challenge + "=", challenge[:5] + "!" + challenge[5:], challenge + "\n"):
        assert not pow.check(KEY, variant, solve(variant, 4))


def test_expired_fails() -> None:
    start = time.time()
    challenge = pow.issue(KEY, bits=8, ttl_seconds=60, now=start)
    solution = solve(challenge, 8)
    assert pow.check(KEY, challenge, solution, now=start + 59)
    assert not pow.check(KEY, challenge, solution, now=start + 61)


def test_other_key_fails() -> None:
    challenge = pow.issue(b"o" * 32, bits=8)
    assert not pow.check(KEY, challenge, solve(challenge, 8))


@pytest.mark.parametrize(
    ("challenge", "solution"),
    [
        ("", "1"),
        ("not base64 at all!", "1"),
        ("AAAA", "1"),
        ("A" * 5000, "1"),
        ("ü" * 40, "1"),
        (None, "1"),
        ("GOOD", ""),
        ("GOOD", "1" * 21),
        ("GOOD", "9" * 10_000),
        ("GOOD", "12a"),
        ("GOOD", "-1"),
        ("GOOD", " 1"),
        ("GOOD", "1.0"),
        ("GOOD", "²"),
        ("GOOD", "١٢"),
        ("GOOD", None),
    ],
)
def test_malformed_is_false_not_an_exception(challenge: object, solution: object) -> None:
    good = pow.issue(KEY, bits=1)
    challenge = good if challenge == "GOOD" else challenge
    assert not pow.check(KEY, challenge, solution)  # type: ignore[arg-type]


# --- single use and the limiter hook -----------------------------------------------------


@limiter.limit("1 per hour", key_func=lambda: "installation", exempt_when=pow.request_exempt)
def ceiling() -> str:
    return "ok"


@limiter.limit(
    "1 per hour;1 per day", key_func=lambda: "installation", exempt_when=pow.request_exempt
)
def two_limits() -> str:
    return "ok"


def _tiny_app(storage_uri: str = "memory://") -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, RATELIMIT_STORAGE_URI=storage_uri)
    state.set_secrets(app, SimpleNamespace(secret_key=KEY))
    limiter.init_app(app)
    app.add_url_rule("/ceiling", view_func=ceiling, methods=["POST"])
    app.add_url_rule("/two", view_func=two_limits, methods=["POST"])
    return app


@pytest.fixture
def tiny_app() -> Iterator[Flask]:
    app = _tiny_app()
    with app.app_context():
        yield app


def _check_spend_once(app: Flask) -> None:
    challenge = pow.issue(KEY, bits=1)
    with app.app_context():
        assert pow.spend(challenge)
        assert not pow.spend(challenge)
        assert pow.spend(pow.issue(KEY, bits=1))


def test_spend_is_single_use(tiny_app: Flask) -> None:
    _check_spend_once(tiny_app)


@pytest.mark.redis
def test_spend_is_single_use_on_redis(redis_url: str) -> None:
    worker_a, worker_b = _tiny_app(redis_url), _tiny_app(redis_url)
    _check_spend_once(worker_a)
    challenge = pow.issue(KEY, bits=1)
    with worker_a.app_context():
        assert pow.spend(challenge)
    # A second worker sharing the Redis sees it spent.
    with worker_b.app_context():
        assert not pow.spend(challenge)


def _solved_form(app: Flask, bits: int = 6) -> dict[str, str]:
    with app.app_context():
        challenge = pow.new_challenge(bits=bits)
    return {pow.FIELD_CHALLENGE: challenge, pow.FIELD_SOLUTION: solve(challenge, bits)}


def test_request_exempt_lets_solved_forms_past_the_ceiling(tiny_app: Flask) -> None:
    client = tiny_app.test_client()
    assert client.post("/ceiling").status_code == 200
    assert client.post("/ceiling").status_code == 429
    form = _solved_form(tiny_app)
    assert client.post("/ceiling", data=form).status_code == 200
    # Replayed: spent, so it counts against the ceiling again.
    assert client.post("/ceiling", data=form).status_code == 429
    assert client.post("/ceiling", data={**form, pow.FIELD_SOLUTION: ""}).status_code == 429
    garbage = {pow.FIELD_CHALLENGE: "x", pow.FIELD_SOLUTION: "1"}
    assert client.post("/ceiling", data=garbage).status_code == 429
    assert client.post("/ceiling", data=_solved_form(tiny_app)).status_code == 200


def test_request_exempt_is_asked_once_per_request(tiny_app: Flask) -> None:
    # Two limits on one view: flask-limiter asks exempt_when for each; the answer must hold.
    client = tiny_app.test_client()
    assert client.post("/two").status_code == 200
    assert client.post("/two").status_code == 429
    assert client.post("/two", data=_solved_form(tiny_app)).status_code == 200


def test_request_exempt_uses_a_derived_key(tiny_app: Flask) -> None:
    # A challenge made directly under the secret key is not accepted.
    with tiny_app.test_request_context(method="POST"):
        assert pow.app_key() != KEY
    challenge = pow.issue(KEY, bits=6)
    form = {pow.FIELD_CHALLENGE: challenge, pow.FIELD_SOLUTION: solve(challenge, 6)}
    with tiny_app.test_request_context("/ceiling", method="POST", data=form):
        assert not pow.request_exempt()


def test_request_exempt_never_raises(tiny_app: Flask) -> None:
    state.set_secrets(tiny_app, None)
    form = {pow.FIELD_CHALLENGE: "x" * 10, pow.FIELD_SOLUTION: "1"}
    with tiny_app.test_request_context("/ceiling", method="POST", data=form):
        assert not pow.request_exempt()


# --- the browser script ---------------------------------------------------------------


def test_script_is_self_contained() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert "http://" not in text
    assert "https://" not in text
    assert "eval(" not in text
    assert "new Function" not in text
    assert "importScripts" not in text
    assert pow.FIELD_CHALLENGE in text
    assert pow.FIELD_SOLUTION in text


HARNESS = """
const fs = require("fs"), vm = require("vm");
globalThis.self = globalThis;  // pretend to be the worker: pow.js takes its worker branch
globalThis.postMessage = (m) => process.stdout.write(JSON.stringify(m));
vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"), {filename: "pow.js"});
self.onmessage({data: {challenge: process.argv[3], bits: Number(process.argv[4])}});
"""


def _node() -> str:
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed: the JavaScript solver is not cross-checked")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    if major < 19:
        pytest.skip(f"node {major} lacks globalThis.crypto.subtle (needs 19 or later)")
    return node


@pytest.mark.parametrize("bits", [1, 8, 12])
def test_script_agrees_with_python(tmp_path: Path, bits: int) -> None:
    node = _node()
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS, encoding="utf-8")
    challenge = pow.issue(KEY, bits=bits)
    result = subprocess.run(
        [node, str(harness), str(SCRIPT), challenge, str(bits)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    counter = json.loads(result.stdout)
    assert counter == solve(challenge, bits)
    assert pow.check(KEY, challenge, counter)
