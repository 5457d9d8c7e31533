"""Aggregates digests and the analysis read, and the digest claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate, chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    String,
    and_,
    case,
    func,
    literal,
    select,
    update,
)

from storage.base import StoreBase
from storage.models import (
    Digest,
    Participant,
    PlatformMessage,
    Section,
    Stance,
    Statement,
)
from storage.records import (
    DigestMessage,
    DigestProgress,
    DigestRecord,
    Participation,
    PostedIn,
    StanceEvent,
    StatementCount,
    Vote,
    VoteTriples,
)

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


class DigestQueries(StoreBase):
    """SQL aggregates for digests and analysis; digest claims (one per round and period)."""

    def statement_counts(self, round_id: int) -> list[StatementCount]:
        """Every statement of a round with the agree / disagree / pass counts of its current
        stances, by id. One SQL aggregate; statements with no stance have zeros."""
        agree = func.sum(case((Stance.stance == "agree", 1), else_=0))
        disagree = func.sum(case((Stance.stance == "disagree", 1), else_=0))
        passed = func.sum(case((Stance.stance == "pass", 1), else_=0))
        with self._tx() as s:
            rows = s.execute(
                select(Statement.id, Statement.kind, Section.key, Statement.text,
                       Statement.text_withheld, Statement.platform, Statement.external_id,
                       Statement.moderated, Statement.deleted_at, Statement.created_at,
                       Statement.parent_id, func.coalesce(agree, 0), func.coalesce(disagree, 0),
                       func.coalesce(passed, 0))
                .outerjoin(Section, Section.id == Statement.section_id)
                .outerjoin(Stance, and_(Stance.statement_id == Statement.id,
                                        Stance.is_current.is_(True)))
                .where(Statement.round_id == round_id)
                .group_by(Statement.id, Section.key)
                .order_by(Statement.id)).all()
        return [StatementCount(*r) for r in rows]

    def participation(self, round_id: int) -> Participation:
        """Distinct participants of a round (a current stance or a live reply), in all and
        per platform."""
        with self._tx() as s:
            # Distinct people first (the covering stance index alone), platforms after: one
            # lookup per person, not per stance.
            voters = (select(Stance.participant_id)
                      .join(Statement, Statement.id == Stance.statement_id)
                      .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                             Statement.deleted_at.is_(None)))
            authors = select(Statement.author_id).where(
                Statement.round_id == round_id, Statement.kind == "reply",
                Statement.deleted_at.is_(None), Statement.author_id.is_not(None))
            people = voters.union(authors).subquery()
            rows = s.execute(select(Participant.platform, func.count())
                             .where(Participant.id.in_(select(people.c[0])))
                             .group_by(Participant.platform)).all()
        return Participation(sum(n for _, n in rows), {platform: n for platform, n in rows})

    def stances_by_platform(self, round_id: int) -> dict[str, int]:
        """Current stances of a round on live statements, counted per platform."""
        with self._tx() as s:
            rows = s.execute(
                select(Stance.platform, func.count())
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                       Statement.deleted_at.is_(None), Statement.moderated.is_(True))
                .group_by(Stance.platform)).all()
        return {platform: n for platform, n in rows}

    def stance_activity(self, round_id: int) -> list[StanceEvent]:
        """Every current stance of a round, oldest first (for charts)."""
        with self._tx() as s:
            return [StanceEvent(*r) for r in s.execute(
                select(Stance.added_at, Stance.stance)
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True))
                .order_by(Stance.added_at))]

    def vote_triples(self, round_id: int) -> VoteTriples:
        """The round's vote matrix as Polis-export triples, read in one query.

        Votes are the current stances on live statements; ids are strings (Polis' own ids
        for imported conversations). Statements moderated out are listed as excluded.
        """
        pid = func.coalesce(Participant.external_id, func.cast(Participant.id, String))
        with self._tx() as s:
            statements = s.execute(
                select(Statement.id, Statement.external_id, Statement.moderated)
                .where(Statement.round_id == round_id, Statement.deleted_at.is_(None))
                .order_by(Statement.id)).all()
            votes = s.execute(
                select(pid, Stance.statement_id, Stance.stance)
                .join(Participant, Participant.id == Stance.participant_id)
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                       Statement.deleted_at.is_(None))).all()
        names = {sid: ext if ext is not None else str(sid) for sid, ext, _ in statements}
        value = {"agree": 1, "disagree": -1, "pass": 0}
        triples = [Vote(str(p), names[sid], value[st]) for p, sid, st in votes if sid in names]
        return VoteTriples(triples, [names[sid] for sid, _, _ in statements],
                           [names[sid] for sid, _, moderated in statements if not moderated])

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

    def claim_digest(self, round_id: int, kind: str, period_start: datetime,
                     period_end: datetime, now: datetime,
                     stale_after: timedelta | None = None) -> int | None:
        """Claim a digest period; returns the digest id, or None when another process (or an
        earlier run) already claimed the same (round, kind, period_end).

        With ``stale_after``, a claim still unposted after that long (its process died
        between claiming and posting) is taken over: one UPDATE, so only one process wins.
        """
        with self._tx() as s:
            new = s.scalar(self._insert_ignore(Digest).values(
                round_id=round_id, kind=kind, period_start=period_start,
                period_end=period_end, created_at=now, status="claimed").returning(Digest.id))
            if new is not None or stale_after is None:
                return new
            return s.scalar(
                update(Digest).where(Digest.round_id == round_id, Digest.kind == kind,
                                     Digest.period_end == period_end,
                                     Digest.status == "claimed",
                                     Digest.created_at < now - stale_after)
                .values(created_at=now).returning(Digest.id))

    def digest_posted_since(self, round_id: int, platform: str, channel_id: str,
                            since: datetime) -> bool:
        """Whether a digest of the round was claimed since ``since`` and posted (or is being
        posted) in that channel."""
        with self._tx() as s:
            count: int = s.execute(
                select(func.count()).select_from(Digest)
                .join(PlatformMessage, PlatformMessage.digest_id == Digest.id)
                .where(Digest.round_id == round_id, Digest.created_at >= since,
                       PlatformMessage.platform == platform,
                       PlatformMessage.channel_id == channel_id)).scalar_one()
            return count > 0

    def digest_progress(self, digest_id: int) -> DigestProgress:
        """A claimed digest's period start, and the channels it was already posted in (a
        taken-over claim posts only in the others)."""
        with self._tx() as s:
            start = s.execute(select(Digest.period_start)
                              .where(Digest.id == digest_id)).scalar_one()
            posted = {PostedIn(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.channel_id)
                .where(PlatformMessage.digest_id == digest_id))}
        return DigestProgress(start, posted)

    def finish_digest(self, digest_id: int, content: dict[str, Any],
                      outputs: dict[str, Any]) -> None:
        """Store what a claimed digest said and how it was rendered; marks it posted."""
        with self._tx() as s:
            s.execute(update(Digest).where(Digest.id == digest_id)
                      .values(content=content, outputs=outputs, status="posted"))

    def last_digest_end(self, round_id: int, kinds: Sequence[str] = ("weekly", "final")) -> datetime | None:
        """End of the latest claimed scheduled digest of a round, or None."""
        with self._tx() as s:
            return s.scalar(select(func.max(Digest.period_end))
                            .where(Digest.round_id == round_id, Digest.kind.in_(kinds)))

    def digests(self, round_id: int) -> list[DigestRecord]:
        """Every digest of a round with its posted message ids, oldest first."""
        with self._tx() as s:
            rows = s.execute(select(Digest).where(Digest.round_id == round_id)
                             .order_by(Digest.id)).scalars().all()
            posted = s.execute(
                select(PlatformMessage.digest_id, PlatformMessage.platform,
                       PlatformMessage.channel_id, PlatformMessage.message_id,
                       PlatformMessage.part)
                .where(PlatformMessage.digest_id.in_([d.id for d in rows]))
                .order_by(PlatformMessage.id)).all()
        return [DigestRecord(d.id, d.kind, d.period_start, d.period_end, d.status, d.content,
                             d.outputs, [DigestMessage(*p[1:]) for p in posted if p[0] == d.id])
                for d in rows]
