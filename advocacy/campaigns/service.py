"""Campaigns and their audit trail (enrollments: :mod:`advocacy.campaigns.enrollments`).

Functions take a session and a workspace id, add and flush, and never commit. Campaign
values travel in the API's shape (``inviter_reward: {kind, amount, currency}``,
``trigger: {event, ...}``); ``campaign_values`` and ``_apply`` translate to and from
the flat columns.

For the click path: ``get_campaign``, ``enrollments.get_enrollment``, ``rules.campaign_is_live`` and
``urls.check_url`` (re-check the stored URL against the current allow-list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from advocacy.campaigns.models import Campaign, CampaignAudit
from advocacy.campaigns.rules import (
    FROZEN_WHEN_ENDED,
    campaign_problems,
    reward_terms,
    transition_problem,
)
from advocacy.campaigns.urls import check_url
from advocacy.errors import Conflict, Unprocessable, found
from advocacy.fields import MAX_INT63
from advocacy.pagination import page_by_id, page_by_time
from advocacy.types import DbSession, utcnow
from advocacy.workspaces.service import get_workspace

URL_FIELDS = ("landing_url", "fallback_url")
# Fields whose every change is recorded, with who and when; translated disclosures are
# recorded as "translations.<locale>.disclosure".
AUDITED = (
    "status",
    "inviter_reward",
    "invitee_reward",
    "landing_url",
    "fallback_url",
    "disclosure",
)
PLAIN_FIELDS = (
    "name",
    "objective",
    "status",
    "one_sided",
    "attribution_window_days",
    "attribution_model",
    "hold_days",
    "budget",
    "per_advocate_cap",
    "starts_at",
    "ends_at",
    "landing_url",
    "fallback_url",
    "disclosure",
    "translations",
)


# --- campaigns ------------------------------------------------------------


def get_campaign(
    session: DbSession, *, workspace_id: int, campaign_id: int, lock: str | None = None
) -> Campaign:
    """A campaign of this workspace; NotFound for a missing one or another workspace's.

    ``lock="update"`` (changing it) or ``"share"`` (enrolling into it) takes a row lock on
    PostgreSQL, so an enrollment cannot slip past a concurrent end of the campaign.
    """
    campaign = None
    if 0 < campaign_id <= MAX_INT63:
        query = select(Campaign).where(
            Campaign.workspace_id == workspace_id, Campaign.id == campaign_id
        )
        if lock is not None:
            query = query.with_for_update(read=lock == "share")
        campaign = session.scalar(query)
    return found(campaign, f"No campaign {campaign_id} in this workspace.")


def campaign_values(campaign: Campaign) -> dict[str, Any]:
    """A campaign's settings in the API's shape."""
    values = {name: getattr(campaign, name) for name in PLAIN_FIELDS}
    values["translations"] = dict(campaign.translations or {})
    values["inviter_reward"] = reward_terms(campaign, "inviter")
    values["invitee_reward"] = reward_terms(campaign, "invitee")
    values["trigger"] = {
        "event": campaign.trigger_event,
        "min_order_amount": campaign.min_order_amount,
        "first_purchase_only": campaign.first_purchase_only,
    }
    return values


def _apply(campaign: Campaign, values: Mapping[str, Any]) -> None:
    for name in PLAIN_FIELDS:
        if name in values:
            setattr(campaign, name, values[name])
    for side in ("inviter", "invitee"):
        if f"{side}_reward" in values:
            reward = values[f"{side}_reward"] or {}
            setattr(campaign, f"{side}_reward_kind", reward.get("kind"))
            setattr(campaign, f"{side}_reward_amount", reward.get("amount"))
            setattr(campaign, f"{side}_reward_currency", reward.get("currency"))
    if "trigger" in values:
        trigger = values["trigger"]
        campaign.trigger_event = trigger["event"]
        campaign.min_order_amount = trigger.get("min_order_amount", 0)
        campaign.first_purchase_only = trigger.get("first_purchase_only", False)


def _checked_urls(
    values: Mapping[str, Any], names: Sequence[str], allowed_domains: Sequence[str]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Normalised URLs for ``names`` in ``values``, and messages for the refused ones."""
    checked: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for name in names:
        url = values.get(name)
        if url is None:
            continue
        try:
            checked[name] = check_url(url, allowed_domains)
        except ValueError as exc:
            problems[name] = [str(exc)]
    return checked, problems


def _audited(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {name: values.get(name) for name in AUDITED}
    for locale, texts in sorted((values.get("translations") or {}).items()):
        if isinstance(texts, Mapping) and texts.get("disclosure") is not None:
            out[f"translations.{locale}.disclosure"] = texts["disclosure"]
    return out


def _record_audit(
    session: DbSession,
    campaign: Campaign,
    api_key_id: int | None,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    at: datetime,
    staff_user_id: int | None = None,
) -> None:
    old, new = _audited(before), _audited(after)
    for name in [*new, *(n for n in old if n not in new)]:
        if old.get(name) != new.get(name):
            session.add(
                CampaignAudit(
                    workspace_id=campaign.workspace_id,
                    campaign_id=campaign.id,
                    api_key_id=api_key_id,
                    staff_user_id=staff_user_id,
                    at=at,
                    field=name,
                    old_value=old.get(name),
                    new_value=new.get(name),
                )
            )


def create_campaign(
    session: DbSession,
    *,
    workspace_id: int,
    api_key_id: int | None,
    values: Mapping[str, Any],
    staff_user_id: int | None = None,
) -> Campaign:
    """A new draft campaign; its initial rewards, URLs, disclosure and status are audited."""
    values = {**values, "status": "draft"}
    workspace = get_workspace(session, workspace_id=workspace_id)
    urls, problems = _checked_urls(values, URL_FIELDS, workspace.allowed_domains or [])
    problems = {**campaign_problems(values), **problems}
    if problems:
        raise Unprocessable("The campaign is not consistent; see errors.", errors=problems)
    values.update(urls)
    now = utcnow()
    campaign = Campaign(workspace_id=workspace_id, created_at=now, updated_at=now)
    _apply(campaign, values)
    session.add(campaign)
    session.flush()
    _record_audit(session, campaign, api_key_id, {}, values, now, staff_user_id)
    session.flush()
    return campaign


def update_campaign(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    api_key_id: int | None,
    changes: Mapping[str, Any],
    staff_user_id: int | None = None,
) -> Campaign:
    """Change some settings or the status; every change of an audited field is recorded."""
    campaign = get_campaign(
        session, workspace_id=workspace_id, campaign_id=campaign_id, lock="update"
    )
    before = campaign_values(campaign)
    changed = {name: value for name, value in changes.items() if before.get(name) != value}
    if before["status"] == "ended":
        frozen = {
            name: ["The campaign has ended: its rewards and trigger are final."]
            for name in FROZEN_WHEN_ENDED
            if name in changed
        }
        if frozen:
            raise Conflict(
                "The rewards and trigger of an ended campaign cannot change.", errors=frozen
            )
    if "status" in changed:
        reason = transition_problem(before["status"], changed["status"])
        if reason:
            raise Conflict(reason, errors={"status": [reason]})
    workspace = get_workspace(session, workspace_id=workspace_id)
    urls, problems = _checked_urls(
        changed, [n for n in URL_FIELDS if n in changed], workspace.allowed_domains or []
    )
    changed.update(urls)
    after = {**before, **changed}
    problems = {**campaign_problems(after), **problems}
    if problems:
        raise Unprocessable("The campaign is not consistent; see errors.", errors=problems)
    changed = {name: value for name, value in changed.items() if before.get(name) != value}
    if changed:
        now = utcnow()
        _apply(campaign, changed)
        campaign.updated_at = now
        _record_audit(session, campaign, api_key_id, before, after, now, staff_user_id)
        session.flush()
    return campaign


def list_campaigns(
    session: DbSession,
    *,
    workspace_id: int,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
) -> tuple[list[Campaign], str | None]:
    """Campaigns, newest first."""
    query = select(Campaign).where(Campaign.workspace_id == workspace_id)
    if status is not None:
        query = query.where(Campaign.status == status)
    return page_by_id(session, query, Campaign.id, limit=limit, cursor=cursor, descending=True)


def list_audit(
    session: DbSession,
    *,
    workspace_id: int,
    campaign_id: int,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> tuple[list[CampaignAudit], str | None]:
    """A page of a campaign's audit trail, oldest first (newest first when asked)."""
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    query = select(CampaignAudit).where(CampaignAudit.campaign_id == campaign.id)
    return page_by_time(
        session,
        query,
        CampaignAudit.at,
        CampaignAudit.id,
        limit=limit,
        cursor=cursor,
        descending=newest_first,
    )
