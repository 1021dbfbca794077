"""Content-free e-mail to queue members, sent over real SMTP to a local aiosmtpd server.

What is shown: mail is off unless a host is set; a new case reaches exactly the active members
of its queue who gave an address, and says nothing of the case; a mail server that is down,
silent or without STARTTLS costs nothing but a content-free warning; the overdue digest counts
correctly and goes once a day per queue; addresses are set by admins (form and CLI) and
checked. Every test runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework import deadlines, notify
from casework.models import (
    Case,
    DeadlineKind,
    DeadlineState,
    DigestSent,
    Queue,
)
from portal import accounts, audit, clock, db, state
from portal.db import transaction
from portal.models import AuditEntry, StaffUser
from tests.conftest import AuthActions, StaffMember, csrf_token
from tests.intake_support import Desk, make_desk, post_report

MARKER = "MARKER-9c1e-王五虚报冒领"
PERSON = "赵六"
UNIT = "某某镇财政所"
SENDER = "portal@example.gov.cn"
PUBLIC_URL = "https://jubao.example.gov.cn"


# --- a real SMTP server -------------------------------------------------------------------


@dataclass
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        """The parsed message."""
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        """Subject and decoded body: everything a reader of the mail sees."""
        msg = self.message
        body = msg.get_body(("plain",))
        assert body is not None
        return f"{msg['Subject']}\n{body.get_content()}"


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives (and who logged in)."""

    port: int = 0
    messages: list[Delivered] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos),
                                           envelope.original_content or envelope.content))
        return "250 OK"

    def recipients(self) -> list[str]:
        """Every recipient, in order of delivery."""
        return [r for m in self.messages for r in m.rcpt_tos]

    def clear(self) -> None:
        """Forget what was received so far."""
        with self.lock:
            self.messages.clear()


def free_port() -> int:
    """A local TCP port nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(inbox: Inbox, **options: Any) -> Controller:
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **options)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (no TLS, no auth), collecting what it receives."""
    box = Inbox()
    controller = _start(box)
    yield box
    controller.stop()


@pytest.fixture
def mail_app(make_app: Callable[..., Flask], app: Flask, inbox: Inbox) -> Flask:
    """An app of the same database that sends through the local server."""
    return make_app(smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none",
                    smtp_from=SENDER, public_url=PUBLIC_URL)


@pytest.fixture
def desk(app: Flask, make_staff: Callable[..., StaffMember]) -> Desk:
    """Both default queues keyed, with one handler each (mail off on this app)."""
    return make_desk(app, make_staff)


# --- helpers ------------------------------------------------------------------------------


def _today(app: Flask) -> dt.date:
    with app.app_context():
        return clock.today()


def _user_id(username: str) -> int:
    return int(db.session().scalar(select(StaffUser.id).where(StaffUser.username == username)))


def _set_email(app: Flask, username: str, address: str) -> None:
    with app.app_context():
        accounts.set_email(db.session(), _user_id(username), address, audit.CLI)


def _queue_id(app: Flask, slug: str) -> int:
    with app.app_context():
        return int(db.session().scalar(select(Queue.id).where(Queue.slug == slug)))


def _file(desk: Desk, category: str = "discipline") -> str:
    """File a report through the public form; return its case number."""
    status, html = post_report(desk.app.test_client(), {
        "category": str(desk.category_id(category)), "persons-0-name": PERSON,
        "persons-0-unit": UNIT, "facts": f"{MARKER} 2026年5月虚报冒领补贴。"})
    assert status == 200, html[:500]
    with desk.app.app_context():
        return str(db.session().scalars(select(Case.case_no).order_by(Case.id.desc())).first())


def _clock(app: Flask, case_no: str, start_on: dt.date, working_days: int,
           kind: DeadlineKind = DeadlineKind.decision,
           state: DeadlineState = DeadlineState.open) -> dt.date:
    """Start a clock on a case directly (the workflow's own clocks may run as well)."""
    with app.app_context():
        session = db.session()
        with transaction(session):
            case = session.scalars(select(Case).where(Case.case_no == case_no)).one()
            row = deadlines.start(session, case, kind, start_on, working_days)
            row.state = state
            due = row.due_on
        return due


def _forbidden_words(app: Flask, case_nos: list[str]) -> list[str]:
    """What must never appear in a mail: the report, its case numbers, category and people."""
    from casework.models import Category

    with app.app_context():
        category = db.session().scalars(
            select(Category).where(Category.code == "discipline")).one()
        names = [category.name_zh, category.name_en]
    return [MARKER, "MARKER", "9c1e", "王五", "虚报", PERSON, UNIT, *names, *case_nos]


def _assert_content_free(delivered: Delivered, forbidden: list[str]) -> None:
    seen = delivered.text
    raw = delivered.raw.decode("ascii", "replace")
    for word in forbidden:
        assert word not in seen, word
        assert word not in raw, word


# --- off by default -----------------------------------------------------------------------


def test_mail_is_off_without_a_host(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("connected although mail is off")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)
    _set_email(desk.app, "dichandler", "dic@example.gov.cn")
    case_no = _file(desk)
    today = _today(desk.app)
    _clock(desk.app, case_no, today - dt.timedelta(days=60), 15)
    started = time.monotonic()
    with desk.app.app_context():
        assert notify.case_arrived(db.session(), _queue_id(desk.app, "dic")) == 0
        assert notify.send_digests(db.session(), today).sent == 0
        assert db.session().scalars(select(DigestSent)).all() == []
    assert time.monotonic() - started < 2


# --- a new case ---------------------------------------------------------------------------


def test_new_case_reaches_only_its_queues_members_with_an_address(
    desk: Desk, make_staff: Callable[..., StaffMember], mail_app: Flask, inbox: Inbox
) -> None:
    make_staff("dichead", "dic_head")
    make_staff("dicquiet", "dic_handler")  # no address: nothing to send
    make_staff("dicgone", "dic_handler")
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    _set_email(desk.app, "dichead", "Dic.Head@Example.GOV.cn")
    _set_email(desk.app, "dicgone", "gone@example.gov.cn")
    _set_email(desk.app, "orghandler", "org.handler@example.gov.cn")
    with desk.app.app_context():
        accounts.deactivate(db.session(), _user_id("dicgone"), audit.CLI)
    case_no = _file(desk)
    inbox.clear()  # whatever the filing itself may have sent

    with mail_app.app_context():
        sent = notify.case_arrived(db.session(), _queue_id(mail_app, "dic"))
    assert sent == 2
    # One message per member: nobody sees another's address.
    assert [m.rcpt_tos for m in inbox.messages] == [["dic.handler@example.gov.cn"],
                                                    ["Dic.Head@example.gov.cn"]]
    forbidden = _forbidden_words(mail_app, [case_no])
    for delivered in inbox.messages:
        msg = delivered.message
        assert delivered.mail_from == SENDER
        assert msg["From"] == SENDER
        assert msg["To"] == delivered.rcpt_tos[0]
        assert msg["Auto-Submitted"] == "auto-generated"
        text = delivered.text
        assert "您所在的队列有新的举报件，请登录处理。" in text
        assert "A new report is waiting in your queue; please log in." in text
        assert text.index("您所在的队列") < text.index("A new report")
        assert "纪委监委信访室" in text  # the queue's name is not content
        assert f"{PUBLIC_URL}/staff/login" in text
        _assert_content_free(delivered, forbidden)

    # The other queue hears of its own cases only.
    inbox.clear()
    with mail_app.app_context():
        assert notify.case_arrived(db.session(), _queue_id(mail_app, "org")) == 1
    assert inbox.recipients() == ["org.handler@example.gov.cn"]


def test_a_queue_without_addresses_sends_nothing(desk: Desk, mail_app: Flask,
                                                 inbox: Inbox) -> None:
    with mail_app.app_context():
        assert notify.case_arrived(db.session(), _queue_id(mail_app, "dic")) == 0
        assert notify.case_arrived(db.session(), 999_999) == 0
    assert inbox.messages == []


def test_mail_server_down_or_silent_costs_a_content_free_warning(
    desk: Desk, make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    case_no = _file(desk)
    today = _today(desk.app)
    _clock(desk.app, case_no, today - dt.timedelta(days=60), 15)
    down = make_app(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none",
                    smtp_from=SENDER)
    with socket.socket() as silent:  # accepts connections, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = make_app(smtp_host="127.0.0.1", smtp_port=silent.getsockname()[1],
                        smtp_security="none", smtp_from=SENDER, smtp_timeout_seconds=1)
        caplog.set_level(logging.WARNING)
        for broken in (down, mute):
            started = time.monotonic()
            with broken.app_context():
                assert notify.case_arrived(db.session(), _queue_id(broken, "dic")) == 0
                delivery = notify.send_digests(db.session(), today)
                assert (delivery.sent, delivery.failed) == (0, True)
                # Nothing recorded: the next run tries again.
                assert db.session().scalars(select(DigestSent)).all() == []
            assert time.monotonic() - started < 10
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings
    for line in warnings:
        assert "e-mail" in line
        assert "@" not in line
        assert "127.0.0.1" not in line
        assert case_no not in line
        assert MARKER not in line


def test_starttls_is_required_by_default(desk: Desk, make_app: Callable[..., Flask],
                                         inbox: Inbox) -> None:
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    # The local server offers no STARTTLS: the default setting sends nothing in clear.
    strict = make_app(smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_from=SENDER)
    assert state.config(strict).smtp_security == "starttls"
    with strict.app_context():
        assert notify.case_arrived(db.session(), _queue_id(strict, "dic")) == 0
    assert inbox.messages == []


def test_login_when_a_username_is_set(desk: Desk, make_app: Callable[..., Flask]) -> None:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        box.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"relay-secret")

    box = Inbox()
    controller = _start(box, authenticator=authenticator, auth_require_tls=False)
    try:
        _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
        relay = make_app(smtp_host="127.0.0.1", smtp_port=box.port, smtp_security="none",
                         smtp_from=SENDER, smtp_username="portal", smtp_password="relay-secret")
        with relay.app_context():
            assert notify.case_arrived(db.session(), _queue_id(relay, "dic")) == 1
        assert box.logins == [(b"portal", b"relay-secret")]
        assert box.recipients() == ["dic.handler@example.gov.cn"]
    finally:
        controller.stop()


# --- the daily digest ---------------------------------------------------------------------


def test_digest_counts_overdue_and_due_soon_once_a_day(
    desk: Desk, make_staff: Callable[..., StaffMember], mail_app: Flask, inbox: Inbox
) -> None:
    make_staff("dichead", "dic_head")
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    _set_email(desk.app, "dichead", "dic.head@example.gov.cn")
    _set_email(desk.app, "orghandler", "org.handler@example.gov.cn")
    today = _today(desk.app)
    late, soon, calm, org_soon = _file(desk), _file(desk), _file(desk), _file(desk, "selection")
    # Two overdue clocks on one case count as one overdue case; its due-soon clock does not
    # make it "due soon" as well.
    assert _clock(desk.app, late, today - dt.timedelta(days=60), 15) < today
    _clock(desk.app, late, today - dt.timedelta(days=40), 15, DeadlineKind.acceptance_notice)
    _clock(desk.app, late, today, 1, DeadlineKind.conclusion)
    assert _clock(desk.app, soon, today, 2) > today
    # Clocks that were met or cancelled are not overdue, however old.
    _clock(desk.app, calm, today - dt.timedelta(days=60), 15, state=DeadlineState.met)
    _clock(desk.app, calm, today - dt.timedelta(days=60), 15, DeadlineKind.conclusion,
           DeadlineState.cancelled)
    _clock(desk.app, calm, today, 30, DeadlineKind.conclusion)
    # The organization department has something due soon but nothing overdue: no digest.
    _clock(desk.app, org_soon, today, 1)
    inbox.clear()

    with mail_app.app_context():
        counts = notify.due_counts(db.session(), today)
        assert [(c.queue_id, c.overdue, c.soon) for c in counts] == [
            (_queue_id(mail_app, "dic"), 1, 1)]
        assert notify.send_digests(db.session(), today).sent == 2
    assert sorted(inbox.recipients()) == ["dic.handler@example.gov.cn",
                                          "dic.head@example.gov.cn"]
    forbidden = _forbidden_words(mail_app, [late, soon, calm, org_soon])
    for delivered in inbox.messages:
        text = delivered.text
        assert "有 1 件举报已超过办理期限，另有 1 件将在 3 个工作日内到期" in text
        assert "past their deadline: 1. Due within 3 working days: 1." in text
        assert f"{PUBLIC_URL}/staff/login" in text
        _assert_content_free(delivered, forbidden)

    # Once a day per queue: a second run the same day sends nothing.
    inbox.clear()
    with mail_app.app_context():
        assert notify.send_digests(db.session(), today).sent == 0
        sent_rows = db.session().scalars(select(DigestSent)).all()
        assert [(r.queue_id, r.last_on) for r in sent_rows] == [
            (_queue_id(mail_app, "dic"), today)]
        audited = db.session().scalars(
            select(AuditEntry).where(AuditEntry.action == "notify.digest")).all()
        assert [(a.target, a.actor) for a in audited] == [("dic", "system")]
        assert "@" not in audited[0].details
    assert inbox.messages == []

    # The next day, another digest.
    with mail_app.app_context():
        assert notify.send_digests(db.session(), today + dt.timedelta(days=1)).sent == 2


def test_cases_digest_command(desk: Desk, mail_app: Flask, inbox: Inbox) -> None:
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    case_no = _file(desk)
    _clock(desk.app, case_no, _today(desk.app) - dt.timedelta(days=60), 15)
    inbox.clear()
    runner = mail_app.test_cli_runner()
    first = runner.invoke(args=["cases", "digest"])
    assert first.exit_code == 0, first.output
    assert "已发送 1 封逾期提醒。" in first.output
    assert inbox.recipients() == ["dic.handler@example.gov.cn"]
    again = runner.invoke(args=["cases", "digest"])
    assert again.exit_code == 0, again.output
    assert "已发送 0 封逾期提醒。" in again.output
    assert len(inbox.messages) == 1


def test_web_filings_are_announced_in_an_hourly_batch_not_at_once(
        desk: Desk, mail_app: Flask, inbox: Inbox) -> None:
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    _set_email(desk.app, "orghandler", "org.handler@example.gov.cn")
    first, second = _file(desk), _file(desk)
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["cases", "notify"])
    assert result.exit_code == 0, result.output
    assert "已发送 1 封新举报件通知。" in result.output  # one message for both new dic cases
    assert inbox.recipients() == ["dic.handler@example.gov.cn"]
    _assert_content_free(inbox.messages[0], _forbidden_words(mail_app, [first, second]))
    again = runner.invoke(args=["cases", "notify"])
    assert "已发送 0 封新举报件通知。" in again.output
    third = _file(desk)
    assert third
    assert "已发送 1 封新举报件通知。" in runner.invoke(args=["cases", "notify"]).output
    assert len(inbox.messages) == 2



# --- the commands tell cron when mail could not go out (#22, item 6) ------------------------


def _digested(app: Flask) -> list[DigestSent]:
    with app.app_context():
        return list(db.session().scalars(select(DigestSent)))


def _notified(app: Flask, slug: str) -> int:
    with app.app_context():
        return int(db.session().scalar(select(Queue.notified_case_id).where(Queue.slug == slug)))


def test_cases_notify_and_digest_exit_non_zero_when_the_mail_server_is_down(
        desk: Desk, make_app: Callable[..., Flask]) -> None:
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    case_no = _file(desk)
    _clock(desk.app, case_no, _today(desk.app) - dt.timedelta(days=60), 15)
    # Nothing listens on this port: every connection is refused.
    down = make_app(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none",
                    smtp_from=SENDER)
    runner = down.test_cli_runner()
    for command in ("notify", "digest"):
        result = runner.invoke(args=["cases", command])
        assert result.exit_code != 0, (command, result.output)
        # In the commands' language (Chinese by default, like `queues …`), saying what happens.
        assert "邮件未能发出" in result.output, result.output
        assert "下次运行时将重新发送" in result.output, result.output
        assert "Traceback" not in result.output
    # Nothing recorded: the next run (with the server back) sends them.
    assert _digested(down) == []
    assert _notified(down, "dic") == 0


class RefusingInbox(Inbox):
    """Refuses one recipient (550), takes the others."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("refused"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_makes_the_command_exit_non_zero(
        desk: Desk, make_staff: Callable[..., StaffMember],
        make_app: Callable[..., Flask]) -> None:
    make_staff("dichead", "dic_head")
    _set_email(desk.app, "dichandler", "dic.handler@example.gov.cn")
    _set_email(desk.app, "dichead", "refused@example.gov.cn")
    _file(desk)
    box = RefusingInbox()
    controller = _start(box)
    try:
        relay = make_app(smtp_host="127.0.0.1", smtp_port=box.port, smtp_security="none",
                         smtp_from=SENDER)
        result = relay.test_cli_runner().invoke(args=["cases", "notify"])
    finally:
        controller.stop()
    assert result.exit_code != 0, result.output
    assert "已发送 1 封新举报件通知。" in result.output, result.output
    assert "邮件服务器拒收了 1 封邮件" in result.output, result.output
    assert "refused@" not in result.output  # the address is the admin's to find, not cron's
    assert box.recipients() == ["dic.handler@example.gov.cn"]
    # The others were told: the batch is recorded, nobody gets it twice.
    assert _notified(relay, "dic") > 0

# --- staff addresses ----------------------------------------------------------------------


def _email_of(app: Flask, username: str) -> str | None:
    with app.app_context():
        return db.session().scalar(select(StaffUser.email).where(StaffUser.username == username))


def test_admin_sets_checks_and_clears_an_address(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: Callable[..., StaffMember]
) -> None:
    auth.login(make_staff("root", "admin"))
    make_staff("kim", "dic_handler")
    with app.app_context():
        kim_id = _user_id("kim")
    path = f"/staff/admin/accounts/{kim_id}/email"

    page = client.get("/staff/admin/").get_data(as_text=True)
    assert f'action="{path}"' in page
    saved = client.post(path, data={"email": " Kim@Example.GOV.cn ",
                                     "csrf_token": csrf_token(client, "/staff/admin/")})
    assert saved.status_code == 303
    assert _email_of(app, "kim") == "Kim@example.gov.cn"
    assert "Kim@example.gov.cn" in client.get("/staff/admin/").get_data(as_text=True)

    for bad in ("not an address", "kim@localhost", "kim@example.gov.cn\r\nBcc: x@evil.example",
                "<kim@example.gov.cn>", "kim@@example.gov.cn", "k" * 250 + "@example.cn"):
        refused = client.post(path, data={"email": bad,
                                          "csrf_token": csrf_token(client, "/staff/admin/")})
        assert refused.status_code == 400, bad
        html = refused.get_data(as_text=True)
        assert "name@example.gov.cn" in html  # the message says what is expected
        assert 'role="alert"' in html
        assert _email_of(app, "kim") == "Kim@example.gov.cn"

    # Without the CSRF token nothing happens.
    forged = client.post(path, data={"email": "evil@example.com"})
    assert forged.status_code == 400
    assert _email_of(app, "kim") == "Kim@example.gov.cn"

    cleared = client.post(path, data={"email": "",
                                      "csrf_token": csrf_token(client, "/staff/admin/")})
    assert cleared.status_code == 303
    assert _email_of(app, "kim") is None

    with app.app_context():
        entries = db.session().scalars(
            select(AuditEntry).where(AuditEntry.action == "account.email")
            .order_by(AuditEntry.seq)).all()
        assert [(e.actor, e.target) for e in entries] == [("root", "kim"), ("root", "kim")]
        assert "Kim@" not in entries[0].details  # the log names the domain, not the address
        assert "@example.gov.cn" in entries[0].details
        assert "cleared" in entries[1].details


def test_only_admins_set_addresses(client: FlaskClient, auth: AuthActions,
                                   make_staff: Callable[..., StaffMember], app: Flask) -> None:
    make_staff("kim", "dic_handler")
    auth.login(make_staff("hal", "dic_head"))
    with app.app_context():
        kim_id = _user_id("kim")
    token = csrf_token(client, "/staff/")
    response = client.post(f"/staff/admin/accounts/{kim_id}/email",
                           data={"email": "hal@example.gov.cn", "csrf_token": token})
    assert response.status_code == 403
    assert _email_of(app, "kim") is None


def test_staff_email_command(app: Flask, make_staff: Callable[..., StaffMember]) -> None:
    make_staff("kim", "dic_handler")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["staff", "email", "kim", "kim@example.gov.cn"])
    assert ok.exit_code == 0, ok.output
    assert _email_of(app, "kim") == "kim@example.gov.cn"
    for bad in ("nope", "kim@example.gov.cn\nBcc: x@evil.example", "a b@example.gov.cn"):
        refused = runner.invoke(args=["staff", "email", "kim", bad])
        assert refused.exit_code != 0, bad
        assert "name@example.gov.cn" in refused.output
        assert _email_of(app, "kim") == "kim@example.gov.cn"
    unknown = runner.invoke(args=["staff", "email", "nobody", "x@example.gov.cn"])
    assert unknown.exit_code != 0
    cleared = runner.invoke(args=["staff", "email", "kim", ""])
    assert cleared.exit_code == 0, cleared.output
    assert _email_of(app, "kim") is None
    with app.app_context():
        actors = db.session().scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "account.email")).all()
    assert actors == ["cli", "cli"]
