"""Our sparse PageRank against networkx, the oracle."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from advocacy.graph.pagerank import pagerank, pagerank_listened_to


def random_weighted_digraph(seed: int, n: int, edges: int) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for _ in range(edges):
        u, v = (int(x) for x in rng.integers(0, n, 2))
        graph.add_edge(u, v, weight=float(rng.uniform(0.1, 5.0)))
    # Some nodes keep no out-edges at all: dangling.
    dangling = rng.choice(n, size=max(1, n // 5), replace=False)
    graph.remove_edges_from([(u, v) for u, v in list(graph.edges) if u in set(dangling)])
    return graph


def to_csr(graph: nx.DiGraph) -> sp.csr_array:
    n = graph.number_of_nodes()
    rows, cols, weights = zip(*graph.edges(data="weight"), strict=True)
    return sp.csr_array((weights, (rows, cols)), shape=(n, n))


@pytest.mark.parametrize(
    ("seed", "n", "edges", "alpha"),
    [
        (1, 10, 25, 0.85),
        (2, 40, 120, 0.85),
        (3, 60, 90, 0.7),
        (4, 200, 1500, 0.9),
        (5, 25, 30, 0.5),
    ],
)
def test_matches_networkx_on_weighted_graphs_with_dangling_nodes(
    seed: int, n: int, edges: int, alpha: float
) -> None:
    graph = random_weighted_digraph(seed, n, edges)
    assert any(graph.out_degree(v) == 0 for v in graph)
    expected = nx.pagerank(graph, alpha=alpha, weight="weight", tol=1e-13, max_iter=10_000)
    ours = pagerank(to_csr(graph), alpha=alpha, tol=1e-13, max_iter=10_000)
    np.testing.assert_allclose(ours, [expected[v] for v in range(n)], rtol=0, atol=1e-6)


def test_self_loops_and_all_dangling_graph_match_networkx() -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(4))
    graph.add_edge(0, 0, weight=2.0)
    graph.add_edge(0, 1, weight=1.0)
    expected = nx.pagerank(graph, weight="weight", tol=1e-13)
    ours = pagerank(to_csr(graph), tol=1e-13)
    np.testing.assert_allclose(ours, [expected[v] for v in range(4)], atol=1e-9)

    empty = pagerank(sp.csr_array((3, 3)))
    np.testing.assert_allclose(empty, [1 / 3] * 3)


def test_stops_on_the_l1_change_itself_not_n_times_it() -> None:
    graph = random_weighted_digraph(7, 300, 2000)
    result = pagerank_listened_to(to_csr(graph).T.tocsr(), tol=1e-10)
    assert result.converged
    assert result.residual < 1e-10
    assert result.scores.sum() == pytest.approx(1.0, abs=1e-9)


def test_reports_non_convergence_instead_of_raising() -> None:
    graph = random_weighted_digraph(8, 100, 500)
    result = pagerank_listened_to(to_csr(graph).T.tocsr(), tol=1e-15, max_iter=3)
    assert not result.converged
    assert result.iterations == 3
