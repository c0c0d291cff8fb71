"""Advocates: the explainable ranking, recomputing it, and choosing a set of k."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.advocates import service
from advocacy.api.auth import ApiBlueprint
from advocacy.api.common import commit_in_workspace, in_workspace
from advocacy.fields import ExternalId
from advocacy.graph.scoring import COMPONENT_NAMES
from advocacy.graph.selection import STRATEGIES

blp = ApiBlueprint(
    "advocates", __name__, url_prefix="/api/v1/advocates", description="Advocate ranking"
)

OBJECTIVE = ma.validate.OneOf(service.OBJECTIVES)


def _weights_field(**kwargs: Any) -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(COMPONENT_NAMES)),
        values=ma.fields.Float(allow_nan=False, validate=ma.validate.Range(min=0, max=1000)),
        metadata={
            "description": "Custom component weights (normalised to sum 1); replace the "
            "objective's. Components: " + ", ".join(COMPONENT_NAMES)
        },
        **kwargs,
    )


class WeightsQuerySchema(ma.Schema):
    objective = ma.fields.String(load_default="conversion", validate=OBJECTIVE)
    weights = ma.fields.String(
        load_default=None,
        metadata={
            "description": "Custom weights as name:value pairs, e.g. engagement:2,sentiment:1"
        },
    )

    @ma.post_load
    def _parse_weights(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        raw = data.get("weights")
        if raw is None:
            return data
        parsed: dict[str, float] = {}
        for pair in raw.split(","):
            name, _, value = pair.partition(":")
            try:
                parsed[name.strip()] = float(value)
            except ValueError:
                raise ma.ValidationError("Use name:value pairs.", "weights") from None
        try:
            data["weights"] = _weights_field().deserialize(parsed)
        except ma.ValidationError as exc:
            raise ma.ValidationError(
                f"Use components ({', '.join(COMPONENT_NAMES)}) with weights >= 0.", "weights"
            ) from exc
        return data


class AdvocateListArgsSchema(WeightsQuerySchema):
    eligible = ma.fields.Boolean(load_default=None)
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))
    cursor = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=2**31 - 1))


class ComponentsSchema(ma.Schema):
    engagement = ma.fields.Float()
    sentiment = ma.fields.Float()
    influence = ma.fields.Float()
    reach = ma.fields.Float()
    track_record = ma.fields.Float()


class AdvocateSchema(ma.Schema):
    external_id = ma.fields.String()
    rank = ma.fields.Integer()
    score = ma.fields.Float(
        metadata={
            "description": "Expected people for the objective (negative for detractors); "
            "with custom weights, that value tilted by the weighted components"
        }
    )
    expected_people = ma.fields.Float(
        metadata={
            "description": "Expected people who would act (conversion), consider "
            "(consideration) or hear a positive word (awareness) if we asked them"
        }
    )
    share_probability = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Chance they share, with a positive word, when asked"},
    )
    eligible = ma.fields.Boolean()
    gates = ma.fields.List(
        ma.fields.String(), metadata={"description": "Detractor gates that fired"}
    )
    components = ma.fields.Nested(ComponentsSchema)
    weights = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    reasons = ma.fields.List(ma.fields.String())
    followers = ma.fields.Integer(
        allow_none=True, metadata={"description": "For comparison only: never part of the score"}
    )


class SnapshotSchema(ma.Schema):
    id = ma.fields.Integer()
    version = ma.fields.Integer()
    computed_at = ma.fields.DateTime()
    customers = ma.fields.Integer()
    eligible = ma.fields.Integer()
    connections = ma.fields.Integer()
    duration_ms = ma.fields.Integer()
    timings = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    model = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "The value model used: intercept, exponents, source (prior, "
            "prior_calibrated or fitted) and the fit's report (history, threshold, holdout "
            "AUC and calibration by decile)"
        },
    )


class AdvocatePageSchema(ma.Schema):
    snapshot = ma.fields.Nested(SnapshotSchema)
    objective = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(AdvocateSchema))
    next_cursor = ma.fields.Integer(allow_none=True)


class AdvocateDetailSchema(AdvocateSchema):
    snapshot = ma.fields.Nested(SnapshotSchema)
    objective = ma.fields.String()


class SelectionArgsSchema(ma.Schema):
    k = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=1000))
    objective = ma.fields.String(load_default="conversion", validate=OBJECTIVE)
    strategy = ma.fields.String(load_default="coverage", validate=ma.validate.OneOf(STRATEGIES))
    weights = _weights_field(load_default=None)
    # Not named `exclude`: that is a marshmallow Schema attribute.
    excluded = ma.fields.List(
        ExternalId(), data_key="exclude", load_default=list, validate=ma.validate.Length(max=10_000)
    )
    candidates = ma.fields.List(
        ExternalId(), load_default=None, validate=ma.validate.Length(min=1, max=100_000)
    )
    seed = ma.fields.Integer(
        load_default=0,
        strict=True,
        validate=ma.validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "Accepted for compatibility; every strategy is deterministic"},
    )


class SelectedSchema(ma.Schema):
    external_id = ma.fields.String()
    position = ma.fields.Integer()
    score = ma.fields.Float()
    expected_people = ma.fields.Float(
        metadata={"description": "Expected people this advocate would bring on their own"}
    )
    marginal_gain = ma.fields.Float(
        metadata={"description": "Expected new people (not counted already) they add to the set"}
    )


class SelectionSchema(ma.Schema):
    snapshot = ma.fields.Nested(SnapshotSchema)
    strategy = ma.fields.String()
    objective = ma.fields.String()
    weights = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    advocates = ma.fields.List(ma.fields.Nested(SelectedSchema))
    expected_people = ma.fields.Float(
        metadata={
            "description": "Expected distinct people who act (or are reached, for awareness) "
            "thanks to the set; over several hops for spread"
        }
    )
    expected_reach = ma.fields.Float(metadata={"description": "Same as expected_people"})
    details = ma.fields.Dict()


@blp.route("")
class Advocates(MethodView):
    @blp.requires("read")
    @blp.arguments(AdvocateListArgsSchema, location="query")
    @blp.response(200, AdvocatePageSchema)
    @blp.alt_response(404, description="No ranking computed yet")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ranked advocates of the latest snapshot, with components and reasons."""
        snapshot, items, cursor = in_workspace(service.list_advocates, **args)
        return {
            "snapshot": snapshot,
            "objective": args["objective"],
            "items": items,
            "next_cursor": cursor,
        }


@blp.route("/rank")
class Rank(MethodView):
    @blp.endpoint("campaigns", SnapshotSchema, status=201)
    def post(self) -> Any:
        """Recompute the ranking of the workspace now; answers when it has finished."""
        return commit_in_workspace(service.rank_workspace)


@blp.route("/selection")
class Selection(MethodView):
    @blp.requires("campaigns")
    @blp.arguments(SelectionArgsSchema)
    @blp.response(200, SelectionSchema)
    @blp.alt_response(404, description="No ranking computed yet")
    def post(self, args: dict[str, Any]) -> Any:
        """Choose k advocates: top expected values, or the set most distinct people act on."""
        excluded = args.pop("excluded")
        return in_workspace(service.select_for_campaign, exclude=excluded, **args)


@blp.route("/<string:external_id>")
class Advocate(MethodView):
    @blp.requires("read")
    @blp.arguments(WeightsQuerySchema, location="query")
    @blp.response(200, AdvocateDetailSchema)
    @blp.alt_response(404, description="No ranking yet, or no such customer")
    def get(self, args: dict[str, Any], external_id: str) -> dict[str, Any]:
        """One customer's breakdown: components, reasons, and why they are (not) eligible."""
        snapshot, view = in_workspace(service.get_advocate, external_id=external_id, **args)
        return {**view.__dict__, "snapshot": snapshot, "objective": args["objective"]}
