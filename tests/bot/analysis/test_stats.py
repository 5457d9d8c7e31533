"""Polis' statistics against values worked out by hand from stats.clj / repness.clj."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.analysis.stats import (
    Counts,
    group_informed_consensus,
    group_stats,
    prop_test,
    smoothed,
    two_prop_test,
)


def test_prop_test_matches_stats_clj():
    # (succ+1)/(n+1) = 9/11; 2*sqrt(11)*(9/11 - 0.5)
    assert prop_test(np.array(8.0), np.array(10.0)) == pytest.approx(2 * math.sqrt(11) * (9 / 11 - 0.5))
    assert prop_test(np.array(0.0), np.array(0.0)) == pytest.approx(2 * 1 * (1 - 0.5))


def test_two_prop_test_matches_stats_clj():
    p1, p2, pooled = 9 / 11, 3 / 11, 12 / 22
    expected = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 11))
    assert two_prop_test(8, 2, 10, 10) == pytest.approx(expected)
    assert two_prop_test(5, 5, 5, 5) == 0.0  # pooled proportion 1


def test_smoothed_and_group_informed_consensus():
    counts = Counts(agree=np.array([[3.0, 0.0], [1.0, 0.0]]),
                    disagree=np.array([[0.0, 2.0], [1.0, 2.0]]),
                    seen=np.array([[4.0, 2.0], [2.0, 2.0]]))
    assert smoothed(np.array(3.0), np.array(4.0)) == pytest.approx(4 / 6)
    agree, disagree = group_informed_consensus(counts)
    assert agree.tolist() == pytest.approx([(4 / 6) * (2 / 4), (1 / 4) * (1 / 4)])
    assert disagree.tolist() == pytest.approx([(1 / 6) * (2 / 4), (3 / 4) * (3 / 4)])


def test_repness_ratio_is_against_the_other_groups():
    counts = Counts(agree=np.array([[9.0], [1.0], [0.0]]), disagree=np.array([[0.0], [8.0], [9.0]]),
                    seen=np.array([[10.0], [10.0], [10.0]]))
    stats = group_stats(counts)
    assert stats.pa[0, 0] == pytest.approx(10 / 12)
    assert stats.ra[0, 0] == pytest.approx((10 / 12) / (2 / 22))  # rest: 1 agree of 20
    assert stats.rat[0, 0] == pytest.approx(two_prop_test(9, 1, 10, 20))
    assert stats.rat[0, 0] > 1.2816 > stats.rat[1, 0]
