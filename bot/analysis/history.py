"""Stable opinion groups from update to update, as Polis keeps them.

Polis never recomputes a conversation from scratch (compdemocracy/polis,
math/src/polismath/math/conversation.clj):

- ``:in-conv``: once clustered, a participant stays clustered;
- ``:base-clusters`` and ``:group-clusterings``: k-means starts from the previous update's
  clusters (clusters.clj ``kmeans`` with ``:last-clusters``, ``clean-start-clusters``: each
  previous cluster re-centred on its members' new positions, identical ones merged, then the
  most distant point split off into a new cluster until there are k);
- ``:group-k-smoother``: the k with the best silhouette must win ``group-k-buffer`` (4)
  consecutive updates before the groups change to it.

:class:`AnalysisState` is what one update leaves for the next; :func:`group_with_history` runs
an update from it. Group letters are planbot's: a group keeps the letter of the previous group
it shares the most members with (an assignment maximising shared members).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

import numpy as np

from bot.analysis.clustering import (
    BASE_K,
    BASE_RESTARTS,
    MAX_GROUPS,
    Grouping,
    _distinct_rows,
    _lloyd_runs,
    best_groups_for_k,
    best_kmeans,
    group_participants,
    relabel_by_size,
    silhouette_scores,
)

_log = logging.getLogger(__name__)

K_BUFFER = 4
"""Consecutive wins a new k needs before the groups change to it (conversation.clj
``:group-k-buffer``)."""
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Cluster:
    """One cluster of an update: ``id`` (stable across updates), ``members`` (participant ids
    for base clusters, base-cluster ids for groups)."""

    id: int
    members: tuple[Any, ...]


@dataclass(frozen=True)
class KSmoother:
    """conversation.clj ``:group-k-smoother``: the last winning k, its run of consecutive wins,
    and the k in use."""

    last_k: int | None = None
    last_k_count: int = 0
    smoothed_k: int | None = None

    def update(self, this_k: int) -> KSmoother:
        """The smoother after an update whose best silhouette was at ``this_k``."""
        count = self.last_k_count + 1 if self.last_k == this_k else 1
        smoothed = this_k if count >= K_BUFFER or self.smoothed_k is None else self.smoothed_k
        return KSmoother(this_k, count, smoothed)


@dataclass(frozen=True)
class AnalysisState:
    """What an update leaves for the next one (JSON through :meth:`to_json`/:meth:`from_json`).

    Attributes:
        fingerprint: digest of the votes it was computed from (:func:`votes_fingerprint`); an
            update on the same votes does not count as a new win for the smoother.
        in_conv: clustered participant ids.
        base: base clusters (members: participant ids).
        groups: per k tried, its group clusters (members: base-cluster ids).
        smoother: the k smoother.
        letters: per group letter, its member participant ids.
    """

    fingerprint: str
    in_conv: tuple[str, ...]
    base: tuple[Cluster, ...]
    groups: dict[int, tuple[Cluster, ...]]
    smoother: KSmoother
    letters: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (lists and strings only)."""
        return {
            "fingerprint": self.fingerprint, "in_conv": list(self.in_conv),
            "base": [[c.id, list(c.members)] for c in self.base],
            "groups": {str(k): [[c.id, list(c.members)] for c in clusters]
                       for k, clusters in self.groups.items()},
            "smoother": [self.smoother.last_k, self.smoother.last_k_count,
                         self.smoother.smoothed_k],
            "letters": {letter: list(members) for letter, members in self.letters.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnalysisState:
        """Inverse of :meth:`to_json`. Raises KeyError/TypeError/ValueError on a malformed dict."""
        return cls(
            fingerprint=str(data["fingerprint"]), in_conv=tuple(map(str, data["in_conv"])),
            base=tuple(Cluster(int(i), tuple(map(str, m))) for i, m in data["base"]),
            groups={int(k): tuple(Cluster(int(i), tuple(map(int, m))) for i, m in clusters)
                    for k, clusters in data["groups"].items()},
            smoother=KSmoother(*data["smoother"]),
            letters={str(letter): tuple(map(str, m)) for letter, m in data["letters"].items()},
        )


def votes_fingerprint(participants: Sequence[str], statements: Sequence[str],
                      votes: Any) -> str:
    """SHA-256 over participant ids, statement ids and the csr vote matrix (exact equality)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(participants).encode())
    digest.update(b"\x1e" + "\x1f".join(statements).encode())
    for array in (votes.indptr, votes.indices, votes.data):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def warm_start(points: np.ndarray, ids: list[Any], previous: tuple[Cluster, ...], k: int,
               weights: np.ndarray) -> tuple[list[int], list[list[int]]]:
    """clusters.clj ``clean-start-clusters``: the previous clusters on the current points.

    Args:
        points: (n, d) current positions; ``ids`` their ids (what ``Cluster.members`` hold).
        previous: the previous update's clusters.
        k: clusters wanted.
        weights: (n,) point weights for the centres.

    Returns:
        ``(cluster ids, member rows per cluster)``: previous clusters that still have members,
        identical centres merged, then the point farthest from every centre split off into a
        new cluster (next free id) until ``min(k, distinct points)`` clusters.
    """
    row_of = {pid: r for r, pid in enumerate(ids)}
    found: list[tuple[int, list[int]]] = []
    for cluster in previous:
        rows = [row_of[m] for m in cluster.members if m in row_of]
        if rows:
            found.append((cluster.id, rows))
    merged: dict[bytes, tuple[int, list[int]]] = {}
    for cid, rows in found:  # uniqify-clusters: identical centres become one cluster
        key = np.round(_centre(points, weights, rows), 12).tobytes()
        if key in merged:
            first_id, first_rows = merged[key]
            larger = first_id if len(first_rows) >= len(rows) else cid
            merged[key] = (larger, first_rows + rows)
        else:
            merged[key] = (cid, rows)
    cids = [cid for cid, _ in merged.values()]
    members = [rows for _, rows in merged.values()]
    possible = min(k, len(_distinct_rows(points)))
    next_id = max([c.id for c in previous] + [-1]) + 1
    while members and len(members) < possible:
        centres = np.array([_centre(points, weights, rows) for rows in members])
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        nearest = d2.min(axis=1)
        far = int(np.argmax(nearest))  # most-distal: the first on a tie, as max-key
        if nearest[far] <= 0:
            break
        members = [[r for r in rows if r != far] for rows in members]
        keep = [i for i, rows in enumerate(members) if rows]
        cids, members = [cids[i] for i in keep] + [next_id], [members[i] for i in keep] + [[far]]
        next_id += 1
    return cids, members


def _centre(points: np.ndarray, weights: np.ndarray, rows: list[int]) -> np.ndarray:
    w = weights[rows]
    return (points[rows] * w[:, None]).sum(axis=0) / w.sum()


def warm_kmeans(points: np.ndarray, ids: list[Any], previous: tuple[Cluster, ...], k: int,
                weights: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """k-means from the previous clusters (clusters.clj ``kmeans`` with ``:last-clusters``).

    Returns ``(labels (n,) in 0..k'-1, centres (k', d), cluster ids (k',))``; clusters that
    lost every member are dropped.
    """
    cids, members = warm_start(points, ids, previous, k, weights)
    centres = np.array([_centre(points, weights, rows) for rows in members])
    labels, out, alive, _ = _lloyd_runs(points, weights, centres[None], max_iter, 0.01)
    alive0 = alive[0]
    new_index = np.cumsum(alive0) - 1
    return new_index[labels[0]], out[0][alive0], [c for c, a in zip(cids, alive0, strict=False) if a]


@dataclass(frozen=True)
class Update:
    """The outcome of :func:`group_with_history`: the groups and the state to keep."""

    grouping: Grouping
    letters: tuple[str, ...]
    state: AnalysisState


def group_with_history(coords: np.ndarray, ids: list[str], previous: AnalysisState | None,
                       fingerprint: str, random_state: int = 0) -> Update:
    """Opinion groups of the clustered participants, started from ``previous``.

    Args:
        coords: (n, 2) projected coordinates of the clustered participants.
        ids: their participant ids, row order.
        previous: the last update's state, or None for the first update (then the one-shot
            grouping of :func:`~bot.analysis.clustering.group_participants` starts the history).
        fingerprint: :func:`votes_fingerprint` of the current votes; equal to
            ``previous.fingerprint``, the smoother does not advance (same votes, same update).
        random_state: seed of the one-shot grouping's restarts.

    Returns:
        :class:`Update`: labels by decreasing size, a letter per group (:func:`assign_letters`).
    """
    if previous is None or not previous.base or not len(coords):
        grouping = group_participants(coords, random_state=random_state)
        base = _clusters(grouping.base_labels, list(ids))
        chosen = _clusters(_group_of_base(grouping), list(range(len(base))))
        groups = {grouping.k: chosen} if grouping.k > 1 else {}
        smoother = KSmoother(grouping.k, 1, grouping.k) if grouping.k > 1 else KSmoother()
        return _finish(grouping, ids, previous, fingerprint, base, groups, smoother)
    # The same votes again: the previous clusters are already a fixed point, no search needed.
    search = fingerprint != previous.fingerprint
    base_labels, base_centres, base_ids = _base_clusters(coords, ids, previous, random_state,
                                                         search)
    weights = np.bincount(base_labels, minlength=len(base_ids)).astype(np.float64)
    n_base = len(base_ids)
    dist = np.linalg.norm(base_centres[:, None, :] - base_centres[None, :, :], axis=2)
    clusterings: dict[int, np.ndarray] = {}
    silhouettes: dict[int, float] = {}
    for k in range(2, min(min(MAX_GROUPS, 2 + n_base // 12), n_base) + 1):
        group_of_base = _groups_for_k(base_centres, base_ids, weights, k, previous, dist,
                                      random_state, search)
        if group_of_base is not None:
            clusterings[k] = group_of_base
            silhouettes[k] = float(silhouette_scores(dist, group_of_base[None])[0])
    smoother = previous.smoother
    if silhouettes:
        this_k = max(silhouettes, key=lambda key: (silhouettes[key], -key))
        if fingerprint != previous.fingerprint:
            smoother = smoother.update(this_k)
        k = smoother.smoothed_k if smoother.smoothed_k in clusterings else this_k
        group_of_base, score = clusterings[k], silhouettes[k]
    else:
        group_of_base, score = np.zeros(n_base, dtype=np.int64), float("nan")
    labels = relabel_by_size(group_of_base[base_labels])
    grouping = Grouping(labels, int(labels.max()) + 1, score, silhouettes, base_labels,
                        base_centres)
    base = tuple(Cluster(cid, tuple(ids[r] for r in np.flatnonzero(base_labels == i)))
                 for i, cid in enumerate(base_ids))
    groups = {k: tuple(Cluster(g, tuple(base_ids[b] for b in np.flatnonzero(of_base == g)))
                       for g in range(int(of_base.max()) + 1))
              for k, of_base in clusterings.items()}
    return _finish(grouping, ids, previous, fingerprint, base, groups, smoother)


def _base_clusters(coords: np.ndarray, ids: list[str], previous: AnalysisState,
                   random_state: int, search: bool) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Base clusters warm from the previous ones, unless (with ``search``) a one-shot k-means
    finds a lower inertia; then its clusters take the ids of the previous clusters they share
    the most members with (so the groups can still start from theirs)."""
    n = len(coords)
    ones = np.ones(n)
    labels, centres, cids = warm_kmeans(coords, ids, previous.base, min(BASE_K, n), ones, 100)
    if not search:
        return labels, centres, cids
    distinct = _distinct_rows(coords)
    cold_labels, cold_centres = best_kmeans(coords, distinct, min(BASE_K, len(distinct)), None,
                                            100, random_state, BASE_RESTARTS)
    if _inertia(coords, ones, cold_labels) >= _inertia(coords, ones, labels):
        return labels, centres, cids
    from scipy.optimize import linear_sum_assignment

    old_of = {pid: c.id for c in previous.base for pid in c.members}
    old_ids = sorted({c.id for c in previous.base})
    col = {cid: i for i, cid in enumerate(old_ids)}
    shared = np.zeros((len(cold_centres), len(old_ids)))
    for r, pid in enumerate(ids):
        if pid in old_of:
            shared[cold_labels[r], col[old_of[pid]]] += 1
    new_ids = [-1] * len(cold_centres)
    for row, col_j in zip(*linear_sum_assignment(-shared), strict=False):
        if shared[row, col_j] > 0:
            new_ids[int(row)] = old_ids[int(col_j)]
    next_id = int(max([*old_ids, -1])) + 1
    for i in range(len(new_ids)):
        if new_ids[i] < 0:
            new_ids[i], next_id = next_id, next_id + 1
    return cold_labels, cold_centres, new_ids


def _groups_for_k(base_centres: np.ndarray, base_ids: list[int], weights: np.ndarray, k: int,
                  previous: AnalysisState, dist: np.ndarray, random_state: int,
                  search: bool) -> np.ndarray | None:
    """Group clustering of the base clusters for one k: warm from the previous update's
    clustering for that k unless (with ``search``) the one-shot search finds a better
    silhouette (Polis' criterion between groupings); None when fewer than 2 groups result."""
    last = previous.groups.get(k)
    warm = None
    if last:
        warm, _, _ = warm_kmeans(base_centres, list(base_ids), last, k, weights, 20)
        warm = warm if warm.max() >= 1 else None
    if warm is not None and not search:
        return warm
    found = best_groups_for_k(base_centres, weights, dist, k, random_state)
    cold = None if found is None else found[0]
    if warm is not None and (cold is None or _silhouette(dist, warm) >= _silhouette(dist, cold)):
        return warm
    return cold


def _silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    return float(silhouette_scores(dist, labels[None])[0])


def _inertia(points: np.ndarray, weights: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for g in range(int(labels.max()) + 1):
        rows = labels == g
        if rows.any():
            c = (points[rows] * weights[rows, None]).sum(0) / weights[rows].sum()
            total += float((weights[rows] * ((points[rows] - c) ** 2).sum(1)).sum())
    return total


def _group_of_base(grouping: Grouping) -> np.ndarray:
    """The group of each base cluster (every member of a base cluster is in one group)."""
    out = np.zeros(len(grouping.base_centres), dtype=np.int64)
    out[grouping.base_labels] = grouping.labels
    return out


def _clusters(labels: np.ndarray, ids: list[Any]) -> tuple[Cluster, ...]:
    """Clusters ``0..max`` of ``labels`` with their members' ids."""
    if not len(labels):
        return ()
    return tuple(Cluster(c, tuple(ids[r] for r in np.flatnonzero(labels == c)))
                 for c in range(int(labels.max()) + 1))


def _finish(grouping: Grouping, ids: list[str], previous: AnalysisState | None,
            fingerprint: str, base: tuple[Cluster, ...],
            groups: dict[int, tuple[Cluster, ...]], smoother: KSmoother) -> Update:
    members = [[ids[r] for r in np.flatnonzero(grouping.labels == g)] for g in range(grouping.k)]
    letters = assign_letters(members, previous.letters if previous else {})
    state = AnalysisState(fingerprint, tuple(ids), base, groups, smoother,
                          {letter: tuple(m) for letter, m in zip(letters, members, strict=False)})
    return Update(grouping, letters, state)


def assign_letters(groups: list[list[str]], previous: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A letter per group: the previous group sharing the most members lends its letter.

    Args:
        groups: member ids per group, in group order.
        previous: letter -> member ids of the previous update's groups.

    Returns:
        one letter per group. Pairs are chosen to maximise the members shared in total
        (:func:`sharing_pairs`); a pair sharing nobody does not count, and an unmatched
        group takes the first letter no previous or current group holds.
    """
    old = sorted(previous)
    letters: list[str | None] = [None] * len(groups)
    if old and groups:
        shared = np.array([[len(set(members) & set(previous[letter])) for letter in old]
                           for members in groups])
        for g, o in sharing_pairs(shared):
            letters[g] = old[o]
    # At most MAX_GROUPS groups now and before: a free letter always remains.
    free = (letter for letter in LETTERS if letter not in previous and letter not in letters)
    return tuple(letter or next(free) for letter in letters)


def sharing_pairs(shared: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs of an assignment maximising the total of ``shared`` (members
    two groups share, shape (groups, previous groups)), pairs sharing nobody left out.

    The optimum is ``scipy.optimize.linear_sum_assignment``'s. With at most ``MAX_GROUPS``
    groups on each side (every update) and one best set of pairs (the usual case), trying
    every assignment (at most 5! = 120) finds it without importing scipy.optimize, a tenth of
    a second at every digest; on a tie, or more groups, linear_sum_assignment decides, as it
    always did.
    """
    n_rows, n_cols = shared.shape
    if max(n_rows, n_cols) <= MAX_GROUPS:
        best: dict[frozenset[tuple[int, int]], int] = {}
        for pairs in _assignments(n_rows, n_cols):
            kept = frozenset((r, c) for r, c in pairs if shared[r, c] > 0)
            best[kept] = sum(int(shared[r, c]) for r, c in kept)
        top = max(best.values())
        winners = [pairs for pairs, total in best.items() if total == top]
        if len(winners) == 1:
            return sorted(winners[0])
    from scipy.optimize import linear_sum_assignment

    return [(int(r), int(c)) for r, c in zip(*linear_sum_assignment(-shared), strict=True)
            if shared[r, c] > 0]


def _assignments(n_rows: int, n_cols: int) -> Iterator[list[tuple[int, int]]]:
    """Every way to pair rows and columns one to one, as many pairs as the smaller side."""
    if n_rows <= n_cols:
        for cols in permutations(range(n_cols), n_rows):
            yield list(zip(range(n_rows), cols, strict=True))
    else:
        for rows in permutations(range(n_rows), n_cols):
            yield list(zip(rows, range(n_cols), strict=True))
