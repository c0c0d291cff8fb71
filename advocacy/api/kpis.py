"""Shares reported by channels, and campaign KPIs per local calendar period (JSON or CSV)."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import NO_CAMPAIGN, BatchResultSchema, commit_batch, in_workspace
from advocacy.api.quotas import BATCHES, per_key_limit
from advocacy.csvexport import csv_text
from advocacy.fields import BatchItems, Text
from advocacy.kpis import maths, service
from advocacy.kpis.advocates import SORTABLE, advocate_kpis
from advocacy.kpis.flat import flat_rows
from advocacy.kpis.schemas import ShareItemSchema
from advocacy.kpis.shares import record_shares

blp = ApiBlueprint("kpis", __name__, url_prefix="/api/v1", description="Shares and KPIs")


IN_RANGE = ma.validate.Range(min=date(1970, 2, 1), max=date(2099, 12, 31))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


# --- input ----------------------------------------------------------------


class ShareBatchSchema(ma.Schema):
    items = BatchItems(ShareItemSchema)


class RangeArgsSchema(ma.Schema):
    first = ma.fields.Date(
        required=True,
        data_key="from",
        validate=IN_RANGE,
        metadata={"description": "First local day, included"},
    )
    last = ma.fields.Date(
        required=True,
        data_key="to",
        validate=IN_RANGE,
        metadata={"description": "Last local day, included"},
    )
    tz = ma.fields.String(
        load_default="UTC",
        validate=ma.validate.Length(max=64),
        metadata={"description": "IANA time zone of the calendar days, e.g. Europe/Berlin"},
    )

    @ma.validates("tz")
    def _known_zone(self, value: str, **_: Any) -> None:
        if value not in _zones():
            raise ma.ValidationError("Unknown time zone; use an IANA name such as Europe/Berlin.")

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if "first" in data and "last" in data and data["first"] > data["last"]:
            raise ma.ValidationError("Must not be before 'from'.", "to")


class KpiArgsSchema(RangeArgsSchema):
    granularity = ma.fields.String(
        load_default="day", validate=ma.validate.OneOf(maths.GRANULARITIES)
    )
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv")))


class AdvocateKpiArgsSchema(RangeArgsSchema):
    sort = ma.fields.String(
        load_default="-conversions",
        validate=ma.validate.OneOf([f"{d}{f}" for f in SORTABLE for d in ("", "-")]),
        metadata={"description": "A figure, '-' first for descending; ties by advocate id"},
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))
    cursor = Text(max_length=512, load_default=None, metadata={"description": "From next_cursor"})
    format = ma.fields.String(
        load_default="json",
        validate=ma.validate.OneOf(("json", "csv")),
        metadata={"description": "csv answers every advocate, unpaginated"},
    )


# --- output ---------------------------------------------------------------


class ProgramScoreSchema(ma.Schema):
    score = ma.fields.Float(metadata={"description": "Objective-weighted mean of the indices"})
    reach = ma.fields.Float()
    sharing = ma.fields.Float()
    monetisation = ma.fields.Float()


def _money_map(description: str) -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"description": description}
    )


class KpiFiguresSchema(ma.Schema):
    advocates = ma.fields.Integer(metadata={"description": "Enrolled at some time in the period"})
    active_advocates = ma.fields.Integer(
        metadata={"description": "With an invite, share or click of their link in the period"}
    )
    invites = ma.fields.Integer(metadata={"description": "Referral links created"})
    shares = ma.fields.Integer()
    reach = ma.fields.Integer(
        metadata={"description": "Distinct people connected to the active advocates"}
    )
    reported_impressions = ma.fields.Integer(metadata={"description": "Sum of share impressions"})
    clicks = ma.fields.Integer()
    unique_visitors = ma.fields.Integer(metadata={"description": "Distinct visitor ids"})
    signups = ma.fields.Integer()
    conversions = ma.fields.Integer(
        metadata={"description": "Attributed, not rejected, of the campaign's trigger event"}
    )
    conversion_rate = ma.fields.Float(allow_none=True)
    revenue = ma.fields.Integer(metadata={"description": "Net of refunds, campaign currency"})
    revenue_other_currencies = _money_map("Revenue in other currencies, never converted")
    reward_cost_issued = ma.fields.Integer()
    reward_cost_pending = ma.fields.Integer(metadata={"description": "pending, held, approved"})
    reward_cost = ma.fields.Integer(metadata={"description": "issued + pending"})
    reward_cost_other_currencies = _money_map("Reward cost in other currencies")
    roi = ma.fields.Float(allow_none=True, metadata={"description": "null when cost is 0"})
    cpa = ma.fields.Float(allow_none=True, metadata={"description": "null with no conversions"})
    k_factor = ma.fields.Float(
        allow_none=True, metadata={"description": "null with no active advocates"}
    )
    program_score = ma.fields.Nested(ProgramScoreSchema)


class KpiPeriodSchema(KpiFiguresSchema):
    period = ma.fields.Date(metadata={"description": "Local first day of the period"})
    start = ma.fields.AwareDateTime(metadata={"description": "UTC instant the period starts"})
    end = ma.fields.AwareDateTime(metadata={"description": "UTC instant it ends (excluded)"})


class CampaignKpisSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    currency = ma.fields.String(allow_none=True)
    granularity = ma.fields.String()
    tz = ma.fields.String()
    series = ma.fields.List(ma.fields.Nested(KpiPeriodSchema))
    totals = ma.fields.Nested(KpiFiguresSchema)


def _csv(rows: list[dict[str, Any]], filename: str) -> Response:
    return Response(
        csv_text(rows, list(rows[0])),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- routes ---------------------------------------------------------------


@blp.route("/shares")
class Shares(MethodView):
    @blp.requires("write")
    @per_key_limit(blp, BATCHES)
    @blp.arguments(ShareBatchSchema)
    @blp.response(200, BatchResultSchema)
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Record up to 1,000 shares of campaign links; a known share_id is left unchanged."""
        return commit_batch(record_shares, raw_items=payload["items"])


@blp.route("/campaigns/<int:campaign_id>/kpis")
class CampaignKpis(MethodView):
    @blp.endpoint("read", CampaignKpisSchema, query=KpiArgsSchema, problems=NO_CAMPAIGN)
    def get(self, args: dict[str, Any], campaign_id: int) -> Any:
        """A campaign's KPIs per local day, week or month, with totals (format=csv for CSV)."""
        kpis = in_workspace(
            service.campaign_kpis,
            campaign_id=campaign_id,
            first=args["first"],
            last=args["last"],
            granularity=args["granularity"],
            tz=args["tz"],
        )
        if args["format"] == "csv":
            return _csv(service.as_csv_rows(kpis), f"campaign-{campaign_id}-kpis.csv")
        return {
            "campaign_id": campaign_id,
            "currency": kpis.currency,
            "granularity": args["granularity"],
            "tz": args["tz"],
            "series": [
                {**row, "period": p.label, "start": p.start, "end": p.end}
                for p, row in zip(kpis.periods, kpis.series, strict=True)
            ],
            "totals": kpis.totals,
        }


class AdvocateKpiSchema(KpiFiguresSchema):
    class Meta:
        exclude = ("advocates", "active_advocates")

    advocate = ma.fields.String(metadata={"description": "External id"})
    active = ma.fields.Boolean(metadata={"description": "An invite, share or click in range"})


class AdvocateKpiPageSchema(ma.Schema):
    currency = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(AdvocateKpiSchema))
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("/campaigns/<int:campaign_id>/advocates/kpis")
class AdvocateKpis(MethodView):
    @blp.endpoint("read", AdvocateKpiPageSchema, query=AdvocateKpiArgsSchema, problems=NO_CAMPAIGN)
    def get(self, args: dict[str, Any], campaign_id: int) -> Any:
        """The campaign's KPIs per advocate over a range, sorted and paginated (or CSV)."""
        csv_wanted = args["format"] == "csv"
        page = in_workspace(
            advocate_kpis,
            campaign_id=campaign_id,
            first=args["first"],
            last=args["last"],
            tz=args["tz"],
            sort=args["sort"],
            limit=None if csv_wanted else args["limit"],
            cursor=None if csv_wanted else args["cursor"],
        )
        if csv_wanted:
            return _csv(flat_rows(page.items), f"campaign-{campaign_id}-advocates.csv")
        return {"currency": page.currency, "items": page.items, "next_cursor": page.next_cursor}
