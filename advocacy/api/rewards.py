"""Rewards: a customer's balance and rewards, the review queue, approve/reject/issue."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.api.common import (
    NO_CUSTOMER,
    PageArgsSchema,
    commit_in_workspace,
    in_workspace,
    page_schema,
    workspace_page,
)
from advocacy.api.conversions import EarnedRewardSchema
from advocacy.extensions import db
from advocacy.fields import MAX_INT63, Text
from advocacy.rewards import lifecycle
from advocacy.rewards.rules import STATES
from advocacy.types import utcnow

blp = ApiBlueprint("rewards", __name__, url_prefix="/api/v1", description="Rewards")


class RewardListArgsSchema(PageArgsSchema):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATES))
    campaign_id = ma.fields.Integer(
        load_default=None, strict=False, validate=ma.validate.Range(min=1, max=MAX_INT63)
    )


class ReviewSchema(ma.Schema):
    reason = Text(
        required=True,
        min_length=1,
        max_length=500,
        metadata={"description": "Why: kept in the reward's history"},
    )


class IssueSchema(ma.Schema):
    code = Text(
        min_length=1,
        max_length=200,
        allow_none=True,
        load_default=None,
        metadata={"description": "What was delivered, e.g. the coupon code"},
    )
    reason = Text(min_length=1, max_length=500, allow_none=True, load_default=None)


RewardPageSchema = page_schema("RewardPageSchema", EarnedRewardSchema)
NO_REWARD = {404: "No such reward in this workspace"}
NOT_REVIEWABLE = NO_REWARD | {409: "The reward is not pending or held"}
NOT_ISSUABLE = NO_REWARD | {409: "The reward is not approved"}


class AmountSchema(ma.Schema):
    unit = ma.fields.String(metadata={"description": "ISO currency, or points"})
    amount = ma.fields.Integer(metadata={"description": "Minor units, or points"})


class CustomerRewardsSchema(ma.Schema):
    customer = ma.fields.String()
    balance = ma.fields.List(
        ma.fields.Nested(AmountSchema),
        metadata={"description": "Per unit, the sum of the customer's ledger entries"},
    )
    pending = ma.fields.List(
        ma.fields.Nested(AmountSchema),
        metadata={"description": "Per unit, rewards not yet approved (pending or held)"},
    )
    items = ma.fields.List(
        ma.fields.Nested(EarnedRewardSchema), metadata={"description": "Newest first"}
    )
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("/customers/<string:external_id>/rewards")
class CustomerRewards(MethodView):
    @blp.endpoint("read", CustomerRewardsSchema, query=PageArgsSchema, problems=NO_CUSTOMER)
    def get(self, args: dict[str, Any], external_id: str) -> Any:
        """A customer's reward balance and rewards, with their history."""
        return in_workspace(lifecycle.customer_rewards, external_id=external_id, **args)


@blp.route("/rewards")
class Rewards(MethodView):
    @blp.endpoint("rewards", RewardPageSchema, query=RewardListArgsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List rewards, oldest first; state=held is the review queue."""
        return workspace_page(lifecycle.list_rewards, **args)


@blp.route("/rewards/<int:reward_id>")
class RewardResource(MethodView):
    @blp.endpoint("rewards", EarnedRewardSchema, problems=NO_REWARD)
    def get(self, reward_id: int) -> Any:
        """Read one reward with its history."""
        reward = in_workspace(lifecycle.get_reward, reward_id=reward_id)
        return lifecycle.describe_rewards(db.session, rewards=[reward])[0]


def _review(action: str, reward_id: int, reason: str | None, code: str | None = None) -> Any:
    return commit_in_workspace(
        lifecycle.review_reward,
        reward_id=reward_id,
        action=action,
        reason=reason,
        code=code,
        api_key_id=current_principal().api_key_id,
        now=utcnow(),
    )


@blp.route("/rewards/<int:reward_id>/approve")
class ApproveReward(MethodView):
    @blp.endpoint("rewards", EarnedRewardSchema, body=ReviewSchema, problems=NOT_REVIEWABLE)
    def post(self, args: dict[str, Any], reward_id: int) -> Any:
        """Approve a pending or held reward: it is booked in the ledger."""
        return _review("approve", reward_id, args["reason"])


@blp.route("/rewards/<int:reward_id>/reject")
class RejectReward(MethodView):
    @blp.endpoint("rewards", EarnedRewardSchema, body=ReviewSchema, problems=NOT_REVIEWABLE)
    def post(self, args: dict[str, Any], reward_id: int) -> Any:
        """Reject a pending or held reward, with the reason."""
        return _review("reject", reward_id, args["reason"])


@blp.route("/rewards/<int:reward_id>/issue")
class IssueReward(MethodView):
    @blp.endpoint("rewards", EarnedRewardSchema, body=IssueSchema, problems=NOT_ISSUABLE)
    def post(self, args: dict[str, Any], reward_id: int) -> Any:
        """Mark an approved reward fulfilled (e.g. the coupon code was delivered)."""
        return _review("issue", reward_id, args["reason"], args["code"])
