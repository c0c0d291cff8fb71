"""A selection for a campaign beside the k largest audiences: what follower count would pick.

The chosen set is :func:`~advocacy.campaigns.enrollments.preview_selection` (what enrolling
by the strategy would enroll); the contrast set is the k customers with the most followers.
Both are valued by the same selection service (the follower set through its ``candidates``
with the ``top`` strategy, which counts overlap as the chosen set does), so the two expected
figures answer the same question. People reached are the distinct people who interact with
the set's members (a connection pointing at them), from the connections index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, distinct, func, select

from advocacy.advocates.browse import largest_audiences
from advocacy.advocates.models import AdvocateScore
from advocacy.advocates.service import SelectionView, select_for_campaign
from advocacy.campaigns.enrollments import preview_selection
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import get_campaign
from advocacy.customers.models import Connection, Customer
from advocacy.types import DbSession


@dataclass
class SetSummary:
    """One set of k advocates and what asking them would bring."""

    members: list[dict[str, Any]]
    expected_people: float
    listeners: int = 0
    detractor_listeners: int = 0
    detractor_members: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    campaign: Campaign
    strategy: str
    k: int
    selection: SelectionView
    chosen: SetSummary
    audiences: SetSummary


def compare_selection(
    session: DbSession, *, workspace_id: int, campaign_id: int, strategy: str, k: int
) -> Comparison:
    """The strategy's k picks for the campaign, and the k largest audiences, side by side."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    selection = preview_selection(
        session, workspace_id=workspace_id, campaign_id=campaign_id, strategy=strategy, k=k
    )
    snapshot_id = selection.snapshot.id
    chosen_ids = [pick["external_id"] for pick in selection.advocates]
    chosen = SetSummary(
        members=list(selection.advocates),
        expected_people=float(selection.expected_reach),
        extra=dict(selection.details),
    )
    audiences = largest_audiences(session, workspace_id=workspace_id, k=k)
    askable = [a["external_id"] for a in audiences if a["eligible"]]
    baseline = 0.0
    gains: dict[str, float] = {}
    if askable:
        valued = select_for_campaign(
            session,
            workspace_id=workspace_id,
            k=len(askable),
            objective=campaign.objective,
            strategy="top",
            candidates=askable,
        )
        baseline = float(valued.expected_reach)
        gains = {pick["external_id"]: pick["marginal_gain"] for pick in valued.advocates}
    contrast = SetSummary(
        members=[{**a, "marginal_gain": gains.get(a["external_id"])} for a in audiences],
        expected_people=baseline,
        detractor_members=sum(1 for a in audiences if a["gate"]),
    )
    for summary, ids in ((chosen, chosen_ids), (contrast, [a["external_id"] for a in audiences])):
        summary.listeners, summary.detractor_listeners = _listeners(
            session, workspace_id, snapshot_id, ids
        )
    return Comparison(campaign, strategy, k, selection, chosen, contrast)


def _listeners(
    session: DbSession, workspace_id: int, snapshot_id: int, external_ids: Sequence[str]
) -> tuple[int, int]:
    """Distinct people who interact with any of them, and how many of those are detractors."""
    if not external_ids:
        return 0, 0
    members = select(Customer.id).where(
        Customer.workspace_id == workspace_id, Customer.external_id.in_(list(external_ids))
    )
    row = session.execute(
        select(
            func.count(distinct(Connection.source_id)),
            func.count(distinct(case((AdvocateScore.gate != 0, Connection.source_id)))),
        )
        .select_from(Connection)
        .outerjoin(
            AdvocateScore,
            and_(
                AdvocateScore.snapshot_id == snapshot_id,
                AdvocateScore.customer_id == Connection.source_id,
            ),
        )
        .where(
            Connection.workspace_id == workspace_id,
            Connection.target_id.in_(members),
            Connection.source_id.not_in(members),
        )
    ).one()
    return int(row[0]), int(row[1])
