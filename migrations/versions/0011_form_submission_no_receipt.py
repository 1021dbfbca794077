"""A used form token keeps no receipt: a resend says "already filed" and shows none

Drops form_submission.receipt_box (the receipt boxed under the form token, kept to show it once
more on a resend). Rows are swept after a day; any boxed receipt left goes with the column.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_column('receipt_box')


def downgrade() -> None:
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_box', sa.LargeBinary(), nullable=True))
