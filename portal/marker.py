"""The instance secrets belong to one database (#22, item 1).

Every app server of an installation needs the same four secret files: with other ones it would
tell reporters that their valid receipt does not exist, and refuse reports. So the database
keeps, per secret family, a MAC of a fixed label under that secret (`crypto.instance_marker`),
written by the first `portal init`; an app server, and every command, whose secret files make
other MACs refuses to run and says which files to copy from where. The MACs say nothing of the
secrets.

A production instance (#22, item 2): `portal init` run with PORTAL_DATABASE_URL leaves the
file `production` in the instance folder; from then on a command or server started without
that setting (cron, with its empty environment) refuses instead of falling back to a new SQLite
database in the instance folder.
"""

from __future__ import annotations

import enum
import os
import time

from flask import Flask, abort
from flask_babel import gettext as _
from sqlalchemy import Engine, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from portal import accounts, audit, crypto, state
from portal.config import SECRET_NAMES, Config, InstanceSecrets
from portal.models import AuditEntry, InstanceMarker, StaffUser

PRODUCTION_FILE = "production"
# Where the deployment puts the PORTAL_* settings (docs/deployment.md, deploy/env/portal.env).
ENV_FILE = "/etc/portal/env"
_STATUS = "portal.instance_marker"
# While the marker could not be checked, requests check it again this often (per process).
RECHECK_SECONDS = 10


class Status(enum.StrEnum):
    """What the database says of this instance's secrets."""

    ok = "ok"
    mismatch = "mismatch"  # another set of secrets made the database's marker
    unmarked = "unmarked"  # no marker yet (a new database, or the first start after upgrading)
    no_table = "no-table"  # the schema predates the marker: `portal init` migrates it
    unknown = "unknown"  # the database did not answer


class SecretsMismatch(RuntimeError):
    """The instance secrets do not belong to the configured database."""


class DatabaseUrlMissing(RuntimeError):
    """A production instance started without PORTAL_DATABASE_URL."""


def expected(secrets: InstanceSecrets) -> dict[str, bytes]:
    """The marker these secrets make, per family."""
    return {name: crypto.instance_marker(getattr(secrets, name), name) for name in SECRET_NAMES}


def stored(engine: Engine) -> dict[str, bytes] | None:
    """The database's marker per family (None when the schema has no marker table)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(InstanceMarker.__tablename__):
            return None
        rows = conn.execute(select(InstanceMarker.family, InstanceMarker.tag)).all()
    return {family: bytes(tag) for family, tag in rows}


def check(engine: Engine, secrets: InstanceSecrets) -> Status:
    """Whether the database's marker is the one these secrets make. A family without a row is
    not a mismatch (it is written next), a row that differs is, and so is a row of a family
    this version does not know when nothing else is there."""
    try:
        found = stored(engine)
    except SQLAlchemyError:
        return Status.unknown
    if found is None:
        return Status.no_table
    mine = {family: tag for family, tag in found.items() if family in SECRET_NAMES}
    if found and not mine:
        return Status.mismatch
    if not all(crypto.check_instance_marker(getattr(secrets, family), family, tag)
               for family, tag in mine.items()):
        return Status.mismatch
    return Status.ok if len(mine) == len(SECRET_NAMES) else Status.unmarked


def in_use(engine: Engine) -> bool:
    """Whether the database already belongs to some instance secrets: it holds a marker, or
    (made before the marker existed) staff accounts or audit entries, which only the secrets it
    was set up with can check. An empty or newly migrated database belongs to none."""
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        for model in (InstanceMarker, AuditEntry, StaffUser):
            if model.__tablename__ in tables and conn.scalar(
                    select(func.count()).select_from(model)):
                return True
    return False


def _legacy_data_verifies(app: Flask, engine: Engine) -> bool:
    """Before the first marker is written into a database that already holds data (an
    installation upgraded from before the marker), the data it holds must verify under these
    secrets: the audit chain's MACs and the staff accounts' public-key MACs."""
    with app.app_context(), Session(engine) as session:
        report = audit.verify(session)
        if report.first_bad_seq is not None:
            return False
        for user in session.scalars(select(StaffUser).where(StaffUser.public_key.is_not(None))):
            try:
                accounts.verified_public_key(user)
            except crypto.KeyIntegrityError:
                return False
    return True


def ensure(app: Flask, engine: Engine, secrets: InstanceSecrets) -> Status:
    """Check the marker and write the families it lacks (the first `portal init`, or the
    first start after the upgrade that added the table). Two servers starting at once: one
    insert wins, the other reads it and compares."""
    status = check(engine, secrets)
    if status != Status.unmarked:
        return status
    if not _legacy_data_verifies(app, engine):
        return Status.mismatch
    try:
        with engine.connect() as conn:
            conn.execution_options(portal_write=True)
            with conn.begin():
                present = set(conn.scalars(select(InstanceMarker.family)))
                for family, tag in expected(secrets).items():
                    if family not in present:
                        conn.execute(insert(InstanceMarker).values(family=family, tag=tag))
    except IntegrityError:
        pass  # another server wrote it first: compare with theirs
    except SQLAlchemyError:
        return Status.unknown
    return check(engine, secrets)


def set_status(app: Flask, status: Status) -> None:
    """Remember what the last check found (the access gate and /healthz read it)."""
    app.extensions[_STATUS] = status


def status_of(app: Flask) -> Status:
    """What the last check of this app found (unknown before any)."""
    found: Status = app.extensions.get(_STATUS, Status.unknown)
    return found


def init_app(app: Flask) -> None:
    """Refuse every request (a bare 503: a visitor learns nothing) while the secrets are known
    not to belong to the database, e.g. when /healthz found the database replaced. While it is
    not known (the database did not answer when the server started), check again at most every
    few seconds; once it is known, a request costs nothing."""
    last_check = [0.0]

    def _refuse_foreign_secrets() -> None:
        status = status_of(app)
        secrets = state.secrets_or_none(app)
        if status == Status.ok or secrets is None:
            return  # without secrets the access gate answers 503
        if status != Status.mismatch and time.monotonic() - last_check[0] >= RECHECK_SECONDS:
            last_check[0] = time.monotonic()
            status = ensure(app, state.engine(app), secrets)
            set_status(app, status)
            if status == Status.mismatch:
                app.logger.error("the instance secrets do not belong to the database: every "
                                 "request is refused (run `flask --app wsgi portal init` for "
                                 "what to copy from where)")
        if status == Status.mismatch:
            abort(503)

    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_foreign_secrets)


def is_production(config: Config) -> bool:
    """Whether `portal init` marked the instance folder as a production one."""
    return (config.instance_path / PRODUCTION_FILE).is_file()


def default_database_url(config: Config) -> bool:
    """Whether the database URL is the embedded default (no PORTAL_DATABASE_URL given)."""
    return config.database_url == f"sqlite:///{config.instance_path / 'portal.db'}"


def lacks_database_url(config: Config) -> bool:
    """A production instance started without PORTAL_DATABASE_URL (e.g. from cron, whose
    environment is empty): it must refuse, never fall back to SQLite."""
    return is_production(config) and default_database_url(config)


def mark_production(config: Config) -> bool:
    """Leave the production file in the instance folder when the database is not the embedded
    default (mode 0600); True when it was written now."""
    path = config.instance_path / PRODUCTION_FILE
    if default_database_url(config) or path.exists():
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("This instance uses the database named by PORTAL_DATABASE_URL: commands and "
                 "servers started without it refuse (docs/operations.md, #22.2).\n")
    return True


def _files() -> str:
    return ", ".join(SECRET_NAMES)


def missing_url_message(config: Config) -> str:
    """Why a production instance without PORTAL_DATABASE_URL refuses (in an app context)."""
    return _("PORTAL_DATABASE_URL is not set, but %(folder)s belongs to a production "
             "installation: this command ran without the portal's environment (cron and "
             "systemd start with an empty one). Load the settings of %(env)s first (for "
             "example `set -a; . %(env)s; set +a`, or EnvironmentFile=%(env)s in a systemd "
             "unit). Nothing was written.",
             folder=config.instance_path / PRODUCTION_FILE, env=ENV_FILE)


def mismatch_message(config: Config) -> str:
    """What to do about secrets that do not belong to the database (in an app context)."""
    return _("The instance secrets in %(folder)s do not belong to this database: it was set "
             "up with other ones. Copy the files %(files)s from the instance folder of the "
             "first app server (the one where `portal init` ran first) into %(folder)s, in "
             "place of these, owned by the portal's user with mode 0600 (install -m 0600), "
             "then start again. Do not make new ones: receipts, keys and the audit chain need "
             "the database's own.", folder=config.instance_path, files=_files())


def not_here_message(config: Config) -> str:
    """Why `portal init` makes no secrets for a database that has some (in an app context)."""
    return _("This database was set up with instance secrets that %(folder)s does not hold. "
             "New ones would not open its receipts, so none were made: copy the files "
             "%(files)s from the instance folder of the first app server (the one where "
             "`portal init` ran first) into %(folder)s, owned by the portal's user with mode "
             "0600 (install -m 0600), then run `portal init` again.",
             folder=config.instance_path, files=_files())


def not_initialised_message(config: Config) -> str:
    """Why a command refuses in an instance folder without secrets (in an app context)."""
    return _("There are no instance secrets in %(folder)s. If the portal is installed "
             "elsewhere, this command ran without its environment: load the settings of "
             "%(env)s first (PORTAL_INSTANCE_PATH, PORTAL_DATABASE_URL). On a new "
             "installation run `flask --app wsgi portal init`; on a further app server copy "
             "the files %(files)s from the first one (mode 0600).",
             folder=config.instance_path, env=ENV_FILE, files=_files())

