"""The database records which instance secrets it belongs to (#22, item 1)

Adds instance_marker: per secret family (secret_key, receipt_pepper, pubkey_mac_key,
audit_mac_key) a MAC of a fixed label under that secret (portal.marker). `portal init` writes
it after migrating, and so does the first start of an upgraded installation; an app server or a
command whose secret files do not give the same MACs refuses to run.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instance_marker',
        sa.Column('family', sa.String(length=32), nullable=False),
        sa.Column('tag', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('family', name=op.f('pk_instance_marker')),
    )


def downgrade() -> None:
    op.drop_table('instance_marker')
