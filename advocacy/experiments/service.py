"""Defining a campaign's experiment, assigning advocates to variants, and its results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, distinct, func, select

from advocacy.campaigns.models import Enrollment
from advocacy.campaigns.rules import reward_terms
from advocacy.customers.models import Customer
from advocacy.errors import Conflict, NotFound, Unprocessable, found
from advocacy.experiments import stats
from advocacy.experiments.assignment import ADVOCATE, Assigned, load_arms, record_assignments
from advocacy.experiments.models import Experiment, ExperimentAssignment, ExperimentVariant
from advocacy.experiments.rules import SIDES, variant_problems
from advocacy.kpis.service import campaign_currency, get_campaign
from advocacy.rewards.models import Conversion, Referral
from advocacy.rewards.rules import REFERRAL_REJECTED
from advocacy.types import DbSession


def _experiment(session: DbSession, workspace_id: int, campaign_id: int) -> Experiment:
    get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    experiment = session.scalar(select(Experiment).where(Experiment.campaign_id == campaign_id))
    return found(experiment, "This campaign has no experiment.")


def _variants(session: DbSession, experiment_id: int) -> list[ExperimentVariant]:
    return list(
        session.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment_id)
            .order_by(ExperimentVariant.position)
        )
    )


def _reward_columns(variant: dict[str, Any]) -> dict[str, Any]:
    columns = {}
    for side in SIDES:
        reward = variant[f"{side}_reward"] or {}
        for field in ("kind", "amount", "currency"):
            columns[f"{side}_reward_{field}"] = reward.get(field)
    return columns


def define_experiment(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    unit: str,
    variants: Sequence[dict[str, Any]],
    min_sample: int,
) -> Experiment:
    """Create or replace the experiment; refused once anyone has been assigned, and once the
    campaign has ended (its offer is final)."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    if campaign.status == "ended":
        raise Conflict("The campaign has ended: its offer is final, so is its experiment.")
    problems = variant_problems(
        variants,
        currency=campaign_currency(campaign),
        disclosed=bool((campaign.disclosure or "").strip()),
    )
    if problems:
        raise Unprocessable("The variants do not fit the campaign.", errors=problems)
    # Locked for update: assignment writers share-lock this row, so none of them can
    # record a variant that this redefinition is about to replace.
    experiment = session.scalar(
        select(Experiment).where(Experiment.campaign_id == campaign_id).with_for_update()
    )
    if experiment is None:
        experiment = Experiment(workspace_id=workspace_id, campaign_id=campaign_id)
        session.add(experiment)
    elif session.scalar(
        select(ExperimentAssignment.id)
        .where(ExperimentAssignment.experiment_id == experiment.id)
        .limit(1)
    ):
        raise Conflict(
            f"{experiment.unit.title()}s are assigned already: the variants can no longer change."
        )
    experiment.unit = unit
    experiment.min_sample = min_sample
    session.flush()
    session.execute(
        delete(ExperimentVariant).where(ExperimentVariant.experiment_id == experiment.id)
    )
    session.add_all(
        ExperimentVariant(
            workspace_id=workspace_id,
            experiment_id=experiment.id,
            name=v["name"],
            weight=v["weight"],
            control=v["control"],
            position=position,
            **_reward_columns(v),
        )
        for position, v in enumerate(variants)
    )
    session.flush()
    return experiment


def assign_advocates(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    advocates: Sequence[str],
    now: datetime,
) -> list[dict[str, Any]]:
    """Each enrolled advocate's variant: the recorded one, else drawn by hash and recorded.

    Enrollment and links assign advocates by themselves; this assigns (or looks up) named
    ones explicitly, e.g. advocates enrolled before the experiment existed.
    """
    get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    arms = load_arms(session, campaign_id=campaign_id, lock=True)
    if arms is None:
        raise NotFound("This campaign has no experiment.")
    if arms.experiment.unit != ADVOCATE:
        raise Conflict(
            "This experiment assigns invitees, when a conversion of theirs is attributed; "
            "advocates are not assigned."
        )
    enrolled = dict(
        session.execute(
            select(Customer.external_id, Customer.id)
            .join(Enrollment, Enrollment.customer_id == Customer.id)
            .where(
                Enrollment.campaign_id == campaign_id,
                Customer.workspace_id == workspace_id,
                Customer.external_id.in_(set(advocates)),
            )
        )
        .tuples()
        .all()
    )
    recorded = record_assignments(
        session,
        arms=arms,
        customers={customer_id: name for name, customer_id in enrolled.items()},
        at=now,
    )
    out = []
    for advocate in advocates:
        assigned = recorded.get(enrolled.get(advocate, 0))
        if assigned is None:
            out.append({"advocate": advocate, "variant": None, "status": "not_enrolled"})
        else:
            status = "new" if assigned.new else "assigned"
            out.append({"advocate": advocate, "variant": assigned.variant.name, "status": status})
            # Named twice in one request: new the first time, assigned after.
            recorded[enrolled[advocate]] = Assigned(assigned.variant, new=False)
    return out


def _per_variant(
    session: DbSession, experiment: Experiment, measure: Any, *conversion_conditions: Any
) -> dict[int, Any]:
    """``measure`` per variant over the attributed, not rejected conversions of the campaign
    that happened at or after each unit's assignment; units are matched to the referral's
    advocate or invitee as the experiment's unit says."""
    a = ExperimentAssignment
    unit = Referral.advocate_id if experiment.unit == ADVOCATE else Referral.invitee_id
    return dict(
        session.execute(
            select(a.variant_id, measure)
            .select_from(a)
            .join(
                Referral,
                and_(
                    Referral.campaign_id == experiment.campaign_id,
                    unit == a.customer_id,
                    Referral.state != REFERRAL_REJECTED,
                ),
            )
            .join(
                Conversion,
                and_(
                    Conversion.id == Referral.conversion_id,
                    Conversion.occurred_at >= a.assigned_at,
                    *conversion_conditions,
                ),
            )
            .where(a.experiment_id == experiment.id)
            .group_by(a.variant_id)
        )
        .tuples()
        .all()
    )


def experiment_results(
    session: DbSession, *, workspace_id: int, campaign_id: int
) -> dict[str, Any]:
    """Exposures (units assigned), converted units and revenue per variant, counted by the
    database, then compared."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    experiment = _experiment(session, workspace_id, campaign_id)
    variants = _variants(session, experiment.id)
    a = ExperimentAssignment
    exposures = dict(
        session.execute(
            select(a.variant_id, func.count(a.id))
            .where(a.experiment_id == experiment.id)
            .group_by(a.variant_id)
        )
        .tuples()
        .all()
    )
    converted = _per_variant(
        session,
        experiment,
        func.count(distinct(a.customer_id)),
        Conversion.event == campaign.trigger_event,
    )
    currency = campaign_currency(campaign)
    revenue = _per_variant(
        session,
        experiment,
        func.sum(func.coalesce(Conversion.amount, 0) - Conversion.refunded_amount),
        Conversion.event == "purchase",
        Conversion.currency == currency,
    )
    arms = [
        stats.Arm(
            v.name,
            v.control,
            v.weight,
            int(exposures.get(v.id, 0)),
            int(converted.get(v.id, 0)),
            int(revenue.get(v.id) or 0),
        )
        for v in variants
    ]
    rows = stats.compare(arms, experiment.min_sample)
    for row, variant in zip(rows, variants, strict=True):
        row.update({f"{side}_reward": reward_terms(variant, side) for side in SIDES})
    winners = [r for r in rows if r["winning"]]
    best = max(winners, key=lambda r: float(r["rate"] or 0), default=None)  # type: ignore[arg-type]
    return {
        "unit": experiment.unit,
        "min_sample": experiment.min_sample,
        "currency": currency,
        "variants": rows,
        "winner": best["name"] if best else None,
    }
