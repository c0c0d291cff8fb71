"""referrals.click_id without a foreign key

Clicks are written behind the redirect (CLICK_FLUSH_MS): a click's id is reserved from the
sequence and named by the attribution cookie before its row reaches the table. A
conversion reported in that moment is attributed to the click the cookie names, so the
referral may name a click whose row is still on its way; the foreign key would refuse it.

Revision ID: a7c3e1f09b2d
Revises: 59b862a3d81a
Create Date: 2026-12-06 01:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c3e1f09b2d'
down_revision = '59b862a3d81a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_referrals_click_id_clicks'), type_='foreignkey')


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_referrals_click_id_clicks'), 'clicks', ['click_id'], ['id']
        )
