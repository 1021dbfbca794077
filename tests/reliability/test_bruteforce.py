"""Brute force: receipt guessing and passphrase guessing meet their limits across app instances
(the real Redis as the shared store), only failed staff logins count, a TOTP code is accepted
once across two app instances (also when both try at the same moment), and behind Tor an
abusive client cannot lock out a client that solves the proof of work.

One keyed desk and one filed case per database (module scope); every test adds the app
instances ("workers") it needs on that database and instance folder. Limiter keys in Redis are
made unique per run (keyed client hashes, fresh usernames, an unusual window for the shared
ceiling), so nothing here resets counters another test may be using.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casework.models import Case
from intake import pow as proof_of_work
from portal import crypto, db
from portal.models import AuditEntry, Role, StaffSession, StaffUser
from tests.conftest import StaffMember
from tests.intake_support import Desk, form_fields, post_multipart, post_report, receipt_of
from tests.reliability.roles import (
    CSRF_RE,
    another_instance,
    create_member,
    database_url,
    initialised_app,
    make_desk_for,
)

FACTS = "2026年3月，某局局长在办公室收受现金两万元。"


@dataclass
class Base:
    """An initialised app with keyed queues and one filed case (its receipt)."""

    app: Flask
    desk: Desk
    receipt: str
    category: int


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def base(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Base]:
    url = database_url(request, tmp_path_factory, request.param)
    with initialised_app(url, tmp_path_factory.mktemp("bruteforce")) as app:
        desk = make_desk_for(app)
        category = desk.category_id("discipline")
        status, html = post_report(app.test_client(), {
            "category": str(category), "persons-0-name": "李四", "facts": FACTS})
        assert status == 200, html[:2000]
        yield Base(app, desk, receipt_of(html), category)


def _address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{1 + secrets.randbelow(250)}"


def _client(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _token(client: FlaskClient, path: str) -> str:
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def _check(app: Flask, address: str, receipt: str) -> int:
    """Enter a receipt at /report/check from an address; the status."""
    client = _client(app, address)
    token = _token(client, "/report/check")
    return client.post("/report/check", data={"csrf_token": token,
                                              "receipt": receipt}).status_code


def _wrong_receipt() -> str:
    return f"{secrets.randbelow(10**20):020d}"


def _ceiling() -> str:
    """A limit with a window of its own: its Redis key is new, whatever ran before."""
    return f"8 per {3600 + secrets.randbelow(3600)} seconds"


# --- receipts ------------------------------------------------------------------------------------


@pytest.mark.redis
def test_receipt_guessing_meets_both_limits_across_workers_on_redis(base: Base,
                                                                     redis_url: str) -> None:
    settings = {"ratelimit_storage_uri": redis_url, "receipt_check_limit": "3 per hour",
                "receipt_check_ceiling": _ceiling()}
    workers = (another_instance(base.app, **settings), another_instance(base.app, **settings))
    # One client guessing, its attempts spread over two workers: three guesses are looked at…
    guesser = _address()
    assert [_check(workers[i % 2], guesser, _wrong_receipt()) for i in range(3)] == [404] * 3
    # …then even the right receipt is refused, on either worker: a guess is never evaluated.
    assert _check(workers[0], guesser, base.receipt) == 429
    assert _check(workers[1], guesser, base.receipt) == 429
    # Guessing from many addresses meets the installation-wide ceiling (8 guesses, 3 spent).
    statuses = [_check(workers[i % 2], _address(), _wrong_receipt()) for i in range(8)]
    assert statuses.count(404) <= 5
    assert statuses[-1] == 429
    assert set(statuses) == {404, 429}
    # While the ceiling holds, no receipt opens anything from anywhere.
    assert _check(workers[0], _address(), base.receipt) == 429
    # The right receipt does open the case where no limit applies (the limits were the cause).
    assert _check(another_instance(base.app), _address(), base.receipt) == 303


# --- passphrases ----------------------------------------------------------------------------------


def _login(app: Flask, address: str, username: str, passphrase: str, code: str) -> int:
    client = _client(app, address)
    token = _token(client, "/staff/login")
    return client.post("/staff/login", data={"username": username, "passphrase": passphrase,
                                             "totp": code, "csrf_token": token}).status_code


def _code(member: StaffMember, step: int) -> str:
    return pyotp.TOTP(member.totp_secret).at(step * 30)


@contextmanager
def _fresh_step() -> Iterator[int]:
    """The current TOTP step, with at least 10 s of it left: a test whose codes are meant to be
    inside the clock tolerance (now-1 .. now+1) must not cross into the next step midway, where
    `step - 1` would fall outside it and be refused as a wrong code instead of a replay. With
    less left, the clock moves on to the next step (time-machine) instead of being waited for."""
    now = time.time()
    left = 30 - now % 30
    with time_machine.travel(now + left + 0.1 if left < 10 else now, tick=True):
        yield int(time.time() // 30)


@pytest.mark.redis
def test_passphrase_guessing_counts_only_failures_across_workers_on_redis(
        base: Base, redis_url: str) -> None:
    settings = {"ratelimit_storage_uri": redis_url,
                "login_failure_limit": "1000 per 15 minutes",
                "login_account_free_failures": 3}
    a, b = another_instance(base.app, **settings), another_instance(base.app, **settings)
    member = create_member(base.app, f"u{secrets.token_hex(4)}", Role.supervisor.value)
    name, right = member.username, member.passphrase
    with _fresh_step() as step:
        _guess_across_workers(a, b, base, name, right, member, step)


def _guess_across_workers(a: Flask, b: Flask, base: Base, name: str, right: str,
                          member: StaffMember, step: int) -> None:
    # Every attempt from another address, alternating workers: only the account ties them.
    attempts = [
        (a, right[::-1], _code(member, step)),       # wrong passphrase
        (b, right, _code(member, step)),             # success
        (a, right, "000000" if _code(member, step + 1) != "000000" else "111111"),  # bad code
        (b, right, _code(member, step + 1)),         # success
        (a, right, _code(member, step + 1)),         # the same code again: a replay
    ]
    statuses = [_login(app, _address(), name, pw, code) for app, pw, code in attempts]
    assert statuses == [401, 303, 401, 303, 401]
    # A success clears the count: two more failures make three in a row (had the successes
    # counted, the first of them would already have been slowed down)…
    assert _login(b, _address(), name, right[::-1], "123456") == 401
    assert _login(a, _address(), name, right[::-1], "123456") == 401
    # …and the account's next attempt must wait, from every address and worker, even with the
    # right passphrase and a valid code (#21.14: a slow-down, not a lock-out)…
    assert _login(b, _address(), name, right, _code(member, step + 2)) == 429
    assert _login(a, _address(), name, right, _code(member, step + 2)) == 429
    # …but once the wait is over (2 s after the third failure), the holder gets in.
    with time_machine.travel(time.time() + 31, tick=True):
        assert _login(a, _address(), name, right, _code(member, step + 2)) == 303
    # An account that does not exist slows down the same way (the wait tells nothing about it).
    ghost = f"u{secrets.token_hex(4)}"
    assert [_login([a, b][i % 2], _address(), ghost, right, "123456")
            for i in range(4)] == [401, 401, 401, 429]
    # Another account is unaffected.
    other = create_member(base.app, f"u{secrets.token_hex(4)}", Role.supervisor.value)
    assert _login(a, _address(), other.username, right, other.next_code()) == 303


# --- TOTP -----------------------------------------------------------------------------------------


def _sessions(app: Flask, username: str) -> int:
    with app.app_context():
        session = db.session()
        user_id = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
        return int(session.scalar(select(func.count()).select_from(StaffSession)
                                  .where(StaffSession.user_id == user_id)) or 0)


def _replays_recorded(app: Flask, username: str) -> int:
    with app.app_context():
        rows = db.session().scalars(select(AuditEntry.details).where(
            AuditEntry.action == "login.failed", AuditEntry.target == username))
        return sum('"totp-replay"' in details for details in rows)


def test_a_totp_code_is_accepted_once_across_two_app_instances(base: Base) -> None:
    a, b = another_instance(base.app), another_instance(base.app)
    member = create_member(base.app, f"u{secrets.token_hex(4)}", Role.org_handler.value)
    name, right = member.username, member.passphrase
    with _fresh_step() as step:
        _replays_refused(a, b, base, name, right, member, step)


def _replays_refused(a: Flask, b: Flask, base: Base, name: str, right: str,
                     member: StaffMember, step: int) -> None:
    assert _login(a, _address(), name, right, _code(member, step)) == 303
    # The same code on the other instance: refused, no session, recorded as a replay.
    assert _login(b, _address(), name, right, _code(member, step)) == 401
    # An older code that is still within the clock tolerance: refused too (steps only grow).
    assert _login(b, _address(), name, right, _code(member, step - 1)) == 401
    assert _sessions(base.app, name) == 1
    assert _replays_recorded(base.app, name) == 2
    # Both instances at the same moment with the next code: exactly one gets in.
    code = _code(member, step + 1)
    barrier = threading.Barrier(2)
    outcomes: list[int] = []

    def race(app: Flask) -> None:
        client = _client(app, _address())
        token = _token(client, "/staff/login")
        barrier.wait()
        outcomes.append(client.post("/staff/login", data={
            "username": name, "passphrase": right, "totp": code,
            "csrf_token": token}).status_code)

    threads = [threading.Thread(target=race, args=(app,)) for app in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [303, 401]
    assert _sessions(base.app, name) == 2
    assert _replays_recorded(base.app, name) == 3


# --- behind Tor -----------------------------------------------------------------------------------


def _challenge_of(html: str) -> str:
    marker = 'name="pow_challenge" value="'
    assert marker in html, "behind Tor the form offers a proof-of-work challenge"
    return html.split(marker, 1)[1].split('"', 1)[0]


def _solve(challenge: str) -> str:
    """Solve a challenge from its documented format alone (intake/pow.py): the bits it asks for
    are byte 9 of the token; find the smallest counter whose SHA-256 has that many leading zero
    bits."""
    bits = struct.unpack(">BQB16s", crypto.unb64(challenge)[:26])[2]
    counter = 0
    while int.from_bytes(hashlib.sha256(f"{challenge}:{counter}".encode()).digest(),
                         "big") >> (256 - bits):
        counter += 1
    return str(counter)


def _forged(challenge: str) -> str:
    """The same token asking for 1 bit instead (its MAC no longer matches)."""
    raw = bytearray(crypto.unb64(challenge))
    raw[9] = 1
    return crypto.b64(bytes(raw))


def _unsolved(challenge: str) -> str:
    """A counter that does not solve the challenge."""
    counter = 0
    while not int.from_bytes(hashlib.sha256(f"{challenge}:{counter}".encode()).digest(),
                             "big") >> (256 - 8):
        counter += 1
    return str(counter)


def _report(client: FlaskClient, category: int, **extra: str) -> tuple[int, str]:
    page = client.get("/report").get_data(as_text=True)
    payload = {**form_fields(page), "concerns_leader": "no", "category": str(category),
               "persons-0-name": "李四", "facts": FACTS, **extra}
    return post_multipart(client, "/report", payload)


def _cases(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Case)) or 0)


def test_behind_tor_an_abuser_cannot_lock_out_a_client_that_solves_the_proof_of_work(
        base: Base) -> None:
    tor = another_instance(base.app, behind_tor=True, pow_bits=8,
                           report_ceiling="3 per hour", receipt_check_ceiling="2 per hour")
    # Behind Tor everyone arrives from the same address.
    abuser, victim = _client(tor, "127.0.0.1"), _client(tor, "127.0.0.1")
    before = _cases(tor)
    # The abuser floods the form with junk (each POST with a fresh token, as a script would)
    # until the installation-wide ceiling is reached.
    flood = [abuser.post("/report", data={"csrf_token": _token(abuser, "/report"),
                                          "facts": "x"}).status_code for _ in range(4)]
    assert flood == [400, 400, 400, 429]
    # Without solving, nobody gets past the ceiling: not the abuser with forged or unsolved
    # tokens, not the second client with an honest form.
    challenge = _challenge_of(abuser.get("/report").get_data(as_text=True))
    forged = _forged(challenge)
    for fake, solution in ((forged, _solve(forged)), (challenge, _unsolved(challenge)),
                           ("AAAA", "0")):
        status, _html = _report(abuser, base.category, pow_challenge=fake, pow_solution=solution)
        assert status == 429
    assert _report(victim, base.category)[0] == 429
    # The second client solves its challenge (8 bits, as configured) and files.
    challenge = _challenge_of(victim.get("/report").get_data(as_text=True))
    assert struct.unpack(">BQB16s", crypto.unb64(challenge)[:26])[2] == 8
    solution = _solve(challenge)
    with tor.app_context():  # the test's solver agrees with the portal's own check
        assert proof_of_work.check(proof_of_work.app_key(), challenge, solution)
    status, html = _report(victim, base.category, pow_challenge=challenge,
                           pow_solution=solution)
    assert status == 200
    receipt = receipt_of(html)
    assert _cases(tor) == before + 1
    # The abuser replaying that solved token gets nothing: a solution is spent once.
    status, _html = _report(abuser, base.category, pow_challenge=challenge,
                            pow_solution=solution)
    assert status == 429
    assert _cases(tor) == before + 1
    # The same on the receipt page: the abuser exhausts its ceiling…
    checks = [abuser.post("/report/check", data={"csrf_token": _token(abuser, "/report/check"),
                                                 "receipt": _wrong_receipt()}).status_code
              for _ in range(3)]
    assert checks == [404, 404, 429]
    page = victim.get("/report/check").get_data(as_text=True)
    assert _check_with(victim, page, receipt) == 429  # without the proof of work
    page = victim.get("/report/check").get_data(as_text=True)
    challenge = _challenge_of(page)
    # …and the second client, solving, follows its case.
    assert _check_with(victim, page, receipt, challenge, _solve(challenge)) == 303
    assert victim.get("/report/case").status_code == 200


def _check_with(client: FlaskClient, page: str, receipt: str, challenge: str = "",
                solution: str = "") -> int:
    match = CSRF_RE.search(page)
    assert match
    data = {"csrf_token": match.group(1), "receipt": receipt}
    if challenge:
        data |= {"pow_challenge": challenge, "pow_solution": solution}
    return client.post("/report/check", data=data).status_code
