"""Staff login with passphrase + TOTP, server-side sessions split with the cookie, key custody."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
import time
from pathlib import Path

import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from portal import accounts, crypto, db, state
from portal.access import STAFF_COOKIE
from portal.models import AuditEntry, StaffSession, StaffUser
from tests.conftest import AuthActions, StaffMember, csrf_token


def _staff_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(STAFF_COOKIE, path="/staff")
    return cookie.value if cookie else None


def _secret(html: str) -> str:
    return html.split('<code class="secret"')[1].split(">", 1)[1].split("<")[0]


def _audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_login_page_uses_standard_autofill_tokens(client: FlaskClient) -> None:
    html = client.get("/staff/login").get_data(as_text=True)
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert 'autocomplete="one-time-code"' in html


def test_login_with_passphrase_and_totp_opens_the_staff_home(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff
) -> None:
    alice = make_staff("alice", "supervisor")
    response = auth.login(alice)
    assert response.status_code == 303
    cookie = client.get_cookie(STAFF_COOKIE, path="/staff")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Strict"
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "alice" in page.get_data(as_text=True)
    assert "login.ok" in _audit_actions(app)


@pytest.mark.parametrize("what", ["passphrase", "totp", "username"])
def test_wrong_credentials_are_refused_and_recorded(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff, what: str
) -> None:
    bob = make_staff("bob", "supervisor")
    if what == "passphrase":
        bob.passphrase = "wrong horse battery staple orbit"
        response = auth.login(bob)
    elif what == "totp":
        response = auth.login(bob, code="000000" if bob.next_code() != "000000" else "111111")
    else:
        bob.username = "nobody"
        response = auth.login(bob)
    assert response.status_code == 401
    assert "不正确" in response.get_data(as_text=True)
    assert _staff_cookie(client) is None
    assert _audit_actions(app).count("login.failed") == 1


def test_a_code_is_accepted_once(client: FlaskClient, auth: AuthActions, make_staff) -> None:
    carol = make_staff("carol", "supervisor")
    code = carol.next_code()
    assert auth.login(carol, code=code).status_code == 303
    client.delete_cookie(STAFF_COOKIE, path="/staff")
    assert auth.login(carol, code=code).status_code == 401


def _login_in_fresh_process(args: tuple[str, str, str, str, str, float]) -> bool:
    """Runs in a separate process: its own app, engine and connections, and the test's clock
    (a pinned clock does not cross into a new process by itself)."""
    instance, url, username, passphrase, code, now = args
    from application import create_app
    from portal.config import Config

    app = create_app(Config(instance_path=Path(instance), database_url=url, testing=True,
                            staff_kdf_time_cost=1, staff_kdf_memory_kib=8))
    with time_machine.travel(now, tick=True), app.app_context():
        try:
            accounts.login(db.session(), username, passphrase, code)
        except accounts.LoginFailed:
            return False
        return True


def test_a_code_is_accepted_once_across_processes(app: Flask, make_staff) -> None:
    dave = make_staff("dave", "supervisor")
    code = dave.next_code()
    cfg = state.config(app)
    job = (str(cfg.instance_path), cfg.database_url, "dave", dave.passphrase, code, time.time())
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outcomes = pool.map(_login_in_fresh_process, [job, job])
    assert sorted(outcomes) == [False, True]
    with app.app_context():
        assert db.session().scalar(select(StaffSession.user_id).limit(2)) is not None
        assert len(db.session().scalars(select(StaffSession)).all()) == 1


def test_session_id_changes_at_login_and_logout_deletes_the_row(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff
) -> None:
    erin = make_staff("erin", "supervisor")
    auth.login(erin)
    first = _staff_cookie(client)
    auth.login(erin)
    second = _staff_cookie(client)
    assert first
    assert second
    assert first != second
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    with app.app_context():
        hashes = set(db.session().scalars(select(StaffSession.id_hash)))
    assert crypto.session_id_hash(crypto.unb64(second)[:32]) not in hashes
    # The old cookie, replayed after logout, opens nothing.
    client.set_cookie(STAFF_COOKIE, second, path="/staff")
    assert client.get("/staff/").status_code == 302


def test_idle_and_absolute_timeouts(client: FlaskClient, auth: AuthActions, make_staff) -> None:
    frank = make_staff("frank", "supervisor")
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        auth.login(frank)
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        assert client.get("/staff/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=29 + 31), tick=False):
        assert client.get("/staff/").status_code == 302  # idle too long
    frank.used_steps.clear()
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        auth.login(frank)
    # Active every 20 minutes, yet the session ends after 12 hours.
    for minutes in range(80, 12 * 60, 20):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/staff/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=13, minutes=1), tick=False):
        assert client.get("/staff/").status_code == 302


def test_db_row_alone_cannot_unwrap_the_staff_key_and_ks_never_reaches_the_db(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff
) -> None:
    gina = make_staff("gina", "org_handler")
    auth.login(gina)
    raw = crypto.unb64(_staff_cookie(client) or "")
    session_id, ks = raw[:32], raw[32:]
    with app.app_context():
        row = db.session().scalars(select(StaffSession)).one()
        user = db.session().get(StaffUser, row.user_id)
        assert user is not None
        # Whoever holds the row but not Ks: every key they could try fails.
        for guess in (row.id_hash.encode()[:32], session_id, bytes(32), user.public_key):
            with pytest.raises(crypto.DecryptionFailed):
                crypto.decrypt(guess or bytes(32), row.private_key_box,
                               {"what": "session-key", "s": row.id_hash})
        private = crypto.decrypt(ks, row.private_key_box, {"what": "session-key", "s": row.id_hash})
        assert crypto.public_of(private) == user.public_key
        assert row.id_hash != session_id.hex()
    url = state.config(app).database_url
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                data = file.read_bytes()
                assert ks not in data
                assert session_id not in data
                assert ks.hex().encode() not in data


def test_swapped_public_key_is_refused(app: Flask, auth: AuthActions, make_staff) -> None:
    hank = make_staff("hank", "org_head")
    attacker_public, _ = crypto.generate_keypair()
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(update(StaffUser).where(StaffUser.username == "hank")
                            .values(public_key=attacker_public))
        user = session.scalar(select(StaffUser).where(StaffUser.username == "hank"))
        assert user is not None
        with pytest.raises(crypto.KeyIntegrityError):
            accounts.verified_public_key(user)
    response = auth.login(hank)
    assert response.status_code == 401
    assert "完整性" in response.get_data(as_text=True)


def test_weak_passphrases_are_refused_with_a_reason(runner) -> None:
    for weak, reason in (("short1!", "12"), ("password1234", "容易被猜到")):
        result = runner.invoke(args=["staff", "create", "ivy", "--role", "admin"],
                               input=weak + "\n")
        assert result.exit_code != 0
        assert reason in result.output
    result = runner.invoke(args=["staff", "create", "ivy", "--role", "admin"],
                           input="violet quarry lantern seventeen\n")
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output
    assert re.search(r"\b[A-Z2-7]{32}\b", result.output)


def test_admin_creates_account_person_activates_it_and_logs_in(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff
) -> None:
    admin = make_staff("root", "admin")
    second = make_staff("second", "admin")
    auth.login(admin)
    token = csrf_token(client, "/staff/admin/")
    page = client.post("/staff/admin/accounts",
                       data={"username": "judy", "roles": ["org_handler"], "csrf_token": token})
    assert page.status_code == 200
    first = _secret(page.get_data(as_text=True))
    # A second administrator confirms the role and is shown the code's second half.
    other = app.test_client()
    AuthActions(other).login(second)
    halves = []
    for request_id in re.findall(r'action="/staff/roles/(\d+)/confirm"',
                                 other.get("/staff/roles/").get_data(as_text=True)):
        done = other.post(f"/staff/roles/{request_id}/confirm",
                          data={"csrf_token": csrf_token(other, "/staff/roles/")})
        assert done.status_code == 200
        halves += re.findall(r'<code class="secret"[^>]*>([^<]+)<', done.get_data(as_text=True))
    assert len(halves) == 1
    code = first + halves[0]
    with app.app_context():
        judy = db.session().scalar(select(StaffUser).where(StaffUser.username == "judy"))
        assert judy is not None
        assert judy.verifier is None
        assert judy.public_key is None
        assert judy.activation_hash
        assert code not in judy.activation_hash

    person = app.test_client()
    token = csrf_token(person, "/staff/activate")
    step1 = person.post("/staff/activate",
                        data={"username": "judy", "code": first, "code2": halves[0],
                              "csrf_token": token})
    assert step1.status_code == 200
    body = step1.get_data(as_text=True)
    secret = _secret(body)
    assert 'src="data:image/svg+xml' in body
    finish_token = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', body)[0]
    weak = person.post("/staff/activate/finish", data={
        "username": "judy", "code": code, "passphrase": "judy12345678", "confirm": "judy12345678",
        "totp": pyotp.TOTP(secret).now(), "csrf_token": finish_token})
    assert weak.status_code == 400
    good = person.post("/staff/activate/finish", data={
        "username": "judy", "code": code, "passphrase": "copper meadow violin harbour",
        "confirm": "copper meadow violin harbour", "totp": pyotp.TOTP(secret).now(),
        "csrf_token": finish_token})
    assert good.status_code == 303
    # The code is spent.
    token = csrf_token(person, "/staff/activate")
    again = person.post("/staff/activate",
                        data={"username": "judy", "code": first, "code2": halves[0],
                              "csrf_token": token})
    assert again.status_code == 400
    member = StaffMember("judy", ("org_handler",), secret, "copper meadow violin harbour")
    member.used_steps.add(int(time.time() // 30))  # the step just used to activate
    assert AuthActions(person).login(member).status_code == 303
    assert person.get("/staff/cases/").status_code == 200
    with app.app_context():
        judy = db.session().scalar(select(StaffUser).where(StaffUser.username == "judy"))
        assert judy is not None
        accounts.verified_public_key(judy)


def test_reset_and_deactivation_end_sessions_at_once(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff
) -> None:
    admin = make_staff("root", "admin")
    kim = make_staff("kim", "dic_handler")
    kim_client = app.test_client()
    AuthActions(kim_client).login(kim)
    assert kim_client.get("/staff/cases/").status_code == 200
    auth.login(admin)
    with app.app_context():
        kim_id = db.session().scalar(select(StaffUser.id).where(StaffUser.username == "kim"))
        old_public = db.session().scalar(select(StaffUser.public_key).where(StaffUser.id == kim_id))
    page = client.post(f"/staff/admin/accounts/{kim_id}/reset",
                       data={"csrf_token": csrf_token(client, "/staff/admin/")})
    assert page.status_code == 200
    assert kim_client.get("/staff/cases/").status_code == 302
    with app.app_context():
        kim_row = db.session().get(StaffUser, kim_id)
        assert kim_row is not None
        assert kim_row.status == "pending"
        assert kim_row.public_key is None
        assert kim_row.key_generation == 1
    assert old_public is not None
    assert AuthActions(kim_client).login(kim).status_code == 401

    leo = make_staff("leo", "supervisor")
    leo_client = app.test_client()
    AuthActions(leo_client).login(leo)
    with app.app_context():
        leo_id = db.session().scalar(select(StaffUser.id).where(StaffUser.username == "leo"))
    client.post(f"/staff/admin/accounts/{leo_id}/deactivate",
                data={"csrf_token": csrf_token(client, "/staff/admin/")})
    assert leo_client.get("/staff/").status_code == 302
    assert AuthActions(leo_client).login(leo).status_code == 401
    actions = _audit_actions(app)
    assert "account.reset" in actions
    assert "account.deactivated" in actions


def test_admin_never_sees_a_password_field(client: FlaskClient, auth: AuthActions,
                                           make_staff) -> None:
    auth.login(make_staff("root", "admin"))
    html = client.get("/staff/admin/").get_data(as_text=True)
    assert 'type="password"' not in html


def test_open_redirect_after_login_is_refused(client: FlaskClient, auth: AuthActions,
                                              make_staff) -> None:
    member = make_staff("mia", "supervisor")
    client.get("/staff/login")
    response = client.post("/staff/login", data={
        "username": "mia", "passphrase": member.passphrase, "totp": member.next_code(),
        "next": "//evil.example/x", "csrf_token": csrf_token(client, "/staff/login")})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/")


def test_next_with_control_characters_is_ignored(client: FlaskClient, make_staff) -> None:
    member = make_staff("nick", "supervisor")
    response = client.post("/staff/login", data={
        "username": "nick", "passphrase": member.passphrase, "totp": member.next_code(),
        "next": "/staff/\r\nSet-Cookie: x=1", "csrf_token": csrf_token(client, "/staff/login")})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/")


def test_an_attackers_failures_slow_the_account_down_but_never_lock_its_holder_out(
        make_app, request: pytest.FixtureRequest) -> None:
    """(#21, item 14) Thirty failures used to lock the account for 15 minutes; now each failure
    past a few free ones makes the next attempt wait longer, up to a bound, and once the wait
    is over the right passphrase and code work at once."""
    clock: time_machine.Traveller = request.getfixturevalue("_pinned_clock")
    app = make_app(login_failure_limit="1000 per 15 minutes")
    with app.app_context():
        _user, secret = accounts.create_account_with_passphrase(
            db.session(), "nina", ["supervisor"], "copper meadow violin harbour")
    nina = StaffMember("nina", ("supervisor",), secret, "copper meadow violin harbour")
    attacker = AuthActions(app.test_client())
    wrong = StaffMember("nina", ("supervisor",), secret, "wrong horse battery staple")
    statuses = []
    for _ in range(40):  # as fast as the attacker can, a second apart
        statuses.append(attacker.login(wrong, code="123456").status_code)
        clock.shift(1)
    assert statuses[:5] == [401] * 5  # a few free failures (a holder's typing errors)
    assert 429 in statuses
    assert statuses.count(401) < 15
    # During the wait even the right passphrase and code are refused, with a clear message.
    holder = app.test_client()
    refused = AuthActions(holder).login(nina)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 300  # never the old 15 minutes
    assert "秒" in refused.get_data(as_text=True) or "second" in refused.get_data(as_text=True)
    # Once the wait is over the holder gets in, on the first try.
    clock.shift(wait)
    assert AuthActions(holder).login(nina).status_code == 303
    # …and the holder's success clears the account's count.
    assert attacker.login(wrong, code="123456").status_code == 401
