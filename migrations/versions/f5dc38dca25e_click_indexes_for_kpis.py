"""click indexes for KPIs

Index-only scans for the KPI queries (see advocacy/kpis/activity.py):

- ix_clicks_campaign_time also carries link_id and visitor_id: a campaign's clicks per period;
- ix_clicks_link_time (new): an advocate's clicks in a range, link by link;
- ix_clicks_campaign_visitor (new): a campaign's visitors in order, so distinct visitors are
  counted without a sort. The click path's unique-visit check (campaign, visitor, since) uses
  it as well, instead of scanning all of ix_clicks_link_visitor.

On PostgreSQL the indexes are built CONCURRENTLY, so clicks keep being recorded meanwhile; the
replaced index keeps its name (the new one is built beside it, then swapped in). SQLite has no
INCLUDE: there the new indexes are plain and ix_clicks_campaign_time is unchanged.

Revision ID: f5dc38dca25e
Revises: eb1bcc069959
Create Date: 2026-11-24 12:47:01.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f5dc38dca25e'
down_revision = 'eb1bcc069959'
branch_labels = None
depends_on = None

# name, key columns, INCLUDE columns
NEW = (
    ("ix_clicks_link_time", ["link_id", "clicked_at"], ["visitor_id"]),
    ("ix_clicks_campaign_visitor", ["campaign_id", "visitor_id", "clicked_at"], ["workspace_id"]),
)
COVERED = ("ix_clicks_campaign_time", ["workspace_id", "campaign_id", "clicked_at"])


def _rebuild(include):
    """ix_clicks_campaign_time with ``include``, without blocking writes to clicks."""
    name, columns = COVERED
    op.create_index(
        f"{name}_swap", "clicks", columns, postgresql_include=include, postgresql_concurrently=True
    )
    op.drop_index(name, table_name="clicks", postgresql_concurrently=True)
    op.execute(f"ALTER INDEX {name}_swap RENAME TO {name}")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        for name, columns, _ in NEW:
            op.create_index(name, "clicks", columns)
        return
    with op.get_context().autocommit_block():
        for name, columns, include in NEW:
            op.create_index(
                name, "clicks", columns, postgresql_include=include, postgresql_concurrently=True
            )
        _rebuild(["link_id", "visitor_id"])


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        for name, _, _ in NEW:
            op.drop_index(name, table_name="clicks")
        return
    with op.get_context().autocommit_block():
        _rebuild([])
        for name, _, _ in NEW:
            op.drop_index(name, table_name="clicks", postgresql_concurrently=True)
