"""Assigning advocates or invitees to an experiment's variants, and the offer each one gets.

The variant is drawn by hash (``stats.assign_variant``), so it is the same whichever request
draws it first, and recorded once per (experiment, customer) by INSERT ... ON CONFLICT DO
NOTHING: concurrent requests for one customer write one row and all read that row back.
Writers take a share lock on the experiment row (PostgreSQL), so a redefinition of the
variants (which locks it for update) cannot slip between reading the variants and
recording an assignment. Functions flush, never commit.

When units are assigned:

- ``advocate``: when the advocate is enrolled; one enrolled before the experiment existed,
  when they next ask for a link. An advocate without an assignment (say, sharing a link
  issued before the experiment) gets the campaign's own offer and is not exposed.
- ``invitee``: when a conversion of theirs is attributed to the campaign (at its time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from advocacy.campaigns.models import Campaign
from advocacy.campaigns.rules import Offer
from advocacy.experiments import stats
from advocacy.experiments.models import Experiment, ExperimentAssignment, ExperimentVariant
from advocacy.links.models import ReferralLink
from advocacy.types import DbSession
from advocacy.upserts import insert_ignoring_conflicts

ADVOCATE, INVITEE = "advocate", "invitee"
REWARD_FIELDS = tuple(
    f"{side}_reward_{field}"
    for side in ("inviter", "invitee")
    for field in ("kind", "amount", "currency")
)


@dataclass(frozen=True)
class Arms:
    """An experiment and its variants, in allocation order."""

    experiment: Experiment
    variants: list[ExperimentVariant]

    def draw(self, external_id: str) -> ExperimentVariant:
        weights = [v.weight for v in self.variants]
        return self.variants[
            stats.assign_variant(self.experiment.campaign_id, external_id, weights)
        ]


@dataclass(frozen=True)
class Assigned:
    variant: ExperimentVariant
    new: bool  # recorded by this call (False: recorded before, sticky)


def load_arms(
    session: DbSession, *, campaign_id: int, unit: str | None = None, lock: bool = False
) -> Arms | None:
    """The campaign's experiment (of that unit) with its variants, or None.

    ``lock`` takes FOR KEY SHARE on the experiment row, as every writer of assignments must.
    """
    query = select(Experiment).where(Experiment.campaign_id == campaign_id)
    if unit is not None:
        query = query.where(Experiment.unit == unit)
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    experiment = session.scalar(query)
    if experiment is None:
        return None
    variants = session.scalars(
        select(ExperimentVariant)
        .where(ExperimentVariant.experiment_id == experiment.id)
        .order_by(ExperimentVariant.position)
    )
    return Arms(experiment, list(variants))


def record_assignments(
    session: DbSession, *, arms: Arms, customers: Mapping[int, str], at: datetime
) -> dict[int, Assigned]:
    """Each customer's variant (customer id -> external id in, id -> Assigned out): the
    recorded one, else drawn by hash and recorded at ``at``. Needs ``arms`` loaded with lock."""
    if not customers:
        return {}
    table = ExperimentAssignment.__table__
    experiment = arms.experiment
    inserted = set(
        session.scalars(
            insert_ignoring_conflicts(session, table, ("experiment_id", "customer_id")).returning(
                table.c.customer_id
            ),
            [
                {
                    "workspace_id": experiment.workspace_id,
                    "experiment_id": experiment.id,
                    "variant_id": arms.draw(external_id).id,
                    "customer_id": customer_id,
                    "assigned_at": at,
                }
                for customer_id, external_id in customers.items()
            ],
        )
    )
    # Ours, and those recorded before (or by a concurrent request that committed first).
    recorded = session.execute(
        select(ExperimentAssignment.customer_id, ExperimentAssignment.variant_id).where(
            ExperimentAssignment.experiment_id == experiment.id,
            ExperimentAssignment.customer_id.in_(list(customers)),
        )
    ).tuples()
    by_id = {v.id: v for v in arms.variants}
    return {
        customer_id: Assigned(by_id[variant_id], customer_id in inserted)
        for customer_id, variant_id in recorded
    }


def assign_advocates(
    session: DbSession, *, campaign_id: int, advocates: Mapping[int, str], at: datetime
) -> dict[int, Assigned]:
    """Record the variants of advocates just enrolled or asking for a link, when the
    campaign's experiment assigns advocates; nothing otherwise."""
    arms = load_arms(session, campaign_id=campaign_id, unit=ADVOCATE, lock=True)
    if arms is None or not advocates:
        return {}
    return record_assignments(session, arms=arms, customers=advocates, at=at)


def conversion_offer(
    session: DbSession,
    *,
    campaign: Campaign,
    advocate_id: int,
    invitee_id: int,
    invitee: str,
    at: datetime,
) -> Offer:
    """The offer a conversion attributed to ``campaign`` is rewarded by: the variant of the
    experiment's unit, else the campaign's own. An invitee unit is assigned here, once."""
    unit = session.scalar(select(Experiment.unit).where(Experiment.campaign_id == campaign.id))
    if unit is None:
        return campaign
    if unit == INVITEE:
        arms = load_arms(session, campaign_id=campaign.id, lock=True)
        assert arms is not None, "experiments are never deleted"
        return record_assignments(session, arms=arms, customers={invitee_id: invitee}, at=at)[
            invitee_id
        ].variant
    variant = session.scalar(
        select(ExperimentVariant)
        .join(ExperimentAssignment, ExperimentAssignment.variant_id == ExperimentVariant.id)
        .join(Experiment, Experiment.id == ExperimentAssignment.experiment_id)
        .where(
            Experiment.campaign_id == campaign.id,
            ExperimentAssignment.customer_id == advocate_id,
        )
    )
    return campaign if variant is None else variant


class OfferedCampaign:
    """A campaign as one variant's units see it: the variant's rewards, everything else
    (texts, trigger, disclosure, translations) the campaign's. Read-only: the campaign
    row itself is never touched."""

    def __init__(self, campaign: Campaign, variant: ExperimentVariant) -> None:
        self._campaign = campaign
        for name in REWARD_FIELDS:
            setattr(self, name, getattr(variant, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._campaign, name)


def invitation_offer(session: DbSession, *, campaign: Campaign, link_id: int) -> Any:
    """What the invitation page of a link offers: the advocate's variant when the campaign's
    experiment assigns advocates and has assigned this one, else the campaign itself."""
    variant = session.scalar(
        select(ExperimentVariant)
        .join(ExperimentAssignment, ExperimentAssignment.variant_id == ExperimentVariant.id)
        .join(Experiment, Experiment.id == ExperimentAssignment.experiment_id)
        .join(
            ReferralLink,
            and_(
                ReferralLink.campaign_id == Experiment.campaign_id,
                ReferralLink.advocate_id == ExperimentAssignment.customer_id,
            ),
        )
        .where(ReferralLink.id == link_id, Experiment.unit == ADVOCATE)
    )
    return campaign if variant is None else OfferedCampaign(campaign, variant)
