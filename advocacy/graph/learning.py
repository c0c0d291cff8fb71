"""Fitting the value model to the workspace's own outcomes, with a time-based holdout.

Unit: one past invitation = one enrollment of an advocate in an ended campaign; outcome:
the conversions attributed to them in that campaign (not rejected). The model of
:mod:`advocacy.graph.value` predicts ``mu = q * audience``, i.e. a Poisson regression with
a log link::

    log mu = intercept + (b_audience - 1) * log(audience / typical) + log(audience)
             + sum_f b_f * log(multiplier_f)

Features are computed *as of* the first invitation of the history (events and mentions
before it, no track record), so nothing the campaigns caused leaks into them; the track
record's exponent therefore stays at its prior. The exponents are fitted by Newton's
method with a ridge penalty pulling them toward the prior (:data:`RIDGE`, the intercept is
free) and lower bounds (:data:`LOWER_BOUNDS`): a regularised Poisson regression that falls
back smoothly to the prior when the data say little.

Validation: the latest :data:`HOLDOUT_SHARE` of invitations by enrollment time is held
out; a model fitted on the rest is scored on it (AUC of "brought at least one conversion",
expected against observed conversions by decile of the prediction, Poisson deviance). The
same is done for the prior exponents with only the intercept fitted. The fitted exponents
are used when their holdout deviance is lower *and* their AUC at least as high (selection
lives on the order), else the prior's with the fitted intercept;
either way the model in use is then refitted on all invitations. Below
:data:`MIN_INVITATIONS` invitations or :data:`MIN_CONVERSIONS` conversions nothing is
fitted and the prior is used as it is.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from advocacy.graph.inputs import RankingInput
from advocacy.graph.value import FEATURES, PRIOR, ValueModel, typical_audience

MIN_INVITATIONS = 200
MIN_CONVERSIONS = 30
HOLDOUT_SHARE = 0.2
RIDGE = 5.0
# Lower bounds on the exponents: a multiplier may matter less than the prior says, never
# backwards (more distrust never helps), and attitude always keeps at least half its
# weight, so a lukewarm or unknown voice never counts as a fan's.
LOWER_BOUNDS = {
    "audience": 0.0,
    "attitude": 0.5,
    "engagement": 0.0,
    "trust": 0.0,
    "track_record": 0.0,
}
_FLOOR = 1e-3  # multipliers and relative audience below this count as this in the fit


@dataclass
class History:
    """Past invitations, one per row: the customer index, when, and what it brought."""

    customer: np.ndarray  # int64
    time: np.ndarray  # float64 epoch seconds (enrollment)
    conversions: np.ndarray  # int64
    campaigns: int = 0

    @property
    def size(self) -> int:
        return int(self.customer.size)


def as_of(inp: RankingInput, time: float) -> RankingInput:
    """The workspace as it stood at ``time``: earlier events and mentions, no track record.

    Connections keep their rows (their history is not kept), decayed from ``time``.
    """
    events = inp.ev_time < time
    mentions = inp.m_time < time
    values: dict[str, Any] = {
        f.name: getattr(inp, f.name) for f in dataclasses.fields(RankingInput) if f.init
    }
    for name in ("ev_customer", "ev_kind", "ev_value", "ev_amount", "ev_time"):
        values[name] = values[name][events]
    for name in ("m_customer", "m_sentiment", "m_time"):
        values[name] = values[name][mentions]
    for name in ("tr_invites", "tr_clicks", "tr_conversions"):
        values[name] = np.zeros(inp.n, dtype=np.int64)
    values["now"] = time
    return RankingInput(**values)


def design(
    factors: dict[str, np.ndarray], audience: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """(X: an intercept column, then ``log`` of each feature; the offset ``log typical``).

    With the audience as ``audience / typical``, ``b_audience * log(audience / typical) +
    log typical`` is the ``(b_audience - 1) * log(audience / typical) + log audience`` of
    the module doc.
    """
    relative = np.maximum(audience / scale, _FLOOR)
    columns = [np.ones(audience.size), np.log(relative)]
    columns += [np.log(np.maximum(factors[name], _FLOOR)) for name in FEATURES[1:]]
    return np.column_stack(columns), np.full(audience.size, math.log(scale))


def _prior_vector(model: ValueModel = PRIOR) -> np.ndarray:
    return np.array([model.intercept, *(model.exponents[name] for name in FEATURES)])


def fit_poisson(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    *,
    prior: np.ndarray,
    ridge: float = RIDGE,
    free: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Penalised Poisson regression by Newton's method with step halving.

    Minimises ``sum(mu - y * eta) + ridge / 2 * |beta - prior|^2`` over the coefficients
    marked ``free`` (default: all; the intercept is never penalised); the others stay at
    ``start`` (default ``prior``).
    """
    free = np.ones(x.shape[1], dtype=bool) if free is None else free
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 1e-6
    beta = (prior if start is None else start).astype(np.float64).copy()
    # Start from a calibrated intercept, so the first steps are not huge.
    base = np.exp(np.clip(x[:, 1:] @ beta[1:] + offset, -50, 50))
    beta[0] = math.log(max(float(y.sum()), 0.5) / max(float(base.sum()), 1e-12))

    def objective(b: np.ndarray) -> float:
        eta = np.clip(x @ b + offset, -50, 50)
        return float(np.sum(np.exp(eta) - y * eta) + 0.5 * np.sum(penalty * (b - prior) ** 2))

    current = objective(beta)
    for _ in range(50):
        mu = np.exp(np.clip(x @ beta + offset, -50, 50))
        gradient = (x.T @ (mu - y) + penalty * (beta - prior))[free]
        hessian = (x.T * mu) @ x + np.diag(penalty)
        step = np.zeros_like(beta)
        step[free] = np.linalg.solve(hessian[np.ix_(free, free)], gradient)
        size = 1.0
        while size > 1e-6:
            candidate = beta - size * step
            value = objective(candidate)
            if value <= current:
                break
            size /= 2
        else:
            break
        converged = current - value < 1e-10 * (1 + abs(current))
        beta, current = candidate, value
        if converged:
            break
    return beta


def fit_bounded(
    x: np.ndarray, y: np.ndarray, offset: np.ndarray, *, prior: np.ndarray, free: np.ndarray
) -> np.ndarray:
    """:func:`fit_poisson` with :data:`LOWER_BOUNDS`: a coefficient that ends below its bound
    is fixed at the bound and the rest refitted (at most once per coefficient)."""
    lower = np.array([-np.inf, *(LOWER_BOUNDS[name] for name in FEATURES)])
    start, free = prior.copy(), free.copy()
    for _ in range(len(FEATURES) + 1):
        beta = fit_poisson(x, y, offset, prior=prior, free=free, start=start)
        below = free & (beta < lower)
        if not below.any():
            return beta
        free &= ~below
        start = np.where(below, lower, beta)
    return np.maximum(beta, lower)


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="stable")
    ranks = np.empty(score.size)
    sorted_scores = score[order]
    # Average ranks over ties.
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], score.size]
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        ranks[order[lo:hi]] = (lo + hi + 1) / 2.0
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibration(expected: np.ndarray, observed: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Expected against observed conversions per decile of the prediction (lowest first)."""
    order = np.argsort(expected, kind="stable")
    rows = []
    for i, part in enumerate(np.array_split(order, min(bins, max(order.size, 1)))):
        if part.size == 0:
            continue
        rows.append(
            {
                "decile": i + 1,
                "invitations": int(part.size),
                "expected": round(float(expected[part].sum()), 3),
                "observed": int(observed[part].sum()),
            }
        )
    return rows


def deviance(mu: np.ndarray, y: np.ndarray) -> float:
    mu = np.maximum(mu, 1e-12)
    term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0)
    return float(2 * np.sum(term - (y - mu)))


def _model(beta: np.ndarray, source: str) -> ValueModel:
    exponents = {name: round(float(b), 6) for name, b in zip(FEATURES, beta[1:], strict=True)}
    return ValueModel(round(float(beta[0]), 6), exponents, source)


def enough_history(history: History) -> bool:
    return history.size >= MIN_INVITATIONS and int(history.conversions.sum()) >= MIN_CONVERSIONS


def learn_model(
    factors: dict[str, np.ndarray], audience: np.ndarray, history: History
) -> tuple[ValueModel, dict[str, Any]]:
    """The model to use and the report stored with the snapshot (see module doc).

    ``factors`` and ``audience`` are per customer, as of the history's start.
    """
    y = history.conversions.astype(np.float64)
    report: dict[str, Any] = {
        "invitations": history.size,
        "conversions": int(y.sum()),
        "campaigns": history.campaigns,
        "threshold": {"invitations": MIN_INVITATIONS, "conversions": MIN_CONVERSIONS},
        "holdout": None,
    }
    if not enough_history(history):
        report["decision"] = "prior: too little history to fit"
        return PRIOR, report
    rows = history.customer
    scale = typical_audience(audience)  # over every customer, as when ranking
    x, offset = design({k: v[rows] for k, v in factors.items()}, audience[rows], scale)
    prior = _prior_vector()
    only_intercept = np.zeros(prior.size, dtype=bool)
    only_intercept[0] = True
    order = np.argsort(history.time, kind="stable")
    cut = int(round(history.size * (1 - HOLDOUT_SHARE)))
    train, test = order[:cut], order[cut:]

    def fitted(part: np.ndarray, free: np.ndarray) -> np.ndarray:
        return fit_bounded(x[part], y[part], offset[part], prior=prior, free=free)

    everything = np.ones(prior.size, dtype=bool)
    candidates = {"fitted": fitted(train, everything), "prior": fitted(train, only_intercept)}
    holdout: dict[str, Any] = {"invitations": int(test.size), "conversions": int(y[test].sum())}
    for name, beta in candidates.items():
        mu = np.exp(x[test] @ beta + offset[test])
        holdout[name] = {
            "auc": None if (a := auc(mu, y[test] > 0)) is None else round(a, 4),
            "deviance": round(deviance(mu, y[test]), 3),
            "calibration": calibration(mu, y[test]),
        }
    report["holdout"] = holdout
    fit, prior_fit = holdout["fitted"], holdout["prior"]
    ranks_as_well = fit["auc"] is None or prior_fit["auc"] is None or fit["auc"] >= prior_fit["auc"]
    if fit["deviance"] < prior_fit["deviance"] and ranks_as_well:
        report["decision"] = "fitted: lower holdout deviance and an AUC at least the prior's"
        return _model(fitted(order, everything), "fitted"), report
    report["decision"] = (
        "prior exponents, fitted scale: the fit did not beat them on the holdout (deviance and AUC)"
    )
    return _model(fitted(order, only_intercept), "prior_calibrated"), report
