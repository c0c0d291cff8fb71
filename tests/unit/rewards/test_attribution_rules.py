"""Attribution on plain touches: evidence order, windows, last and first click."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from advocacy.rewards.attribution import NO_EVIDENCE, OUTSIDE_WINDOW, Touch, attribute, in_window

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def touch(
    evidence="ref",
    at=T0,
    campaign=1,
    link=1,
    advocate=10,
    window=30,
    model="last_click",
    click=None,
):
    return Touch(evidence, campaign, link, advocate, at, window, model, click)


def test_no_touch_means_no_evidence():
    assert attribute([], T0).reason == NO_EVIDENCE


def test_gathering_problems_explain_a_missing_attribution():
    assert attribute([], T0, ["invalid_ref"]).reason == "invalid_ref"


def test_ref_beats_a_more_recent_cookie():
    ref = touch("ref", T0, link=1)
    cookie = touch("cookie", T0 + timedelta(hours=1), link=2)
    assert attribute([cookie, ref], T0 + timedelta(hours=2)).touch == ref


def test_cookie_beats_an_invitation():
    cookie = touch("cookie", T0, link=2)
    invitation = touch("invitation", T0 + timedelta(hours=1), link=3)
    assert attribute([invitation, cookie], T0 + timedelta(hours=2)).touch == cookie


def test_invitation_beats_a_prior_referral():
    invitation = touch("invitation", T0, link=3)
    prior = touch("prior_referral", T0 + timedelta(hours=1), link=4)
    assert attribute([prior, invitation], T0 + timedelta(hours=2)).touch == invitation


def test_a_tier_outside_its_window_gives_way_to_the_next():
    stale_ref = touch("ref", T0 - timedelta(days=31), link=1)
    visitor = touch("visitor", T0 - timedelta(days=1), link=2)
    assert attribute([stale_ref, visitor], T0).touch == visitor


def test_exactly_the_window_is_inside():
    assert in_window(touch(at=T0, window=30), T0 + timedelta(days=30))


def test_one_second_past_the_window_is_outside():
    assert attribute([touch(at=T0, window=30)], T0 + timedelta(days=30, seconds=1)).reason == (
        OUTSIDE_WINDOW
    )


def test_a_touch_after_the_conversion_does_not_count():
    assert not in_window(touch(at=T0), T0 - timedelta(seconds=1))


def test_the_same_instant_counts():
    assert in_window(touch(at=T0), T0)


def test_last_click_wins_by_default():
    first = touch("visitor", T0, link=1, advocate=10, click=1)
    last = touch("visitor", T0 + timedelta(hours=1), link=2, advocate=11, click=2)
    assert attribute([first, last], T0 + timedelta(days=1)).touch == last


def test_first_click_when_the_campaign_says_so():
    first = touch("visitor", T0, link=1, advocate=10, click=1, model="first_click")
    last = touch(
        "visitor", T0 + timedelta(hours=1), link=2, advocate=11, click=2, model="first_click"
    )
    assert attribute([last, first], T0 + timedelta(days=1)).touch == first


def test_first_click_ignores_clicks_outside_the_window():
    old = touch("visitor", T0 - timedelta(days=40), link=1, click=1, model="first_click")
    recent = touch("visitor", T0, link=2, click=2, model="first_click")
    assert attribute([old, recent], T0 + timedelta(days=1)).touch == recent


def test_the_most_recent_campaign_decides_between_campaigns():
    other = touch("visitor", T0, campaign=2, link=5, click=1, model="first_click")
    latest = touch("visitor", T0 + timedelta(hours=1), campaign=1, link=1, click=2)
    assert attribute([other, latest], T0 + timedelta(days=1)).touch == latest


def test_the_cookie_names_a_click_better_than_the_visitor_id():
    cookie = touch("cookie", T0, link=1, click=7)
    visitor = touch("visitor", T0, link=1, click=7)
    assert attribute([visitor, cookie], T0 + timedelta(hours=1)).touch == cookie
