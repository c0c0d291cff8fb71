"""Everything held about one person (a data subject access request), grouped by kind.

``EXPORT_SOURCES`` says which export group shows the rows of each table that refers to a
customer: the tests check that every such table of the metadata is listed, so a table
added later cannot be left out of the export unnoticed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select

from advocacy.advocates.models import AdvocateScore, RankingSnapshot
from advocacy.advocates.service import get_advocate
from advocacy.campaigns.models import OBJECTIVES, Enrollment
from advocacy.customers.models import Customer, EngagementEvent, Mention
from advocacy.customers.service import get_customer, list_connections
from advocacy.errors import NotFound
from advocacy.experiments.models import Experiment, ExperimentAssignment, ExperimentVariant
from advocacy.kpis.models import Share
from advocacy.links.models import Click, ReferralLink
from advocacy.privacy.erasure import addressed_to, own_clicks
from advocacy.rewards.bookkeeping import customer_balances
from advocacy.rewards.lifecycle import describe_rewards
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.types import DbSession

# Table -> the export groups holding its rows about the person (dotted: nested lists).
EXPORT_SOURCES: dict[str, tuple[str, ...]] = {
    "customers": ("customer",),
    "engagement_events": ("events",),
    "mentions": ("mentions",),
    "connections": ("connections",),
    "conversions": ("conversions",),
    "referrals": ("referrals",),
    "rewards": ("rewards.items",),
    "ledger_accounts": ("rewards.balance",),
    "referral_links": ("links", "invitations"),
    "enrollments": ("enrollments",),
    "experiment_assignments": ("experiment_assignments",),
    "shares": ("shares",),
    "advocate_scores": ("ranking.scores",),
}


def export_customer(session: DbSession, *, workspace_id: int, external_id: str) -> dict[str, Any]:
    """Everything held about one person, grouped by kind (see ``EXPORT_SOURCES``)."""
    customer = get_customer(session, workspace_id=workspace_id, external_id=external_id)
    connections, _ = list_connections(
        session, workspace_id=workspace_id, external_id=external_id, limit=10**9, cursor=None
    )
    rewards = list(
        session.scalars(
            select(Reward).where(Reward.beneficiary_id == customer.id).order_by(Reward.id)
        )
    )
    balances = customer_balances(session, workspace_id, customer.id)
    return {
        "customer": customer,
        "events": _all(session, EngagementEvent, EngagementEvent.customer_id == customer.id),
        "mentions": _all(session, Mention, Mention.customer_id == customer.id),
        "connections": connections,
        "conversions": _all(session, Conversion, Conversion.customer_id == customer.id),
        "referrals": _referrals(session, customer.id),
        "rewards": {
            "balance": [{"unit": unit, "amount": amount} for unit, amount in balances.items()],
            "items": describe_rewards(session, rewards=rewards),
        },
        "links": _links(session, workspace_id, ReferralLink.advocate_id == customer.id),
        "invitations": _links(
            session, workspace_id, addressed_to(customer.id, customer.email_normalized)
        ),
        "enrollments": _all(session, Enrollment, Enrollment.customer_id == customer.id),
        "experiment_assignments": _assignments(session, customer.id),
        "ranking": _ranking(session, workspace_id, customer),
        "shares": _all(session, Share, Share.advocate_id == customer.id),
        "clicks": _clicks(session, workspace_id, customer.id),
    }


def _all(session: DbSession, model: Any, condition: Any) -> list[Any]:
    return list(session.scalars(select(model).where(condition).order_by(model.id)))


def _names(session: DbSession, ids: set[int]) -> dict[int, str]:
    rows = session.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(ids)))
    return {row.id: row.external_id for row in rows}


def _referrals(session: DbSession, customer_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Referral, Conversion.event_id)
        .join(Conversion, Conversion.id == Referral.conversion_id)
        .where(or_(Referral.advocate_id == customer_id, Referral.invitee_id == customer_id))
        .order_by(Referral.id)
    ).all()
    names = _names(session, {r.advocate_id for r, _ in rows} | {r.invitee_id for r, _ in rows})
    return [
        {
            "id": referral.id,
            "role": "inviter" if referral.advocate_id == customer_id else "invitee",
            "campaign_id": referral.campaign_id,
            "event_id": event_id,
            "advocate": names.get(referral.advocate_id),
            "invitee": names.get(referral.invitee_id),
            "evidence": referral.evidence,
            "link_id": referral.link_id,
            "click_id": referral.click_id,
            "touched_at": referral.touched_at,
            "state": referral.state,
            "reason": referral.reason,
            "created_at": referral.created_at,
        }
        for referral, event_id in rows
    ]


def _links(session: DbSession, workspace_id: int, condition: Any) -> list[dict[str, Any]]:
    links = _all(session, ReferralLink, and_(ReferralLink.workspace_id == workspace_id, condition))
    clicks = dict(
        session.execute(
            select(Click.link_id, func.count())
            .where(Click.link_id.in_([link.id for link in links]))
            .group_by(Click.link_id)
        )
        .tuples()
        .all()
    )
    names = _names(
        session,
        {link.advocate_id for link in links}
        | {link.invitee_customer_id for link in links if link.invitee_customer_id},
    )
    return [
        {
            "id": link.id,
            "campaign_id": link.campaign_id,
            "channel": link.channel,
            "advocate": names.get(link.advocate_id),
            "invitee": names.get(link.invitee_customer_id or 0) or link.invitee_email_normalized,
            "token": link.token,
            "created_at": link.created_at,
            "expires_at": link.expires_at,
            "revoked_at": link.revoked_at,
            "clicks": int(clicks.get(link.id, 0)),
        }
        for link in links
    ]


def _assignments(session: DbSession, customer_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            ExperimentAssignment, Experiment.campaign_id, Experiment.unit, ExperimentVariant.name
        )
        .join(Experiment, Experiment.id == ExperimentAssignment.experiment_id)
        .join(ExperimentVariant, ExperimentVariant.id == ExperimentAssignment.variant_id)
        .where(ExperimentAssignment.customer_id == customer_id)
        .order_by(ExperimentAssignment.id)
    ).all()
    return [
        {
            "campaign_id": campaign_id,
            "experiment_id": assignment.experiment_id,
            "unit": unit,
            "variant": variant,
            "assigned_at": assignment.assigned_at,
        }
        for assignment, campaign_id, unit, variant in rows
    ]


def _ranking(session: DbSession, workspace_id: int, customer: Customer) -> dict[str, Any]:
    """Their scores in every kept snapshot, and the latest one explained per objective."""
    snapshots = session.execute(
        select(RankingSnapshot.version, RankingSnapshot.computed_at, AdvocateScore)
        .join(AdvocateScore, AdvocateScore.snapshot_id == RankingSnapshot.id)
        .where(
            RankingSnapshot.workspace_id == workspace_id,
            AdvocateScore.customer_id == customer.id,
        )
        .order_by(RankingSnapshot.version)
    ).all()
    scores = [
        {
            "snapshot_version": version,
            "computed_at": computed_at,
            "eligible": score.eligible,
            "components": {
                name: getattr(score, name)
                for name in ("engagement", "sentiment", "influence", "reach", "track_record")
            },
            "scores": {o: getattr(score, f"score_{o}") for o in OBJECTIVES},
            "ranks": {o: getattr(score, f"rank_{o}") for o in OBJECTIVES},
        }
        for version, computed_at, score in snapshots
    ]
    explained: dict[str, Any] = {}
    for objective in OBJECTIVES if scores else ():
        try:
            _, view = get_advocate(
                session,
                workspace_id=workspace_id,
                external_id=customer.external_id,
                objective=objective,
            )
        except NotFound:  # not in the latest snapshot (a customer added since)
            break
        explained[objective] = {
            "rank": view.rank,
            "score": view.score,
            "eligible": view.eligible,
            "gates": view.gates,
            "reasons": view.reasons,
        }
    return {"scores": scores, "latest": explained}


def _clicks(session: DbSession, workspace_id: int, customer_id: int) -> list[dict[str, Any]]:
    """Their own visits (see ``own_clicks``); others' visits to their links are counted
    under links."""
    rows = session.scalars(
        select(Click).where(own_clicks(workspace_id, customer_id)).order_by(Click.id)
    )
    return [
        {
            "id": click.id,
            "campaign_id": click.campaign_id,
            "link_id": click.link_id,
            "visitor_id": click.visitor_id,
            "ip_hash": click.ip_hash,
            "user_agent": click.user_agent,
            "unique_visit": click.unique_visit,
            "clicked_at": click.clicked_at,
        }
        for click in rows
    ]
