"""Vote statistics per group and statement: smoothed agreement, significance, repness, consensus.

Every formula follows compdemocracy/polis, math/src/polismath/math/ (cited per function). The
export convention is used throughout (1 = agree, -1 = disagree, 0 = pass); Polis' internal
matrix uses the opposite sign (agree = -1, repness.clj ``:na (count-votes votes -1)``), which
changes nothing once votes are counted as agrees and disagrees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

_log = logging.getLogger(__name__)

Z_90 = 1.2816
"""One-sided 90% critical value (stats.clj ``z-sig-90?``)."""


def prop_test(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """One-proportion z statistic against 1/2 with a +1 pseudocount (stats.clj ``prop-test``):
    ``2 * sqrt(n + 1) * ((s + 1) / (n + 1) - 0.5)``. Element-wise on arrays."""
    s, n = successes + 1.0, trials + 1.0
    return 2.0 * np.sqrt(n) * (s / n - 0.5)


def two_prop_test(succ_in: np.ndarray, succ_out: np.ndarray, pop_in: np.ndarray,
                  pop_out: np.ndarray) -> np.ndarray:
    """Two-proportion z statistic with +1 pseudocounts (stats.clj ``two-prop-test``).

    ``(p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with ``p1 = (s1+1)/(n1+1)``,
    ``p2 = (s2+1)/(n2+1)``, ``p`` the pooled proportion; 0 where the pooled proportion is 1.
    """
    s1, s2 = np.asarray(succ_in) + 1.0, np.asarray(succ_out) + 1.0
    n1, n2 = np.asarray(pop_in) + 1.0, np.asarray(pop_out) + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s1 / n1 - s2 / n2) / np.sqrt(var)
    return np.where(pooled >= 1.0, 0.0, np.nan_to_num(z))


def smoothed(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Smoothed proportion ``(1 + s) / (2 + n)`` (repness.clj ``:pa``/``:pd``)."""
    return (1.0 + successes) / (2.0 + trials)


@dataclass(frozen=True)
class Counts:
    """Agree/disagree/seen counts, shape (groups, statements) or (statements,)."""

    agree: np.ndarray
    disagree: np.ndarray
    seen: np.ndarray

    @property
    def passes(self) -> np.ndarray:
        """Passes: votes seen that are neither agree nor disagree."""
        return self.seen - self.agree - self.disagree


def count_votes(votes: sp.csr_matrix, labels: np.ndarray | None = None,
                n_groups: int = 1) -> Counts:
    """Count agrees, disagrees and votes seen, per group (or overall).

    Args:
        votes: csr (n, m) int8 in export convention, passes as explicit zeros.
        labels: group id per row (n,), or None for one overall count of shape (m,).
        n_groups: number of groups when ``labels`` is given.

    Returns:
        :class:`Counts` of shape (n_groups, m), or (m,) without labels.
    """
    x = votes.tocsr()
    agree = x.copy()
    agree.data = (x.data == 1).astype(np.float64)
    disagree = x.copy()
    disagree.data = (x.data == -1).astype(np.float64)
    seen = x.copy()
    seen.data = np.ones(len(x.data))
    if labels is None:
        return Counts(*(np.asarray(mat.sum(axis=0)).ravel() for mat in (agree, disagree, seen)))
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))),
                           shape=(n_groups, x.shape[0]))
    return Counts(*(np.asarray((onehot @ mat).todense()) for mat in (agree, disagree, seen)))


@dataclass(frozen=True)
class GroupStats:
    """Per group and statement statistics (repness.clj ``comment-stats`` and
    ``add-comparitive-stats``), all arrays of shape (groups, statements).

    pa/pd: smoothed agree/disagree probability in the group; pat/pdt: their one-proportion z;
    ra/rd: pa (pd) in the group over the same for everyone else in other groups; rat/rdt: the
    two-proportion z of the group against the rest.
    """

    na: np.ndarray
    nd: np.ndarray
    ns: np.ndarray
    pa: np.ndarray
    pd: np.ndarray
    pat: np.ndarray
    pdt: np.ndarray
    ra: np.ndarray
    rd: np.ndarray
    rat: np.ndarray
    rdt: np.ndarray


def group_stats(counts: Counts) -> GroupStats:
    """Compute :class:`GroupStats` from per-group counts (shape (groups, statements))."""
    na, nd, ns = counts.agree, counts.disagree, counts.seen
    ra_rest, rd_rest, rs_rest = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
    pa, pd = smoothed(na, ns), smoothed(nd, ns)
    return GroupStats(
        na=na, nd=nd, ns=ns, pa=pa, pd=pd,
        pat=prop_test(na, ns), pdt=prop_test(nd, ns),
        ra=pa / smoothed(ra_rest, rs_rest), rd=pd / smoothed(rd_rest, rs_rest),
        rat=two_prop_test(na, ra_rest, ns, rs_rest), rdt=two_prop_test(nd, rd_rest, ns, rs_rest),
    )


def group_informed_consensus(counts: Counts) -> tuple[np.ndarray, np.ndarray]:
    """Group-informed consensus per statement (conversation.clj ``:group-aware-consensus``):
    the product over groups of ``(agrees_g + 1) / (votes_g + 2)``; the disagree version uses
    disagrees (as red-dwarf's ``group-aware-consensus-disagree``). Returns ``(agree, disagree)``,
    each shape (statements,)."""
    return (np.prod(smoothed(counts.agree, counts.seen), axis=0),
            np.prod(smoothed(counts.disagree, counts.seen), axis=0))


def _finalize(stats: GroupStats, g: int, j: int) -> dict[str, Any]:
    """repness.clj ``finalize-cmt-stats``: report the side (agree/disagree) whose test is larger."""
    agree = stats.rat[g, j] > stats.rdt[g, j]
    pick = ((stats.na, stats.pa, stats.pat, stats.ra, stats.rat) if agree
            else (stats.nd, stats.pd, stats.pdt, stats.rd, stats.rdt))
    n_success, p_success, p_test, repness, repness_test = (float(a[g, j]) for a in pick)
    return {
        "column": j, "repful_for": "agree" if agree else "disagree",
        "n_success": int(n_success), "n_trials": int(stats.ns[g, j]),
        "p_success": p_success, "p_test": p_test,
        "repness": repness, "repness_test": repness_test,
        "metric": repness * repness_test * p_success * p_test,
    }


def _agree_product(stats: GroupStats, g: int, j: int, with_repness: bool) -> float:
    value = stats.pa[g, j] * stats.pat[g, j]
    return float(value * stats.ra[g, j] * stats.rat[g, j]) if with_repness else float(value)


def select_representative(stats: GroupStats, columns: np.ndarray, pick_max: int = 5) -> list[list[dict[str, Any]]]:
    """Representative statements per group, as repness.clj ``select-rep-comments``.

    A statement is representative for a group when both its repness test and its probability
    test pass at 90% (agree side or disagree side). The group's best "agree" statement
    (``beats-best-agr?``) is put first; the rest are sorted by ``ra * rat * pa * pat`` (the
    chosen side's values); at most ``pick_max`` are kept, agrees before disagrees. With none
    passing, the best agree statement, else the one with the best test, stands alone.

    Args:
        stats: per group statistics.
        columns: statement column indices to consider (moderated-out ones left out), in order.
        pick_max: statements per group (Polis: 5).

    Returns:
        one list per group of finalized dicts (see :func:`_finalize`), ``best_agree`` marked.
    """
    result = []
    for g in range(stats.pa.shape[0]):
        sufficient: list[dict[str, Any]] = []
        best: dict[str, Any] | None = None
        best_agree: int | None = None
        for j in columns:
            if ((stats.rat[g, j] > Z_90 and stats.pat[g, j] > Z_90)
                    or (stats.rdt[g, j] > Z_90 and stats.pdt[g, j] > Z_90)):
                sufficient.append(_finalize(stats, g, j))
            if not sufficient and (best is None or max(stats.rat[g, j], stats.rdt[g, j])
                                   > best["repness_test"]):
                best = _finalize(stats, g, j)
            if _beats_best_agree(stats, g, j, best_agree):
                best_agree = j
        head = []
        if best_agree is not None:
            # Finalized like any other entry, so its reported side may be "disagree" (as Polis).
            head = [dict(_finalize(stats, g, best_agree), best_agree=True)]
        if not sufficient:
            result.append(head or ([best] if best else []))
            continue
        rest = sorted((s for s in sufficient if s["column"] != best_agree),
                      key=lambda s: -s["metric"])
        chosen = (head + rest)[:pick_max]
        result.append([s for s in chosen if s["repful_for"] == "agree"]
                      + [s for s in chosen if s["repful_for"] == "disagree"])
    return result


def _beats_best_agree(stats: GroupStats, g: int, j: int, current: int | None) -> bool:
    """repness.clj ``beats-best-agr?``."""
    if stats.na[g, j] == 0 and stats.nd[g, j] == 0:
        return False
    if current is not None and stats.ra[g, current] > 1.0:
        return _agree_product(stats, g, j, True) > _agree_product(stats, g, current, True)
    if current is not None:
        return _agree_product(stats, g, j, False) > _agree_product(stats, g, current, False)
    return bool(stats.pat[g, j] > Z_90 or (stats.ra[g, j] > 1.0 and stats.pa[g, j] > 0.5))


def select_consensus(counts: Counts, columns: np.ndarray, pick_max: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Consensus statements over all participants (repness.clj ``select-consensus-comments``).

    Agree side: statements with ``pa > 0.5`` and ``pat`` significant at 90%, sorted by
    ``pa * pat``, at most ``pick_max``; the disagree side likewise with ``pd``/``pdt``.

    Args:
        counts: overall counts, shape (statements,).
        columns: statement columns to consider (moderated-out left out).

    Returns:
        ``{"agree": [...], "disagree": [...]}``, each item ``{"column", "n_success",
        "n_trials", "p_success", "p_test"}``.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for side, succ in (("agree", counts.agree), ("disagree", counts.disagree)):
        p = smoothed(succ, counts.seen)
        z = prop_test(succ, counts.seen)
        keep = [j for j in columns if p[j] > 0.5 and z[j] > Z_90]
        keep.sort(key=lambda j: -p[j] * z[j])
        out[side] = [{"column": int(j), "n_success": int(succ[j]), "n_trials": int(counts.seen[j]),
                      "p_success": float(p[j]), "p_test": float(z[j])} for j in keep[:pick_max]]
    return out
