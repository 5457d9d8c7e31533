"""Polis' Lloyd loop on many points, each step skipping the points whose nearest centre
provably did not change.

The base clusters of a large conversation are 100 centres over thousands of participants:
Polis' loop (clusters.clj ``kmeans``) measures every point against every centre at every step.
Here each point keeps an upper bound on the distance to its own centre and, per group of
nearby centres, a lower bound on the distance to the others (Y. Ding et al., "Yinyang K-Means",
ICML 2015, after G. Hamerly, SIAM SDM 2010); a step moves them by how far the centres moved
(the own centre's shift, the group's largest), and only the points whose bounds cross are
measured again, against every centre as Polis does. The assignments, centres and stopping rule
are those of :func:`bot.analysis.clustering.polis_kmeans`: the bounds only skip work. They are
kept with a safety margin far above the rounding of the distances, so a point that is nearly
as close to two centres is always measured again with the same formula as the full scan.
"""

from __future__ import annotations

import numpy as np

_MARGIN = 1e-9
"""Relative slack on the bounds (rounding of the squared distances is about 1e-16 of the
squared norms)."""
_BLOCK_POINTS = 4096
"""Points measured against every centre at once (4096 x 100 centres: 3 MiB)."""
_GROUP_SIZE = 10
"""Centres per group of lower bounds: 100 centres keep 10 bounds per point."""


def bounded_lloyd(points: np.ndarray, w: np.ndarray, start: np.ndarray, max_iter: int,
                  threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One run of Polis' Lloyd loop from ``start``, as one run of
    :func:`bot.analysis.clustering._lloyd_runs`.

    Args:
        points: (n, d) coordinates; ``w`` (n,) positive weights; ``start`` (k, d) centres.
        max_iter: iteration cap; ``threshold``: stop once no live centre moved this far.

    Returns:
        ``(labels (n,), centres (k, d), alive (k,), cost)``: the closest centre of each point
        (the first on a tie), the last centres (a centre that lost every member keeps its last
        place and ``alive`` False), and the weighted sum of squared distances to them.
    """
    point_sq = (points ** 2).sum(axis=1)
    centres = np.asarray(start, dtype=np.float64).copy()
    alive = np.ones(len(centres), dtype=bool)
    groups = _Groups(centres)
    labels, upper, lower = _measure(points, point_sq, centres, alive, groups)
    for _ in range(max_iter + 1):
        new, new_alive = _means(points, w, labels, centres)
        step = new - centres
        shift = np.sqrt((step ** 2).sum(axis=1))
        changed = bool((new_alive != alive).any())
        moved = changed or bool(((shift >= threshold) & new_alive).any())
        if not changed and not step.any():
            # A fixed point: the same members give the same means at every later step.
            return labels, new, new_alive, _cost(points, point_sq, w, new, labels)
        centres, alive = new, new_alive
        moves = np.where(alive, shift, 0.0)
        upper += moves[labels]
        lower -= groups.largest(moves)
        _reassign(points, point_sq, centres, alive, groups, labels, upper, lower)
        if not moved:
            break
    return labels, centres, alive, _cost(points, point_sq, w, centres, labels)


class _Groups:
    """The centres split once, at the start, into groups of about ``_GROUP_SIZE`` neighbours
    (stripes along x, cut along y): a step loosens a group's bounds by its own largest move,
    so centres settling in one place do not unsettle points far from the ones still moving."""

    def __init__(self, start: np.ndarray) -> None:
        k = len(start)
        n_groups = max(1, k // _GROUP_SIZE)
        stripes = max(1, round(float(np.sqrt(n_groups))))
        by_x = np.argsort(start[:, 0], kind="stable")
        cells = [stripe[np.argsort(start[stripe, 1], kind="stable")]
                 for stripe in np.array_split(by_x, stripes)]
        parts = [part for cell in cells
                 for part in np.array_split(cell, max(1, round(len(cell) / _GROUP_SIZE)))]
        self.order = np.concatenate(parts)
        self.starts = np.cumsum([0] + [len(p) for p in parts[:-1]])

    def minima(self, block: np.ndarray) -> np.ndarray:
        """Per row of ``block`` (points x centres), the least entry of each group."""
        return np.minimum.reduceat(block[:, self.order], self.starts, axis=1)

    def largest(self, moves: np.ndarray) -> np.ndarray:
        """The largest move of each group's centres, shape (groups,)."""
        return np.maximum.reduceat(moves[self.order], self.starts)


def _means(points: np.ndarray, w: np.ndarray, labels: np.ndarray,
           old: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted member means (clusters.clj ``cluster-step``); a centre without members stays
    where it was and is marked dead."""
    k, dims = old.shape
    mass = np.bincount(labels, weights=w, minlength=k)
    sums = np.stack([np.bincount(labels, weights=points[:, j] * w, minlength=k)
                     for j in range(dims)], axis=-1)
    alive = mass > 0
    return np.where(alive[:, None], sums / np.where(alive, mass, 1.0)[:, None], old), alive


def _reassign(points: np.ndarray, point_sq: np.ndarray, centres: np.ndarray, alive: np.ndarray,
              groups: _Groups, labels: np.ndarray, upper: np.ndarray,
              lower: np.ndarray) -> None:
    """Measure again the points whose bounds no longer prove their centre is the closest:
    first the distance to their own centre, then, where still unproven, every centre."""
    centre_sq = float((centres[alive] ** 2).sum(axis=1).max())
    nearest_other = lower.min(axis=1)
    doubt = np.flatnonzero(_unproven(upper, nearest_other, point_sq, centre_sq))
    if not len(doubt):
        return
    own = centres[labels[doubt]]
    upper[doubt] = np.sqrt(((points[doubt] - own) ** 2).sum(axis=1))
    doubt = doubt[_unproven(upper[doubt], nearest_other[doubt], point_sq[doubt], centre_sq)]
    if len(doubt):
        labels[doubt], upper[doubt], lower[doubt] = _measure(points[doubt], point_sq[doubt],
                                                             centres, alive, groups)


def _unproven(upper: np.ndarray, lower: np.ndarray, point_sq: np.ndarray,
              centre_sq: float) -> np.ndarray:
    """Where the own centre is not provably closer than every other by more than the rounding
    of ``|p|² + |c|² - 2 p·c`` (``centre_sq``: the largest ``|c|²``)."""
    slack = _MARGIN * (point_sq + centre_sq)
    return (upper * (1 + _MARGIN)) ** 2 + slack >= (np.maximum(lower, 0.0) * (1 - _MARGIN)) ** 2


def _measure(points: np.ndarray, point_sq: np.ndarray, centres: np.ndarray, alive: np.ndarray,
             groups: _Groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every point against every live centre, with the full scan's formula
    (``|p|² + |c|² - 2 p·c``, clipped at 0; the first centre on a tie).

    Returns ``(labels, distance to the closest, per group the distance to the closest other
    centre (points x groups))``.
    """
    centre_sq = (centres ** 2).sum(axis=1)
    centre_sq[~alive] = np.inf
    twice_t = (2.0 * centres).T
    n = len(points)
    labels = np.empty(n, dtype=np.int64)
    first = np.empty(n)
    others = np.empty((n, len(groups.starts)))
    for lo in range(0, n, _BLOCK_POINTS):
        part = slice(lo, lo + _BLOCK_POINTS)
        block = point_sq[part, None] + centre_sq[None, :]
        block -= points[part] @ twice_t
        np.maximum(block, 0.0, out=block)
        found = np.argmin(block, axis=1)
        rows = np.arange(len(found))
        labels[part], first[part] = found, block[rows, found]
        block[rows, found] = np.inf
        others[part] = groups.minima(block)
    return labels, np.sqrt(first), np.sqrt(others)


def _cost(points: np.ndarray, point_sq: np.ndarray, w: np.ndarray, centres: np.ndarray,
          labels: np.ndarray) -> float:
    """Weighted sum of squared distances to the own centre (the full scan's formula)."""
    own = centres[labels]
    d2 = point_sq + (own ** 2).sum(axis=1) - (points * (2.0 * own)).sum(axis=1)
    return float(np.maximum(d2, 0.0) @ w)
