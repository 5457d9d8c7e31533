"""Comment routing reproduces Polis' priority (conversation.clj ``priority-metric``) on a
small vote matrix computed by hand (issue 14)."""

from __future__ import annotations

import math
import random

import pytest

from bot.routing import Candidate, extremities, importance, next_statement, priority

# Four participants, four statements (1 agree, -1 disagree, 0 pass):
#        s1   s2   s3   s4
#   p1   +1    .   +1    .
#   p2   -1    .   +1    .
#   p3    .   +1   +1    .
#   p4    .    0    .    .
# Column means (Polis imputes missing votes with them): s1 0, s2 0.5, s3 1. Centred, the
# columns are s1 = (1, -1, 0, 0), s2 = (0, 0, 0.5, -0.5), s3 = 0: orthogonal, so XᵀX is
# diag(2, 0.5, 0) and the two components are the unit vectors of s1 and s2. A statement's
# extremity is sqrt(m) * |1 - mean| * ||its column of the components||, m = 3 voted
# statements: E1 = sqrt(3), E2 = sqrt(3) / 2, E3 = 0; s4 has no vote, so E4 = 0.
VOTES = [("p1", "s1", 1), ("p2", "s1", -1), ("p3", "s2", 1), ("p4", "s2", 0),
         ("p1", "s3", 1), ("p2", "s3", 1), ("p3", "s3", 1)]
E1, E2 = math.sqrt(3), math.sqrt(3) / 2


def test_extremity_by_hand():
    got = extremities(VOTES, ["s1", "s2", "s3", "s4"])
    assert got.keys() == {"s1", "s2", "s3"}
    assert got["s1"] == pytest.approx(E1)
    assert got["s2"] == pytest.approx(E2)
    assert got["s3"] == pytest.approx(0.0, abs=1e-12)


def test_priority_by_hand():
    # s1: A=1, P=0, S=2: p = 1/4, a = 2/4; boost 1 + 8 * 2^(-2/5).
    boost2 = 1 + 8 * 2 ** (-2 / 5)
    assert importance(1, 0, 2, E1) == pytest.approx(3 / 4 * (E1 + 1) * 1 / 2)
    assert priority(1, 0, 2, E1) == pytest.approx((3 / 8 * (E1 + 1) * boost2) ** 2)
    assert priority(1, 0, 2, E1) == pytest.approx(52.3603, abs=1e-4)
    # s2: A=1, P=1, S=2: p = 2/4, a = 2/4.
    assert priority(1, 1, 2, E2) == pytest.approx((1 / 4 * (E2 + 1) * boost2) ** 2)
    assert priority(1, 1, 2, E2) == pytest.approx(10.8562, abs=1e-4)
    # s3: A=3, P=0, S=3: p = 1/5, a = 4/5, E = 0.
    assert priority(3, 0, 3, 0.0) == pytest.approx((4 / 5 * 4 / 5 * (1 + 8 * 2 ** -0.6)) ** 2)
    # s4, never voted: p = a = 1/2, boost 9: (0.25 * 9)^2.
    assert priority(0, 0, 0, 0.0) == 5.0625
    # The values Polis' own source tries in its comment block.
    assert priority(1, 0, 1, 0) == pytest.approx((4 / 9 * (1 + 8 * 2 ** -0.2)) ** 2)


CANDIDATES = [Candidate(1, "section", 1, 1, 0), Candidate(2, "section", 1, 0, 1),
              Candidate(3, "section", 3, 0, 0), Candidate(4, "section"),
              Candidate(5, "reply")]
EXTREMITY = {1: E1, 2: E2, 3: 0.0}


def test_routing_order_follows_priority():
    # Priorities: s1 52.36 > s3 16.14 > s2 10.86 > s4 5.06; the reply comes after sections.
    order, voted = [], set()
    while (shown := next_statement(CANDIDATES, voted, EXTREMITY)) is not None:
        order.append(shown.statement_id)
        voted.add(shown.statement_id)
    assert order == [1, 3, 2, 4, 5]


def test_never_a_statement_already_voted_and_replies_once_sections_done():
    assert next_statement(CANDIDATES, {1, 2, 3, 4}, EXTREMITY).statement_id == 5
    assert next_statement(CANDIDATES, {1, 2, 3, 4, 5}, EXTREMITY) is None
    # A reply with a high priority still waits for the last section.
    hot_reply = [Candidate(4, "section"), Candidate(9, "reply", 1, 1, 0)]
    assert next_statement(hot_reply, set(), {9: E1}).statement_id == 4


def test_weighted_draw_like_polis():
    rng = random.Random(7)
    drawn = [next_statement(CANDIDATES[:4], set(), EXTREMITY, rng).statement_id
             for _ in range(2000)]
    # Odds proportional to priority: s1 52.36 / 84.42 of the draws.
    assert drawn.count(1) / 2000 == pytest.approx(52.3603 / 84.4219, abs=0.03)
    assert set(drawn) == {1, 2, 3, 4}


def test_simulation_routing_leaves_fewer_statements_under_10_votes():
    """bench/bench_routing.py on the smallest bundled conversation, same votes per
    participant at the same moments: routing's draw (Polis' way) leaves fewer statements
    under 10 votes than random order, over four seeds (the bench prints every conversation)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "bench_routing.py"
    spec = importlib.util.spec_from_file_location("bench_routing", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = bench.DATA / "london.youth.policing"
    routed = [bench.simulate(folder, "routing-draw", seed) for seed in range(4)]
    shuffled = [bench.simulate(folder, "random", seed) for seed in range(4)]
    assert [votes for _, votes in routed] == [votes for _, votes in shuffled]
    assert sum(u for u, _ in routed) < sum(u for u, _ in shuffled)
