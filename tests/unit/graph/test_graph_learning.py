"""The value model learned from invitation history: known truths recovered, honest holdout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advocacy.graph.inputs import DAY, RankingInput
from advocacy.graph.learning import (
    MIN_INVITATIONS,
    History,
    as_of,
    auc,
    calibration,
    design,
    fit_poisson,
    learn_model,
)
from advocacy.graph.value import FEATURES, PRIOR, ValueModel, share_probability

TRUE = ValueModel(
    intercept=math.log(0.6),
    exponents={
        "audience": 0.8,
        "attitude": 1.6,
        "engagement": 0.5,
        "trust": 1.0,
        "track_record": 1.0,
    },
    source="truth",
)


def synthetic(
    seed: int, invitations: int = 3000
) -> tuple[dict[str, np.ndarray], np.ndarray, History, np.ndarray]:
    """Customers with known multipliers, and invitations whose conversions follow TRUE."""
    rng = np.random.default_rng(seed)
    n = 4000
    factors = {
        "attitude": rng.uniform(0.05, 1.0, n),
        "engagement": rng.uniform(0.2, 1.0, n),
        "trust": rng.uniform(0.6, 1.0, n),
        "track_record": np.ones(n),
    }
    audience = rng.lognormal(0.0, 0.8, n)
    mu = share_probability(TRUE, factors, audience) * audience
    customer = rng.integers(0, n, invitations)
    history = History(
        customer=customer,
        time=np.sort(rng.uniform(0, 100 * DAY, invitations)),
        conversions=rng.poisson(mu[customer]),
        campaigns=3,
    )
    return factors, audience, history, mu


def test_fitted_exponents_recover_the_true_parameters() -> None:
    factors, audience, history, _ = synthetic(1, invitations=40_000)
    model, report = learn_model(factors, audience, history)
    assert model.source == "fitted"
    assert report["decision"].startswith("fitted")
    for name in ("audience", "attitude", "engagement"):
        assert model.exponents[name] == pytest.approx(TRUE.exponents[name], abs=0.1), name
    assert model.intercept == pytest.approx(TRUE.intercept, abs=0.1)


def test_holdout_auc_and_calibration_match_the_truth_on_later_invitations() -> None:
    factors, audience, history, mu = synthetic(2, invitations=10_000)
    _, report = learn_model(factors, audience, history)
    holdout = report["holdout"]
    # The holdout is the latest 20% by time.
    test = np.argsort(history.time, kind="stable")[int(round(history.size * 0.8)) :]
    y = history.conversions[test]
    assert holdout["invitations"] == test.size and holdout["conversions"] == int(y.sum())
    best_possible = auc(mu[history.customer[test]], y > 0)
    assert holdout["fitted"]["auc"] == pytest.approx(best_possible, abs=0.02)
    assert holdout["fitted"]["auc"] > 0.65
    deciles = holdout["fitted"]["calibration"]
    assert len(deciles) == 10 and sum(d["invitations"] for d in deciles) == test.size
    expected = sum(d["expected"] for d in deciles)
    assert expected == pytest.approx(y.sum(), rel=0.15)
    assert deciles[-1]["observed"] > 3 * deciles[0]["observed"]
    for d in deciles:  # each decile within Poisson noise of its expectation
        assert abs(d["observed"] - d["expected"]) < 4 * math.sqrt(d["expected"]) + 2


def test_the_fitted_model_beats_the_prior_on_the_holdout_when_the_truth_differs() -> None:
    factors, audience, history, _ = synthetic(3)
    model, report = learn_model(factors, audience, history)
    holdout = report["holdout"]
    assert holdout["fitted"]["deviance"] < holdout["prior"]["deviance"]
    assert model.source == "fitted"


def test_too_little_history_keeps_the_documented_prior() -> None:
    factors, audience, history, _ = synthetic(4, invitations=MIN_INVITATIONS - 1)
    model, report = learn_model(factors, audience, history)
    assert model == PRIOR
    assert report["holdout"] is None
    assert report["decision"] == "prior: too little history to fit"
    assert report["threshold"] == {"invitations": 200, "conversions": 30}


def test_unpenalised_fit_matches_the_maximum_likelihood_estimate() -> None:
    factors, audience, history, _ = synthetic(5, invitations=5000)
    rows = history.customer
    x, offset = design({k: v[rows] for k, v in factors.items()}, audience[rows], 1.0)
    prior = np.array([PRIOR.intercept, *(PRIOR.exponents[f] for f in FEATURES)])
    free = np.array([True, True, True, True, True, False])  # track record: a zero column
    beta = fit_poisson(
        x, history.conversions.astype(float), offset, prior=prior, ridge=0.0, free=free
    )
    mu = np.exp(x @ beta + offset)
    # At the optimum the score equations hold: X^T (y - mu) = 0 for the free coefficients.
    score = x.T @ (history.conversions - mu)
    np.testing.assert_allclose(score[free], 0.0, atol=1e-5 * history.conversions.sum())


def test_auc_and_calibration_by_hand() -> None:
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert auc(np.array([0.5, 0.6]), np.array([1, 1])) is None
    rows = calibration(np.arange(20, dtype=float), np.ones(20), bins=10)
    assert [r["invitations"] for r in rows] == [2] * 10
    assert rows[0]["expected"] == 1.0 and rows[-1]["expected"] == 37.0


def test_as_of_keeps_only_what_was_known_then() -> None:
    now = 1_750_000_000.0
    inp = RankingInput(
        n=2,
        now=now,
        ev_customer=np.array([0, 1]),
        ev_kind=np.array([0, 0]),
        ev_time=np.array([now - 10 * DAY, now - 1 * DAY]),
        m_customer=np.array([0, 1]),
        m_sentiment=np.array([0.5, -0.5]),
        m_time=np.array([now - 20 * DAY, now - 2 * DAY]),
        c_source=np.array([0]),
        c_target=np.array([1]),
        tr_invites=np.array([3, 4]),
    )
    past = as_of(inp, now - 5 * DAY)
    assert past.now == now - 5 * DAY
    assert past.ev_customer.tolist() == [0] and past.m_customer.tolist() == [0]
    assert past.c_source.tolist() == [0]
    assert past.tr_invites.tolist() == [0, 0]
