"""Real signed network: on Bitcoin Alpha, trusted accounts outrank merely popular ones.

Loading: each rating ``source -> target`` in -10..10 becomes a connection whose tone is
``rating / 10`` and whose strength is ``|rating|`` replies-worth (a +10 is a much stronger
statement than a +1, and so is a -10). No timestamps: every tie gets the "unknown age"
decay, which is uniform and so changes nothing in the ranking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advocacy.graph.components import Components, compute_components
from advocacy.graph.inputs import RankingInput
from advocacy.graph.pagerank import pagerank_listened_to
from advocacy.graph.reasons import explain

DATA = Path(__file__).resolve().parents[2] / "data" / "bitcoin_alpha.csv"


@pytest.fixture(scope="module")
def ratings() -> np.ndarray:
    return np.loadtxt(DATA, delimiter=",", dtype=np.int64, ndmin=2)


@pytest.fixture(scope="module")
def network(ratings: np.ndarray) -> tuple[Components, np.ndarray, np.ndarray]:
    source, target, rating = ratings.T
    n = int(ratings[:, :2].max()) + 1
    components = compute_components(
        RankingInput(
            n=n,
            now=0.0,
            c_source=source,
            c_target=target,
            c_replies=np.abs(rating),
            c_sentiment=rating / 10.0,
        )
    )
    received = np.bincount(target, minlength=n)
    negative_share = np.bincount(target, weights=rating < 0, minlength=n) / np.maximum(received, 1)
    return components, received, negative_share


def ranks(values: np.ndarray) -> np.ndarray:
    """0 = highest; ties by index, like the ranking."""
    order = np.lexsort((np.arange(values.size), -values))
    out = np.empty(values.size, dtype=np.int64)
    out[order] = np.arange(values.size)
    return out


def test_contested_popular_accounts_do_not_top_the_influence_ranking(
    network: tuple[Components, np.ndarray, np.ndarray],
) -> None:
    components, received, negative_share = network
    most_rated = np.lexsort((np.arange(received.size), -received))[:50]
    contested = most_rated[negative_share[most_rated] > 0.2]
    assert contested.size >= 4  # the data's premise

    influence_rank = ranks(components.influence_facts.net)
    popularity_rank = ranks(received.astype(np.float64))
    plain_pagerank = pagerank_listened_to(components.graph.trust).scores  # trust only, no sign
    for account in contested:
        assert influence_rank[account] >= 50, (account, influence_rank[account])
        assert influence_rank[account] > popularity_rank[account]
        assert influence_rank[account] > ranks(plain_pagerank)[account]


def test_highly_trusted_accounts_top_the_influence_ranking(
    network: tuple[Components, np.ndarray, np.ndarray],
) -> None:
    components, received, negative_share = network
    top10 = np.lexsort((np.arange(received.size), -components.influence_facts.net))[:10]
    assert np.all(negative_share[top10] < 0.064)  # below the network-wide share of distrust
    assert np.all(received[top10] >= 100)


def test_mostly_distrusted_account_has_no_influence_and_says_why(
    network: tuple[Components, np.ndarray, np.ndarray],
) -> None:
    components, received, negative_share = network
    distrusted = int(np.flatnonzero((received >= 50) & (negative_share > 0.9))[0])
    assert components.influence[distrusted] == 0.0
    reasons = explain(components, distrusted, {"influence": 1.0})
    assert reasons[0].startswith("distrusted by ")
