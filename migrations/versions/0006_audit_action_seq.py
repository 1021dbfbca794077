"""audit_entry (action, seq): the newest entry of an action in one index lookup

Every public page keys its cache on the calendar's revision, the newest calendar audit entry;
with an index on action alone that lookup scanned the log (220 ms at 1M entries on SQLite).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 00:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_action')
        batch_op.create_index('ix_audit_entry_action_seq', ['action', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_action_seq')
        batch_op.create_index('ix_audit_entry_action', ['action'], unique=False)
