"""expected-value model: each advocate's share probability, the snapshot's model

advocate_scores.share_probability: q(u), the chance the advocate shares (with a positive
word) when asked, which selection multiplies into the activation probabilities; null in
snapshots written before the model existed. ranking_snapshots.model: the value model used
(prior or fitted exponents) and the fit's report (history size, holdout AUC, calibration).

Revision ID: a3c9e1d20b7f
Revises: a7c3e1f09b2d
Create Date: 2026-12-06 01:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a3c9e1d20b7f'
down_revision = 'a7c3e1f09b2d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('advocate_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_probability', sa.Float(), nullable=True))
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.drop_column('model')
    with op.batch_alter_table('advocate_scores', schema=None) as batch_op:
        batch_op.drop_column('share_probability')
