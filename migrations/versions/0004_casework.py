"""casework

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 15:27:07.591909
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_sent',
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('last_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_digest_sent_queue_id_queue')),
    sa.PrimaryKeyConstraint('queue_id', name=op.f('pk_digest_sent'))
    )
    op.create_table('case_deadline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('extended_days', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('due_ordinal', sa.Integer(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.Column('met_ordinal', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_deadline_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_case_deadline_queue_id_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_deadline'))
    )
    with op.batch_alter_table('case_deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_deadline_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_deadline_due_ordinal'), ['due_ordinal'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_deadline_queue_id'), ['queue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_deadline_state'), ['state'], unique=False)
        batch_op.create_index('ix_deadline_due_stats', ['kind', 'due_on', 'state', 'met_on', 'queue_id'], unique=False)
        batch_op.create_index('ix_deadline_met_stats', ['kind', 'state', 'met_on', 'queue_id', 'due_ordinal', 'working_days', 'extended_days', 'met_ordinal'], unique=False)
        batch_op.create_index('ix_deadline_open', ['state', 'due_on', 'queue_id', 'case_id'], unique=False)

    op.create_table('case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('reason', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], name=op.f('fk_case_event_actor_id_staff_user')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_event_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_case_event_queue_id_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event')),
    sa.UniqueConstraint('uid', name=op.f('uq_case_event_uid'))
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index('ix_case_event_action_at', ['action', 'at', 'queue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)

    op.create_table('case_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], name=op.f('fk_case_feedback_actor_id_staff_user')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_feedback_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_feedback'))
    )
    with op.batch_alter_table('case_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_feedback_case_id'), ['case_id'], unique=False)

    op.create_table('case_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('from_queue_id', sa.Integer(), nullable=False),
    sa.Column('to_queue_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], name=op.f('fk_case_transfer_actor_id_staff_user')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_transfer_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_queue_id'], ['queue.id'], name=op.f('fk_case_transfer_from_queue_id_queue')),
    sa.ForeignKeyConstraint(['to_queue_id'], ['queue.id'], name=op.f('fk_case_transfer_to_queue_id_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_transfer'))
    )
    with op.batch_alter_table('case_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_transfer_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_transfer_from_queue_id'), ['from_queue_id'], unique=False)

    op.create_table('person_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_person_index_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_person_index_queue_id_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_index'))
    )
    with op.batch_alter_table('person_index', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_index_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_person_index_queue_token', ['queue_id', 'token'], unique=False)

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('disposition', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('refusal_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('finding', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('outside_body', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('accepted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('concluded_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pending_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('pending_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pending_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_due_ordinal', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_due_kind', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('next_due_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('purged', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('epoch_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('keys_wrap',
               existing_type=sa.LargeBinary(),
               nullable=True)
        batch_op.alter_column('identity_wrap',
               existing_type=sa.LargeBinary(),
               nullable=True)
        batch_op.alter_column('identity_public_key',
               existing_type=sa.LargeBinary(),
               nullable=True)
        batch_op.alter_column('identity_public_key_mac',
               existing_type=sa.LargeBinary(),
               nullable=True)
        batch_op.create_index('ix_case_accepted_stats', ['accepted_on', 'queue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_closed_on'), ['closed_on'], unique=False)
        batch_op.create_index('ix_case_closed_stats', ['closed_on', 'queue_id', 'state'], unique=False)
        batch_op.create_index('ix_case_concluded_stats', ['concluded_on', 'queue_id', 'finding', 'assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_next_due_ordinal'), ['next_due_ordinal'], unique=False)
        batch_op.create_index('ix_case_received_stats', ['received_on', 'queue_id', 'channel', 'real_name'], unique=False)
        batch_op.create_index('ix_case_state_queue', ['state', 'queue_id', 'assignee_id', 'next_due_on'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_case_duplicate_of_id_case'), 'case', ['duplicate_of_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_case_assignee_id_staff_user'), 'staff_user', ['assignee_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_case_pending_by_id_staff_user'), 'staff_user', ['pending_by_id'], ['id'])

    with op.batch_alter_table('queue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispositions', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('decision_days', sa.Integer(), nullable=False, server_default='15'))
        batch_op.add_column(sa.Column('transfer_days', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('conclusion_days', sa.Integer(), nullable=False, server_default='60'))
        batch_op.add_column(sa.Column('notice_days', sa.Integer(), nullable=False, server_default='15'))
        batch_op.add_column(sa.Column('signoff_required', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('rotation_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('notified_case_id', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('queue', schema=None) as batch_op:
        batch_op.drop_column('notified_case_id')
        batch_op.drop_column('rotation_pending')
        batch_op.drop_column('signoff_required')
        batch_op.drop_column('notice_days')
        batch_op.drop_column('conclusion_days')
        batch_op.drop_column('transfer_days')
        batch_op.drop_column('decision_days')
        batch_op.drop_column('dispositions')

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_pending_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_case_assignee_id_staff_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_case_duplicate_of_id_case'), type_='foreignkey')
        batch_op.drop_index('ix_case_state_queue')
        batch_op.drop_index('ix_case_received_stats')
        batch_op.drop_index(batch_op.f('ix_case_next_due_ordinal'))
        batch_op.drop_index('ix_case_concluded_stats')
        batch_op.drop_index('ix_case_closed_stats')
        batch_op.drop_index(batch_op.f('ix_case_closed_on'))
        batch_op.drop_index(batch_op.f('ix_case_assignee_id'))
        batch_op.drop_index('ix_case_accepted_stats')
        batch_op.alter_column('identity_public_key_mac',
               existing_type=sa.LargeBinary(),
               nullable=False)
        batch_op.alter_column('identity_public_key',
               existing_type=sa.LargeBinary(),
               nullable=False)
        batch_op.alter_column('identity_wrap',
               existing_type=sa.LargeBinary(),
               nullable=False)
        batch_op.alter_column('keys_wrap',
               existing_type=sa.LargeBinary(),
               nullable=False)
        batch_op.alter_column('epoch_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('purged')
        batch_op.drop_column('next_due_provisional')
        batch_op.drop_column('next_due_kind')
        batch_op.drop_column('next_due_ordinal')
        batch_op.drop_column('next_due_on')
        batch_op.drop_column('pending_detail')
        batch_op.drop_column('pending_by_id')
        batch_op.drop_column('pending_state')
        batch_op.drop_column('closed_on')
        batch_op.drop_column('concluded_on')
        batch_op.drop_column('accepted_on')
        batch_op.drop_column('duplicate_of_id')
        batch_op.drop_column('outside_body')
        batch_op.drop_column('finding')
        batch_op.drop_column('refusal_reason')
        batch_op.drop_column('disposition')
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('person_index', schema=None) as batch_op:
        batch_op.drop_index('ix_person_index_queue_token')
        batch_op.drop_index(batch_op.f('ix_person_index_case_id'))

    op.drop_table('person_index')
    with op.batch_alter_table('case_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_transfer_from_queue_id'))
        batch_op.drop_index(batch_op.f('ix_case_transfer_case_id'))

    op.drop_table('case_transfer')
    with op.batch_alter_table('case_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_feedback_case_id'))

    op.drop_table('case_feedback')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))
        batch_op.drop_index('ix_case_event_action_at')

    op.drop_table('case_event')
    with op.batch_alter_table('case_deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_open')
        batch_op.drop_index('ix_deadline_met_stats')
        batch_op.drop_index('ix_deadline_due_stats')
        batch_op.drop_index(batch_op.f('ix_case_deadline_state'))
        batch_op.drop_index(batch_op.f('ix_case_deadline_queue_id'))
        batch_op.drop_index(batch_op.f('ix_case_deadline_due_ordinal'))
        batch_op.drop_index(batch_op.f('ix_case_deadline_case_id'))

    op.drop_table('case_deadline')
    op.drop_table('digest_sent')
