"""Who is clustered, base clusters and opinion groups, as in Polis.

Sources (compdemocracy/polis, math/src/polismath/math/):
- conversation.clj ``:in-conv``: a participant is clustered once they voted on at least
  ``min(7, n_statements)`` statements; with fewer than 15 such participants, the most active
  voters top the set up to 15.
- conversation.clj ``:base-clusters``: k-means with k = 100 ("base clusters") on the projected
  clustered participants.
- conversation.clj ``:group-clusterings`` / ``max-k-fn``: the base-cluster centres, weighted by
  their member counts (clusters.clj ``weighted-mean``), are clustered with k in
  2..min(5, 2 + n_base // 12), at most 20 Lloyd iterations; the k with the best silhouette
  (``:group-clusterings-silhouettes``, clusters.clj ``silhouette`` over the unweighted distances
  between base-cluster centres, a singleton scoring 0) wins.
- clusters.clj ``kmeans``/``init-clusters``/``cluster-step``: Lloyd iterations started from the
  first k distinct points, empty clusters dropped, stopping when no centre moves by 0.01.

Polis starts each update from the previous clusters and only changes k after the new k won
several consecutive updates; a one-shot analysis has no history, so here each k-means is run
from Polis' own cold start and, in addition, from k-means++ seeds (a deterministic stand-in for
the converged state Polis reaches over many updates). Base clusters keep the lowest-inertia fixed
point. For the groups, each k is scored by its lowest-inertia fixed point; the chosen k then keeps,
among its fixed points, the one with the best silhouette: where two fixed points differ only by a
base cluster on the boundary (Polis' history decides which one it holds), the criterion Polis
itself uses to compare groupings decides here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bot.analysis.bounded import bounded_lloyd

_log = logging.getLogger(__name__)

MIN_VOTES = 7
GREEDY_N = 15
BASE_K = 100
MAX_GROUPS = 5
_BOUNDED_ABOVE = 1000  # points: above, each run skips the points bounds settle
_BRUTE_FORCE_PAIRS = 2_000_000  # runs x points x centres
_SCAN_CENTRES = 8  # up to this many centres, the nearest is found by a scan over them
_BLOCK = 1 << 16  # distances computed at once (512 KiB): little memory, stays in cache
BASE_RESTARTS = 20
GROUP_RESTARTS = 50
"""k-means++ restarts besides Polis' cold start. Group k-means runs on at most 100 weighted
points, so many restarts are cheap. On the bundled conversations the seed still moves a few
boundary participants through the base clusters (ARI against Polis within 0.04 across seeds
0-5); more base restarts do not remove that."""
LARGE_RESTARTS = 5
"""Restart cap above 1,000 points (base clusters of a large conversation): each restart costs
a full k-means over every participant, and with thousands of points the 100 base clusters vary
little between restarts."""


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
    return points[_distinct_rows(points)[:k]]


def _distinct_rows(points: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct row of ``points``, in row order."""
    _, first_index = np.unique(points, axis=0, return_index=True)
    return np.sort(first_index)


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
        clusters that lost all members were dropped (order kept).
    """
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    starts = np.asarray(init, dtype=np.float64)[None]
    labels, centres, alive, _ = _lloyd_runs(points, w, starts, max_iter, threshold)
    return _compact(labels[0], centres[0], alive[0])


def _lloyd_runs(points: np.ndarray, w: np.ndarray, starts: np.ndarray, max_iter: int,
                threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`polis_kmeans` for R starts at once. ``starts`` (R, k, d).

    Returns ``(labels (R, n), centres (R, k, d), alive (R, k), cost (R,))``; a dropped centre
    has ``alive`` False. Every start iterates until the last one converges, so each gets the
    result Polis' loop would give it run on its own up to that iteration count. A run whose step
    left its centres exactly as they were is at a fixed point (the same members give the same
    means, bit for bit, so every later step repeats it): it leaves the batch there.
    """
    if len(points) > _BOUNDED_ABOVE:
        return _bounded_runs(points, w, starts, max_iter, threshold)
    n_runs, k, dims = starts.shape
    n = len(points)
    # (2p)·c is 2(p·c) bit for bit (a power of two scales without rounding).
    brute = ((points ** 2).sum(axis=1)[None, :, None], 2.0 * points) \
        if n_runs * n * k <= _BRUTE_FORCE_PAIRS else None
    centres = starts.copy()
    alive = np.ones((n_runs, k), dtype=bool)
    labels = np.empty((n_runs, n), dtype=np.int64)
    d2 = np.empty((n_runs, n))
    offsets = (np.arange(n_runs) * k)[:, None]
    w_all = np.tile(w, n_runs)
    weighted = [np.tile(points[:, j] * w, n_runs) for j in range(dims)]
    active = np.arange(n_runs)
    for _ in range(max_iter + 1):
        runs, old, old_alive = len(active), centres[active], alive[active]
        found, found_d2 = _nearest_runs(points, old, old_alive, brute)
        labels[active], d2[active] = found, found_d2
        flat = (found + offsets[:runs]).ravel()
        size = runs * k
        mass = np.bincount(flat, weights=w_all[:runs * n], minlength=size).reshape(runs, k)
        sums = np.stack([np.bincount(flat, weights=wj[:runs * n], minlength=size)
                         for wj in weighted], axis=-1).reshape(runs, k, dims)
        new_alive = mass > 0
        new = np.where(new_alive[..., None], sums / np.where(new_alive, mass, 1.0)[..., None],
                       old)
        step = new - old
        fixed = ~step.any(axis=(1, 2))
        step *= step
        shift = np.sqrt(_sum_coords(step))  # np.linalg.norm(new - old, axis=2), bit for bit
        changed = (new_alive != old_alive).any(axis=1)
        moved = changed | ((shift >= threshold) & new_alive).any(axis=1)
        fixed &= ~changed
        centres[active], alive[active] = new, new_alive
        active = active[~fixed]
        if not moved.any():
            break
    if len(active):
        labels[active], d2[active] = _nearest_runs(points, centres[active], alive[active], brute)
    return labels, centres, alive, d2 @ w


def _bounded_runs(points: np.ndarray, w: np.ndarray, starts: np.ndarray, max_iter: int,
                  threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_lloyd_runs` on many points: each start runs Polis' loop on its own, a step
    measuring again only the points whose nearest centre may have changed
    (:func:`bot.analysis.bounded.bounded_lloyd`)."""
    found = [bounded_lloyd(points, w, start, max_iter, threshold) for start in starts]
    return (np.stack([f[0] for f in found]), np.stack([f[1] for f in found]),
            np.stack([f[2] for f in found]), np.array([f[3] for f in found]))


def _nearest_runs(points: np.ndarray, centres: np.ndarray, alive: np.ndarray,
                  brute: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Closest live centre per point and run (clusters.clj ``add-to-closest``), by brute force
    (``|p|² + |c|² - 2 p·c``, a few runs at a time so the distance block stays near
    ``_BLOCK`` entries) when ``brute`` holds ``(|p|² (1, n, 1), 2 p (n, d))``, else with a k-d
    tree per run.

    Returns ``(labels (R, n), squared distances (R, n))``.
    """
    n_runs, k, _ = centres.shape
    n = len(points)
    if brute is not None:
        point_sq, twice = brute
        centre_sq = _sum_coords(centres ** 2)
        centre_sq[~alive] = np.inf  # a dropped centre is infinitely far
        step = max(1, _BLOCK // (n * k))
        parts = []
        for lo in range(0, n_runs, step):
            block = point_sq + centre_sq[lo:lo + step, None, :]
            block -= twice @ centres[lo:lo + step].transpose(0, 2, 1)
            np.maximum(block, 0.0, out=block)
            parts.append(_closest(block))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    from scipy.spatial import cKDTree  # only for the large cold searches

    labels = np.empty((n_runs, n), dtype=np.int64)
    d2 = np.empty((n_runs, n))
    for r in range(n_runs):
        live = np.flatnonzero(alive[r])
        dist, idx = cKDTree(centres[r, live]).query(points)
        labels[r], d2[r] = live[idx], dist ** 2
    return labels, d2


def _sum_coords(values: np.ndarray) -> np.ndarray:
    """``values.sum(axis=-1)`` over a few coordinates, bit for bit (numpy adds so short an axis
    left to right) but without a reduction's cost per row."""
    total = values[..., 0].copy()
    for j in range(1, values.shape[-1]):
        total += values[..., j]
    return total


def _closest(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(argmin, min)`` over the last axis, the first index on a tie (as ``np.argmin``). With a
    few centres a scan over them beats ``np.argmin``, which pays per row."""
    k = block.shape[-1]
    if k > _SCAN_CENTRES:
        found = np.argmin(block, axis=-1)
        return found, np.take_along_axis(block, found[..., None], axis=-1)[..., 0]
    found = np.zeros(block.shape[:-1], dtype=np.int64)
    least = block[..., 0].copy()
    for j in range(1, k):
        column = block[..., j]
        np.putmask(found, column < least, j)
        np.minimum(least, column, out=least)
    return found, least


def _compact(labels: np.ndarray, centres: np.ndarray,
             alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop dead centres, renumbering labels in order."""
    new_id = np.cumsum(alive) - 1
    return new_id[labels], centres[alive]


def _kmeans_plusplus_runs(points: np.ndarray, k: int, w: np.ndarray,
                          rng: np.random.RandomState, n_runs: int) -> np.ndarray:
    """Greedy k-means++ seeds for ``n_runs`` runs at once (Arthur & Vassilvitskii 2007; greedy
    variant as scikit-learn's ``kmeans_plusplus``): each step draws ``2 + ln k`` candidates
    with probability proportional to weight x squared distance to the nearest seed so far and
    keeps the one that lowers the total the most. Needs more than k distinct points.

    Up to ``_BOUNDED_ABOVE`` points, the squared distances from each point to all points are
    computed once, up front, by the same ``|c|² + |p|² - 2 c·p`` product over blocks of
    ``2 + ln k`` candidates that a step would compute; a step only gathers rows. On more
    points (where that table would take n² floats) a step computes its candidates' rows.

    Returns:
        (n_runs, k, d) seeds.
    """
    n = len(points)
    trials = 2 + int(np.log(k))
    rows = np.arange(n_runs)
    pair_d2 = _candidate_distances(points, trials) if n <= _BOUNDED_ABOVE else None
    first = rng.choice(n, size=n_runs, p=w / w.sum())
    picked = np.empty((n_runs, k), dtype=np.int64)
    picked[:, 0] = first
    d2 = ((points[None, :, :] - points[first][:, None, :]) ** 2).sum(axis=2)
    # Row r's cumulative shares are shifted into (r, r + 1] so one searchsorted serves all runs.
    shift = rows[:, None].astype(np.float64)
    offsets = (rows * n)[:, None]
    for step in range(1, k):
        cum = np.cumsum(w * d2, axis=1)
        cum /= cum[:, -1:]
        cum += shift
        draws = rng.random_sample((n_runs, trials))
        draws += shift
        picks = np.searchsorted(cum.ravel(), draws.ravel(), side="right").reshape(n_runs, trials)
        picks -= offsets
        np.minimum(picks, n - 1, out=picks)
        cand = pair_d2[picks] if pair_d2 is not None else _distances_from(points, picks)
        np.minimum(cand, d2[:, None, :], out=cand)
        best = np.argmin(cand @ w, axis=1)
        picked[:, step] = picks[rows, best]
        d2 = cand[rows, best]
    return points[picked]


def _candidate_distances(points: np.ndarray, trials: int) -> np.ndarray:
    """(n, n) clipped squared distances ``max(|c|² + |p|² - 2 c·p, 0)`` from each point c to
    every point p, the products taken over blocks of ``trials`` points as k-means++ draws them."""
    n, dims = points.shape
    sq_norms = (points ** 2).sum(axis=1)
    blocks = np.zeros((-(-n // trials) * trials, dims))
    blocks[:n] = points
    prod = (blocks.reshape(-1, trials, dims) @ points.T).reshape(-1, n)[:n]
    out = sq_norms[None, :] + sq_norms[:, None]
    prod *= 2.0
    out -= prod
    np.maximum(out, 0.0, out=out)
    return out


def _distances_from(points: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Clipped squared distances ``max(|c|² + |p|² - 2 c·p, 0)`` from the points ``picks``
    (any shape) to every point: shape ``picks.shape + (n,)``."""
    sq_norms = (points ** 2).sum(axis=1)
    out = sq_norms[picks][..., None] + sq_norms
    out -= 2.0 * (points[picks] @ points.T)
    np.maximum(out, 0.0, out=out)
    return out


def _candidate_runs(points: np.ndarray, distinct: np.ndarray, k: int, w: np.ndarray,
                    max_iter: int, random_state: int, n_init: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Polis' Lloyd loop from the cold start and from ``n_init`` k-means++ seeds.

    Every candidate is finished by Polis' Lloyd loop (:func:`polis_kmeans`), so each is a Polis
    fixed point. Above ``_BOUNDED_ABOVE`` points (base clusters of a large conversation) at
    most ``LARGE_RESTARTS`` seeds are drawn and each run skips the points whose centre cannot
    have changed; on fewer points all restarts run as one batch. ``distinct`` is
    :func:`_distinct_rows` of ``points``. Returns :func:`_lloyd_runs`' ``(labels, centres,
    alive, cost)``, the cold start first.
    """
    cold = points[distinct[:k]]
    starts = [cold[None]]
    if n_init > 0 and len(distinct) > k:
        runs = n_init if len(points) <= _BOUNDED_ABOVE else min(n_init, LARGE_RESTARTS)
        rng = np.random.RandomState(random_state)
        starts.append(_kmeans_plusplus_runs(points, k, w, rng, runs))
    return _lloyd_runs(points, w, np.concatenate(starts), max_iter, 0.01)


def _lowest_cost(cost: np.ndarray) -> int:
    """Index of the lowest-inertia run (the earliest, i.e. the cold start, on a tie)."""
    return int(np.flatnonzero(cost <= cost.min() + 1e-9)[0])


def best_kmeans(points: np.ndarray, distinct: np.ndarray, k: int, weights: np.ndarray | None,
                max_iter: int, random_state: int, n_init: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means from Polis' cold start and from ``n_init`` k-means++ seeds; lowest inertia wins
    (the cold start on a tie). ``distinct`` is :func:`_distinct_rows` of ``points``.

    Returns ``(labels, centres)`` as :func:`polis_kmeans`; deterministic for a fixed
    ``random_state``.
    """
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    labels, centres, alive, cost = _candidate_runs(points, distinct, k, w, max_iter,
                                                   random_state, n_init)
    best = _lowest_cost(cost)
    return _compact(labels[best], centres[best], alive[best])


def silhouette_scores(dist: np.ndarray, labels: np.ndarray,
                      n_clusters: int | None = None) -> np.ndarray:
    """Mean silhouette of each of R labellings of the same points (clusters.clj ``silhouette``).

    Args:
        dist: (n, n) Euclidean distances between the points.
        labels: (R, n) cluster ids in 0..g-1.
        n_clusters: g, at least the largest id + 1 (default: exactly that).

    Returns:
        (R,) mean over the points of ``(b - a) / max(a, b)``, with ``a`` the mean distance to
        the rest of the own cluster and ``b`` the smallest mean distance to another cluster; a
        point alone in its cluster scores 0, as do labellings with fewer than 2 clusters.
        Equal to ``sklearn.metrics.silhouette_score`` wherever that is defined.
    """
    labels = np.asarray(labels)
    n_runs, n = labels.shape
    g = int(labels.max()) + 1 if n_clusters is None else n_clusters
    onehot = np.zeros((n_runs, n, g))
    np.put_along_axis(onehot, labels[..., None], 1.0, axis=2)
    sizes = np.bincount((labels + (np.arange(n_runs) * g)[:, None]).ravel(),
                        minlength=n_runs * g).reshape(n_runs, g).astype(np.float64)
    sums = dist[None] @ onehot  # (R, n, g): distance from each point to each cluster
    own = labels[..., None]
    own_size = np.take_along_axis(sizes, labels, axis=1)
    a = np.take_along_axis(sums, own, axis=2)[..., 0] / np.maximum(own_size - 1, 1)
    means = sums / np.maximum(sizes, 1)[:, None, :]
    np.put_along_axis(means, own, np.inf, axis=2)
    means[np.broadcast_to(sizes[:, None, :] == 0, means.shape)] = np.inf
    b = means[..., 0].copy()  # min over the few clusters, column by column (exact)
    for j in range(1, g):
        np.minimum(b, means[..., j], out=b)
    denom = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where((own_size > 1) & np.isfinite(b) & (denom > 0), (b - a) / denom, 0.0)
    return s.mean(axis=1)


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
    distinct = _distinct_rows(coords)
    base_k = min(BASE_K, len(distinct))
    base_labels, base_centres = best_kmeans(coords, distinct, base_k, None, 100, random_state,
                                           BASE_RESTARTS)
    weights = np.bincount(base_labels, minlength=len(base_centres)).astype(np.float64)
    n_base = len(base_centres)
    max_k = min(MAX_GROUPS, 2 + n_base // 12)
    silhouettes: dict[int, float] = {}
    choices: dict[int, tuple[np.ndarray, float]] = {}
    dist = np.linalg.norm(base_centres[:, None, :] - base_centres[None, :, :], axis=2)
    for k in range(2, min(max_k, n_base) + 1):
        found = best_groups_for_k(base_centres, weights, dist, k, random_state)
        if found is not None:
            choices[k], silhouettes[k] = (found[0], found[2]), found[1]
    if not silhouettes:
        group_of_base = np.zeros(n_base, dtype=np.int64)
        k, score = 1, float("nan")
    else:
        # On an exact tie the smaller k wins (fewer groups read more easily); Polis' max-key
        # would keep the larger one. Ties only happen between degenerate groupings.
        k = max(silhouettes, key=lambda key: (silhouettes[key], -key))
        group_of_base, score = choices[k]
    labels = relabel_by_size(group_of_base[base_labels])
    return Grouping(labels, int(labels.max()) + 1, score, silhouettes, base_labels, base_centres)


def best_groups_for_k(base_centres: np.ndarray, weights: np.ndarray, dist: np.ndarray, k: int,
                      random_state: int) -> tuple[np.ndarray, float, float] | None:
    """Groups of the base clusters for one k without history (see the module docstring).

    Args:
        base_centres: (n_base, 2) centres; ``weights`` (n_base,) their member counts; ``dist``
            (n_base, n_base) distances between them.

    Returns:
        ``(group of each base cluster, silhouette of the lowest-inertia fixed point (judges
        k), silhouette of the grouping returned)``, or None when fewer than 2 groups remain.
    """
    # 20 iterations: conversation.clj passes :cluster-iters, which kmeans ignores (max-iters 20).
    runs, _, alive, cost = _candidate_runs(base_centres, _distinct_rows(base_centres), k,
                                           weights, 20, random_state, GROUP_RESTARTS)
    found = alive.sum(axis=1)
    best = _lowest_cost(cost)
    if found[best] < 2:
        return None
    # k is judged by its lowest-inertia fixed point; among that k's fixed points (the runs
    # with as many groups) the best silhouette is kept (ties: lower inertia, then the earlier
    # run).
    runs = np.take_along_axis(np.cumsum(alive, axis=1) - 1, runs, axis=1)  # compacted
    same = np.flatnonzero(found == found[best])
    scores = silhouette_scores(dist, runs[same], int(runs.max()) + 1)
    pick = min(range(len(same)), key=lambda i: (-round(float(scores[i]), 12),
                                                cost[same[i]], i))
    return runs[same][pick], float(scores[np.searchsorted(same, best)]), float(scores[pick])


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-sizes[i], first[i]))
    mapping = np.empty(ids.max() + 1, dtype=np.int64)
    mapping[ids[order]] = np.arange(len(ids))
    return mapping[labels]
