"""Database engine, the request session, and the one way to open a write transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from portal import state

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model; constraint names are stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC, refuses naive input (no silent local times)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def private_sqlite_file(url: str) -> None:
    """Make the SQLite database file readable by its owner alone before SQLite opens it
    (#22, item 2): created empty with mode 0600 when it does not exist yet, narrowed when an
    older version left it wider. SQLite gives its -wal, -shm and -journal files the database
    file's mode; those found wider are narrowed too. Nothing is made when the folder is missing
    (SQLite then says it cannot open the file)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))):
        try:
            mode = stat.S_IMODE(name.stat().st_mode)
            if mode & 0o077:
                os.chmod(name, mode & 0o700)
        except (FileNotFoundError, PermissionError):
            continue


def make_engine(url: str) -> Engine:
    """An engine with the embedded default's SQLite settings applied on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "do_connect")
        def _private_file(*_args: Any) -> None:
            # Only when a connection is opened: an app that is refused, or never asks the
            # database anything, leaves no file behind.
            private_sqlite_file(url)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself so writes can take the lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted content is overwritten, not left in free pages.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A write transaction takes the write lock at BEGIN: a deferred one that reads first
            # could not upgrade later without "database is locked".
            immediate = conn.get_execution_options().get("portal_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # hide_parameters: a logged database error never carries what a user typed.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         hide_parameters=True)


def init_app(app: Flask, url: str) -> None:
    """Attach an engine and a session factory to the app; close the session on teardown."""
    engine = make_engine(url)
    state.set_database(app, engine)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is None:
            return
        try:
            session.close()
        except DBAPIError:
            # The connection died after the request's last statement (a restarted or cut
            # server): nothing is left to roll back, and the pool has dropped the connection.
            app.logger.warning("database connection lost at the end of a request")


def engine() -> Engine:
    """The current app's engine."""
    return state.engine()


def session() -> Session:
    """The session of this request or CLI command (one per app context)."""
    if "db_session" not in g:
        g.db_session = state.session_factory()()
    return g.db_session


def checkpoint_wal(engine: Engine) -> bool:
    """On SQLite, copy the write-ahead log into the database and truncate it to zero bytes, so
    the old versions of pages a purge overwrote survive nowhere in the log. True when done (and
    always on other databases); False when a reader kept it from finishing within the busy
    timeout. Call it outside any transaction."""
    if engine.dialect.name != "sqlite":
        return True
    # A raw DBAPI connection: no BEGIN from the engine's hook, since a checkpoint cannot run
    # inside a transaction of its own connection.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    return row is not None and row[0] == 0


@contextmanager
def transaction(db: Session) -> Iterator[Session]:
    """The one write transaction of a use case: commit on success, roll back on any error.

    Views only read before calling a service, so a read-only transaction still open is ended
    first; the write transaction then starts with the write lock on SQLite.
    """
    if db.in_transaction():
        db.commit()
    with db.begin():
        db.connection(execution_options={"portal_write": True})
        yield db

