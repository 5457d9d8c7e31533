"""analyse() on small conversations whose groups, consensus and repness are known by construction."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from bot.analysis import AnalysisResult, VoteMatrix, analyse

DIVIDE_A = ["s0", "s1", "s2"]  # group A agrees, group B disagrees
DIVIDE_B = ["s3", "s4", "s5"]  # group A disagrees, group B agrees
SHARED_AGREE = ["s6", "s7"]
SHARED_DISAGREE = ["s8"]
UNCERTAIN = "s9"
MODERATED = "s10"  # splits the groups too, but is moderated out
STATEMENTS = DIVIDE_A + DIVIDE_B + SHARED_AGREE + SHARED_DISAGREE + [UNCERTAIN, MODERATED, "s11"]


def two_group_votes(seed: int = 7) -> tuple[list[tuple[str, str, int]], list[str], list[str]]:
    """12 participants in A, 8 in B, each with one divide vote blurred to a pass; two
    latecomers with 3 votes (not clustered). s11 has no votes."""
    rng = random.Random(seed)
    a = [f"a{i}" for i in range(12)]
    b = [f"b{i}" for i in range(8)]
    votes = []
    for pid in a + b:
        side = 1 if pid in a else -1
        blurred = rng.choice(DIVIDE_A + DIVIDE_B)
        for sid in DIVIDE_A:
            votes.append((pid, sid, 0 if sid == blurred else side))
        for sid in DIVIDE_B:
            votes.append((pid, sid, 0 if sid == blurred else -side))
        votes += [(pid, sid, 1) for sid in SHARED_AGREE]
        votes += [(pid, sid, -1) for sid in SHARED_DISAGREE]
        votes.append((pid, UNCERTAIN, 0 if rng.random() < 0.8 else side))
        votes.append((pid, MODERATED, side))
    for late in ("late0", "late1"):
        votes += [(late, "s0", 1), (late, "s6", 1), (late, "s9", 0)]
    return votes, a, b


@pytest.fixture(scope="module")
def two_groups() -> tuple[AnalysisResult, list[str], list[str]]:
    votes, a, b = two_group_votes()
    matrix = VoteMatrix.from_votes(votes, statements=STATEMENTS, excluded=[MODERATED])
    return analyse(matrix), a, b


def test_groups_found(two_groups):
    result, a, b = two_groups
    assert result.k == 2
    assert set(result.members(0)) == set(a)  # group 0 is the larger one
    assert set(result.members(1)) == set(b)
    assert result.group_of("a3") == 0 and result.group_of("b5") == 1
    assert result.group_of("late0") is None  # 3 votes < min(7, statements)
    assert result.group_of("nobody") is None


def test_headline_parts(two_groups):
    result, _, _ = two_groups
    d = result.to_dict()
    assert {i["statement"] for i in d["common_ground"]["agree"]} == set(SHARED_AGREE)
    assert {i["statement"] for i in d["common_ground"]["disagree"]} == set(SHARED_DISAGREE)
    divisive = {i["statement"]: i for i in d["divisive"]}
    assert len(divisive) == 5 and set(divisive) <= set(DIVIDE_A + DIVIDE_B)
    for sid, item in divisive.items():
        agreeing = 0 if sid in DIVIDE_A else 1
        assert item["agree_groups"] == [agreeing]
        assert item["disagree_groups"] == [1 - agreeing]
    assert d["uncertain"][0]["statement"] == UNCERTAIN
    assert d["uncertain"][0]["pass_share"] >= 0.3
    assert {i["statement"] for i in d["consensus"]["agree"]} == set(SHARED_AGREE)


def test_representative_statements(two_groups):
    result, _, _ = two_groups
    groups = result.to_dict()["groups"]
    assert [g["size"] for g in groups] == [12, 8]
    for g, (agrees_with, disagrees_with) in enumerate([(DIVIDE_A, DIVIDE_B), (DIVIDE_B, DIVIDE_A)]):
        reps = groups[g]["representative"]
        assert 1 <= len(reps) <= 5
        for rep in reps:
            expected = agrees_with if rep["repful_for"] == "agree" else disagrees_with
            assert rep["statement"] in expected
            assert rep["repness_test"] > 1.2816 and rep["p_test"] > 1.2816
            assert rep["repness"] > 1
        assert reps[0]["best_agree"] and reps[0]["statement"] in agrees_with
        sides = [rep["repful_for"] for rep in reps]
        assert sides == sorted(sides)  # agrees before disagrees


def test_moderated_out_statement_is_absent(two_groups):
    result, _, _ = two_groups
    text = json.dumps(result.to_dict())
    assert f'"{MODERATED}"' not in text
    stats = result.to_dict()["statement_stats"]
    assert "s11" in stats and stats["s11"]["votes"] == 0


def test_group_informed_consensus_per_statement(two_groups):
    result, _, _ = two_groups
    stats = result.to_dict()["statement_stats"]
    # 12 and 8 agrees: (13/14) * (9/10)
    assert stats["s6"]["consensus_agree"] == pytest.approx(13 / 14 * 9 / 10)
    assert stats["s6"]["consensus_agree"] > stats["s0"]["consensus_agree"]


def test_deterministic_and_order_independent():
    votes, _, _ = two_group_votes()
    first = analyse(VoteMatrix.from_votes(votes, STATEMENTS, [MODERATED])).to_dict()
    shuffled = list(votes)
    random.Random(1).shuffle(shuffled)
    second = analyse(VoteMatrix.from_votes(shuffled, STATEMENTS, [MODERATED])).to_dict()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_three_groups_by_construction():
    rng = np.random.default_rng(3)
    statements = [f"t{j}" for j in range(18)]
    stance = np.array([[1] * 6 + [-1] * 6 + [-1] * 6,
                       [-1] * 6 + [1] * 6 + [-1] * 6,
                       [-1] * 6 + [-1] * 6 + [1] * 6])
    votes, truth = [], {}
    for g, size in enumerate((15, 12, 10)):
        for i in range(size):
            pid = f"g{g}p{i}"
            truth[pid] = g
            for j, sid in enumerate(statements):
                vote = int(stance[g, j]) if rng.random() > 0.1 else 0
                votes.append((pid, sid, vote))
    result = analyse(VoteMatrix.from_votes(votes))
    assert result.k == 3
    assert {(truth[p], result.group_of(p)) for p in truth} == {(0, 0), (1, 1), (2, 2)}
    assert result.to_dict()["common_ground"] == {"agree": [], "disagree": []}


def test_nobody_clustered_and_empty_input():
    one = analyse(VoteMatrix.from_votes([("p", "s", 1)]))
    assert one.k == 1 and one.group_of("p") == 0  # greedy top-up to 15 participants
    empty = analyse(VoteMatrix.from_votes([], statements=["s"]))
    assert empty.k == 0 and empty.to_dict()["groups"] == []
    json.dumps(empty.to_dict())
