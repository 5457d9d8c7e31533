"""Rounds, their channels and the messages posted for them."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    and_,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.base import StoreBase
from storage.models import (
    Plan,
    PlanVersion,
    PlatformMessage,
    Round,
    RoundChannel,
    RoundInvitation,
    Section,
    SectionVersion,
    Statement,
)
from storage.records import (
    ChannelKey,
    Place,
    RoundData,
    RoundStatement,
)

PUBLIC_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
"""Lower-case letters and digits without the look-alikes 0/o, 1/l/i: read aloud and typed."""
PUBLIC_ID_LENGTH = 10
"""31**10 ≈ 8·10**14 ids (49 bits): a round of another place cannot be guessed."""


def new_public_id() -> str:
    """A random public round id (:data:`PUBLIC_ID_LENGTH` characters of
    :data:`PUBLIC_ID_ALPHABET`, from :mod:`secrets`)."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


class RoundQueries(StoreBase):
    """Rounds: creation, channels, section statements, posted messages, closing."""

    def create_round(
        self,
        *,
        name: str,
        language: str,
        plan_version_id: int | None,
        section_ids: Sequence[int],
        opened_at: datetime,
        closes_at: datetime | None = None,
        source: str = "chat",
        home: Place | None = None,
        stance_mode: str = "both",
        moderation: str = "open",
    ) -> int:
        """Create an open round with one section statement per ``section_ids``, opened in
        ``home`` (None: an imported round) under a new random public id; returns its id.
        ``stance_mode`` is ``reactions``, ``private`` or ``both``; ``moderation`` ``open`` or
        ``strict``.

        Raises ``sqlalchemy.exc.IntegrityError`` when a round of the same plan is already
        open in that place (another process won the race)."""
        with self._tx() as s:
            plan_id = s.scalar(select(PlanVersion.plan_id)
                               .where(PlanVersion.id == plan_version_id)) if plan_version_id else None
            rnd = Round(plan_version_id=plan_version_id, plan_id=plan_id, name=name,
                        language=language, status="open", source=source, opened_at=opened_at,
                        closes_at=closes_at, public_id=new_public_id(),
                        home_platform=home.platform if home else None,
                        home_workspace=home.workspace_id if home else None,
                        stance_mode=stance_mode, moderation=moderation)
            s.add(rnd)
            s.flush()
            for section_id in section_ids:
                s.add(Statement(round_id=rnd.id, kind="section", section_id=section_id,
                                created_at=opened_at, moderated=True))
            return rnd.id

    def _round_data(self, s: Session, rnd: Round) -> RoundData:
        slug = None
        if rnd.plan_version_id is not None:
            slug = s.scalar(select(Plan.slug).join(PlanVersion, PlanVersion.plan_id == Plan.id)
                            .where(PlanVersion.id == rnd.plan_version_id))
        channels = s.execute(
            select(RoundChannel.platform, RoundChannel.workspace_id, RoundChannel.channel_id)
            .where(RoundChannel.round_id == rnd.id).order_by(RoundChannel.id)).all()
        home = Place(rnd.home_platform, rnd.home_workspace) \
            if rnd.home_platform is not None and rnd.home_workspace is not None else None
        joined = s.execute(
            select(RoundInvitation.used_platform, RoundInvitation.used_workspace)
            .where(RoundInvitation.round_id == rnd.id, RoundInvitation.used_at.is_not(None)))
        places = frozenset([Place(*p) for p in joined] + ([home] if home else []))
        return RoundData(rnd.id, rnd.name, slug, rnd.language, rnd.status, rnd.source,
                         rnd.opened_at, rnd.closes_at, rnd.closed_at,
                         [ChannelKey(*c) for c in channels], rnd.public_id, home, places,
                         rnd.stance_mode, rnd.purged_at is not None)

    def get_round(self, round_id: int) -> RoundData | None:
        """The round ``round_id``, or None."""
        with self._tx() as s:
            rnd = s.get(Round, round_id)
            return self._round_data(s, rnd) if rnd else None

    def rounds(self, status: str | None = None) -> list[RoundData]:
        """All rounds (optionally only ``open`` or ``closed``), oldest first."""
        with self._tx() as s:
            q = select(Round).order_by(Round.id)
            if status:
                q = q.where(Round.status == status)
            return [self._round_data(s, r) for r in s.scalars(q)]

    def round_by_public_id(self, public_id: str) -> RoundData | None:
        """The round whose public id is ``public_id``, or None."""
        with self._tx() as s:
            rnd = s.scalar(select(Round).where(Round.public_id == public_id))
            return self._round_data(s, rnd) if rnd else None

    def open_round_for_plan(self, plan_slug: str, place: Place | None = None) -> int | None:
        """The id of the newest open chat round over plan ``plan_slug`` that belongs to
        ``place`` (opened there, or joined from there with an invitation; any place when
        None), or None."""
        with self._tx() as s:
            q = (select(Round.id).join(PlanVersion, PlanVersion.id == Round.plan_version_id)
                 .join(Plan, Plan.id == PlanVersion.plan_id)
                 .where(Plan.slug == plan_slug, Round.status == "open"))
            if place is not None:
                joined = select(RoundInvitation.round_id).where(
                    RoundInvitation.used_platform == place.platform,
                    RoundInvitation.used_workspace == place.workspace_id)
                q = q.where(((Round.home_platform == place.platform)
                             & (Round.home_workspace == place.workspace_id))
                            | Round.id.in_(joined))
            return s.scalar(q.order_by(Round.id.desc()).limit(1))

    def round_for_channel(self, platform: str, channel_id: str, *, open_only: bool) -> int | None:
        """The newest round posted in a channel (only open ones if ``open_only``), or None."""
        with self._tx() as s:
            q = (select(Round.id).join(RoundChannel, RoundChannel.round_id == Round.id)
                 .where(RoundChannel.platform == platform, RoundChannel.channel_id == channel_id))
            if open_only:
                q = q.where(Round.status == "open")
            return s.scalar(q.order_by(Round.id.desc()).limit(1))

    def latest_round(self) -> int | None:
        """The id of the newest round of any kind, or None."""
        with self._tx() as s:
            return s.scalar(select(func.max(Round.id)))

    def add_round_channel(self, round_id: int, platform: str, workspace_id: str,
                          channel_id: str) -> None:
        """Attach a channel to a round; attaching it twice is harmless."""
        with self._tx() as s:
            s.execute(self._insert_ignore(RoundChannel).values(
                round_id=round_id, platform=platform, workspace_id=workspace_id,
                channel_id=channel_id))

    def round_sections(self, round_id: int) -> list[RoundStatement]:
        """The section statements of a round, in plan order, with their content."""
        with self._tx() as s:
            rnd = s.get(Round, round_id)
            if rnd is None:
                return []
            rows = s.execute(
                select(Statement.id, Section.key, SectionVersion.position, SectionVersion.titles,
                       SectionVersion.bodies)
                .join(Section, Section.id == Statement.section_id)
                .join(SectionVersion, and_(SectionVersion.section_id == Section.id,
                                           SectionVersion.plan_version_id == rnd.plan_version_id))
                .where(Statement.round_id == round_id, Statement.kind == "section")
                .order_by(SectionVersion.position)).all()
            return [RoundStatement(*r) for r in rows]

    def posted_statements(self, round_id: int, platform: str, channel_id: str) -> dict[int, str]:
        """The round's section statements already posted in that channel: statement id ->
        the message id of its first part."""
        with self._tx() as s:
            return {sid: mid for sid, mid in s.execute(
                select(PlatformMessage.statement_id, PlatformMessage.message_id).join(
                    Statement, Statement.id == PlatformMessage.statement_id)
                .where(Statement.round_id == round_id, Statement.kind == "section",
                       PlatformMessage.platform == platform, PlatformMessage.part == 0,
                       PlatformMessage.channel_id == channel_id))}

    def record_messages(self, statement_id: int | None,
                        messages: Iterable[tuple[str, str, str, str, str | None, int]],
                        digest_id: int | None = None) -> None:
        """Record posted messages: (platform, workspace_id, channel_id, message_id, thread_id,
        part) tuples for a statement or a digest (planbot's copies of a reply:
        ``CopyQueries.record_copy``). Recording one twice is harmless."""
        rows = [dict(platform=p, workspace_id=w, channel_id=c, message_id=m, thread_id=t,
                     part=part, statement_id=statement_id, digest_id=digest_id, is_copy=False)
                for p, w, c, m, t, part in messages]
        if rows:
            with self._tx() as s:
                s.execute(self._insert_ignore(PlatformMessage), rows)

    def close_round(self, round_id: int, now: datetime) -> bool:
        """Close an open round; False if it was not open."""
        with self._tx() as s:
            closed = s.scalar(update(Round).where(Round.id == round_id, Round.status == "open")
                              .values(status="closed", closed_at=now).returning(Round.id))
            return closed is not None
