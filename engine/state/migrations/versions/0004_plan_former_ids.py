"""plans.former_ids: the ids a plan's history was kept under before its id stopped being its file name

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the column. A migration cannot know the new ids (they come from the plan files): the rows of a plan
    stay under its file name until the plan is next used, when engine.state.rekey moves them to its id."""
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('former_ids', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop it (rows already moved to the new ids stay there)."""
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('former_ids')
