"""Reporter rows get random ids; reporter audit events wait for their hour to end (#21, item 7)

* ``audit_pending``: reporter events held until their hour is over, then appended to the audit
  chain together (portal.audit.flush_held), so their place among staff entries says nothing
  finer than the hour. Random 64-bit ids (on SQLite the id is the rowid: no hidden order).
* ``case_entry.id``, ``evidence_file.id`` (and ``evidence_chunk.file_id``), ``case_deadline.id``
  and ``person_index.id`` become 64-bit on PostgreSQL: the application now gives new rows
  random ids (above 2**40, so above every id handed out before). SQLite's INTEGER already holds
  64 bits: nothing to change there. Existing rows keep their ids (docs/security.md, #21.7:
  rows written before the upgrade keep the order they were written in).

The downgrade drops ``audit_pending`` (held events not yet in the chain are lost with it) and,
on PostgreSQL, narrows the ids back to 32 bits, which fails once a random id was given out.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# (table, column) made 64-bit on PostgreSQL; the referenced key before the column that refers
# to it is not needed (PostgreSQL compares int4 with int8), but both are widened together.
WIDENED = (("case_entry", "id"), ("evidence_file", "id"), ("evidence_chunk", "file_id"),
           ("case_deadline", "id"), ("person_index", "id"))


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('hour', portal.db.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending'))
    )
    with op.batch_alter_table('audit_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_pending_hour'), ['hour'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table, column in WIDENED:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(),
                            existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in reversed(WIDENED):
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(),
                            existing_nullable=False)
    with op.batch_alter_table('audit_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_pending_hour'))
    op.drop_table('audit_pending')
