"""parent and child plans: a plan's row records the plan it carries out and how

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the links (set by each plan's next tick; plans without a parent keep NULL)."""
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('links', sa.JSON(), nullable=True))
        batch_op.create_index('ix_plan_parent', ['parent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_parent')
        batch_op.drop_column('links')
        batch_op.drop_column('parent_id')
