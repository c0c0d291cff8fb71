"""Selection, a page under Advocates: choose k advocates for a campaign, see what they
bring beside the k largest audiences, and enroll them in one action.

The preview is what enrolling by the strategy enrolls (``preview_selection``); the enroll
button calls ``enroll_advocates`` with the same strategy and k, as the API's enrollment
endpoint does. Both need the ``campaigns`` scope, as the API's selection does.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from advocacy.campaigns.comparison import compare_selection
from advocacy.campaigns.enrollments import enroll_advocates
from advocacy.console.access import current_workspace, require_scope, staff_actor
from advocacy.console.advocates import bp, campaign_choices
from advocacy.console.ranking import label
from advocacy.console.rendering import render_page
from advocacy.customers.profile import customer_names
from advocacy.errors import Conflict, NotFound, Unprocessable
from advocacy.extensions import db
from advocacy.graph.selection import STRATEGIES

STRATEGY_HINTS = {
    "top": "the highest individual values, even when they reach the same people",
    "coverage": "the set that reaches the most distinct people (overlap counted once)",
    "spread": "like coverage, counting people reached through friends of friends too",
}


class SelectionSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    campaign = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    strategy = ma.fields.String(load_default="coverage", validate=ma.validate.OneOf(STRATEGIES))
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=200))


def _parse(values: Any) -> dict[str, Any]:
    try:
        return SelectionSchema().load(dict(values.items()))  # type: ignore[no-any-return]
    except ma.ValidationError as exc:
        raise Unprocessable("Check the selection.", errors=exc.normalized_messages()) from exc


@bp.route("/selection")
@require_scope("campaigns")
def selection() -> ResponseReturnValue:
    """Pick k advocates with a strategy, beside the k largest follower counts."""
    workspace = current_workspace()
    args = _parse(request.args)
    campaigns = campaign_choices(workspace.id)
    if args["campaign"] is None and campaigns:
        active = [c for c in campaigns if c.status == "active"]
        args["campaign"] = (active or campaigns)[0].id
    comparison, problem = None, None
    if args["campaign"] is not None:
        try:
            comparison = compare_selection(
                db.session,
                workspace_id=workspace.id,
                campaign_id=args["campaign"],
                strategy=args["strategy"],
                k=args["k"],
            )
        except (Conflict, Unprocessable) as exc:
            problem = exc.detail
        except NotFound as exc:
            if "ranking" not in exc.detail.lower():
                raise
            problem = "No ranking yet for this workspace: rank the advocates first."
    names: dict[str, str | None] = {}
    if comparison is not None:
        ids = [m["external_id"] for m in comparison.chosen.members + comparison.audiences.members]
        names = customer_names(db.session, workspace_id=workspace.id, external_ids=ids)
    return render_page(
        "console/selection.html",
        fragment="result",
        args=args,
        campaigns=campaigns,
        strategies=STRATEGIES,
        hints=STRATEGY_HINTS,
        comparison=comparison,
        problem=problem,
        names=names,
        label=label,
    )


@bp.route("/selection/enroll", methods=["POST"])
@require_scope("campaigns")
def enroll() -> ResponseReturnValue:
    """Enroll the selection into the campaign (the API's enrollment by strategy)."""
    args = _parse(request.form)
    if args["campaign"] is None:
        raise Unprocessable("Choose a campaign.", errors={"campaign": ["Required."]})
    actor = staff_actor()
    report = enroll_advocates(
        db.session,
        workspace_id=current_workspace().id,
        campaign_id=args["campaign"],
        strategy=args["strategy"],
        k=args["k"],
        api_key_id=actor["api_key_id"],
        staff_user_id=actor["staff_user_id"],
    )
    summary = report.summary
    db.session.commit()
    flash(
        f"Enrolled {summary['enrolled']} advocates by {args['strategy']} "
        f"({summary['already_enrolled']} already enrolled, {summary['refused']} refused).",
        "success",
    )
    return redirect(url_for(".selection", **args))
