"""Texts of the public pages, in the languages built in (English, German), and offers in words.

A campaign's ``translations`` (``{"fr": {"headline": ..., "body": ..., "disclosure": ...}}``,
the fields the campaigns API accepts) give the invitation page the brand's own words, and
languages beyond the built-in ones: there, what the brand did not write (offers, button)
stays in English. Friendly error pages use the built-in languages only. Pure: no Flask,
no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DEFAULT_LANGUAGE = "en"

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "invited_you": "{name} invited you",
        "invited_you_anonymous": "You've been invited",
        "you_get": "You get",
        "they_get": "{name} gets",
        "they_get_anonymous": "The person who invited you gets",
        "a_friend": "The person who invited you",
        "default_disclosure_anonymous": (
            "The person who invited you is a customer and may receive a reward if you accept "
            "this invitation."
        ),
        "on_signup": "when you sign up",
        "on_purchase": "with your purchase",
        "on_purchase_minimum": "with a purchase of {amount} or more",
        "cta": "Claim your offer",
        "about": "About this invitation",
        "default_disclosure": (
            "{name} is a customer and may receive a reward if you accept this invitation."
        ),
        "reward_credit": "{amount} credit",
        "reward_coupon": "{amount} off",
        "reward_points": "{amount} points",
        "unknown_title": "This link doesn't work",
        "unknown_body": (
            "The link may be incomplete or mistyped. Check it, or ask the person who sent it "
            "for a new one."
        ),
        "expired_title": "This invitation has expired",
        "expired_body": "The offer behind this link is no longer available.",
        "revoked_title": "This invitation is no longer valid",
        "revoked_body": "This link has been switched off.",
        "withdrawn_title": "This invitation is no longer valid",
        "withdrawn_body": "This link has been switched off.",
        "inactive_title": "This offer isn't available right now",
        "inactive_body": "The campaign behind this link is paused or not running.",
        "unavailable_title": "This invitation can't be opened right now",
        "unavailable_body": "Please try again later.",
        "rate_limited_title": "Too many requests",
        "rate_limited_body": "Please wait a minute, then try again.",
        "error_title": "Something went wrong",
        "error_body": "Please try again in a moment.",
        "fallback": "Visit the shop",
    },
    "de": {
        "invited_you": "{name} hat dich eingeladen",
        "invited_you_anonymous": "Du wurdest eingeladen",
        "you_get": "Du erhältst",
        "they_get": "{name} erhält",
        "they_get_anonymous": "Die Person, die dich eingeladen hat, erhält",
        "a_friend": "Die Person, die dich eingeladen hat",
        "default_disclosure_anonymous": (
            "Die Person, die dich eingeladen hat, ist Kundin oder Kunde und erhält "
            "möglicherweise eine Prämie, wenn du diese Einladung annimmst."
        ),
        "on_signup": "bei deiner Anmeldung",
        "on_purchase": "bei deinem Einkauf",
        "on_purchase_minimum": "bei einem Einkauf ab {amount}",
        "cta": "Angebot sichern",
        "about": "Über diese Einladung",
        "default_disclosure": (
            "{name} ist Kundin oder Kunde und erhält möglicherweise eine Prämie, wenn du "
            "diese Einladung annimmst."
        ),
        "reward_credit": "{amount} Guthaben",
        "reward_coupon": "{amount} Rabatt",
        "reward_points": "{amount} Punkte",
        "unknown_title": "Dieser Link funktioniert nicht",
        "unknown_body": (
            "Der Link ist vielleicht unvollständig oder falsch abgetippt. Prüfe ihn oder bitte "
            "die Person, die ihn geschickt hat, um einen neuen."
        ),
        "expired_title": "Diese Einladung ist abgelaufen",
        "expired_body": "Das Angebot hinter diesem Link ist nicht mehr verfügbar.",
        "revoked_title": "Diese Einladung ist nicht mehr gültig",
        "revoked_body": "Dieser Link wurde deaktiviert.",
        "withdrawn_title": "Diese Einladung ist nicht mehr gültig",
        "withdrawn_body": "Dieser Link wurde deaktiviert.",
        "inactive_title": "Dieses Angebot ist gerade nicht verfügbar",
        "inactive_body": "Die Aktion hinter diesem Link ist pausiert oder läuft gerade nicht.",
        "unavailable_title": "Diese Einladung kann gerade nicht geöffnet werden",
        "unavailable_body": "Bitte versuche es später noch einmal.",
        "rate_limited_title": "Zu viele Anfragen",
        "rate_limited_body": "Bitte warte eine Minute und versuche es dann noch einmal.",
        "error_title": "Etwas ist schiefgelaufen",
        "error_body": "Bitte versuche es gleich noch einmal.",
        "fallback": "Zum Shop",
    },
}
# What a brand may write per language (the campaigns API's translation fields). A headline
# may name the inviter with {name}.
CAMPAIGN_TEXTS = ("headline", "body", "disclosure")

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*\Z")
_ZERO_DECIMALS = frozenset({"JPY", "KRW", "ISK", "CLP", "VND", "UGX", "XAF", "XOF", "PYG"})
_THREE_DECIMALS = frozenset({"BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD"})
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def languages(translations: Mapping[str, Any] | None) -> list[str]:
    """Languages a page can be shown in: the built-in ones and those the campaign gave."""
    found = set(CATALOG)
    for tag in translations or {}:
        if isinstance(tag, str) and _LANGUAGE_TAG.match(tag.lower()):
            found.add(tag.lower())
    return sorted(found, key=lambda tag: (tag != DEFAULT_LANGUAGE, tag))


def texts(language: str, translations: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every text of the pages in ``language``: English, then built-in, then the campaign's."""
    merged = dict(CATALOG[DEFAULT_LANGUAGE])
    primary = language.split("-", 1)[0]
    merged.update(CATALOG.get(primary, {}))
    merged.update(CATALOG.get(language, {}))
    given = _campaign_texts(translations, primary)
    given.update(_campaign_texts(translations, language))
    merged.update(given)
    return merged


def _campaign_texts(translations: Mapping[str, Any] | None, language: str) -> dict[str, str]:
    if not translations:
        return {}
    for tag, values in translations.items():
        if isinstance(tag, str) and tag.lower() == language and isinstance(values, Mapping):
            return {
                key: value
                for key, value in values.items()
                if isinstance(value, str) and key in CAMPAIGN_TEXTS and value.strip()
            }
    return {}


def _number(value: float, decimals: int, language: str) -> str:
    text = f"{value:,.{decimals}f}"
    if language.split("-", 1)[0] == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def decimals(currency: str | None) -> int:
    """Digits after the decimal point of a currency's minor units (2 for EUR, 0 for JPY)."""
    code = (currency or "").upper()
    return 0 if code in _ZERO_DECIMALS else 3 if code in _THREE_DECIMALS else 2


def money(amount_minor: int, currency: str | None, language: str) -> str:
    """An amount in minor units, written for the page's language: €10.00, 10,00 €."""
    code = (currency or "").upper()
    places = decimals(code)
    number = _number(amount_minor / 10**places, places, language)
    symbol = _SYMBOLS.get(code)
    if language.split("-", 1)[0] == "de":
        return f"{number} {symbol or code}".strip()
    return f"{symbol}{number}" if symbol else f"{number} {code}".strip()


def reward(
    kind: str | None,
    amount: int | None,
    currency: str | None,
    language: str,
    words: Mapping[str, str],
) -> str | None:
    """A reward in words ("€10.00 credit", "500 Punkte"), or None for a side without one."""
    if not kind or amount is None:
        return None
    if kind == "points":
        return fill(words["reward_points"], amount=_number(amount, 0, language))
    return fill(words.get(f"reward_{kind}", "{amount}"), amount=money(amount, currency, language))


def fill(template: str, **values: str) -> str:
    """Put values into a text; brand-given texts may hold other braces, so no str.format."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def invitation_texts(campaign: Any, inviter: str | None, language: str) -> dict[str, Any]:
    """Everything the invitation page says, for a campaign and the inviter's first name."""
    words = texts(language, campaign.translations)
    if campaign.trigger_event == "signup":
        condition = words["on_signup"]
    elif campaign.min_order_amount:
        amount = money(campaign.min_order_amount, campaign.invitee_reward_currency, language)
        condition = fill(words["on_purchase_minimum"], amount=amount)
    else:
        condition = words["on_purchase"]
    if "headline" in words:
        headline = fill(words["headline"], name=inviter or words["a_friend"])
    elif inviter:
        headline = fill(words["invited_you"], name=inviter)
    else:
        headline = words["invited_you_anonymous"]
    if inviter:
        default_disclosure = fill(words["default_disclosure"], name=inviter)
    else:
        default_disclosure = words["default_disclosure_anonymous"]
    return {
        "headline": headline,
        "body": words.get("body"),
        "you_get": words["you_get"],
        "invitee_offer": reward(
            campaign.invitee_reward_kind,
            campaign.invitee_reward_amount,
            campaign.invitee_reward_currency,
            language,
            words,
        ),
        "condition": condition,
        "they_get": fill(words["they_get"], name=inviter)
        if inviter
        else words["they_get_anonymous"],
        "inviter_offer": reward(
            campaign.inviter_reward_kind,
            campaign.inviter_reward_amount,
            campaign.inviter_reward_currency,
            language,
            words,
        ),
        "about": words["about"],
        "disclosure": words.get("disclosure") or campaign.disclosure or default_disclosure,
        "cta": words["cta"],
    }
