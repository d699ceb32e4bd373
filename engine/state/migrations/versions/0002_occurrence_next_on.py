"""occurrence next_on (the tick reads only what is due), indexes for status and timeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add occurrences.next_on and the indexes; active rows are re-checked at the next tick."""
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_occurrence_next', ['plan_id', 'next_on'], unique=False)
    # Rows written before this revision: let the next tick look at every active one once (it skips effects
    # already in the audit log, so nothing is sent twice).
    op.execute("UPDATE occurrences SET next_on = opens_on WHERE status IN ('scheduled', 'open', 'overdue')")
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.create_index('ix_confirmation_plan', ['plan_id', 'step_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_plan', ['plan_id', 'step_id', 'occurrence_key'], unique=False)


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_plan')
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.drop_index('ix_confirmation_plan')
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_index('ix_occurrence_next')
        batch_op.drop_column('next_on')
