"""Command line: `flask --app wsgi portal|staff|audit|calendar …` (PRODUCT.md, "Command line")."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo
from flask_babel import gettext as _
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from portal import accounts, audit, backup, db, marker, state, workdays
from portal.calendar_cli import calendar_cli
from portal.config import InstanceSecrets, NotInitialised
from portal.constants import ROOT
from portal.errors import message_of
from portal.models import Role, StaffUser

portal_cli = AppGroup("portal", help="Install, upgrade and demo the portal.")
staff_cli = AppGroup("staff", help="Staff accounts.")
audit_cli = AppGroup("audit", help="The tamper-evident audit log.")

DEMO_ACCOUNTS = (
    ("admin", (Role.admin,)),
    # A second administrator: role grants and activations need a second person (#21.3).
    ("admin2", (Role.admin,)),
    ("editor1", (Role.publicity_editor,)),
    ("editor2", (Role.publicity_editor,)),
    ("orghandler", (Role.org_handler,)),
    ("orghead", (Role.org_head,)),
    ("dichandler", (Role.dic_handler,)),
    ("dichead", (Role.dic_head,)),
    ("supervisor", (Role.supervisor,)),
)


def upgrade_database(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def _require_initialised() -> None:
    if state.secrets_or_none() is None:
        raise click.ClickException(
            _("The portal is not initialised: run `flask --app wsgi portal init`.")
        )


@portal_cli.command("init")
def init_command() -> None:
    """Create or upgrade the database (Alembic) and generate missing instance secrets; refuse
    when the database belongs to other secrets (#22, item 1)."""
    config = state.config()
    engine = db.engine()
    if marker.default_database_url(config):  # the database lives in the instance folder
        config.instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        secrets: InstanceSecrets | None = InstanceSecrets.load(config.instance_path)
    except NotInitialised:
        secrets = None
    if secrets is None:
        # A further app server with an empty (or half-copied) instance folder: new secrets
        # would not open this database's receipts. Nothing is made.
        if marker.in_use(engine):
            raise click.ClickException(marker.not_here_message(config))
    elif marker.check(engine, secrets) == marker.Status.mismatch:
        raise click.ClickException(marker.mismatch_message(config))
    made = InstanceSecrets.ensure(config.instance_path)
    secrets = InstanceSecrets.load(config.instance_path)
    state.set_secrets(current_app, secrets)
    current_app.config["SECRET_KEY"] = secrets.secret_key
    for name in made:
        click.echo(_("Generated instance secret %(name)s (mode 0600).", name=name))
    if marker.mark_production(config):
        click.echo(_("%(file)s written: commands and servers of this instance refuse to run "
                     "without PORTAL_DATABASE_URL.",
                     file=config.instance_path / marker.PRODUCTION_FILE))
    upgrade_database(engine)
    status = marker.ensure(current_app, engine, secrets)
    marker.set_status(current_app, status)
    if status == marker.Status.mismatch:
        raise click.ClickException(marker.mismatch_message(config))
    session = db.session()
    with db.transaction(session):
        days = workdays.rebuild_days(session)
    for step in (step for feature in state.features() for step in feature.init_steps):
        for line in step(session):
            click.echo(_("Created %(what)s.", what=line))
    click.echo(_("Database is up to date; calendar holds %(n)s days.", n=days))


def _no_accounts(session: Session) -> bool:
    """Whether no staff account exists yet (the demo loads only into an empty portal)."""
    return not session.scalar(select(func.count()).select_from(StaffUser))


@portal_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the portal has no staff accounts yet.")
def demo_command(if_empty: bool) -> None:
    """Load demo accounts (one per role) and content; print how to log in."""
    _require_initialised()
    session = db.session()
    if not if_empty or _no_accounts(session):
        for username, roles in DEMO_ACCOUNTS:
            exists = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
            if exists is None:
                accounts.create_account_with_passphrase(
                    session, username, roles, accounts.DEMO_PASSPHRASE, demo=True
                )
        for load in (load for feature in state.features() for load in feature.demo_loaders):
            for line in load(session):
                click.echo(f"  demo: {line}")
    click.echo(_("Demo logins (passphrase for all: %(p)s):", p=accounts.DEMO_PASSPHRASE))
    for username, roles in DEMO_ACCOUNTS:
        click.echo(f"  {username:<12} {', '.join(roles)}")
    click.echo(_("The six-digit code for a demo account: flask --app wsgi staff code USERNAME"))


def _passphrase_line() -> str:
    return sys.stdin.readline().rstrip("\r\n")


@portal_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write the database and the instance secrets to PATH; the secrets are encrypted under a
    passphrase read from the first line of standard input (keep it apart from the file)."""
    _require_initialised()
    passphrase = _passphrase_line()
    try:
        accounts.check_passphrase_strength(passphrase)
    except accounts.AccountError as exc:
        raise click.ClickException(message_of(exc)) from None
    try:
        made = backup.create(db.engine(), state.secrets(), path, passphrase,
                             now=db.utcnow(), instance=state.config().instance_path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    session = db.session()
    with db.transaction(session):
        audit.record(session, audit.CLI, "portal.backup", database=made.database)
    click.echo(_("Backup written to %(path)s (%(kind)s, %(size)s bytes).",
                 path=made.path, kind=made.database, size=made.size))
    click.echo(_("Keep the passphrase apart from the file: together they open every receipt."))


@portal_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Overwrite a database that holds tables and other instance secrets.")
def restore_command(path: Path, replace: bool) -> None:
    """Restore a backup into the configured database and instance folder; the passphrase is
    the first line of standard input. Upgrades the schema afterwards if the backup is older."""
    config = state.config()
    try:
        restored = backup.restore(db.engine(), config.instance_path, path, _passphrase_line(),
                                  replace=replace)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    secrets = InstanceSecrets.load(config.instance_path)
    state.set_secrets(current_app, secrets)
    current_app.config["SECRET_KEY"] = secrets.secret_key
    upgrade_database(db.engine())
    # The backup's database and secrets belong together; one made before the marker gets it.
    marker.set_status(current_app, marker.ensure(current_app, db.engine(), secrets))
    session = db.session()
    if not restored.had_head:
        # A backup made before heads existed: the chain it holds is adopted as it is.
        click.echo(_("This backup carries no audit head (an older version made it): the "
                     "restored chain's end cannot be checked against one."), err=True)
        report = audit.adopt_head(session)
    else:
        report = audit.verify(session)
    if not report.ok:
        click.echo(_chain_problem(report), err=True)
        sys.exit(1)
    with db.transaction(session):
        audit.record(session, audit.CLI, "portal.restore", created=restored.created)
    click.echo(_("Restored the %(kind)s database and the instance secrets of the backup made "
                 "at %(created)s.", kind=restored.database, created=restored.created))
    click.echo(_("Audit chain intact: %(n)s entries verified.", n=report.entries))


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="A role; repeat for several.")
def staff_create(username: str, roles: tuple[str, ...]) -> None:
    """Create your own active account; the passphrase is the first line of standard input."""
    _require_initialised()
    passphrase = sys.stdin.readline().rstrip("\r\n")
    try:
        user, secret = accounts.create_account_with_passphrase(
            db.session(), username, roles, passphrase
        )
    except accounts.AccountError as exc:
        raise click.ClickException(message_of(exc)) from None
    click.echo(_("Account %(name)s created.", name=user.username))
    click.echo(_("TOTP secret (enter it in your authenticator app): %(s)s", s=secret))
    click.echo(accounts.totp_uri(user.username, secret))


@staff_cli.command("code")
@click.argument("username")
def staff_code(username: str) -> None:
    """Print the current TOTP code of a demo account (demo accounts only)."""
    _require_initialised()
    try:
        click.echo(accounts.demo_totp_code(db.session(), username))
    except accounts.NotFound:
        raise click.ClickException(_("%(name)s is not a demo account.", name=username)) from None


@staff_cli.command("email")
@click.argument("username")
@click.argument("address")
def staff_email(username: str, address: str) -> None:
    """Set where an account's content-free notices go; an empty ADDRESS ("") clears it."""
    _require_initialised()
    session = db.session()
    user_id = session.scalar(select(StaffUser.id).where(
        StaffUser.username == username.strip().lower()))
    if user_id is None:
        raise click.ClickException(_("There is no account %(name)s.", name=username))
    try:
        user = accounts.set_email(session, user_id, address, audit.CLI)
    except accounts.InvalidEmail as exc:
        raise click.ClickException(message_of(exc)) from None
    if user.email:
        click.echo(_("E-mail of %(name)s saved.", name=user.username))
    else:
        click.echo(_("%(name)s will receive no e-mail.", name=user.username))


def _chain_problem(report: audit.ChainReport) -> str:
    """What is wrong with the chain or its head, for the operator (#21, item 8)."""
    head = report.head
    if report.problem == "short" and head is not None:
        return _("Audit chain is shorter than its head says: %(n)s entries, the head (kept "
                 "outside the database) records %(count)s. Entries were deleted from the end.",
                 n=report.entries, count=head.count)
    if report.problem == "head-differs" and head is not None:
        return _("Audit chain does not match its head: entry %(count)s is not the one the "
                 "head records. The chain was replaced or rolled back.", count=head.count)
    if report.problem == "head-damaged":
        return _("The audit chain's head record %(file)s in the instance folder was altered "
                 "or is damaged.", file=audit.HEAD_FILE)
    if report.problem == "empty":
        return _("Audit chain is empty, yet staff accounts exist: its entries were deleted.")
    if report.problem == "head-missing":
        return _("The audit chain's head record %(file)s is missing from the instance folder "
                 "(%(n)s entries verified), so a cut tail cannot be detected. If this server "
                 "is legitimately new, was just upgraded from a version without the head, or "
                 "its instance folder was rebuilt, and you trust the chain as it is, run "
                 "`flask --app wsgi audit verify --adopt-head`; otherwise restore the instance "
                 "folder from a backup.", file=audit.HEAD_FILE, n=report.entries)
    return _("Audit chain broken at entry %(seq)s (%(n)s entries before it verified).",
             seq=report.first_bad_seq, n=report.entries)


@audit_cli.command("verify")
@click.option("--adopt-head", is_flag=True,
              help="When only the head record is missing (a new server, or the first run "
                   "after upgrading), write it for the chain as it is now.")
def audit_verify(adopt_head: bool) -> None:
    """Check the audit chain and its head; exit non-zero if any entry was changed, removed or
    reordered, or the chain's end was cut."""
    _require_initialised()
    session = db.session()
    with db.transaction(session):
        audit.flush_held(session)  # reporter events of the hours that are over (#21, item 7)
    report = audit.adopt_head(session) if adopt_head else audit.verify(session)
    if not report.ok:
        click.echo(_chain_problem(report), err=True)
        sys.exit(1)
    # Raise this server's head to the verified chain (entries other servers appended).
    audit.write_head(state.config().instance_path, audit.Head(report.entries, report.last_mac),
                     create=False)
    click.echo(_("Audit chain intact: %(n)s entries verified.", n=report.entries))


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for group in (portal_cli, staff_cli, audit_cli, calendar_cli):
        app.cli.add_command(group)


# Commands that make or replace the instance secrets: they run in a folder without secrets, or
# with secrets the database does not know, and check what they need themselves.
SETS_SECRETS = {("portal", "init"), ("portal", "restore")}


def _refuse_unless_ready(app: Flask, *, sets_secrets: bool) -> None:
    """What every command checks before it runs (#22, items 1 and 2): a production instance
    has its database URL, the instance has its secrets, and they belong to the database."""
    config = state.config(app)
    if marker.lacks_database_url(config):
        raise click.ClickException(marker.missing_url_message(config))
    if sets_secrets:
        return
    secrets = state.secrets_or_none(app)
    if secrets is None:
        raise click.ClickException(marker.not_initialised_message(config))
    status = marker.status_of(app)
    if status != marker.Status.ok:
        status = marker.ensure(app, state.engine(app), secrets)
        marker.set_status(app, status)
    if status == marker.Status.mismatch:
        raise click.ClickException(marker.mismatch_message(config))


def _command_app() -> Flask:
    """The app a command runs for (loaded by `flask --app …`, or the test runner's)."""
    if current_app:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    return click.get_current_context().ensure_object(ScriptInfo).load_app()


def _guard(command: click.Command, path: tuple[str, ...]) -> None:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _guard(sub, (*path, name))
        return
    callback = command.callback
    if callback is None or getattr(callback, "portal_guarded", False):
        return
    sets_secrets = path in SETS_SECRETS

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        app = _command_app()
        with app.app_context():
            _refuse_unless_ready(app, sets_secrets=sets_secrets)
        # Whatever the command writes (a SQLite database and its journal, backups, secrets)
        # is readable by the portal's user alone, whatever umask cron or a shell gave it.
        previous = os.umask(0o077)
        try:
            return callback(*args, **kwargs)
        finally:
            os.umask(previous)

    guarded.portal_guarded = True  # type: ignore[attr-defined]
    command.callback = guarded


def guard_commands(app: Flask) -> None:
    """Put the start-up checks in front of every command of the app, the features' too. The
    command objects are shared by every app of the process: each is wrapped once, and the
    check reads the app the command runs for."""
    for name, group in app.cli.commands.items():
        _guard(group, (name,))


def check_at_start(app: Flask) -> None:
    """The start-up checks (#22, items 1 and 2). An app server (a gunicorn worker importing
    wsgi.py) refuses to start when its instance is a production one without
    PORTAL_DATABASE_URL, or its secrets do not belong to the database: the exception's message
    says what to do. Under `flask --app wsgi …` each command checks before it runs instead,
    since `portal init` and `portal restore` must be able to run to put things right."""
    guard_commands(app)
    marker.init_app(app)
    if click.get_current_context(silent=True) is not None:
        return
    config = state.config(app)
    with app.app_context():
        if marker.lacks_database_url(config):
            state.engine(app).dispose()
            raise marker.DatabaseUrlMissing(marker.missing_url_message(config))
        secrets = state.secrets_or_none(app)
        if secrets is None:
            return  # every request gets the 503 page until `portal init`
        status = marker.ensure(app, state.engine(app), secrets)
        marker.set_status(app, status)
        if status == marker.Status.mismatch:
            state.engine(app).dispose()
            raise marker.SecretsMismatch(marker.mismatch_message(config))
