"""Campaign rules on plain values: transitions, being live, consistency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from advocacy.campaigns.models import STATUSES
from advocacy.campaigns.rules import campaign_is_live, campaign_problems, transition_problem

ALLOWED = {
    ("draft", "active"),
    ("draft", "ended"),
    ("active", "paused"),
    ("active", "ended"),
    ("paused", "active"),
    ("paused", "ended"),
}
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
CREDIT = {"kind": "credit", "amount": 1000, "currency": "EUR"}


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_transition_matrix(current, target):
    problem = transition_problem(current, target)

    if current == target or (current, target) in ALLOWED:
        assert problem is None
    else:
        assert problem


@pytest.mark.parametrize(
    ("current", "target", "words"),
    [
        ("ended", "active", "final"),
        ("ended", "draft", "final"),
        ("active", "draft", "back to draft"),
        ("paused", "draft", "back to draft"),
        ("draft", "paused", "activate it first"),
    ],
)
def test_refused_transitions_say_why(current, target, words):
    assert words in transition_problem(current, target)


@dataclass
class Times:
    status: str = "active"
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@pytest.mark.parametrize(
    ("campaign", "live"),
    [
        (Times(), True),
        (Times(status="draft"), False),
        (Times(status="paused"), False),
        (Times(status="ended"), False),
        (Times(starts_at=NOW + timedelta(seconds=1)), False),
        (Times(starts_at=NOW), True),
        (Times(starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1)), True),
        (Times(ends_at=NOW), False),
        (Times(ends_at=NOW - timedelta(days=1)), False),
        (Times(status="paused", starts_at=NOW - timedelta(days=1)), False),
    ],
)
def test_campaign_is_live(campaign, live):
    assert campaign_is_live(campaign, NOW) is live


def _values(**overrides):
    values = {
        "inviter_reward": CREDIT,
        "invitee_reward": {"kind": "coupon", "amount": 500, "currency": "EUR"},
        "one_sided": False,
        "disclosure": "We pay Ann 10 EUR for each friend who buys.",
        "starts_at": None,
        "ends_at": None,
    }
    values.update(overrides)
    return values


def test_two_sided_campaign_is_consistent():
    assert campaign_problems(_values()) == {}


def test_one_sided_invitee_only_needs_no_disclosure():
    values = _values(inviter_reward=None, one_sided=True, disclosure=None)

    assert campaign_problems(values) == {}


def test_one_sided_inviter_only_is_consistent_when_declared():
    assert campaign_problems(_values(invitee_reward=None, one_sided=True)) == {}


def test_missing_side_must_be_declared_one_sided():
    assert set(campaign_problems(_values(invitee_reward=None))) == {"invitee_reward"}
    assert set(campaign_problems(_values(inviter_reward=None))) == {"inviter_reward"}


def test_one_sided_with_both_rewards_is_a_problem():
    assert set(campaign_problems(_values(one_sided=True))) == {"one_sided"}


def test_no_reward_at_all_is_a_problem():
    problems = campaign_problems(_values(inviter_reward=None, invitee_reward=None, one_sided=True))

    assert set(problems) == {"inviter_reward", "invitee_reward"}


@pytest.mark.parametrize("disclosure", [None, "", "   "])
def test_rewarded_inviter_needs_a_disclosure(disclosure):
    assert set(campaign_problems(_values(disclosure=disclosure))) == {"disclosure"}


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(hours=-1)])
def test_ends_at_must_follow_starts_at(delta):
    problems = campaign_problems(_values(starts_at=NOW, ends_at=NOW + delta))

    assert set(problems) == {"ends_at"}


def test_open_ended_dates_are_fine():
    assert campaign_problems(_values(starts_at=NOW)) == {}
    assert campaign_problems(_values(ends_at=NOW)) == {}
