"""Workspace normalisation of non-negative, heavy-tailed signals to ``[0, 1]``.

Method (used for engagement, influence and reach): ``x / (x + m)`` where ``m`` is the
median of the workspace's non-zero values. So no activity is 0, the workspace's typical
active customer is 0.5, and the scale saturates toward 1 smoothly. Unlike dividing by the
maximum, one outlier (a bot, a celebrity) does not squash everybody else toward 0; unlike a
percentile rank, magnitudes still count (twice the typical activity reads 0.67, ten times
0.91, where percentiles could put both near 1), and customers with nothing are not lifted
by ties. The transform is monotone, so it never changes the order within a component.

Sentiment and track record are *not* rescaled per workspace: both have a meaningful
neutral point (0.5), and a relative rescaling would turn the least enthusiastic promoter of
a happy workspace into an apparent detractor.
"""

from __future__ import annotations

import numpy as np


def typical_scale(values: np.ndarray) -> float:
    """Median of the strictly positive values, 0.0 when there are none."""
    positive = values[values > 0]
    if positive.size == 0:
        return 0.0
    return float(np.median(positive))


def saturate(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """``x / (x + scale)`` for ``x > 0``, else 0; ``scale`` defaults to :func:`typical_scale`.

    Negative inputs are treated as 0 (e.g. a net-distrusted customer has no influence).
    Returns float64 in ``[0, 1)``.
    """
    x = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
    if scale is None:
        scale = typical_scale(x)
    if scale <= 0:
        return np.zeros_like(x)
    return x / (x + scale)
