"""deadline took_days: the working days a met clock ran, stored for the dashboard

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('took_days', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_deadline_met_stats')
    op.execute("UPDATE case_deadline SET took_days = "
               "met_ordinal - (due_ordinal - working_days - extended_days) "
               "WHERE met_ordinal IS NOT NULL")
    with op.batch_alter_table('case_deadline', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_met_stats',
                              ['kind', 'state', 'met_on', 'took_days', 'queue_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_met_stats')
        batch_op.drop_column('took_days')
        batch_op.create_index('ix_deadline_met_stats',
                              ['kind', 'state', 'met_on', 'queue_id', 'due_ordinal',
                               'working_days', 'extended_days', 'met_ordinal'], unique=False)
