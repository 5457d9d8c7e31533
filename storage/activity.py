"""Lean reads of a round's current stances for the analysis and the digest's chart: the vote
matrix as integer columns, and the participation chart's counts aggregated in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate, chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, case, func, literal, select

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
        """The round's current stances on live statements as three integer columns, read with
        one query through the database driver's cursor (no ORM object or SQLAlchemy row per
        vote), plus the names of the participants and statements they refer to.

        Returns :class:`VoteColumns`; ``votes`` is an (n, 3) int64 array of (participant row
        id, statement row id, 1 agree / -1 disagree / 0 pass).
        """
        import numpy as np

        value = case((Stance.stance == "agree", 1), (Stance.stance == "disagree", -1), else_=0)
        live = and_(Statement.round_id == round_id, Statement.deleted_at.is_(None))
        votes = (select(Stance.participant_id, Stance.statement_id, value)
                 .join(Statement, Statement.id == Stance.statement_id)
                 .where(live, Stance.is_current.is_(True), Stance.stance.is_not(None)))
        voters = select(Stance.participant_id).join(Statement, Statement.id == Stance.statement_id)\
            .where(live, Stance.is_current.is_(True)).distinct()
        name = func.coalesce(Participant.external_id, func.cast(Participant.id, String))
        with self._conn() as c:
            statements = c.execute(select(Statement.id, Statement.external_id, Statement.moderated)
                                   .where(live).order_by(Statement.id)).all()
            people = {int(pid): str(who) for pid, who in c.execute(
                select(Participant.id, name).where(Participant.id.in_(voters)))}
            # round_id is an int: binding it literally is safe and lets the raw cursor run it.
            sql = str(votes.compile(dialect=c.dialect, compile_kwargs={"literal_binds": True}))
            driver = c.connection.driver_connection
            assert driver is not None  # an open connection always has its driver's
            cursor = driver.cursor()
            try:
                cursor.execute(sql)
                flat = np.fromiter(chain.from_iterable(cursor), dtype=np.int64)
            finally:
                cursor.close()
        return VoteColumns(
            votes=flat.reshape(-1, 3),
            participants=people,
            statements=[(sid, ext if ext is not None else str(sid)) for sid, ext, _ in statements],
            excluded=[ext if ext is not None else str(sid)
                      for sid, ext, moderated in statements if not moderated])
