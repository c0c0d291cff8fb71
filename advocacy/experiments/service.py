"""Defining a campaign's experiment, assigning advocates to variants, and its results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, distinct, func, select

from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Customer
from advocacy.errors import Conflict, NotFound
from advocacy.experiments import stats
from advocacy.experiments.models import Experiment, ExperimentAssignment, ExperimentVariant
from advocacy.ingest.batch import retry_on_conflict
from advocacy.kpis.service import campaign_currency, get_campaign
from advocacy.rewards.models import Conversion, Referral
from advocacy.types import DbSession


def _experiment(session: DbSession, workspace_id: int, campaign_id: int) -> Experiment:
    get_campaign(session, workspace_id, campaign_id)
    experiment = session.scalar(select(Experiment).where(Experiment.campaign_id == campaign_id))
    if experiment is None:
        raise NotFound("This campaign has no experiment.")
    return experiment


def _variants(session: DbSession, experiment_id: int) -> list[ExperimentVariant]:
    return list(
        session.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment_id)
            .order_by(ExperimentVariant.position)
        )
    )


def define_experiment(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    variants: Sequence[dict[str, Any]],
    min_sample: int,
) -> Experiment:
    """Create or replace the experiment; refused once advocates have been assigned."""
    get_campaign(session, workspace_id, campaign_id)
    experiment = session.scalar(select(Experiment).where(Experiment.campaign_id == campaign_id))
    if experiment is None:
        experiment = Experiment(workspace_id=workspace_id, campaign_id=campaign_id)
        session.add(experiment)
    elif session.scalar(
        select(ExperimentAssignment.id)
        .where(ExperimentAssignment.experiment_id == experiment.id)
        .limit(1)
    ):
        raise Conflict("Advocates are assigned already: the variants can no longer change.")
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
        )
        for position, v in enumerate(variants)
    )
    session.flush()
    return experiment


def assign_advocates(
    session: DbSession, *, workspace_id: int, campaign_id: int, advocates: Sequence[str]
) -> list[dict[str, Any]]:
    """Each advocate's variant: the recorded one, else drawn by hash and recorded."""
    experiment = _experiment(session, workspace_id, campaign_id)
    variants = _variants(session, experiment.id)
    weights = [v.weight for v in variants]

    def write() -> list[dict[str, Any]]:
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
        names = {v.id: v.name for v in variants}
        recorded = dict(
            session.execute(
                select(ExperimentAssignment.advocate_id, ExperimentAssignment.variant_id).where(
                    ExperimentAssignment.experiment_id == experiment.id,
                    ExperimentAssignment.advocate_id.in_(set(enrolled.values())),
                )
            )
            .tuples()
            .all()
        )
        out = []
        for advocate in advocates:
            advocate_id = enrolled.get(advocate)
            if advocate_id is None:
                out.append({"advocate": advocate, "variant": None, "status": "not_enrolled"})
                continue
            status = "assigned"
            if advocate_id not in recorded:
                variant = variants[stats.assign_variant(campaign_id, advocate, weights)]
                session.add(
                    ExperimentAssignment(
                        workspace_id=workspace_id,
                        experiment_id=experiment.id,
                        variant_id=variant.id,
                        advocate_id=advocate_id,
                    )
                )
                session.flush()
                recorded[advocate_id] = variant.id
                status = "new"
            out.append(
                {"advocate": advocate, "variant": names[recorded[advocate_id]], "status": status}
            )
        return out

    return retry_on_conflict(session, write)


def experiment_results(
    session: DbSession, *, workspace_id: int, campaign_id: int
) -> dict[str, Any]:
    """Exposures, conversions and revenue per variant (counted by the database), compared."""
    campaign = get_campaign(session, workspace_id, campaign_id)
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
    converted = dict(
        session.execute(
            select(a.variant_id, func.count(distinct(a.advocate_id)))
            .select_from(a)
            .join(
                Referral,
                and_(
                    Referral.campaign_id == campaign_id,
                    Referral.advocate_id == a.advocate_id,
                    Referral.state != "rejected",
                ),
            )
            .join(
                Conversion,
                and_(
                    Conversion.id == Referral.conversion_id,
                    Conversion.occurred_at >= a.assigned_at,
                    Conversion.event == campaign.trigger_event,
                ),
            )
            .where(a.experiment_id == experiment.id)
            .group_by(a.variant_id)
        )
        .tuples()
        .all()
    )
    net = func.coalesce(Conversion.amount, 0) - Conversion.refunded_amount
    revenue = dict(
        session.execute(
            select(a.variant_id, func.sum(net))
            .select_from(a)
            .join(
                Referral,
                and_(
                    Referral.campaign_id == campaign_id,
                    Referral.advocate_id == a.advocate_id,
                    Referral.state != "rejected",
                ),
            )
            .join(
                Conversion,
                and_(
                    Conversion.id == Referral.conversion_id,
                    Conversion.occurred_at >= a.assigned_at,
                    Conversion.event == "purchase",
                    Conversion.currency == campaign_currency(campaign),
                ),
            )
            .where(a.experiment_id == experiment.id)
            .group_by(a.variant_id)
        )
        .tuples()
        .all()
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
    winners = [r for r in rows if r["winning"]]
    best = max(winners, key=lambda r: float(r["rate"] or 0), default=None)  # type: ignore[arg-type]
    return {
        "min_sample": experiment.min_sample,
        "currency": campaign_currency(campaign),
        "variants": rows,
        "winner": best["name"] if best else None,
    }
