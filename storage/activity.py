"""Lean reads of a round's current stances for the analysis and the digest's chart: the vote
matrix as integer columns, and the participation chart's counts aggregated in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Connection, String, Text, and_, case, cast, func, literal, select

from storage.base import StoreBase
from storage.models import Participant, Stance, Statement

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class VoteColumns:
    """A round's votes as read by :meth:`DigestQueries.vote_columns`.

    Attributes:
        votes: (n, 3) int64 array: participant row id, statement row id, vote (1/-1/0).
        participants: participant row id -> name (Polis id when imported, else the row id).
        statements: (statement row id, name) of every live statement, in id order.
        excluded: names of the statements moderated out.
    """

    votes: np.ndarray[Any, Any]
    participants: dict[int, str]
    statements: list[tuple[int, str]]
    excluded: list[str]


class ActivityQueries(StoreBase):
    """The analysis' vote matrix and the chart's activity, read without a row object per vote."""

    def stance_time_range(self, round_id: int) -> tuple[datetime, datetime] | None:
        """(first, last) ``added_at`` of the round's current stances, or None without any."""
        with self._tx() as s:
            first, last = s.execute(
                select(func.min(Stance.added_at), func.max(Stance.added_at))
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True))).one()
        return None if first is None else (first, last)

    def stance_counts_at(self, round_id: int, edges: Sequence[datetime]) -> dict[str, list[int]]:
        """For each stance (agree, disagree, pass), how many current stances of the round were
        added at or before each of ``edges`` (increasing). Counted in SQL, in one pass: each
        stance falls in a bin found by a balanced CASE over the edges (log2 comparisons), and
        only the per-bin counts come back."""
        edges = list(edges)

        def first_edge_at_or_after(lo: int, hi: int) -> Any:
            if lo == hi:
                return literal(lo)
            mid = (lo + hi) // 2
            return case((Stance.added_at <= edges[mid], first_edge_at_or_after(lo, mid)),
                        else_=first_edge_at_or_after(mid + 1, hi))

        bucket = first_edge_at_or_after(0, len(edges)).label("bucket")
        with self._tx() as s:
            rows = s.execute(
                select(Stance.stance, bucket, func.count())
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                       Stance.stance.is_not(None))
                .group_by(Stance.stance, bucket)).all()
        per_bin = {st: [0] * (len(edges) + 1) for st in ("agree", "disagree", "pass")}
        for stance, b, n in rows:
            per_bin[stance][int(b)] += n
        return {st: list(accumulate(counts))[:len(edges)] for st, counts in per_bin.items()}

    def vote_columns(self, round_id: int) -> VoteColumns:
        """The round's current stances on live statements (not pending moderation) as three
        integer columns, plus the names of the participants and statements they refer to.

        The votes come back as one string built by the database (``group_concat`` on SQLite,
        ``string_agg`` on PostgreSQL) of one integer per vote, parsed by numpy in C: no
        Python object is made per vote, and the database builds the string without holding
        the interpreter's lock. Each integer packs (participant row id - the lowest,
        statement row id - the round's lowest, vote + 1) in mixed radix (:class:`_Packing`).

        Returns :class:`VoteColumns`; ``votes`` is an (n, 3) int64 array of (participant row
        id, statement row id, 1 agree / -1 disagree / 0 pass).
        """
        live = and_(Statement.round_id == round_id, Statement.deleted_at.is_(None),
                    Statement.moderation != "pending")
        name = func.coalesce(Participant.external_id, func.cast(Participant.id, String))
        with self._conn() as c:
            statements = c.execute(select(Statement.id, Statement.external_id, Statement.moderated)
                                   .where(live).order_by(Statement.id)).all()
            low, high = c.execute(select(func.min(Participant.id), func.max(Participant.id))).one()
            packing = _Packing(low or 0, high or 0, statements[0][0] if statements else 0,
                               statements[-1][0] if statements else 0)
            votes = packing.read(c, live)
            import numpy as np

            voters = np.unique(votes[:, 0])
            people = {} if not len(voters) else {int(pid): str(who) for pid, who in c.execute(
                select(Participant.id, name).where(
                    Participant.id.between(int(voters[0]), int(voters[-1]))))}
        wanted = set(voters.tolist())
        return VoteColumns(
            votes=votes,
            participants={pid: who for pid, who in people.items() if pid in wanted},
            statements=[(sid, ext if ext is not None else str(sid)) for sid, ext, _ in statements],
            excluded=[ext if ext is not None else str(sid)
                      for sid, ext, moderated in statements if not moderated])


@dataclass(frozen=True)
class _Packing:
    """One vote as one integer: ((participant - low) x statements + (statement - first)) x 3
    + vote + 1, where ``statements`` is the span of the round's statement ids. The product of
    the spans stays far below 2**63 for any store planbot can hold (checked)."""

    low: int
    high: int
    first: int
    last: int

    def read(self, c: Connection, live: Any) -> np.ndarray[Any, Any]:
        """The round's votes, as (participant, statement, vote) rows of an int64 array."""
        span = self.last - self.first + 1
        if (self.high - self.low + 1) * span * 3 >= 2**62:
            raise OverflowError("participant and statement ids too far apart to pack a vote")
        value = case((Stance.stance == "agree", 1), (Stance.stance == "disagree", -1), else_=0)
        # PostgreSQL multiplies INTEGER columns as INTEGER: the BIGINT factor widens the product.
        packed = (((Stance.participant_id - self.low) * cast(literal(span), BigInteger)
                   + (Stance.statement_id - self.first)) * 3 + value + 1)
        text = c.execute(select(func.aggregate_strings(cast(packed, Text), ","))
                         .join(Statement, Statement.id == Stance.statement_id)
                         .where(live, Stance.is_current.is_(True),
                                Stance.stance.is_not(None))).scalar()
        # Imported after the query: meanwhile, another thread may be loading numpy.
        import numpy as np

        flat = np.fromstring(text or "", dtype=np.int64, sep=",")
        out = np.empty((len(flat), 3), dtype=np.int64)
        pair, out[:, 2] = np.divmod(flat, 3)
        out[:, 2] -= 1
        out[:, 0], out[:, 1] = np.divmod(pair, span)
        out[:, 0] += self.low
        out[:, 1] += self.first
        return out
