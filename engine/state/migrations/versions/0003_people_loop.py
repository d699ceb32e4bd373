"""the people's loop: extensions, chasing counts, confirmation results, composed messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the columns and the messages table; notices already sent keep no message (they were sent alone)."""
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('chased', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('escalations', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('escalated_on', sa.Date(), nullable=True))
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result', sa.Text(), nullable=True))
    op.create_table(
        'messages',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('plan_id', sa.String(length=128), nullable=False),
        sa.Column('tag', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('attachments', sa.JSON(), nullable=False),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('unknown', sa.Integer(), nullable=False),
        sa.Column('delivered_to', sa.JSON(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_message_day', ['plan_id', 'tag', 'day'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_message_id', ['message_id'], unique=False)
        batch_op.create_foreign_key('fk_outbox_message', 'messages', ['message_id'], ['id'])


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_message', type_='foreignkey')
        batch_op.drop_index('ix_outbox_message_id')
        batch_op.drop_column('message_id')
    op.drop_table('messages')
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.drop_column('result')
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_column('escalated_on')
        batch_op.drop_column('escalations')
        batch_op.drop_column('chased')
        batch_op.drop_column('original_due_on')
