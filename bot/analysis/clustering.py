"""Who is clustered, base clusters and opinion groups, as in Polis.

Sources (compdemocracy/polis, math/src/polismath/math/):
- conversation.clj ``:in-conv``: a participant is clustered once they voted on at least
  ``min(7, n_statements)`` statements; with fewer than 15 such participants, the most active
  voters top the set up to 15.
- conversation.clj ``:base-clusters``: k-means with k = 100 ("base clusters") on the projected
  clustered participants.
- conversation.clj ``:group-clusterings`` / ``max-k-fn``: the base-cluster centres, weighted by
  their member counts, are clustered with k in 2..min(5, 2 + n_base // 12); the k with the best
  silhouette (clusters.clj ``silhouette``, computed on the base-cluster centres) wins.
- clusters.clj ``kmeans``/``init-clusters``/``cluster-step``: Lloyd iterations started from the
  first k distinct points, empty clusters dropped, stopping when no centre moves by 0.01.

Polis starts each update from the previous clusters and only changes k after the new k won
several consecutive updates; a one-shot analysis has no history, so here each k-means is run
from Polis' own cold start and, in addition, from k-means++ seeds, keeping the lowest inertia
(a deterministic stand-in for the converged state Polis reaches over many updates).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

_log = logging.getLogger(__name__)

MIN_VOTES = 7
GREEDY_N = 15
BASE_K = 100
MAX_GROUPS = 5
_COMPILED_ABOVE = 1000  # points
_BRUTE_FORCE_PAIRS = 50_000  # points x centres
BASE_RESTARTS = 10
GROUP_RESTARTS = 50
"""k-means++ restarts besides Polis' cold start. Group k-means runs on at most 100 weighted
points, so many restarts are cheap; with 50 the chosen groups no longer depend on the seed on
the bundled conversations."""


def in_conversation(vote_counts: np.ndarray, n_statements: int) -> np.ndarray:
    """Boolean mask of the participants Polis clusters.

    Args:
        vote_counts: votes per participant, shape (n,), on all statements with votes (votes on
            moderated-out statements count, as Polis counts the raw rating matrix).
        n_statements: number of statements that have votes.

    Returns:
        bool array (n,). Rule: conversation.clj ``:in-conv``.
    """
    mask = vote_counts >= min(MIN_VOTES, n_statements)
    mask &= vote_counts > 0
    missing = GREEDY_N - int(mask.sum())
    if missing > 0:
        # Most active voters first; ties by row order (stable sort) for determinism.
        order = np.argsort(-vote_counts, kind="stable")
        extra = [i for i in order if not mask[i] and vote_counts[i] > 0][:missing]
        mask[extra] = True
    return mask


def first_distinct(points: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` distinct rows of ``points`` (clusters.clj ``init-clusters``)."""
    _, first_index = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first_index)[:k]]


def polis_kmeans(points: np.ndarray, init: np.ndarray, weights: np.ndarray | None = None,
                 max_iter: int = 100, threshold: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means as Polis runs it (clusters.clj ``kmeans``, ``cluster-step``).

    Args:
        points: (n, d) coordinates.
        init: (k, d) starting centres.
        weights: optional (n,) point weights for the centre means.
        max_iter: iteration cap.
        threshold: stop once every centre moved less than this.

    Returns:
        ``(labels, centres)``: labels (n,) in 0..k'-1 and centres (k', d), where k' <= k after
        clusters that lost all members were dropped.
    """
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    centres = np.asarray(init, dtype=np.float64)
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(max_iter + 1):
        labels = _nearest(points, centres)
        mass = np.bincount(labels, weights=w, minlength=len(centres))
        sums = np.stack([np.bincount(labels, weights=points[:, d] * w, minlength=len(centres))
                         for d in range(points.shape[1])], axis=1)
        alive = mass > 0
        new = sums[alive] / mass[alive, None]
        moved = len(new) != len(centres) or bool(
            np.any(np.linalg.norm(new - centres, axis=1) >= threshold))
        centres = new
        if not moved:
            break
    labels = _nearest(points, centres)
    return labels, centres


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the closest centre per point (clusters.clj ``add-to-closest``)."""
    if len(points) * len(centres) <= _BRUTE_FORCE_PAIRS:
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        return np.argmin(d2, axis=1)
    return cKDTree(centres).query(points)[1].astype(np.int64)


def _kmeans_plusplus(points: np.ndarray, k: int, weights: np.ndarray,
                     rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ seeds (Arthur & Vassilvitskii 2007; greedy variant as scikit-learn's
    ``kmeans_plusplus``): each step draws ``2 + ln k`` candidates with probability proportional
    to weight x squared distance to the nearest seed so far and keeps the one that lowers the
    total the most. Returns (k', d), k' <= k (fewer when all points are covered)."""
    trials = 2 + int(np.log(k))
    first = rng.choice(len(points), p=weights / weights.sum())
    seeds = [points[first]]
    d2 = ((points - points[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        mass = weights * d2
        total = mass.sum()
        if total <= 0:
            break
        picks = rng.choice(len(points), size=trials, p=mass / total)
        cand = np.minimum(d2[None, :], ((points[None, :, :] - points[picks][:, None, :]) ** 2)
                          .sum(axis=2))
        best = int(np.argmin(cand @ weights))
        seeds.append(points[picks[best]])
        d2 = cand[best]
    return np.array(seeds)


def _inertia(points, weights, labels, centres) -> float:
    return float((weights * ((points - centres[labels]) ** 2).sum(axis=1)).sum())


def best_kmeans(points: np.ndarray, k: int, weights: np.ndarray | None, max_iter: int,
                random_state: int, n_init: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means from Polis' cold start and from ``n_init`` k-means++ seeds; lowest inertia wins.

    Every candidate is finished by :func:`polis_kmeans`, so the result is a Polis fixed point.
    On many points the restarts run in scikit-learn's compiled Lloyd loop; on few points (group
    k-means over at most 100 base clusters) a numpy loop avoids its threading overhead.
    Returns ``(labels, centres)`` as :func:`polis_kmeans`; deterministic for a fixed
    ``random_state``.
    """
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    best = polis_kmeans(points, first_distinct(points, k), w, max_iter)
    best_cost = _inertia(points, w, *best)
    if n_init <= 0 or len(np.unique(points, axis=0)) <= k:
        return best
    if len(points) > _COMPILED_ABOVE:
        km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state, max_iter=max_iter)
        starts = [km.fit(points, sample_weight=w).cluster_centers_]
    else:
        rng = np.random.RandomState(random_state)
        starts = (_kmeans_plusplus(points, k, w, rng) for _ in range(n_init))
    for start in starts:
        candidate = polis_kmeans(points, start, w, max_iter)
        cost = _inertia(points, w, *candidate)
        if cost < best_cost - 1e-9:
            best, best_cost = candidate, cost
    return best


@dataclass(frozen=True)
class Grouping:
    """Opinion groups of the clustered participants.

    Attributes:
        labels: group id per clustered participant, shape (n_clustered,), ids 0..k-1 ordered by
            decreasing size (ties by first member).
        k: number of groups.
        silhouette: silhouette of the chosen grouping over base-cluster centres (NaN if k < 2).
        silhouettes: silhouette per tried k.
        base_labels: base cluster per clustered participant, shape (n_clustered,).
        base_centres: (n_base, 2) base-cluster centres.
    """

    labels: np.ndarray
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    base_labels: np.ndarray
    base_centres: np.ndarray


def group_participants(coords: np.ndarray, random_state: int = 0) -> Grouping:
    """Base clusters, then opinion groups with k chosen by silhouette (see module docstring).

    Args:
        coords: (n_clustered, 2) projected coordinates of the clustered participants.
        random_state: seed of the k-means++ restarts.

    Returns:
        :class:`Grouping`. Fewer than 2 distinct base clusters give one group (k = 1).
    """
    n = len(coords)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Grouping(empty, 0, float("nan"), {}, empty, np.zeros((0, coords.shape[1])))
    base_k = min(BASE_K, len(np.unique(coords, axis=0)))
    base_labels, base_centres = best_kmeans(coords, base_k, None, 100, random_state,
                                           BASE_RESTARTS)
    weights = np.bincount(base_labels, minlength=len(base_centres)).astype(np.float64)
    n_base = len(base_centres)
    max_k = min(MAX_GROUPS, 2 + n_base // 12)
    silhouettes: dict[int, float] = {}
    choices: dict[int, np.ndarray] = {}
    for k in range(2, min(max_k, n_base) + 1):
        # 20 iterations: conversation.clj passes :cluster-iters, which kmeans ignores (max-iters 20).
        labels, _ = best_kmeans(base_centres, k, weights, 20, random_state, GROUP_RESTARTS)
        found = len(np.unique(labels))
        if found < 2:
            continue
        # Every group a single base cluster: clusters.clj scores singletons 0.
        silhouettes[k] = (0.0 if found == n_base
                          else float(silhouette_score(base_centres, labels)))
        choices[k] = labels
    if not silhouettes:
        group_of_base = np.zeros(n_base, dtype=np.int64)
        k, score = 1, float("nan")
    else:
        # On an exact tie the smaller k wins (fewer groups read more easily).
        k = max(silhouettes, key=lambda key: (silhouettes[key], -key))
        group_of_base, score = choices[k], silhouettes[k]
    labels = _relabel_by_size(group_of_base[base_labels])
    return Grouping(labels, int(labels.max()) + 1, score, silhouettes, base_labels, base_centres)


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-sizes[i], first[i]))
    mapping = np.empty(ids.max() + 1, dtype=np.int64)
    mapping[ids[order]] = np.arange(len(ids))
    return mapping[labels]
