"""case.urgency: the queue list reads its page off an index instead of sorting the queue

The queue list ordered a queue's cases by coalesce(next_due_ordinal, 2**31 - 1), id: no index
has that order, so every first page sorted the whole queue (1.3 s at 1M cases on SQLite,
1.4 s on PostgreSQL). case.urgency stores that value (never NULL: 2**31 - 1 while no clock
runs), written with next_due_ordinal, and the list walks (queue_id, urgency, id), or
(queue_id, state, urgency, id) when filtered by state, reading about one page of rows. The
filter "unread replies", which matches few cases, has a partial index of its own. The indexes
on queue_id alone (a prefix of the new one) and on next_due_ordinal (no query left) go.

With it, for the supervision dashboard: ix_case_closed_stats leads with the state, so the
cases refused, withdrawn or sent outside in a period are three short ranges of it instead of
every case closed in the period.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# As casework.models.NO_DUE when this was written: a migration never imports the models.
_NO_DUE = '2147483647'
_UNREAD = 'unread_replies > 0'


def upgrade() -> None:
    # A constant default: neither database rewrites the table to add the column.
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency', sa.Integer(), nullable=False,
                                      server_default=_NO_DUE))
    op.execute('UPDATE "case" SET urgency = next_due_ordinal '
               'WHERE next_due_ordinal IS NOT NULL')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_queue_urgency', ['queue_id', 'urgency', 'id'],
                              unique=False)
        batch_op.create_index('ix_case_queue_state_urgency',
                              ['queue_id', 'state', 'urgency', 'id'], unique=False)
        batch_op.create_index('ix_case_queue_unread', ['queue_id', 'urgency', 'id'],
                              unique=False, sqlite_where=sa.text(_UNREAD),
                              postgresql_where=sa.text(_UNREAD))
        batch_op.drop_index('ix_case_queue_id')
        batch_op.drop_index('ix_case_next_due_ordinal')
        batch_op.drop_index('ix_case_closed_stats')
        batch_op.create_index('ix_case_closed_stats', ['state', 'closed_on', 'queue_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_closed_stats')
        batch_op.create_index('ix_case_closed_stats', ['closed_on', 'queue_id', 'state'],
                              unique=False)
        batch_op.create_index('ix_case_next_due_ordinal', ['next_due_ordinal'], unique=False)
        batch_op.create_index('ix_case_queue_id', ['queue_id'], unique=False)
        batch_op.drop_index('ix_case_queue_unread')
        batch_op.drop_index('ix_case_queue_state_urgency')
        batch_op.drop_index('ix_case_queue_urgency')
    # Not in batch mode: on SQLite that copies the table, and with foreign keys on, dropping
    # the old copy deletes every row that cascades from a case. SQLite 3.35+ drops in place.
    op.drop_column('case', 'urgency')
