"""The Review page: held rewards with the reasons and evidence, approved or rejected with a
note one at a time or in bulk (htmx swaps the queue, no full reload), and the decisions taken.

Decisions go through ``rewards.lifecycle.review_reward`` (the API's function) with
``staff_actor()``, so each reward's history names the staff member.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from advocacy.api.rewards import ReviewSchema
from advocacy.console.access import current_workspace, require_scope, staff_actor
from advocacy.console.campaigns import actor_names
from advocacy.console.rendering import render_page
from advocacy.console.review_queue import explain_reason, list_decisions, review_evidence
from advocacy.errors import DomainError, NotFound
from advocacy.extensions import db
from advocacy.fields import MAX_INT63
from advocacy.rewards import lifecycle
from advocacy.types import utcnow
from advocacy.workspaces.settings import workspace_settings

bp = Blueprint("review", __name__, url_prefix="/review")

TEMPLATE = "console/review.html"
QUEUE_SIZE = 100
HISTORY_SIZE = 50
MAX_BULK = QUEUE_SIZE
ACTIONS = {"approve": "Approved", "reject": "Rejected"}


def render_review(
    status: int = 200, *, message: str | None = None, error: str | None = None, note: str = ""
) -> ResponseReturnValue:
    """The page, or for htmx the queue and history (block ``review``)."""
    workspace = current_workspace()
    views, _ = lifecycle.list_rewards(
        db.session,
        workspace_id=workspace.id,
        state="held",
        campaign_id=None,
        limit=QUEUE_SIZE,
        cursor=None,
    )
    held = [_held_item(view) for view in views]
    decisions = list_decisions(db.session, workspace_id=workspace.id, limit=HISTORY_SIZE)
    return render_page(
        TEMPLATE,
        fragment="review",
        status=status,
        held=held,
        evidence=review_evidence(db.session, workspace_id=workspace.id, rewards=held),
        decisions=decisions,
        names=actor_names(decisions),
        explain=explain_reason,
        tz=workspace_settings(workspace).time_zone,
        message=message,
        error=error,
        note=note,
    )


def _held_item(view: lifecycle.RewardView) -> dict[str, Any]:
    reward = view.reward
    return {
        "id": reward.id,
        "role": reward.role,
        "kind": reward.kind,
        "amount": reward.amount,
        "currency": reward.currency,
        "reasons": list(reward.reasons or []),
        "customer": view.customer,
    }


@bp.route("/")
@require_scope("rewards")
def index() -> ResponseReturnValue:
    """Held rewards waiting for a decision."""
    return render_review()


def _reward_ids(raw: list[str]) -> list[int]:
    ids = []
    for value in raw:
        if not value.isdigit() or not 0 < int(value) <= MAX_INT63:
            raise NotFound(f"No reward {value} in this workspace.")
        ids.append(int(value))
    return ids


def _decide(ids: list[int], action: str, note: str) -> ResponseReturnValue:
    """Approve or reject every reward in ``ids`` with the note, all or none."""
    if action not in ACTIONS:
        return render_review(422, error="Choose approve or reject.", note=note)
    if not ids:
        return render_review(422, error="Select at least one reward.", note=note)
    try:
        reason = ReviewSchema().load({"reason": note.strip()})["reason"]
    except ma.ValidationError:
        return render_review(422, error="Write a note: it is kept in the reward's history.")
    workspace_id = current_workspace().id
    actor = staff_actor()
    try:
        for reward_id in ids:
            lifecycle.review_reward(
                db.session,
                workspace_id=workspace_id,
                reward_id=reward_id,
                action=action,
                reason=reason,
                now=utcnow(),
                api_key_id=actor["api_key_id"],
                staff_user_id=actor["staff_user_id"],
            )
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, NotFound):
            raise
        return render_review(error.status, error=f"Nothing was changed: {error.detail}", note=note)
    db.session.commit()
    count = f"{len(ids)} rewards" if len(ids) > 1 else f"Reward #{ids[0]}"
    return render_review(message=f"{ACTIONS[action]}: {count}.")


@bp.route("/<int:reward_id>", methods=["POST"])
@require_scope("rewards")
def decide(reward_id: int) -> ResponseReturnValue:
    """Approve or reject one reward with a note."""
    return _decide([reward_id], request.form.get("action", ""), request.form.get("note", ""))


@bp.route("/bulk", methods=["POST"])
@require_scope("rewards")
def decide_many() -> ResponseReturnValue:
    """Approve or reject the selected rewards with one note."""
    ids: list[Any] = request.form.getlist("reward_id")[: MAX_BULK + 1]
    if len(ids) > MAX_BULK:
        return render_review(422, error=f"At most {MAX_BULK} rewards at once.")
    return _decide(_reward_ids(ids), request.form.get("action", ""), request.form.get("note", ""))
