"""The pipeline's parts against direct computations: sparse PCA, in-conv rule, Polis k-means
(the full scan and the bounded loop of large conversations), silhouette."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from bot.analysis import VoteMatrix, clustering
from bot.analysis.bounded import bounded_lloyd
from bot.analysis.clustering import (
    _kmeans_plusplus_runs,
    first_distinct,
    in_conversation,
    polis_kmeans,
    silhouette_scores,
)
from bot.analysis.pca import polis_pca


def _random_votes(seed: int, n: int, m: int, density: float):
    rng = np.random.default_rng(seed)
    votes = []
    for i in range(n):
        for j in range(m):
            if rng.random() < density:
                votes.append((str(i), str(j), int(rng.choice([-1, 0, 1]))))
    return votes


@pytest.mark.parametrize("m", [30, 450])  # dense eigensolver, then Lanczos
def test_sparse_pca_equals_dense_mean_imputed_pca(m):
    matrix = VoteMatrix.from_votes(_random_votes(5, 120, m, 0.3))
    columns = np.flatnonzero(matrix.voted_statements())
    proj = polis_pca(matrix.votes, columns)

    seen = matrix.seen().toarray()[:, columns] > 0
    x = matrix.votes.toarray()[:, columns].astype(float)
    means = (x * seen).sum(0) / seen.sum(0)
    imputed = np.where(seen, x, means)  # conversation.clj :mat
    centred = imputed - imputed.mean(axis=0)  # pca.clj powerit-pca
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected_raw = np.where(seen, x - means, 0.0) @ vt[:2].T  # sparsity-aware-project-ptpt
    scale = np.sqrt(len(columns) / seen.sum(1))
    expected = expected_raw * scale[:, None]
    for axis in range(2):
        sign = np.sign(expected[:, axis] @ proj.coords[:, axis])
        np.testing.assert_allclose(proj.coords[:, axis], sign * expected[:, axis], atol=1e-6)
    np.testing.assert_allclose(proj.center, means)


def test_zeroed_statements_count_in_scaling_only():
    matrix = VoteMatrix.from_votes(_random_votes(6, 40, 12, 0.5))
    columns = np.flatnonzero(matrix.voted_statements())
    plain = polis_pca(matrix.votes, columns)
    zeroed = polis_pca(matrix.votes, columns, n_zeroed=3)
    np.testing.assert_allclose(plain.components, zeroed.components)
    n_votes = np.diff(matrix.votes.indptr)
    ratio = np.sqrt((len(columns) + 3) / (n_votes + 3)) / np.sqrt(len(columns) / n_votes)
    np.testing.assert_allclose(zeroed.coords, plain.coords * ratio[:, None], atol=1e-9)


def test_in_conversation_rule():
    counts = np.array([7, 6, 10, 0, 7])
    assert in_conversation(counts, 20).sum() == 5 - 1  # greedy top-up to 15: all who voted
    many = np.array([7] * 15 + [6, 3])
    assert in_conversation(many, 20).tolist() == [True] * 15 + [False, False]
    assert in_conversation(np.array([3] * 16 + [2]), 3).tolist() == [True] * 16 + [False]


def test_polis_kmeans_cold_start_and_empty_clusters():
    points = np.array([[0.0, 0.0], [0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    init = first_distinct(points, 3)
    assert init.tolist() == [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]]
    labels, centres = polis_kmeans(points, init)
    assert len(centres) == 3 and labels.tolist() == [0, 0, 1, 2, 2]
    # A centre nobody is closest to is dropped, as clusters.clj cluster-step does.
    labels, centres = polis_kmeans(points, np.array([[0.0, 0.0], [100.0, 100.0], [5.0, 5.0]]))
    assert len(centres) == 2 and labels.tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("case", ["spread", "ties", "weighted", "dying centre"])
def test_bounded_lloyd_equals_the_full_scan(case, monkeypatch):
    """Above 1,000 points each step measures again only the points whose bounds do not
    settle their centre: labels, centres and dropped centres are the full scan's exactly."""
    rng = np.random.default_rng(7)
    points = rng.normal(size=(3000, 2)) * [3.0, 1.0] + rng.integers(0, 4, size=(3000, 1))
    if case == "ties":  # many identical points, many points equidistant from two centres
        points = np.round(points, 1)
    weights = rng.integers(1, 5, size=3000).astype(float) if case == "weighted" \
        else np.ones(3000)
    cold = first_distinct(points, 100)
    seeded = _kmeans_plusplus_runs(points, 100, weights, np.random.RandomState(0), 2)
    starts = [cold, *seeded]
    if case == "dying centre":
        starts = [np.vstack([cold[:99], [[1e3, 1e3]]])]
    monkeypatch.setattr(clustering, "_BOUNDED_ABOVE", 10**9)  # the full scan, as reference
    for start in starts:
        labels, centres, alive, cost = clustering._lloyd_runs(points, weights, start[None], 100,
                                                              0.01)
        got = bounded_lloyd(points, weights, start, 100, 0.01)
        assert (got[0] == labels[0]).all() and (got[1] == centres[0]).all()
        assert (got[2] == alive[0]).all() and np.isclose(got[3], cost[0])
    if case == "dying centre":
        assert not got[2][-1] and got[2][:-1].all()


def test_silhouette_scores_match_sklearn_and_score_singletons_zero():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(30, 2))
    labels = rng.integers(0, 3, size=(4, 30))
    labels[:, :3] = [0, 1, 2]  # every labelling has all three clusters
    dist = np.linalg.norm(points[:, None] - points[None], axis=2)
    expected = [silhouette_score(points, row) for row in labels]
    assert np.allclose(silhouette_scores(dist, labels), expected)
    # clusters.clj silhouette: a point alone in its cluster scores 0.
    lonely = np.array([[0] * 29 + [1]])
    only = silhouette_scores(dist, lonely)[0]
    assert np.isclose(only, silhouette_score(points, lonely[0]))
    assert np.isclose(silhouette_scores(dist, np.arange(30)[None])[0], 0.0)
