"""The campaign KPIs per advocate over a range, aggregated by the database per advocate.

Each query returns one row per advocate (GROUP BY the advocate), so the work in Python is
bounded by the campaign's advocates, not by its clicks or conversions. Sorting by any
figure, ratios included, then happens on those rows; the cursor is an offset into that order
(ties broken by external id, nulls last), which is stable as long as the figures do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select

from advocacy.campaigns.models import Enrollment
from advocacy.customers.models import Customer
from advocacy.kpis import activity, maths
from advocacy.kpis.models import Share
from advocacy.kpis.service import (
    ISSUED,
    PENDING,
    add_money,
    campaign_currency,
    get_campaign,
    kpi_periods,
)
from advocacy.links.models import ReferralLink
from advocacy.pagination import decode_offset, encode_cursor
from advocacy.queries import id_in
from advocacy.rewards.models import Conversion, Referral, Reward
from advocacy.rewards.rules import REFERRAL_REJECTED
from advocacy.types import DbSession

SORTABLE = (
    "active",
    "invites",
    "shares",
    "reach",
    "reported_impressions",
    "clicks",
    "unique_visitors",
    "signups",
    "conversions",
    "conversion_rate",
    "revenue",
    "reward_cost",
    "roi",
    "cpa",
    "k_factor",
    "program_score",
    "advocate",
)


@dataclass(frozen=True)
class AdvocatePage:
    currency: str | None
    items: list[dict[str, Any]]
    next_cursor: str | None


def advocate_kpis(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    first: date,
    last: date,
    tz: str,
    sort: str = "-conversions",
    limit: int | None = 50,
    cursor: str | None = None,
) -> AdvocatePage:
    """One row of KPIs per advocate of the campaign, sorted, a page at a time."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    periods = kpi_periods(first, last, "month", tz)
    tally = _Tally(
        session,
        ws=workspace_id,
        cid=campaign_id,
        start=periods[0].start,
        end=periods[-1].end,
        currency=campaign_currency(campaign),
    )
    tally.count_enrolled()
    tally.count_activity()
    tally.count_conversions(trigger_event=campaign.trigger_event)
    tally.count_reward_cost()
    weights = maths.score_weights(campaign.objective, campaign.score_weights)
    items = _sorted(tally.items(weights), sort)
    offset = decode_offset(cursor)
    page = items[offset:] if limit is None else items[offset : offset + limit]
    more = limit is not None and offset + limit < len(items)
    return AdvocatePage(
        tally.currency, page, encode_cursor(offset + limit) if more and limit else None
    )


class _Tally:
    """The figures of each advocate of one campaign over [start, end), one query at a time."""

    def __init__(
        self, session: DbSession, *, ws: int, cid: int, start: Any, end: Any, currency: str | None
    ) -> None:
        self.session, self.ws, self.cid = session, ws, cid
        self.start, self.end, self.currency = start, end, currency
        self.rows: dict[int, dict[str, Any]] = {}

    def row(self, advocate_id: int) -> dict[str, Any]:
        if advocate_id not in self.rows:
            self.rows[advocate_id] = {
                **{f: 0 for f in (*maths.ADDITIVE, *maths.DISTINCT)},
                "advocates": 1,
                "revenue_other_currencies": {},
                "reward_cost_other_currencies": {},
            }
        return self.rows[advocate_id]

    def fill(self, query: Any, *fields: str) -> None:
        for advocate_id, *figures in self.session.execute(query):
            for field, figure in zip(fields, figures, strict=True):
                self.row(advocate_id)[field] = int(figure or 0)

    def within(self, moment: Any) -> Any:
        return and_(moment >= self.start, moment < self.end)

    def count_enrolled(self) -> None:
        for (advocate_id,) in self.session.execute(
            select(Enrollment.customer_id).where(
                Enrollment.campaign_id == self.cid,
                Enrollment.enrolled_at < self.end,
                or_(Enrollment.withdrawn_at.is_(None), Enrollment.withdrawn_at >= self.start),
            )
        ):
            self.row(advocate_id)

    def count_activity(self) -> None:
        ws, cid, start, end = self.ws, self.cid, self.start, self.end
        link_scope = (ReferralLink.workspace_id == ws, ReferralLink.campaign_id == cid)
        self.fill(
            select(ReferralLink.advocate_id, func.count(ReferralLink.id))
            .where(*link_scope, self.within(ReferralLink.created_at))
            .group_by(ReferralLink.advocate_id),
            "invites",
        )
        self.fill(
            select(Share.advocate_id, func.count(Share.id), func.sum(Share.impressions))
            .where(
                Share.workspace_id == ws, Share.campaign_id == cid, self.within(Share.occurred_at)
            )
            .group_by(Share.advocate_id),
            "shares",
            "reported_impressions",
        )
        self.fill(
            activity.clicks_per_advocate(self.session, ws=ws, cid=cid, start=start, end=end),
            "clicks",
            "unique_visitors",
        )
        # Active: an invite, share or click of their link in the range; reach only counts then.
        active = [
            advocate_id
            for advocate_id, figures in self.rows.items()
            if figures["invites"] or figures["shares"] or figures["clicks"]
        ]
        for advocate_id in active:
            self.rows[advocate_id]["active_advocates"] = 1
        reach = dict(
            self.session.execute(activity.reach_per_advocate(ws, cid, start, end)).tuples().all()
        )
        for advocate_id in active:
            self.rows[advocate_id]["reach"] = int(reach.get(advocate_id, 0))

    def count_conversions(self, *, trigger_event: str) -> None:
        counted = and_(
            Referral.workspace_id == self.ws,
            Referral.campaign_id == self.cid,
            Referral.state != REFERRAL_REJECTED,
        )
        net = func.coalesce(Conversion.amount, 0) - Conversion.refunded_amount
        for advocate_id, event, unit, count, amount in self.session.execute(
            select(
                Referral.advocate_id,
                Conversion.event,
                Conversion.currency,
                func.count(Referral.id),
                func.sum(net),
            )
            .join(Conversion, Conversion.id == Referral.conversion_id)
            .where(counted, self.within(Conversion.occurred_at))
            .group_by(Referral.advocate_id, Conversion.event, Conversion.currency)
        ):
            figures = self.row(advocate_id)
            if event == "signup":
                figures["signups"] += int(count)
            if event == trigger_event:
                figures["conversions"] += int(count)
            if event == "purchase" and unit is not None:
                add_money(figures, "revenue", unit, self.currency, int(amount or 0))

    def count_reward_cost(self) -> None:
        for advocate_id, state, unit, amount in self.session.execute(
            select(Referral.advocate_id, Reward.state, Reward.currency, func.sum(Reward.amount))
            .select_from(Reward)
            .join(Referral, Referral.id == Reward.referral_id)
            .join(Conversion, Conversion.id == Reward.conversion_id)
            .where(
                Reward.campaign_id == self.cid,
                Reward.state.in_((*ISSUED, *PENDING)),
                Referral.workspace_id == self.ws,
                self.within(Conversion.occurred_at),
            )
            .group_by(Referral.advocate_id, Reward.state, Reward.currency)
        ):
            if unit is None:
                continue
            field = "reward_cost_issued" if state in ISSUED else "reward_cost_pending"
            add_money(
                self.row(advocate_id),
                field,
                unit,
                self.currency,
                int(amount or 0),
                other="reward_cost",
            )

    def items(self, weights: dict[str, float]) -> list[dict[str, Any]]:
        """One body per advocate: the figures, the derived ratios, the external id."""
        names: dict[int, str] = {
            customer_id: external_id
            for customer_id, external_id in self.session.execute(
                select(Customer.id, Customer.external_id).where(
                    id_in(self.session, Customer.id, list(self.rows))
                )
            )
        }
        items = []
        for advocate_id, figures in self.rows.items():
            figures.update(maths.derived(figures, weights))
            figures["active"] = bool(figures.pop("active_advocates"))
            figures.pop("advocates")
            items.append({"advocate": names[advocate_id], **figures})
        return items


def _sorted(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """By the figure (``-`` for descending), ties by external id; nulls (a ratio without a
    denominator) last in either direction."""
    field, descending = sort.lstrip("-"), sort.startswith("-")
    items = sorted(items, key=lambda item: item["advocate"])
    if field == "advocate":
        return items[::-1] if descending else items

    def value(item: dict[str, Any]) -> Any:
        figure = item[field]
        return figure["score"] if field == "program_score" else figure

    known = [item for item in items if value(item) is not None]
    known.sort(key=lambda item: float(value(item)), reverse=descending)
    return known + [item for item in items if value(item) is None]
