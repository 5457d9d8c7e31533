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


@pytest.mark.parametrize("spread", [1, 1000])
def test_columns_give_the_matrix_the_triples_give(spread):
    """from_columns (integer keys, as the store reads them) equals from_votes, whether the keys
    are close together (lookup tables) or far apart (binary search); votes on a statement key
    not listed are dropped."""
    rng = np.random.default_rng(3)
    pairs = {(int(p), int(s)) for p, s in zip(rng.integers(0, 40, 300), rng.integers(0, 12, 300),
                                              strict=True)}
    votes = np.array([(p * spread + 7, s * spread + 5, int(rng.integers(-1, 2)))
                      for p, s in sorted(pairs)], dtype=np.int64)
    names = {int(k): str(k // spread) for k in votes[:, 0]}
    statements = [(s * spread + 5, f"s{s}") for s in range(11)]  # statement 11 not listed
    m = VoteMatrix.from_columns(votes, names, statements, excluded=["s3"])
    listed = votes[votes[:, 1] != 11 * spread + 5]
    plain = VoteMatrix.from_votes(
        [(names[int(p)], f"s{(s - 5) // spread}", int(v)) for p, s, v in listed],
        statements=[name for _, name in statements], excluded=["s3"])
    assert m.participants == plain.participants and m.statements == plain.statements
    assert m.excluded == plain.excluded and (m.votes != plain.votes).nnz == 0
    assert m.votes.nnz == len(listed)


@pytest.mark.parametrize("votes", [[(1, 1, 2)], [(1, 1, 1), (1, 1, -1)]])
def test_invalid_columns_raise(votes):
    with pytest.raises(ValueError):
        VoteMatrix.from_columns(np.array(votes), {1: "a"}, [(1, "s")])


def test_no_columns_give_an_empty_matrix():
    m = VoteMatrix.from_columns(np.zeros((0, 3), dtype=np.int64), {}, [(4, "s")])
    assert m.shape == (0, 1) and m.statements == ("s",)
