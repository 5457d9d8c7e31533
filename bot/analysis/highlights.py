"""The digest's headline parts: common ground, where opinion divides, what is uncertain.

These are planbot's selections built on Polis' statistics (stats.py); the thresholds below are
planbot's, chosen to mirror how the Polis report reads (a majority in every group for common
ground, opposite majorities for division).
"""

from __future__ import annotations

import logging

import numpy as np

from bot.analysis.stats import Z_90, Counts, GroupStats, smoothed, two_prop_test

_log = logging.getLogger(__name__)

PICK_MAX = 5
UNCERTAIN_SHARE = 0.3
"""A statement is uncertain when at least this share of the votes on it are passes."""
UNCERTAIN_MIN_VOTES = 5
"""... and it received at least this many votes, so one pass out of two is not "many"."""


def common_ground(stats: GroupStats, gic: tuple[np.ndarray, np.ndarray],
                  columns: np.ndarray) -> dict[str, list[dict]]:
    """Statements every group leans the same way on, ranked by group-informed consensus.

    Agree side: every group has smoothed agreement ``pa > 0.5``; ranked by the agree
    group-informed consensus (conversation.clj ``:group-aware-consensus``). Disagree side:
    every group ``pd > 0.5``, ranked by the disagree version. At most 5 each.

    Returns:
        ``{"agree": [...], "disagree": [...]}``, items ``{"column", "consensus", "groups":
        [p per group]}``.
    """
    out: dict[str, list[dict]] = {}
    for side, p, score in (("agree", stats.pa, gic[0]), ("disagree", stats.pd, gic[1])):
        keep = [j for j in columns if p.shape[0] > 0 and bool(np.all(p[:, j] > 0.5))]
        keep.sort(key=lambda j: -score[j])
        out[side] = [{"column": int(j), "consensus": float(score[j]),
                      "groups": [float(v) for v in p[:, j]]} for j in keep[:PICK_MAX]]
    return out


def divisive(stats: GroupStats, columns: np.ndarray) -> list[dict]:
    """Statements on which some group mostly agrees while another mostly disagrees.

    For each statement, every ordered pair of groups (g agrees, h disagrees) with
    ``pa_g > 0.5``, ``pd_h > 0.5`` and g's agreement significantly above h's (Polis'
    two-proportion test, stats.clj ``two-prop-test``, z > 1.2816) is a split; the pair with the
    largest ``pa_g * pd_h`` names the split. Statements are ranked by that product, at most 5.

    Returns:
        items ``{"column", "score", "agree_groups", "disagree_groups", "z", "groups":
        [{"pa", "pd"} per group]}`` where agree/disagree_groups list every group on each side.
    """
    k = stats.pa.shape[0]
    found = []
    for j in columns:
        best = None
        for g in range(k):
            for h in range(k):
                if g == h or stats.pa[g, j] <= 0.5 or stats.pd[h, j] <= 0.5:
                    continue
                z = float(two_prop_test(stats.na[g, j], stats.na[h, j], stats.ns[g, j],
                                        stats.ns[h, j]))
                score = float(stats.pa[g, j] * stats.pd[h, j])
                if z > Z_90 and (best is None or score > best[0]):
                    best = (score, z)
        if best is not None:
            found.append({
                "column": int(j), "score": best[0], "z": best[1],
                "agree_groups": [g for g in range(k) if stats.pa[g, j] > 0.5],
                "disagree_groups": [h for h in range(k) if stats.pd[h, j] > 0.5],
                "groups": [{"pa": float(stats.pa[g, j]), "pd": float(stats.pd[g, j])}
                           for g in range(k)],
            })
    found.sort(key=lambda item: -item["score"])
    return found[:PICK_MAX]


def uncertain(counts: Counts, columns: np.ndarray) -> list[dict]:
    """Statements where many passed: pass share >= 0.3 with at least 5 votes, most passes first.

    Returns:
        items ``{"column", "passes", "votes", "pass_share", "p_pass"}`` (``p_pass`` smoothed as
        Polis smooths agreement, repness.clj ``:pa``), at most 5.
    """
    passes = counts.passes
    keep = [j for j in columns if counts.seen[j] >= UNCERTAIN_MIN_VOTES
            and passes[j] >= UNCERTAIN_SHARE * counts.seen[j]]
    keep.sort(key=lambda j: (-passes[j] / counts.seen[j], -counts.seen[j]))
    p_pass = smoothed(passes, counts.seen)
    return [{"column": int(j), "passes": int(passes[j]), "votes": int(counts.seen[j]),
             "pass_share": float(passes[j] / counts.seen[j]), "p_pass": float(p_pass[j])}
            for j in keep[:PICK_MAX]]
