"""Alembic from day one: the schema after `upgrade head` is exactly the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect

import casework.models  # noqa: F401
import intake.models  # noqa: F401
import publicity.compliance.models  # noqa: F401
import publicity.models  # noqa: F401
from application import create_app
from portal import state
from portal.constants import ROOT
from portal.db import Base
from publicity.models import described_by_models
from tests.conftest import config_for_tests, private_pg_schema


def test_alembic_head_matches_models(app: Flask) -> None:
    engine = state.engine(app)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={
            "compare_type": True, "include_name": described_by_models}), Base.metadata)
    assert diff == []


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table at all: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with private_pg_schema("empty") as url:
        yield url


@pytest.mark.parametrize("empty_database", ["sqlite", pytest.param(
    "postgres", marks=pytest.mark.postgres)], indirect=True)
def test_init_migrates_an_empty_database_to_head(empty_database: str, tmp_path: Path) -> None:
    """The other tests start from a template migrated once per run; this one runs every
    migration from nothing, as `portal init` does on a new installation."""
    app = create_app(config_for_tests(tmp_path, empty_database))
    engine = state.engine(app)
    try:
        assert inspect(engine).get_table_names() == []
        result = app.test_cli_runner().invoke(args=["portal", "init"])
        assert result.exit_code == 0, result.output
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == tuple(
                ScriptDirectory(str(ROOT / "migrations")).get_heads())
            diff = compare_metadata(MigrationContext.configure(conn, opts={
                "compare_type": True, "include_name": described_by_models}), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
