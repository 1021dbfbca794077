"""intake

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 13:06:32.711212
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counter',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_case_counter'))
    )
    op.create_table('form_submission',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('receipt_box', sa.LargeBinary(), nullable=True),
    sa.Column('created_hour', portal.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_form_submission'))
    )
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submission_created_hour'), ['created_hour'], unique=False)

    op.create_table('queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=32), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('member_roles', sa.String(length=200), nullable=False),
    sa.Column('head_role', sa.String(length=32), nullable=False),
    sa.Column('is_escalation', sa.Boolean(), nullable=False),
    sa.Column('current_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue')),
    sa.UniqueConstraint('slug', name=op.f('uq_queue_slug'))
    )
    op.create_table('recovery_key',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('public_key_mac', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_key'))
    )
    op.create_table('category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('subtypes', sa.Text(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_category_queue_id_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category')),
    sa.UniqueConstraint('code', name=op.f('uq_category_code'))
    )
    op.create_table('queue_epoch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('public_key_mac', sa.LargeBinary(), nullable=False),
    sa.Column('recovery_wrap', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_queue_epoch_queue_id_queue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_epoch')),
    sa.UniqueConstraint('queue_id', 'epoch', name=op.f('uq_queue_epoch_queue_id'))
    )
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('case_no', sa.String(length=20), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('real_name', sa.Boolean(), nullable=False),
    sa.Column('concerns_leader', sa.Boolean(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('notice_person_id', sa.Integer(), nullable=True),
    sa.Column('received_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('epoch_id', sa.Integer(), nullable=False),
    sa.Column('keys_wrap', sa.LargeBinary(), nullable=False),
    sa.Column('identity_wrap', sa.LargeBinary(), nullable=False),
    sa.Column('identity_public_key', sa.LargeBinary(), nullable=False),
    sa.Column('identity_public_key_mac', sa.LargeBinary(), nullable=False),
    sa.Column('receipt_lookup', sa.String(length=64), nullable=True),
    sa.Column('receipt_salt', sa.LargeBinary(), nullable=True),
    sa.Column('reporter_box', sa.LargeBinary(), nullable=True),
    sa.Column('unread_replies', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_case_category_id_category')),
    sa.ForeignKeyConstraint(['epoch_id'], ['queue_epoch.id'], name=op.f('fk_case_epoch_id_queue_epoch')),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_case_notice_id_notice')),
    sa.ForeignKeyConstraint(['notice_person_id'], ['notice_person.id'], name=op.f('fk_case_notice_person_id_notice_person')),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_case_queue_id_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case')),
    sa.UniqueConstraint('case_no', name=op.f('uq_case_case_no')),
    sa.UniqueConstraint('receipt_lookup', name=op.f('uq_case_receipt_lookup')),
    sa.UniqueConstraint('uid', name=op.f('uq_case_uid'))
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_queue_id'), ['queue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_state'), ['state'], unique=False)

    op.create_table('queue_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_generation', sa.Integer(), nullable=False),
    sa.Column('wrap', sa.LargeBinary(), nullable=False),
    sa.Column('granted_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['epoch_id'], ['queue_epoch.id'], name=op.f('fk_queue_grant_epoch_id_queue_epoch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_queue_grant_user_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_grant')),
    sa.UniqueConstraint('epoch_id', 'user_id', name=op.f('uq_queue_grant_epoch_id'))
    )
    with op.batch_alter_table('queue_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_grant_user_id'), ['user_id'], unique=False)

    op.create_table('case_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], name=op.f('fk_case_entry_author_id_staff_user')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_entry_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_entry')),
    sa.UniqueConstraint('uid', name=op.f('uq_case_entry_uid'))
    )
    with op.batch_alter_table('case_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_entry_case_id'), ['case_id'], unique=False)

    op.create_table('evidence_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('from_reporter', sa.Boolean(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('meta', sa.LargeBinary(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_evidence_file_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_file')),
    sa.UniqueConstraint('uid', name=op.f('uq_evidence_file_uid'))
    )
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_file_case_id'), ['case_id'], unique=False)

    op.create_table('reporter_session',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('key_box', sa.LargeBinary(), nullable=False),
    sa.Column('created_hour', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_reporter_session_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_reporter_session'))
    )
    with op.batch_alter_table('reporter_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporter_session_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reporter_session_created_hour'), ['created_hour'], unique=False)

    op.create_table('evidence_chunk',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['evidence_file.id'], name=op.f('fk_evidence_chunk_file_id_evidence_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'idx', name=op.f('pk_evidence_chunk'))
    )


def downgrade() -> None:
    op.drop_table('evidence_chunk')
    with op.batch_alter_table('reporter_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporter_session_created_hour'))
        batch_op.drop_index(batch_op.f('ix_reporter_session_case_id'))

    op.drop_table('reporter_session')
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_file_case_id'))

    op.drop_table('evidence_file')
    with op.batch_alter_table('case_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_entry_case_id'))

    op.drop_table('case_entry')
    with op.batch_alter_table('queue_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_grant_user_id'))

    op.drop_table('queue_grant')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_state'))
        batch_op.drop_index(batch_op.f('ix_case_received_on'))
        batch_op.drop_index(batch_op.f('ix_case_queue_id'))
        batch_op.drop_index(batch_op.f('ix_case_notice_id'))

    op.drop_table('case')
    op.drop_table('queue_epoch')
    op.drop_table('category')
    op.drop_table('recovery_key')
    op.drop_table('queue')
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submission_created_hour'))

    op.drop_table('form_submission')
    op.drop_table('case_counter')
