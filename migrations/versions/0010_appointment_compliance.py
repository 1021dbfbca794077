"""Appointment compliance: terms, settings, a record per notice with its nominees, overrides

The county plan's limits on appointments (publicity.compliance). Notices published before this
migration have no record; supervisors see how many.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 04:15:08.696738
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('appointment_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('leadership_posts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_term')),
    sa.UniqueConstraint('name', name=op.f('uq_appointment_term_name'))
    )
    op.create_table('compliance_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thresholds', sa.JSON(), nullable=False),
    sa.Column('show_attendance', sa.Boolean(), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_settings'))
    )
    op.create_table('compliance_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by_user', sa.Integer(), nullable=True),
    sa.Column('by_name', sa.String(length=64), nullable=False),
    sa.Column('at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_compliance_override_notice_id_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_override'))
    )
    with op.batch_alter_table('compliance_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_override_notice_id'), ['notice_id'], unique=False)

    op.create_table('compliance_record',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('batch_kind', sa.String(length=16), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('meeting_body', sa.String(length=16), nullable=False),
    sa.Column('meeting_date', sa.Date(), nullable=False),
    sa.Column('members_in_office', sa.Integer(), nullable=False),
    sa.Column('members_present', sa.Integer(), nullable=False),
    sa.Column('ballot_date', sa.Date(), nullable=True),
    sa.Column('ballot_in_office', sa.Integer(), nullable=True),
    sa.Column('ballot_present', sa.Integer(), nullable=True),
    sa.Column('prefecture_approval_ref', sa.String(length=100), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_compliance_record_notice_id_notice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['term_id'], ['appointment_term.id'], name=op.f('fk_compliance_record_term_id_appointment_term')),
    sa.PrimaryKeyConstraint('notice_id', name=op.f('pk_compliance_record'))
    )
    with op.batch_alter_table('compliance_record', schema=None) as batch_op:
        batch_op.create_index('ix_compliance_record_meeting', ['meeting_date'], unique=False)
        batch_op.create_index('ix_compliance_record_term_kind', ['term_id', 'batch_kind'], unique=False)

    op.create_table('compliance_nominee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('proposed_post', sa.String(length=200), nullable=False),
    sa.Column('promotion', sa.Boolean(), nullable=False),
    sa.Column('nominated_by', sa.String(length=16), nullable=False),
    sa.Column('nominator', sa.String(length=100), nullable=True),
    sa.Column('relationship', sa.String(length=16), nullable=True),
    sa.Column('reserve_pool', sa.Boolean(), nullable=False),
    sa.Column('vote_share_bp', sa.Integer(), nullable=True),
    sa.Column('inspection', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('objections', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('prefecture_review_ref', sa.String(length=100), nullable=True),
    sa.Column('important_post', sa.Boolean(), nullable=False),
    sa.Column('ballot_for', sa.Integer(), nullable=True),
    sa.Column('ballot_against', sa.Integer(), nullable=True),
    sa.Column('ballot_abstain', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['compliance_record.notice_id'], name=op.f('fk_compliance_nominee_record_id_compliance_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_nominee'))
    )
    with op.batch_alter_table('compliance_nominee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_nominee_cadre_id'), ['cadre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_nominee_record_id'), ['record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('compliance_nominee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_nominee_record_id'))
        batch_op.drop_index(batch_op.f('ix_compliance_nominee_cadre_id'))

    op.drop_table('compliance_nominee')
    with op.batch_alter_table('compliance_record', schema=None) as batch_op:
        batch_op.drop_index('ix_compliance_record_term_kind')
        batch_op.drop_index('ix_compliance_record_meeting')

    op.drop_table('compliance_record')
    with op.batch_alter_table('compliance_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_override_notice_id'))

    op.drop_table('compliance_override')
    op.drop_table('compliance_settings')
    op.drop_table('appointment_term')
