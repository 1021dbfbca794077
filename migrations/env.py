"""Alembic environment: the portal's metadata, run on the connection `portal init` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import casework.models  # noqa: F401  (register the feature packages' tables)
import intake.models  # noqa: F401
import publicity.compliance.models  # noqa: F401
import publicity.models
from portal import models  # noqa: F401
from portal.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run on the given connection, or on one made from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
        include_name=publicity.models.described_by_models,  # autogenerate: not the FTS index
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `flask --app wsgi portal init`")
run_migrations_online()
