"""The shell's commands: init, demo, staff create/code."""

from __future__ import annotations

import re
import stat

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from portal import accounts, db, state
from portal.models import StaffUser
from tests.conftest import AuthActions, StaffMember


def test_init_is_idempotent_and_keeps_secrets(app: Flask, runner: FlaskCliRunner) -> None:
    instance = state.config(app).instance_path
    before = (instance / "receipt_pepper").read_bytes()
    result = runner.invoke(args=["portal", "init"])
    assert result.exit_code == 0, result.output
    assert (instance / "receipt_pepper").read_bytes() == before
    assert stat.S_IMODE((instance / "audit_mac_key").stat().st_mode) == 0o600


def test_init_with_a_database_url_marks_the_instance_as_production(
        app: Flask, runner: FlaskCliRunner) -> None:
    """#22.2: `portal init` run with PORTAL_DATABASE_URL leaves `production` (mode 0600), after
    which the instance refuses to run without the URL; the embedded default leaves none."""
    from portal import create_app as create_shell
    from portal.config import Config

    instance = state.config(app).instance_path
    assert not (instance / "production").exists()
    result = runner.invoke(args=["portal", "init"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((instance / "production").stat().st_mode) == 0o600
    assert "PORTAL_DATABASE_URL" in result.output
    without_url = Config(instance_path=instance, testing=True)
    with pytest.raises(RuntimeError, match="PORTAL_DATABASE_URL"):
        create_shell(without_url)
    assert not list(instance.glob("portal.db*"))


def test_demo_creates_one_account_per_role_once(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["portal", "demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "staff code" in first.output
    again = runner.invoke(args=["portal", "demo", "--if-empty"])
    assert again.exit_code == 0
    with app.app_context():
        users = db.session().scalars(select(StaffUser)).all()
        roles = {r for u in users for r in u.role_names}
    assert len(users) == 9  # two administrators: a role grant needs a second person (#21.3)
    assert all(u.role_names == {"admin"} for u in users if "admin" in u.role_names)
    assert roles == {"admin", "publicity_editor", "org_handler", "org_head", "dic_handler",
                     "dic_head", "supervisor"}


@pytest.mark.clock("2026-11-04T10:00:00+08:00")  # the demo's drafts fit in a loaded year
def test_demo_shows_the_compliance_checks(app: Flask, runner: FlaskCliRunner) -> None:
    """Every demo notice was published with a clean record; the first draft may be approved
    by editor2, the second is refused for exactly the rules the demo names."""
    from portal import audit, clock
    from publicity import service
    from publicity.compliance import service as compliance
    from publicity.models import Notice

    result = runner.invoke(args=["portal", "demo"])
    assert result.exit_code == 0, result.output
    clean = re.search(r"draft #(\d+) \(editor1 wrote it", result.output)
    blocked = re.search(r"draft #(\d+) trips rules 1, 2, 4, 8, 9 ", result.output)
    assert clean, result.output
    assert blocked, result.output
    with app.app_context():
        session = db.session()
        for notice in session.scalars(select(Notice)):
            failed = [r.rule.number for r in compliance.check(session, notice).results
                      if not r.passed]
            assert failed == ([1, 2, 4, 8, 9] if notice.id == int(blocked.group(1)) else []), \
                (notice.id, failed)
        editor2 = audit.Actor("editor2", session.scalar(
            select(StaffUser.id).where(StaffUser.username == "editor2")))
        with pytest.raises(service.PublicityError) as exc:
            service.approve_notice(session, int(blocked.group(1)), editor2, clock.today())
        assert exc.value.code == "compliance"
        approved = service.approve_notice(session, int(clean.group(1)), editor2, clock.today())
        assert approved.status == "approved"


def test_demo_code_logs_a_newcomer_in(app: Flask, runner: FlaskCliRunner) -> None:
    runner.invoke(args=["portal", "demo"])
    result = runner.invoke(args=["staff", "code", "orghandler"])
    assert result.exit_code == 0
    code = result.output.strip()
    assert re.fullmatch(r"\d{6}", code)
    client = app.test_client()
    member = StaffMember("orghandler", ("org_handler",), "", accounts.DEMO_PASSPHRASE)
    assert AuthActions(client).login(member, code=code).status_code == 303


def test_staff_code_refuses_real_accounts(runner: FlaskCliRunner) -> None:
    runner.invoke(args=["staff", "create", "rita", "--role", "admin"],
                  input="lantern orchard velvet compass\n")
    result = runner.invoke(args=["staff", "code", "rita"])
    assert result.exit_code != 0
    assert "演示" in result.output


def test_staff_create_prints_a_working_totp_secret(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["staff", "create", "sam", "--role", "org_head",
                                 "--role", "org_handler"], input="granite pelican autumn oboe\n")
    assert result.exit_code == 0, result.output
    secret = re.search(r"\b([A-Z2-7]{32})\b", result.output)
    assert secret
    member = StaffMember("sam", ("org_head",), secret.group(1), "granite pelican autumn oboe")
    assert AuthActions(app.test_client()).login(member).status_code == 303
    pyotp.TOTP(secret.group(1)).now()


def test_staff_create_bad_input_writes_nothing(app: Flask, runner: FlaskCliRunner) -> None:
    cases = [
        (["staff", "create", "Bad Name!", "--role", "admin"], "granite pelican autumn oboe\n"),
        (["staff", "create", "tom", "--role", "wizard"], "granite pelican autumn oboe\n"),
        (["staff", "create", "tom", "--role", "admin"], "123456\n"),
    ]
    for args, stdin in cases:
        assert runner.invoke(args=args, input=stdin).exit_code != 0
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(StaffUser)) == 0
    runner.invoke(args=["staff", "create", "tom", "--role", "admin"],
                  input="granite pelican autumn oboe\n")
    dup = runner.invoke(args=["staff", "create", "tom", "--role", "admin"],
                        input="granite pelican autumn oboe\n")
    assert dup.exit_code != 0
    assert "已" in dup.output
