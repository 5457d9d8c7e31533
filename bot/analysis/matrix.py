"""The participant x statement vote matrix of one round, held sparse.

Votes use the Polis export convention: 1 = agree, -1 = disagree, 0 = pass. A pass is a vote
(it is stored as an explicit entry); a statement a participant never saw is simply absent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import scipy.sparse as sp

_log = logging.getLogger(__name__)

AGREE, DISAGREE, PASS = 1, -1, 0
_VALID_VOTES = frozenset((AGREE, DISAGREE, PASS))


def _natural_key(value: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders ``"2"`` before ``"10"`` (Polis ids are join-ordered integers)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", value) if part)


def _natural_sorted(ids: Iterable[str]) -> list[str]:
    """Ids in natural order; all-numeric ids (the common case) take a fast path."""
    ids = list(ids)
    if all(i.isdigit() for i in ids):
        return sorted(ids, key=lambda i: (int(i), i))
    return sorted(ids, key=_natural_key)


_TABLE_SLACK = 4
"""A lookup table is used for keys spanning at most this many times their count (row ids of
one round are close together); beyond it, a binary search."""


def _positions(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index in ``keys`` (distinct int64) of each of ``values``, -1 where absent. Row ids of
    one round are nearly contiguous: a table indexed by id finds each in one step, where a
    binary search over a million votes costs ten times more."""
    out = np.full(len(values), -1, dtype=np.int64)
    if not len(keys) or not len(values):
        return out
    low, high = int(keys.min()), int(keys.max())
    if high - low < _TABLE_SLACK * len(keys):
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[keys - low] = np.arange(len(keys))
        inside = (values >= low) & (values <= high)
        out[inside] = table[values[inside] - low]
        return out
    order = np.argsort(keys, kind="stable")
    where = np.minimum(np.searchsorted(keys[order], values), len(keys) - 1)
    found = keys[order][where] == values
    out[found] = order[where[found]]
    return out


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an int64 array, sorted (a bitmap when they are close together,
    as row ids are, else ``np.unique``)."""
    if not len(values):
        return values[:0]
    low, high = int(values.min()), int(values.max())
    if high - low < _TABLE_SLACK * len(values):
        seen = np.zeros(high - low + 1, dtype=bool)
        seen[values - low] = True
        return np.flatnonzero(seen) + low
    return np.unique(values)


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Sparse vote matrix: one row per participant, one column per statement.

    Attributes:
        participants: participant ids, row order (natural sort of the ids, so numeric ids keep
            their join order as in Polis' rating matrix).
        statements: statement ids, column order (as given, or natural sort of the voted ids).
        excluded: statement ids moderated out; they stay in the matrix (Polis counts votes on
            them when deciding who is clustered) but are left out of every analysis.
        votes: ``scipy.sparse.csr_matrix`` of shape (len(participants), len(statements)),
            dtype int8, one explicit entry per vote, passes stored as explicit zeros.
    """

    participants: tuple[str, ...]
    statements: tuple[str, ...]
    excluded: frozenset[str]
    votes: sp.csr_matrix

    @classmethod
    def from_votes(
        cls,
        votes: Iterable[tuple[str, str, int]],
        statements: Sequence[str] | None = None,
        excluded: Iterable[str] = (),
    ) -> VoteMatrix:
        """Build the matrix from deduplicated votes.

        Args:
            votes: ``(participant_id, statement_id, vote)`` triples, vote in {1, -1, 0}, at most
                one per (participant, statement) pair (the last vote stands; the caller
                deduplicates).
            statements: all statement ids in display order, so statements nobody voted on still
                get a column. Statements voted on but missing here are appended.
            excluded: statement ids moderated out.

        Raises:
            ValueError: a vote outside {1, -1, 0}, or two votes for the same pair.
        """
        triples = list(votes)
        raw_pids = list(map(itemgetter(0), triples))
        raw_tids = list(map(itemgetter(1), triples))
        data = np.fromiter(map(itemgetter(2), triples), dtype=np.int64, count=len(triples))
        bad = ~np.isin(data, list(_VALID_VOTES))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"vote must be 1, -1 or 0, got {triples[i][2]!r} "
                             f"({raw_pids[i]}, {raw_tids[i]})")
        # Ids are converted to str once per distinct id, not once per vote.
        pid_str = {raw: str(raw) for raw in dict.fromkeys(raw_pids)}
        tid_str = {raw: str(raw) for raw in dict.fromkeys(raw_tids)}
        participants = tuple(_natural_sorted(set(pid_str.values())))
        voted = set(tid_str.values())
        if statements is None:
            statement_order = _natural_sorted(voted)
        else:
            statement_order = [str(t) for t in dict.fromkeys(statements)]
            known = set(statement_order)
            statement_order += _natural_sorted(voted - known)
        row_index = {pid: i for i, pid in enumerate(participants)}
        col_index = {tid: j for j, tid in enumerate(statement_order)}
        row_of = {raw: row_index[text] for raw, text in pid_str.items()}
        col_of = {raw: col_index[text] for raw, text in tid_str.items()}
        rows = np.fromiter(map(row_of.__getitem__, raw_pids), dtype=np.int64, count=len(triples))
        cols = np.fromiter(map(col_of.__getitem__, raw_tids), dtype=np.int64, count=len(triples))
        shape = (len(participants), len(statement_order))
        matrix = sp.csr_matrix((data.astype(np.int8), (rows, cols)), shape=shape, dtype=np.int8)
        if matrix.nnz != len(data):  # the conversion merged duplicate pairs
            raise ValueError("more than one vote for a (participant, statement) pair")
        matrix.sort_indices()
        return cls(participants, tuple(statement_order), frozenset(map(str, excluded)), matrix)

    @classmethod
    def from_columns(cls, votes: np.ndarray, participants: dict[int, str],
                     statements: Sequence[tuple[int, str]], excluded: Iterable[str] = ()
                     ) -> VoteMatrix:
        """Build the matrix from integer columns, as the store reads them (no tuple per vote).

        Args:
            votes: (n, 3) integer array of (participant key, statement key, vote in {1, -1,
                0}), at most one row per (participant, statement) pair.
            participants: participant key -> id (every key in ``votes``).
            statements: (statement key, id) of every statement in display order; votes on
                keys not listed are dropped.
            excluded: statement ids moderated out.

        Returns:
            the same matrix :meth:`from_votes` builds from the equivalent triples (rows in
            natural order of the participant ids, columns in the given order).

        Raises:
            ValueError: a vote outside {1, -1, 0}, or two votes for the same pair.
        """
        votes = np.asarray(votes, dtype=np.int64).reshape(-1, 3)
        if len(votes) and np.abs(votes[:, 2]).max() > 1:
            raise ValueError("vote must be 1, -1 or 0")
        keys = np.fromiter((k for k, _ in statements), dtype=np.int64, count=len(statements))
        cols = _positions(keys, votes[:, 1])
        known = cols >= 0
        if not known.all():
            votes, cols = votes[known], cols[known]
        voter_keys = _distinct(votes[:, 0])
        names = [participants[int(k)] for k in voter_keys]
        ranked = _natural_sorted(names)
        rank = {name: i for i, name in enumerate(ranked)}
        row_of_key = np.fromiter((rank[n] for n in names), dtype=np.int64, count=len(names))
        rows = row_of_key[_positions(voter_keys, votes[:, 0])]
        shape = (len(ranked), len(statements))
        matrix = sp.csr_matrix((votes[:, 2].astype(np.int8), (rows, cols)), shape=shape,
                               dtype=np.int8)
        if matrix.nnz != len(votes):
            raise ValueError("more than one vote for a (participant, statement) pair")
        matrix.sort_indices()
        return cls(tuple(ranked), tuple(name for _, name in statements),
                   frozenset(map(str, excluded)), matrix)

    @property
    def shape(self) -> tuple[int, int]:
        """(participants, statements)."""
        return self.votes.shape

    def counts_per_participant(self) -> np.ndarray:
        """Votes cast by each participant on any statement (moderated-out ones included), int64."""
        return np.diff(self.votes.indptr).astype(np.int64)

    def voted_statements(self) -> np.ndarray:
        """Boolean mask over columns: the statement has at least one vote."""
        return np.bincount(self.votes.indices, minlength=self.shape[1]) > 0

    def included_statements(self) -> np.ndarray:
        """Boolean mask over columns: the statement is not moderated out."""
        return np.array([t not in self.excluded for t in self.statements], dtype=bool)

    def indicator(self, vote: int) -> sp.csr_matrix:
        """0/1 float64 matrix of the entries equal to ``vote`` (same shape, same structure)."""
        out = self.votes.astype(np.float64)
        out.data = (self.votes.data == vote).astype(np.float64)
        return out

    def seen(self) -> sp.csr_matrix:
        """0/1 float64 matrix with a 1 wherever a vote (pass included) exists."""
        out = self.votes.astype(np.float64)
        out.data = np.ones_like(out.data)
        return out
