"""Track record: how past invitations did, Beta-binomial smoothed so newcomers are neutral.

For clicks per invitation and conversions per invitation separately, the posterior mean
rate under a Beta prior worth ``m = track_prior_strength`` invitations at the workspace
rate ``mu`` is ``(successes + m * mu) / (invites + m)``. The workspace rate is the pooled
rate once the workspace has sent ``track_min_pooled_invites`` invitations, else a default
(10% clicks, 2% conversions). Each posterior is divided by ``mu`` (a *lift*: 1 = typical),
the two lifts are combined geometrically (``track_conversion_share`` 0.7 on conversions),
and ``lift / (1 + lift)`` maps the result to ``(0, 1)``.

So no history gives exactly 0.5 (neutral, not zero: new advocates are not punished), 20
invitations with no click drift below 0.5, and a proven converter approaches 1.
"""

from __future__ import annotations

import numpy as np

from advocacy.graph.inputs import RankingParams


def track_record_component(
    invites: np.ndarray, clicks: np.ndarray, conversions: np.ndarray, params: RankingParams
) -> np.ndarray:
    invites = np.maximum(invites, 0).astype(np.float64)
    clicks = np.maximum(clicks, 0).astype(np.float64)
    conversions = np.maximum(conversions, 0).astype(np.float64)
    total_invites = float(invites.sum())
    pooled = total_invites >= params.track_min_pooled_invites
    click_rate = _prior_rate(clicks, total_invites, pooled, params.track_default_click_rate)
    conversion_rate = _prior_rate(
        conversions, total_invites, pooled, params.track_default_conversion_rate
    )
    m = params.track_prior_strength
    click_lift = (clicks + m * click_rate) / (invites + m) / click_rate
    conversion_lift = (conversions + m * conversion_rate) / (invites + m) / conversion_rate
    share = params.track_conversion_share
    lift = conversion_lift**share * click_lift ** (1.0 - share)
    return lift / (1.0 + lift)


def _prior_rate(successes: np.ndarray, total_invites: float, pooled: bool, default: float) -> float:
    if not pooled:
        return default
    rate = float(successes.sum()) / total_invites
    # A workspace where nothing ever converted would make every lift 0/0; keep a floor.
    # No ceiling: a link shared publicly can earn more clicks than invitations.
    return max(rate, default * 0.1)
