"""Pure rules of the click path and the public pages' texts: no Flask, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from advocacy.links import rules
from advocacy.web import messages

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeCampaign:
    status: str = "active"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    trigger_event: str = "purchase"
    min_order_amount: int = 0
    inviter_reward_kind: str | None = "credit"
    inviter_reward_amount: int | None = 1000
    inviter_reward_currency: str | None = "EUR"
    invitee_reward_kind: str | None = "coupon"
    invitee_reward_amount: int | None = 1500
    invitee_reward_currency: str | None = "EUR"
    disclosure: str | None = None
    translations: dict[str, Any] = field(default_factory=dict)


def _refusal(campaign=None, **fields):
    values = {"revoked_at": None, "expires_at": NOW + timedelta(days=1), "withdrawn_at": None}
    values.update(fields)
    return rules.refusal(now=NOW, campaign=campaign or FakeCampaign(), **values)


# --- when a link may be followed --------------------------------------------------------


def test_live_link_may_be_followed():
    assert _refusal() is None


def test_revoked_wins_over_everything():
    assert _refusal(FakeCampaign(status="ended"), revoked_at=NOW, withdrawn_at=NOW) == "revoked"


def test_withdrawn_advocate():
    assert _refusal(withdrawn_at=NOW) == "withdrawn"


def test_past_expiry():
    assert _refusal(expires_at=NOW) == "expired"


@pytest.mark.parametrize(
    "campaign",
    [FakeCampaign(status="ended"), FakeCampaign(ends_at=NOW - timedelta(seconds=1))],
)
def test_ended_campaign_is_expired(campaign):
    assert _refusal(campaign) == "expired"


@pytest.mark.parametrize(
    "campaign",
    [
        FakeCampaign(status="paused"),
        FakeCampaign(status="draft"),
        FakeCampaign(starts_at=NOW + timedelta(hours=1)),
    ],
)
def test_campaign_not_running_is_inactive(campaign):
    assert _refusal(campaign) == "inactive"


def test_issuance_refused_for_ended_and_not_live_campaigns():
    assert rules.issuance_refusal(FakeCampaign(), NOW) is None
    assert rules.issuance_refusal(FakeCampaign(status="ended"), NOW) == "ended"
    assert rules.issuance_refusal(FakeCampaign(status="paused"), NOW) == "not_live"


def test_link_expires_with_the_campaign_or_the_maximum_age():
    soon = NOW + timedelta(days=3)

    assert rules.link_expiry(NOW, soon, 400) == soon
    assert rules.link_expiry(NOW, None, 400) == NOW + timedelta(days=400)
    assert rules.link_expiry(NOW, NOW + timedelta(days=999), 400) == NOW + timedelta(days=400)


# --- where a link may lead ---------------------------------------------------------------


def test_allowed_url_is_normalised():
    assert rules.allowed_url("HTTPS://Shop.Example/a?b=1", ["shop.example"]) == (
        "https://shop.example/a?b=1"
    )


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://evil.example/",
        "http://shop.example/",
        "//shop.example/",
        "https://a@shop.example/",
    ],
)
def test_urls_off_the_allow_list_are_refused(url):
    assert rules.allowed_url(url, ["shop.example"]) is None


def test_nothing_is_allowed_without_an_allow_list():
    assert rules.allowed_url("https://shop.example/", None) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example/", "https://shop.example/?ref=T.1.s"),
        ("https://shop.example/?a=1", "https://shop.example/?a=1&ref=T.1.s"),
        (
            "https://shop.example/?ref=old&a=%20x&flag",
            "https://shop.example/?a=%20x&flag&ref=T.1.s",
        ),
        ("https://shop.example/p#top", "https://shop.example/p?ref=T.1.s#top"),
    ],
)
def test_ref_is_added_and_other_parameters_kept(url, expected):
    assert rules.with_ref(url, "T.1.s") == expected


def test_first_name_is_trimmed_and_capped():
    assert rules.first_name("  Ann  Marie ") == "Ann Marie"
    assert rules.first_name("x" * 100) == "x" * 40
    assert rules.first_name("   ") is None
    assert rules.first_name(None) is None


# --- texts ------------------------------------------------------------------------------


def test_every_built_in_language_has_every_text():
    assert set(messages.CATALOG["de"]) == set(messages.CATALOG["en"])


def test_languages_include_the_campaigns():
    assert messages.languages({"FR": {}, "bad tag!": {}}) == ["en", "de", "fr"]


def test_campaign_gives_headline_body_and_disclosure_only():
    words = messages.texts("de-AT", {"de": {"headline": "Hallo", "cta": "Los", "body": " "}})

    assert words["headline"] == "Hallo"
    assert words["cta"] == "Angebot sichern"
    assert "body" not in words


def test_unknown_language_falls_back_to_english():
    assert messages.texts("ja")["cta"] == "Claim your offer"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (1500, "EUR", "en", "€15.00"),
        (1500, "EUR", "de", "15,00 €"),
        (123456789, "USD", "en", "$1,234,567.89"),
        (123456789, "USD", "de", "1.234.567,89 $"),
        (500, "JPY", "en", "500 JPY"),
        (1500, "CHF", "en", "15.00 CHF"),
        (1234, "KWD", "en", "1.234 KWD"),
    ],
)
def test_money(amount, currency, language, expected):
    assert messages.money(amount, currency, language) == expected


def test_points_are_counted_not_priced():
    words = messages.texts("de")

    assert messages.reward("points", 1500, None, "de", words) == "1.500 Punkte"


def test_side_without_reward_has_no_text():
    assert messages.reward(None, None, None, "en", messages.texts("en")) is None


def test_brand_texts_with_braces_do_not_break_the_page():
    campaign = FakeCampaign(translations={"en": {"headline": "{name} says {hi}"}})

    page = messages.invitation_texts(campaign, "Ann", "en")

    assert page["headline"] == "Ann says {hi}"


def test_invitation_texts_in_german():
    page = messages.invitation_texts(FakeCampaign(min_order_amount=5000), "Ann", "de")

    assert page["headline"] == "Ann hat dich eingeladen"
    assert page["invitee_offer"] == "15,00 € Rabatt"
    assert page["inviter_offer"] == "10,00 € Guthaben"
    assert page["condition"] == "bei einem Einkauf ab 50,00 €"
    assert page["disclosure"].startswith("Ann ist Kundin oder Kunde")


def test_invitation_without_a_name():
    page = messages.invitation_texts(FakeCampaign(), None, "en")

    assert page["headline"] == "You've been invited"
    assert page["they_get"] == "The person who invited you gets"
    assert page["disclosure"].startswith("The person who invited you is a customer")


def test_brand_headline_without_a_name():
    campaign = FakeCampaign(translations={"en": {"headline": "{name} gives you €15"}})

    page = messages.invitation_texts(campaign, None, "en")

    assert page["headline"] == "The person who invited you gives you €15"
