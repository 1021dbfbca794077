"""Alembic from day one: the schema after `upgrade head` is exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

import casework.models  # noqa: F401
import intake.models  # noqa: F401
import publicity.compliance.models  # noqa: F401
import publicity.models  # noqa: F401
from portal import state
from portal.db import Base
from publicity.models import described_by_models


def test_alembic_head_matches_models(app: Flask) -> None:
    engine = state.engine(app)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={
            "compare_type": True, "include_name": described_by_models}), Base.metadata)
    assert diff == []
