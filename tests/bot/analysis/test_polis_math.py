"""Given Polis' own groups, planbot's repness, consensus and group-aware consensus equal Polis'.

Data: tests/data/polis-math/ (see its README): two real conversations with the output of Polis'
math server (compdemocracy/polis, math/src/polismath/math/). The groups come from
``group-clusters`` (members are base-cluster ids) through ``base-clusters``; everything else is
computed by planbot from ``votes.json`` and ``comments.json`` and compared with
``repness``, ``consensus`` and ``group-aware-consensus``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.analysis import VoteMatrix
from bot.analysis.clustering import Grouping
from bot.analysis.pca import polis_pca
from bot.analysis.pipeline import summarise

DATA = Path(__file__).resolve().parents[2] / "data" / "polis-math"
CONVERSATIONS = ["below-100-ptpts", "25ptpt-3gp-no-strict-with-meta"]
STAT_KEYS = ("n-success", "n-trials", "p-success", "p-test", "repness", "repness-test")


def _field(row: dict, *names: str):
    return next(row[n] for n in names if n in row)


def _load(name: str):
    """(result computed by planbot on Polis' groups, Polis' math output)."""
    folder = DATA / name
    polis = json.loads((folder / "math-pca2.json").read_text())
    votes = json.loads((folder / "votes.json").read_text())
    comments = json.loads((folder / "comments.json").read_text())
    excluded = [str(_field(c, "tid", "statement_id")) for c in comments
                if _field(c, "mod", "moderated") == -1 or c["is_meta"]]
    # Polis' statement columns are its ``tids`` (statements with votes), in that order.
    matrix = VoteMatrix.from_votes(
        ((str(_field(v, "pid", "participant_id")), str(_field(v, "tid", "statement_id")),
          int(v["vote"])) for v in votes),
        statements=[str(t) for t in polis["tids"]], excluded=excluded)
    base = polis["base-clusters"]
    members_of_base = dict(zip(base["id"], base["members"], strict=False))
    row_of = {pid: r for r, pid in enumerate(matrix.participants)}
    rows, labels = [], []
    for gid, group in enumerate(sorted(polis["group-clusters"], key=lambda g: g["id"])):
        for bid in group["members"]:
            for pid in members_of_base[bid]:
                rows.append(row_of[str(pid)])
                labels.append(gid)
    order = np.argsort(rows)
    rows_arr, labels_arr = np.asarray(rows)[order], np.asarray(labels)[order]
    k = len(polis["group-clusters"])
    grouping = Grouping(labels_arr, k, float("nan"), {}, labels_arr, np.zeros((k, 2)))
    columns = np.flatnonzero(matrix.included_statements() & matrix.voted_statements())
    projection = polis_pca(matrix.votes, columns)
    return summarise(matrix, projection, rows_arr, grouping), polis


@pytest.fixture(scope="module", params=CONVERSATIONS)
def case(request):
    return _load(request.param)


def _ours(result, item: dict) -> dict:
    """A planbot selection item in Polis' JSON vocabulary."""
    out = {"tid": int(result.matrix.statements[item["column"]]),
           "n-success": item["n_success"], "n-trials": item["n_trials"],
           "p-success": item["p_success"], "p-test": item["p_test"]}
    if "repness" in item:
        out.update({"repness": item["repness"], "repness-test": item["repness_test"],
                    "repful-for": item["repful_for"]})
    return out


def _assert_same(ours: list[dict], theirs: list[dict], keys) -> None:
    assert [o["tid"] for o in ours] == [t["tid"] for t in theirs]
    for o, t in zip(ours, theirs, strict=False):
        for key in keys:
            if key in t:
                # Polis rounds repness-test to a float (repness.clj ``finalize-cmt-stats``).
                tol = 1e-6 if key == "repness-test" else 1e-12
                assert o[key] == pytest.approx(t[key], rel=tol, abs=tol), (o["tid"], key)


def test_representative_statements_equal_polis(case):
    result, polis = case
    assert result.k == len(polis["repness"])
    for g in range(result.k):
        ours = [_ours(result, item) for item in result.representative[g]]
        theirs = polis["repness"][str(g)]
        _assert_same(ours, theirs, STAT_KEYS)
        assert [o["repful-for"] for o in ours] == [t["repful-for"] for t in theirs]
        flagged = [item["column"] for item in result.representative[g] if item.get("best_agree")]
        assert [int(result.matrix.statements[c]) for c in flagged] == \
            [t["tid"] for t in theirs if t.get("best-agree")]


def test_consensus_lists_equal_polis(case):
    result, polis = case
    for side in ("agree", "disagree"):
        ours = [_ours(result, item) for item in result.consensus[side]]
        _assert_same(ours, polis["consensus"][side], STAT_KEYS)


def test_group_aware_consensus_equals_polis(case):
    result, polis = case
    theirs = polis["group-aware-consensus"]
    assert len(theirs) == len(result.matrix.statements)
    for j, tid in enumerate(result.matrix.statements):
        assert result.gic[0][j] == pytest.approx(theirs[tid], rel=1e-12), tid


def test_group_votes_equal_polis(case):
    """The counts behind every figure: agrees, disagrees and votes seen per group."""
    result, polis = case
    for g in range(result.k):
        votes = polis["group-votes"][str(g)]["votes"]
        for j, tid in enumerate(result.matrix.statements):
            expected = votes.get(tid, {"A": 0, "D": 0, "S": 0})
            got = (result.group_counts.agree[g, j], result.group_counts.disagree[g, j],
                   result.group_counts.seen[g, j])
            assert got == (expected["A"], expected["D"], expected["S"]), (g, tid)
