"""GET /r/<token>: verify, record the click, set the cookies, redirect; or a friendly page."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import request_started
from itsdangerous import TimestampSigner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from advocacy.campaigns.models import Enrollment
from advocacy.links import clicks, tokens
from advocacy.links.models import Click, ReferralLink
from advocacy.types import utcnow
from advocacy.workspaces.models import Workspace
from tests.factories import enroll, make_campaign

SIGNING_KEYS = ["test-signing-key-0123456789abcdef"]


def _path(link):
    return f"/r/{link['token']}"


def _clicks(session, link_id=None):
    query = select(Click).order_by(Click.id)
    if link_id is not None:
        query = query.where(Click.link_id == link_id)
    return list(session.scalars(query))


def _set_cookies(response):
    """{name: Morsel} of the Set-Cookie headers."""
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return jar


def _raw_set_cookie(response, name):
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def _assert_friendly(response, status):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    text = response.get_data(as_text=True)
    assert text.startswith("<!doctype html>")
    assert "Traceback" not in text
    return text


# --- the happy path ----------------------------------------------------------------


def test_redirects_to_the_landing_page_with_ref(client, link):
    response = client.get(_path(link))

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "shop.example",
        "/welcome",
    )
    assert parse_qs(location.query) == {"utm_source": ["referral"], "ref": [link["token"]]}


def test_existing_ref_parameter_is_replaced(client, session, campaign, link):
    campaign.landing_url = "https://shop.example/?ref=stale&a=1"
    session.commit()

    response = client.get(_path(link))

    assert response.headers["Location"] == f"https://shop.example/?a=1&ref={link['token']}"


def test_click_is_recorded(client, session, link):
    client.get(_path(link), headers={"User-Agent": "Phone/1.0"})

    (click,) = _clicks(session)
    assert click.link_id == link["id"]
    assert click.campaign_id == link["campaign_id"]
    assert click.unique_visit is True
    assert click.user_agent == "Phone/1.0"
    assert len(click.visitor_id) >= 16
    assert len(click.ip_hash) == 64
    assert "127.0.0.1" not in click.ip_hash


def test_user_agent_is_truncated(client, session, link):
    client.get(_path(link), headers={"User-Agent": "x" * 2000})

    (click,) = _clicks(session)
    assert len(click.user_agent) == 512


def test_ip_hash_is_keyed(client, session, link):
    client.get(_path(link))

    (click,) = _clicks(session)
    assert click.ip_hash != hashlib.sha256(b"127.0.0.1").hexdigest()


def test_redirect_is_not_cached(client, link):
    response = client.get(_path(link))

    assert response.headers["Cache-Control"] == "no-store"


# --- cookies ---------------------------------------------------------------------------


def test_visitor_cookie_is_first_party_and_http_only(client, link):
    header = _raw_set_cookie(client.get(_path(link)), "adv_vid")

    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" in header
    assert "Domain" not in header
    assert "Path=/" in header


def test_attribution_cookie_lasts_the_attribution_window(client, session, campaign, link):
    campaign.attribution_window_days = 14
    session.commit()

    response = client.get(_path(link))

    header = _raw_set_cookie(response, "adv_ref")
    assert f"Max-Age={14 * 86400}" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" in header


def test_attribution_cookie_names_the_click(client, session, link):
    response = client.get(_path(link))

    value = _set_cookies(response)["adv_ref"].value
    ref = tokens.read_attribution(value, SIGNING_KEYS, 86400)
    (click,) = _clicks(session)
    assert (ref.campaign_id, ref.link_id, ref.click_id) == (
        link["campaign_id"],
        link["id"],
        click.id,
    )


def test_cookies_are_not_secure_in_development(client, app, link, monkeypatch):
    monkeypatch.setitem(app.config, "ADVOCACY_ENV", "development")

    response = client.get(_path(link))

    for name in ("adv_vid", "adv_ref"):
        assert "Secure" not in _raw_set_cookie(response, name)


# --- unique visitors -----------------------------------------------------------------


def test_same_visitor_twice_is_two_clicks_one_unique(client, session, link):
    client.get(_path(link))
    client.get(_path(link))  # the test client sends the cookies back

    clicks = _clicks(session)
    assert len(clicks) == 2
    assert [c.unique_visit for c in clicks] == [True, False]
    assert clicks[0].visitor_id == clicks[1].visitor_id


def test_returning_visitor_without_attribution_cookie_is_found_in_the_clicks(client, session, link):
    client.get(_path(link))
    client.delete_cookie("adv_ref")

    client.get(_path(link))

    assert [c.unique_visit for c in _clicks(session)] == [True, False]


def test_returning_visitor_after_the_window_is_unique_again(client, session, link):
    client.get(_path(link))
    client.delete_cookie("adv_ref")
    (first,) = _clicks(session)
    first.clicked_at = utcnow() - timedelta(days=31)
    session.commit()

    client.get(_path(link))

    assert [c.unique_visit for c in _clicks(session)] == [True, True]


def test_visitor_of_two_campaigns_is_unique_in_each(client, session, api, workspace, link):
    other = make_campaign(session, workspace.id, name="Summer")
    enroll(session, other, "ann")
    other_link = api.post(
        f"/api/v1/campaigns/{other.id}/links", json={"advocate": "ann", "channel": "sms"}
    ).json

    client.get(_path(link))
    client.get(_path(other_link))
    client.get(_path(link))  # its attribution cookie now names the other campaign

    assert [c.unique_visit for c in _clicks(session)] == [True, True, False]


def test_different_visitors_are_each_unique(app, session, link):
    for _ in range(2):
        app.test_client().get(_path(link))

    assert [c.unique_visit for c in _clicks(session)] == [True, True]


def test_forged_visitor_cookie_is_replaced(client, session, link):
    client.set_cookie("adv_vid", "<script>")

    client.get(_path(link))

    (click,) = _clicks(session)
    assert click.visitor_id != "<script>"


# --- links that do not work -----------------------------------------------------------


def test_revoked_link_is_410(api, client, session, link):
    api.delete(f"/api/v1/links/{link['id']}")

    _assert_friendly(client.get(_path(link)), 410)
    assert _clicks(session) == []


def test_paused_campaign_is_410(client, session, campaign, link):
    campaign.status = "paused"
    session.commit()

    text = _assert_friendly(client.get(_path(link)), 410)
    assert "paused" in text
    assert _clicks(session) == []


def test_ended_campaign_is_410(client, session, campaign, link):
    campaign.status = "ended"
    session.commit()

    _assert_friendly(client.get(_path(link)), 410)


def test_withdrawn_advocate_is_410(client, session, link):
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.campaign_id == link["campaign_id"])
    )
    enrollment.withdrawn_at = utcnow()
    session.commit()

    _assert_friendly(client.get(_path(link)), 410)


def test_link_past_its_expiry_is_410(client, session, link):
    session.get(ReferralLink, link["id"]).expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    _assert_friendly(client.get(_path(link)), 410)


def test_token_older_than_the_maximum_age_is_410(client, link, monkeypatch):
    old = int(time.time()) - 401 * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: old)
    token = tokens.sign_link(link["id"], SIGNING_KEYS)
    monkeypatch.undo()

    _assert_friendly(client.get(f"/r/{token}"), 410)


def test_tampered_token_is_404(client, link):
    token = link["token"]
    # One character of the signature, not the last: its low bits are base64 padding, and
    # changing only those ('A' <-> 'B') decodes to the same signature.
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]

    _assert_friendly(client.get(f"/r/{tampered}"), 404)


def test_token_of_another_link_id_is_404(client, link):
    _, rest = link["token"].split(".", 1)

    _assert_friendly(client.get(f"/r/{link['id'] + 1}.{rest}"), 404)


def test_authentic_token_of_a_missing_link_is_404(client, link):
    _assert_friendly(client.get(f"/r/{tokens.sign_link(999999, SIGNING_KEYS)}"), 404)


def test_superseded_token_of_a_renewed_link_is_404(client, link, monkeypatch):
    earlier = int(time.time()) - 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: earlier)
    other = tokens.sign_link(link["id"], SIGNING_KEYS)  # authentic, but not the link's token
    monkeypatch.undo()

    _assert_friendly(client.get(f"/r/{other}"), 404)


@pytest.mark.parametrize("junk", ["x", "1.2.3", "a" * 300, "1.abc.%3Cscript%3E", "..."])
def test_junk_token_is_404(client, junk):
    _assert_friendly(client.get(f"/r/{junk}"), 404)


def test_bad_signature_runs_no_sql(client, link):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    tampered = link["token"][:-2] + "zz"
    event.listen(Engine, "before_cursor_execute", count)
    try:
        response = client.get(f"/r/{tampered}")
    finally:
        event.remove(Engine, "before_cursor_execute", count)

    assert response.status_code == 404
    assert statements == []


def test_good_token_runs_one_select_and_one_insert(client, link):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(Engine, "before_cursor_execute", count)
    try:
        response = client.get(_path(link))
    finally:
        event.remove(Engine, "before_cursor_execute", count)

    assert response.status_code == 302
    assert [s for s in statements if s in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [
        "SELECT",
        "INSERT",
    ]


def test_unexpected_error_is_a_friendly_500(client, link, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(clicks, "follow_link", broken)

    text = _assert_friendly(client.get(_path(link)), 500)
    assert "database on fire" not in text
    assert "Something went wrong" in text


# --- never anywhere but an allowed domain ------------------------------------------------


def test_landing_domain_removed_from_the_allow_list_is_not_followed(
    client, session, workspace, link
):
    session.get(Workspace, workspace.id).allowed_domains = ["other.example"]
    session.commit()

    text = _assert_friendly(client.get(_path(link)), 404)
    assert "shop.example" not in text  # and no button to a domain no longer allowed
    assert _clicks(session) == []


def test_landing_url_off_the_allow_list_is_not_followed(client, session, campaign, link):
    campaign.landing_url = "https://shop.example.evil.example/"
    session.commit()

    _assert_friendly(client.get(_path(link)), 404)


@pytest.mark.parametrize(
    "landing",
    [
        "//evil.example/",
        "https://shop.example@evil.example/",
        "http://shop.example/",
        "https://evil.example\\@shop.example/",
        "javascript:alert(1)",
    ],
)
def test_open_redirect_attempts_are_refused(client, session, campaign, link, landing):
    campaign.landing_url = landing
    session.commit()

    _assert_friendly(client.get(_path(link)), 404)


def test_friendly_page_offers_an_allowed_fallback(client, session, campaign, link):
    campaign.status = "paused"
    campaign.fallback_url = "https://shop.example/sale"
    session.commit()

    text = _assert_friendly(client.get(_path(link)), 410)

    assert 'href="https://shop.example/sale"' in text


def test_friendly_page_hides_a_fallback_off_the_allow_list(client, session, campaign, link):
    campaign.status = "paused"
    campaign.fallback_url = "https://evil.example/"
    session.commit()

    text = _assert_friendly(client.get(_path(link)), 410)

    assert "evil.example" not in text


# --- language ------------------------------------------------------------------------------


def test_friendly_page_is_english_by_default(client, link, api):
    api.delete(f"/api/v1/links/{link['id']}")

    text = _assert_friendly(client.get(_path(link)), 410)

    assert '<html lang="en">' in text
    assert "no longer valid" in text


def test_friendly_page_speaks_german(client, api, link):
    api.delete(f"/api/v1/links/{link['id']}")

    response = client.get(_path(link), headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})

    text = _assert_friendly(response, 410)
    assert '<html lang="de">' in text
    assert "nicht mehr gültig" in text
    assert response.headers["Vary"] == "Accept-Language"


def test_unknown_token_page_speaks_german(client):
    text = _assert_friendly(client.get("/r/1.abc.xyz", headers={"Accept-Language": "de"}), 404)

    assert "Dieser Link funktioniert nicht" in text


def test_friendly_page_speaks_built_in_languages_only(client, session, api, campaign, link):
    campaign.translations = {"fr": {"headline": "{name} vous invite"}}  # not error texts
    session.commit()
    api.delete(f"/api/v1/links/{link['id']}")

    text = _assert_friendly(client.get(_path(link), headers={"Accept-Language": "fr-FR"}), 410)

    assert '<html lang="en">' in text


def test_unsupported_language_falls_back_to_english(client, api, link):
    api.delete(f"/api/v1/links/{link['id']}")

    text = _assert_friendly(client.get(_path(link), headers={"Accept-Language": "ja"}), 410)

    assert '<html lang="en">' in text


# --- rate limits --------------------------------------------------------------------------


def test_guessing_tokens_is_stopped_with_429(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "INVALID_LINK_RATE_LIMIT", "3 per minute")

    statuses = [client.get(f"/r/{n}.abcdef.{'x' * 27}").status_code for n in range(5)]

    assert statuses == [404, 404, 404, 429, 429]


def test_rate_limited_page_is_friendly(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "INVALID_LINK_RATE_LIMIT", "1 per minute")
    client.get("/r/1.abc.def")

    response = client.get("/r/1.abc.def", headers={"Accept-Language": "de"})

    text = _assert_friendly(response, 429)
    assert "Zu viele Anfragen" in text
    assert int(response.headers["Retry-After"]) >= 1


def test_good_links_are_not_counted_as_guesses(client, app, link, monkeypatch):
    monkeypatch.setitem(app.config, "INVALID_LINK_RATE_LIMIT", "2 per minute")

    statuses = {client.get(_path(link)).status_code for _ in range(5)}

    assert statuses == {302}


def test_flood_of_good_clicks_is_limited_too(client, app, link, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_RATE_LIMIT", "3 per minute")

    statuses = [client.get(_path(link)).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]


def test_other_clients_are_not_limited(app, link, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_RATE_LIMIT", "1 per minute")
    app.test_client().get(_path(link))

    response = app.test_client().get(_path(link), environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 302


def test_api_is_not_rate_limited_by_the_public_limits(api, app, link, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_RATE_LIMIT", "1 per minute")

    statuses = {api.get(f"/api/v1/links/{link['id']}").status_code for _ in range(3)}

    assert statuses == {200}


# --- the lean handler -----------------------------------------------------------------


def test_head_checks_the_link_and_records_no_click(client, session, link):
    response = client.head(_path(link))

    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["ref"] == [link["token"]]
    assert "Set-Cookie" not in response.headers
    assert _clicks(session) == []


def test_head_of_a_revoked_link_is_410(api, client, link):
    api.delete(f"/api/v1/links/{link['id']}")

    assert client.head(_path(link)).status_code == 410


def test_the_redirect_is_answered_without_a_flask_request(app, client, link):
    dispatched = []

    def note(sender, **extra):
        dispatched.append(sender)

    request_started.connect(note, app)
    try:
        redirect = client.get(_path(link))
        refused = client.get(_path(link)[:-2] + "zz")
    finally:
        request_started.disconnect(note, app)

    assert (redirect.status_code, refused.status_code) == (302, 404)
    assert len(dispatched) == 1  # only the refusal page went through Flask


def test_the_redirect_writes_the_access_line_and_echoes_the_request_id(client, link, caplog):
    with caplog.at_level("INFO", logger="advocacy.access"):
        response = client.get(_path(link), headers={"X-Request-ID": "click-42"})

    (record,) = [r for r in caplog.records if r.name == "advocacy.access"]
    assert response.headers["X-Request-ID"] == "click-42"
    assert (record.request_id, record.method, record.route, record.status) == (
        "click-42",
        "GET",
        "/r/<token>",
        302,
    )
    assert record.duration_ms >= 0


def test_the_redirect_is_counted_in_the_metrics(client, link):
    def redirects():
        text = client.get("/metrics").get_data(as_text=True)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = sample.labels
                if (
                    sample.name == "advocacy_http_request_duration_seconds_count"
                    and labels["url_rule"] == "/r/<token>"
                    and labels["status"] == "302"
                ):
                    return sample.value
        return 0.0

    before = redirects()
    client.get(_path(link))

    assert redirects() == before + 1
