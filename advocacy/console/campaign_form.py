"""The campaign form of the console: posted fields <-> the API's campaign payload.

The console validates with the API's own marshmallow schemas
(``CampaignCreateSchema``/``CampaignPatchSchema``) and then the campaigns service, so a
campaign the API refuses is refused here with the same messages, shown beside the field.
Fields are flat (``inviter_reward_amount``); nested errors (``inviter_reward.amount``) are
put back on them by ``field_errors``. Times are entered in the workspace's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma

from advocacy.api.campaigns import CampaignCreateSchema, CampaignPatchSchema
from advocacy.campaigns.service import campaign_values
from advocacy.errors import Unprocessable

SIDES = ("inviter", "invitee")
REWARD_PARTS = ("kind", "amount", "currency")
OPTIONAL_NUMBERS = ("attribution_window_days", "hold_days", "budget", "per_advocate_cap")
OPTIONAL_TEXTS = ("fallback_url", "disclosure")
TIMES = ("starts_at", "ends_at")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# Errors of nested fields and of whole objects, shown on the flat field that holds them.
NESTED_FIELDS = {
    "trigger.event": "trigger_event",
    "trigger.min_order_amount": "min_order_amount",
    "trigger.first_purchase_only": "first_purchase_only",
    "trigger": "trigger_event",
}


def _number(raw: str | None) -> Any:
    """An integer, None for an empty box, or the text itself (the schema names the problem)."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _local_time(raw: str | None, tz: str) -> Any:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        moment = datetime.strptime(text, LOCAL_FORMAT).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        return text  # not a date: the schema says so
    return moment.isoformat()


def _reward(form: Mapping[str, str], side: str) -> dict[str, Any] | None:
    kind = (form.get(f"{side}_reward_kind") or "").strip()
    if not kind:
        return None
    currency = (form.get(f"{side}_reward_currency") or "").strip().upper() or None
    return {
        "kind": kind,
        "amount": _number(form.get(f"{side}_reward_amount")),
        "currency": currency,
    }


def form_payload(form: Mapping[str, str], tz: str) -> dict[str, Any]:
    """The API's JSON body for the posted form (before validation)."""
    payload: dict[str, Any] = {
        "name": (form.get("name") or "").strip(),
        "objective": form.get("objective") or "",
        "landing_url": (form.get("landing_url") or "").strip(),
        "one_sided": form.get("one_sided") == "y",
        "attribution_model": form.get("attribution_model") or "last_click",
    }
    for side in SIDES:
        payload[f"{side}_reward"] = _reward(form, side)
    trigger: dict[str, Any] = {
        "event": form.get("trigger_event") or "",
        "first_purchase_only": form.get("first_purchase_only") == "y",
    }
    minimum = _number(form.get("min_order_amount"))
    if minimum is not None:
        trigger["min_order_amount"] = minimum
    payload["trigger"] = trigger
    for name in OPTIONAL_NUMBERS:
        value = _number(form.get(name))
        if value is not None or name in ("budget", "per_advocate_cap"):
            payload[name] = value
    for name in OPTIONAL_TEXTS:
        payload[name] = (form.get(name) or "").strip() or None
    for name in TIMES:
        payload[name] = _local_time(form.get(name), tz)
    return payload


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix: list(messages)}
    return {prefix: [str(messages)]}


def field_errors(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """API error keys (``inviter_reward.amount``, ``_schema``) as the form's field names."""
    out: dict[str, list[str]] = {}
    for key, messages in _flatten(errors).items():
        name = NESTED_FIELDS.get(key) or key.replace("_reward.", "_reward_").split(".")[0]
        if name == "_schema" or name in ("inviter_reward", "invitee_reward"):
            name = {"_schema": "form"}.get(name, f"{name}_kind")
        out.setdefault(name, []).extend(messages)
    return out


def validated(payload: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The payload loaded by the API's schema; Unprocessable with field errors if refused."""
    schema = CampaignPatchSchema() if partial else CampaignCreateSchema()
    try:
        return dict(schema.load(payload))
    except ma.ValidationError as error:
        raise Unprocessable(
            "The campaign is not valid; see errors.", errors=dict(error.normalized_messages())
        ) from error


def form_values(campaign: Any, tz: str) -> dict[str, str]:
    """The form's fields for a stored campaign (times in the workspace's zone)."""
    values = campaign_values(campaign)
    form: dict[str, Any] = {
        name: values[name]
        for name in ("name", "objective", "landing_url", "attribution_model", *OPTIONAL_NUMBERS)
    }
    form.update({name: values[name] or "" for name in OPTIONAL_TEXTS})
    form["one_sided"] = "y" if values["one_sided"] else ""
    for side in SIDES:
        reward = values[f"{side}_reward"] or {}
        for part in REWARD_PARTS:
            form[f"{side}_reward_{part}"] = reward.get(part) or ""
    trigger = values["trigger"]
    form["trigger_event"] = trigger["event"]
    form["min_order_amount"] = trigger["min_order_amount"] or ""
    form["first_purchase_only"] = "y" if trigger["first_purchase_only"] else ""
    for name in TIMES:
        moment = values[name]
        form[name] = moment.astimezone(ZoneInfo(tz)).strftime(LOCAL_FORMAT) if moment else ""
    return {key: "" if value is None else str(value) for key, value in form.items()}


def preview_offer(payload: Mapping[str, Any]) -> SimpleNamespace:
    """A campaign-shaped object for the invitation texts, from a (possibly invalid) form."""
    offer: dict[str, Any] = {"translations": {}, "disclosure": payload.get("disclosure")}
    trigger = payload.get("trigger") or {}
    offer["trigger_event"] = trigger.get("event") or "purchase"
    minimum = trigger.get("min_order_amount")
    offer["min_order_amount"] = minimum if isinstance(minimum, int) else 0
    for side in SIDES:
        reward = payload.get(f"{side}_reward") or {}
        amount = reward.get("amount")
        usable = isinstance(amount, int) and amount > 0
        offer[f"{side}_reward_kind"] = reward.get("kind") if usable else None
        offer[f"{side}_reward_amount"] = amount if usable else None
        offer[f"{side}_reward_currency"] = reward.get("currency")
    return SimpleNamespace(**offer)
