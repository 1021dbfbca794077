"""publicity

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:08:00.768533
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('letter_address', sa.String(length=300), nullable=False),
    sa.Column('visit_address', sa.String(length=300), nullable=False),
    sa.Column('requested_start', sa.Date(), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('editors', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('published_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.Column('withdrawn_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('editor_note', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_archive_order', ['period_start', 'id'], unique=False)
        batch_op.create_index('ix_notice_public_order', ['status', 'period_start', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_updated_at'), ['updated_at'], unique=False)

    op.create_table('publicity_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('changed_at', portal.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publicity_revision'))
    )
    op.create_table('notice_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('substantive', sa.Boolean(), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('proposed_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('published_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('new_period_start', sa.Date(), nullable=True),
    sa.Column('new_period_end', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_change_notice_id_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_change'))
    )
    with op.batch_alter_table('notice_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_change_notice_id'), ['notice_id'], unique=False)

    op.create_table('notice_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('gender', sa.String(length=4), nullable=False),
    sa.Column('ethnicity', sa.String(length=20), nullable=False),
    sa.Column('birth', sa.String(length=7), nullable=False),
    sa.Column('native_place', sa.String(length=100), nullable=False),
    sa.Column('education', sa.String(length=100), nullable=False),
    sa.Column('work_start', sa.String(length=7), nullable=False),
    sa.Column('party', sa.String(length=30), nullable=False),
    sa.Column('current_post', sa.String(length=200), nullable=False),
    sa.Column('proposed_post', sa.String(length=200), nullable=False),
    sa.Column('exceptional', sa.Boolean(), nullable=False),
    sa.Column('exceptional_circumstance', sa.String(length=300), nullable=True),
    sa.Column('exceptional_reason', sa.Text(), nullable=True),
    sa.Column('resume', sa.Text(), nullable=True),
    sa.Column('cadre_id', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('outcome_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('objections_open', sa.Integer(), nullable=False),
    sa.Column('objections_total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_person_notice_id_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_person'))
    )
    with op.batch_alter_table('notice_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_person_cadre_id'), ['cadre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_person_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_person_notice_id'), ['notice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notice_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_person_notice_id'))
        batch_op.drop_index(batch_op.f('ix_notice_person_name'))
        batch_op.drop_index(batch_op.f('ix_notice_person_cadre_id'))

    op.drop_table('notice_person')
    with op.batch_alter_table('notice_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_change_notice_id'))

    op.drop_table('notice_change')
    op.drop_table('publicity_revision')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_updated_at'))
        batch_op.drop_index(batch_op.f('ix_notice_status'))
        batch_op.drop_index('ix_notice_public_order')
        batch_op.drop_index('ix_notice_archive_order')

    op.drop_table('notice')
