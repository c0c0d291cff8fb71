"""rewards due: a partial index of pending rewards

The approval job's queue (pending rewards by due time) becomes a partial index: rewards
approved as written never enter it, and counts of live rewards can no longer pick it as
a way in (without planner statistics they did, reading every live reward per referral).

Revision ID: 7c1d2e9a4b55
Revises: 193c6e3effb3
Create Date: 2026-12-06 07:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1d2e9a4b55'
down_revision = '193c6e3effb3'
branch_labels = None
depends_on = None

_PENDING = sa.text("state = 'pending'")


def upgrade():
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_index('ix_rewards_due')
        batch_op.create_index(
            'ix_rewards_due',
            ['approve_after', 'id'],
            unique=False,
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        )


def downgrade():
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_index('ix_rewards_due')
        batch_op.create_index('ix_rewards_due', ['state', 'approve_after'], unique=False)
