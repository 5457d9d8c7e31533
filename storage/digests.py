"""Aggregates digests and the analysis read, and the digest claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    String,
    and_,
    case,
    delete,
    func,
    select,
    update,
)

from storage.base import StoreBase
from storage.models import (
    Digest,
    Participant,
    PlanVersion,
    PlatformMessage,
    Round,
    Section,
    Stance,
    Statement,
)
from storage.moderation import HELD
from storage.records import (
    DigestMessage,
    DigestProgress,
    DigestRecord,
    Participation,
    PostedIn,
    StanceEvent,
    StatementCount,
    StatementStance,
    Vote,
    VoteTriples,
)

if TYPE_CHECKING:
    pass


class DigestQueries(StoreBase):
    """SQL aggregates for digests and analysis; digest claims (one per round and period)."""

    def statement_counts(self, round_id: int) -> list[StatementCount]:
        """Every statement of a round with the agree / disagree / pass counts of its current
        stances, by id. One SQL aggregate; statements with no stance have zeros. Replies
        pending moderation are left out: nothing counts them until they are accepted."""
        agree = func.sum(case((Stance.stance == "agree", 1), else_=0))
        disagree = func.sum(case((Stance.stance == "disagree", 1), else_=0))
        passed = func.sum(case((Stance.stance == "pass", 1), else_=0))
        with self._tx() as s:
            rows = s.execute(
                select(Statement.id, Statement.kind, Section.key, Statement.text,
                       Statement.text_withheld, Statement.platform, Statement.external_id,
                       Statement.moderated, Statement.deleted_at, Statement.created_at,
                       Statement.parent_id, func.coalesce(agree, 0), func.coalesce(disagree, 0),
                       func.coalesce(passed, 0), Statement.broadcast)
                .outerjoin(Section, Section.id == Statement.section_id)
                .outerjoin(Stance, and_(Stance.statement_id == Statement.id,
                                        Stance.is_current.is_(True)))
                .where(Statement.round_id == round_id, Statement.moderation != "pending")
                .group_by(Statement.id, Section.key)
                .order_by(Statement.id)).all()
        return [StatementCount(*r) for r in rows]

    def participation(self, round_id: int) -> Participation:
        """Distinct participants of a round (a current stance or a live reply), in all and
        per platform. A reply pending moderation or rejected counts nobody: neither its
        author nor those who took a stance on it (a rejected reply leaves the analysis)."""
        with self._tx() as s:
            # Distinct people first (the covering stance index alone), platforms after: one
            # lookup per person, not per stance.
            voters = (select(Stance.participant_id)
                      .join(Statement, Statement.id == Stance.statement_id)
                      .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                             Statement.deleted_at.is_(None), Statement.moderation.not_in(HELD)))
            authors = select(Statement.author_id).where(
                Statement.round_id == round_id, Statement.kind == "reply",
                Statement.moderation.not_in(HELD),
                Statement.deleted_at.is_(None), Statement.author_id.is_not(None),
                Statement.source != "late")
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
                .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                       Statement.moderation != "pending")
                .order_by(Stance.added_at))]

    def vote_triples(self, round_id: int) -> VoteTriples:
        """The round's vote matrix as Polis-export triples, read in one query.

        Votes are the current stances on live statements; ids are strings (Polis' own ids
        for imported conversations). Statements moderated out are listed as excluded;
        replies pending moderation are not in the matrix at all.
        """
        pid = func.coalesce(Participant.external_id, func.cast(Participant.id, String))
        with self._tx() as s:
            statements = s.execute(
                select(Statement.id, Statement.external_id, Statement.moderated)
                .where(Statement.round_id == round_id, Statement.deleted_at.is_(None),
                       Statement.moderation != "pending")
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

    # -- issue 13: the digest's plan title and consensus over time ----------------------------

    def round_plan_titles(self, round_id: int) -> dict[str, str]:
        """The titles (language -> text) of the plan version a round discusses; {} for a
        round without a plan (an imported conversation) or an unknown round."""
        with self._tx() as s:
            titles = s.scalar(select(PlanVersion.titles)
                              .join(Round, Round.plan_version_id == PlanVersion.id)
                              .where(Round.id == round_id))
        return dict(titles or {})

    def stance_times(self, statement_ids: Sequence[int]) -> list[StatementStance]:
        """The current stances on a few statements, oldest first: how their split grew over
        the round."""
        with self._tx() as s:
            return [StatementStance(*r) for r in s.execute(
                select(Stance.statement_id, Stance.added_at, Stance.stance)
                .where(Stance.statement_id.in_(list(statement_ids)),
                       Stance.is_current.is_(True))
                .order_by(Stance.added_at, Stance.id))]

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

    def release_digest(self, digest_id: int) -> bool:
        """Give back a claim that posted nothing (delete it), so that the period is claimed
        again by the next digest; False when it is not a bare claim (posted, or with a
        message recorded)."""
        with self._tx() as s:
            posted = select(PlatformMessage.id).where(PlatformMessage.digest_id == digest_id)
            gone = s.scalars(delete(Digest).where(Digest.id == digest_id,
                                                  Digest.status == "claimed",
                                                  ~posted.exists()).returning(Digest.id))
            return gone.first() is not None

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
