"""VoteMatrix: sparse layout, ordering, passes, validation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from bot.analysis import VoteMatrix


def test_layout_keeps_passes_and_unvoted_statements():
    m = VoteMatrix.from_votes(
        [("10", "b", 1), ("2", "a", 0), ("2", "b", -1)], statements=["a", "b", "c"],
        excluded=["c"])
    assert m.participants == ("2", "10")  # natural order: join order of numeric ids
    assert m.statements == ("a", "b", "c")
    assert sp.issparse(m.votes) and m.votes.nnz == 3  # the pass is stored explicitly
    assert m.votes.toarray().tolist() == [[0, -1, 0], [0, 1, 0]]
    assert m.counts_per_participant().tolist() == [2, 1]
    assert m.voted_statements().tolist() == [True, True, False]
    assert m.included_statements().tolist() == [True, True, False]
    assert m.indicator(1).toarray().tolist() == [[0, 0, 0], [0, 1, 0]]
    assert m.seen().toarray().tolist() == [[1, 1, 0], [0, 1, 0]]


def test_statements_voted_but_not_listed_are_appended():
    m = VoteMatrix.from_votes([("p", "x", 1), ("p", "y", 1)], statements=["y"])
    assert m.statements == ("y", "x")


@pytest.mark.parametrize("votes", [[("p", "s", 2)], [("p", "s", 1), ("p", "s", -1)]])
def test_invalid_input_raises(votes):
    with pytest.raises(ValueError):
        VoteMatrix.from_votes(votes)


def test_empty_matrix():
    m = VoteMatrix.from_votes([], statements=["a"])
    assert m.shape == (0, 1)
    assert np.array_equal(m.counts_per_participant(), np.zeros(0))
