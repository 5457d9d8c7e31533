"""The digest's headline parts: common ground, where opinion divides, what is uncertain.

These are planbot's selections built on Polis' statistics (stats.py); the thresholds below are
planbot's, chosen to mirror how the Polis report reads (a majority in every group for common
ground, opposite majorities for division).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from bot.analysis.stats import Z_90, Counts, GroupStats, smoothed, two_prop_test

_log = logging.getLogger(__name__)

PICK_MAX = 5
UNCERTAIN_SHARE = 0.3
"""A statement is uncertain when at least this share of the votes on it are passes."""
UNCERTAIN_MIN_VOTES = 5
"""... and it received at least this many votes, so one pass out of two is not "many"."""


def common_ground(stats: GroupStats, gic: tuple[np.ndarray, np.ndarray],
                  columns: np.ndarray) -> dict[str, list[dict[str, Any]]]:
    """Statements every group leans the same way on, ranked by group-informed consensus.

    Agree side: every group has smoothed agreement ``pa > 0.5``; ranked by the agree
    group-informed consensus (conversation.clj ``:group-aware-consensus``). Disagree side:
    every group ``pd > 0.5``, ranked by the disagree version. At most 5 each.

    Returns:
        ``{"agree": [...], "disagree": [...]}``, items ``{"column", "consensus", "groups":
        [p per group]}``.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for side, p, score in (("agree", stats.pa, gic[0]), ("disagree", stats.pd, gic[1])):
        keep = [j for j in columns if p.shape[0] > 0 and bool(np.all(p[:, j] > 0.5))]
        keep.sort(key=lambda j: -score[j])
        out[side] = [{"column": int(j), "consensus": float(score[j]),
                      "groups": [float(v) for v in p[:, j]]} for j in keep[:PICK_MAX]]
    return out


def divisive(stats: GroupStats, columns: np.ndarray) -> list[dict[str, Any]]:
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
    cols = np.asarray(columns, dtype=np.int64)
    pa, pd = stats.pa[:, cols], stats.pd[:, cols]
    # (g, h, statement): g agrees, h disagrees.
    z = two_prop_test(stats.na[:, None, cols], stats.na[None, :, cols],
                      stats.ns[:, None, cols], stats.ns[None, :, cols])
    score = pa[:, None, :] * pd[None, :, :]
    split = (pa[:, None, :] > 0.5) & (pd[None, :, :] > 0.5) & (z > Z_90)
    split &= ~np.eye(k, dtype=bool)[:, :, None]
    score = np.where(split, score, -np.inf).reshape(k * k, len(cols))
    best = np.argmax(score, axis=0) if len(cols) else np.zeros(0, dtype=np.int64)
    found: list[dict[str, Any]] = []
    for idx in np.flatnonzero(split.any(axis=(0, 1))):
        j = int(cols[idx])
        g, h = divmod(int(best[idx]), k)
        found.append({
            "column": j, "score": float(score[best[idx], idx]), "z": float(z[g, h, idx]),
            "agree_groups": [a for a in range(k) if stats.pa[a, j] > 0.5],
            "disagree_groups": [d for d in range(k) if stats.pd[d, j] > 0.5],
            "groups": [{"pa": float(stats.pa[a, j]), "pd": float(stats.pd[a, j])}
                       for a in range(k)],
        })
    found.sort(key=lambda item: (-item["score"], item["column"]))
    return found[:PICK_MAX]


def uncertain(counts: Counts, columns: np.ndarray) -> list[dict[str, Any]]:
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
