"""GET /i/<token>: who invited you, both offers, the disclosure, one call to action.

The page records nothing: the click is recorded when the call to action reaches /r.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from advocacy.customers.models import Customer
from advocacy.links.models import Click


def _page(client, link, **headers):
    response = client.get(f"/i/{link['token']}", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_names_the_inviter(client, link):
    assert "<h1>Ann invited you</h1>" in _page(client, link)


def test_shows_both_offers_and_the_condition(client, link):
    text = _page(client, link)

    assert "€15.00 off" in text
    assert "with your purchase" in text
    assert "Ann gets" in text
    assert "€10.00 credit" in text


def test_discloses_the_inviters_reward(client, link):
    assert "Your friend gets EUR 10 credit when you place your first order." in _page(client, link)


def test_default_disclosure_when_the_campaign_gave_none(client, session, campaign, link):
    campaign.disclosure = None
    session.commit()

    assert "Ann is a customer and may receive a reward" in _page(client, link)


def test_call_to_action_goes_through_the_click_path(client, link):
    text = _page(client, link)

    assert re.findall(r'<a class="cta" href="([^"]+)"', text) == [f"/r/{link['token']}"]


def test_records_no_click(client, session, link):
    _page(client, link)

    assert session.scalar(select(func.count()).select_from(Click)) == 0


def test_is_german_for_german_visitors(client, link):
    text = _page(client, link, **{"Accept-Language": "de-DE,de;q=0.9"})

    assert '<html lang="de">' in text
    assert "Ann hat dich eingeladen" in text
    assert "15,00 € Rabatt" in text
    assert "10,00 € Guthaben" in text
    assert "Angebot sichern" in text


def test_uses_the_campaigns_translations(client, session, campaign, link):
    campaign.translations = {
        "de": {"disclosure": "Ann erhält 10 € Guthaben, wenn du bestellst."},
        "fr": {
            "headline": "{name} vous invite",
            "body": "Profitez de 15 € sur votre première commande.",
            "disclosure": "Ann reçoit 10 € de crédit.",
        },
    }
    session.commit()

    german = _page(client, link, **{"Accept-Language": "de"})
    french = _page(client, link, **{"Accept-Language": "fr-CA,fr;q=0.8"})

    assert "Ann hat dich eingeladen" in german
    assert "Ann erhält 10 € Guthaben, wenn du bestellst." in german
    assert '<html lang="fr">' in french
    assert "<h1>Ann vous invite</h1>" in french
    assert "Profitez de 15 € sur votre première commande." in french
    assert "Ann reçoit 10 € de crédit." in french
    assert "Claim your offer" in french  # what the brand did not write stays in English


def test_signup_campaign_says_so(client, session, campaign, link):
    campaign.trigger_event = "signup"
    session.commit()

    assert "when you sign up" in _page(client, link)


def test_minimum_order_is_stated(client, session, campaign, link):
    campaign.min_order_amount = 5000
    session.commit()

    assert "with a purchase of €50.00 or more" in _page(client, link)


def test_one_sided_campaign_shows_one_offer(client, session, campaign, link):
    campaign.inviter_reward_kind = None
    campaign.inviter_reward_amount = None
    campaign.inviter_reward_currency = None
    campaign.one_sided = True
    session.commit()

    text = _page(client, link)

    assert "Ann gets" not in text
    assert "€15.00 off" in text


def test_erased_inviter_is_not_named(client, session, link):
    customer = session.scalar(select(Customer).where(Customer.external_id == "ann"))
    customer.first_name = None
    customer.erased_at = customer.updated_at
    session.commit()

    text = _page(client, link)

    assert "<h1>You&#39;ve been invited</h1>" in text
    assert "Ann" not in text


def test_names_are_escaped(client, session, link):
    customer = session.scalar(select(Customer).where(Customer.external_id == "ann"))
    customer.first_name = "<b>Ann</b>"
    session.commit()

    text = _page(client, link)

    assert "<b>Ann</b>" not in text
    assert "&lt;b&gt;Ann&lt;/b&gt; invited you" in text


def test_is_accessible_and_self_contained(client, link):
    text = _page(client, link)

    assert '<html lang="en">' in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "<script" not in text
    assert re.findall(r'(?:src|href)="(https?:)?//', text) == []  # nothing third-party
    assert text.count("<h1>") == 1


def test_sends_protective_headers(client, link):
    response = client.get(f"/i/{link['token']}")

    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_stylesheet_is_served(client, link):
    response = client.get("/static/links.css")

    assert response.status_code == 200
    assert response.mimetype == "text/css"
    response.close()


def test_revoked_link_shows_the_friendly_page(api, client, link):
    api.delete(f"/api/v1/links/{link['id']}")

    response = client.get(f"/i/{link['token']}")

    assert response.status_code == 410
    assert response.mimetype == "text/html"
    assert "no longer valid" in response.get_data(as_text=True)


def test_paused_campaign_shows_the_friendly_page(client, session, campaign, link):
    campaign.status = "paused"
    session.commit()

    assert client.get(f"/i/{link['token']}").status_code == 410


def test_landing_off_the_allow_list_shows_the_friendly_page(client, session, campaign, link):
    campaign.landing_url = "https://evil.example/"
    session.commit()

    assert client.get(f"/i/{link['token']}").status_code == 404


def test_tampered_token_is_404(client, link):
    response = client.get(f"/i/{link['token'][:-3]}abc")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_shows_the_workspace_brand_set_in_settings(client, api, link, workspace):
    api.patch(
        "/api/v1/workspace/settings", json={"brand_name": "Acme Shoes", "brand_colour": "#AA3300"}
    )
    text = _page(client, link)

    assert '<p class="brand" data-testid="brand">Acme Shoes</p>' in text
    stylesheet = re.search(r'href="(/brand/\d+\.css)"', text).group(1)
    with client.get(stylesheet) as css:
        assert "--brand: #aa3300" in css.get_data(as_text=True)


def test_workspace_settings_api_checks_the_zone_and_colour(api):
    response = api.patch(
        "/api/v1/workspace/settings", json={"time_zone": "Mars/Base", "brand_colour": "red"}
    )

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"time_zone", "brand_colour"}
    assert api.get("/api/v1/workspace/settings").json["time_zone"] == "UTC"


def test_shares_the_click_paths_rate_limit(client, app, link, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_RATE_LIMIT", "2 per minute")

    statuses = [
        client.get(f"/i/{link['token']}").status_code,
        client.get(f"/r/{link['token']}").status_code,
        client.get(f"/i/{link['token']}").status_code,
    ]

    assert statuses == [200, 302, 429]


def test_unknown_tokens_count_as_guesses(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "INVALID_LINK_RATE_LIMIT", "2 per minute")

    statuses = [client.get(f"/i/{n}.abcdef.{'x' * 27}").status_code for n in range(3)]

    assert statuses == [404, 404, 429]
