"""`flask rank` recomputes rankings outside the request path."""

from __future__ import annotations

from sqlalchemy import select

from advocacy.advocates.models import RankingSnapshot
from tests.factories import make_workspace, put_customers


def test_rank_one_workspace_writes_a_snapshot(app, session, api, workspace):
    put_customers(api, "a", "b")
    result = app.test_cli_runner().invoke(args=["rank", "--workspace", str(workspace.id)])
    assert result.exit_code == 0, result.output
    assert "2 customers" in result.output
    assert "value model: prior (0 past invitations)" in result.output
    snapshot = session.scalar(
        select(RankingSnapshot).where(RankingSnapshot.workspace_id == workspace.id)
    )
    assert snapshot is not None and snapshot.version == 1 and snapshot.customers == 2


def test_rank_without_workspace_ranks_every_workspace(app, session, api, workspace):
    other = make_workspace(session, "Other")
    result = app.test_cli_runner().invoke(args=["rank"])
    assert result.exit_code == 0, result.output
    assert f"workspace {workspace.id}:" in result.output
    assert f"workspace {other.id}:" in result.output


def test_rank_unknown_workspace_fails_cleanly(app, session):
    result = app.test_cli_runner().invoke(args=["rank", "--workspace", "999999"])
    assert result.exit_code != 0
    assert "No workspace 999999" in result.output
