"""Queries and idempotent writes of the central store.

Each public method is one unit of work: it opens a session, commits or rolls back, and returns
plain data (dataclasses, tuples), never ORM objects, so callers hold no session. Exactly-once
is enforced by the database's unique keys (see ``storage.models``), not only by this code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, String, and_, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage.models import (
    Digest,
    Participant,
    Plan,
    PlanVersion,
    PlatformMessage,
    ProcessedEvent,
    Round,
    RoundChannel,
    Section,
    SectionVersion,
    Stance,
    Statement,
    StatementEdit,
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SectionData:
    """A section of one plan version: ``titles``/``bodies`` map language -> text."""

    section_id: int
    key: str
    position: int
    titles: dict
    bodies: dict
    content_hash: str


@dataclass(frozen=True, slots=True)
class PlanVersionData:
    """A plan version with its sections in position order."""

    plan_id: int
    slug: str
    version_id: int
    number: int
    titles: dict
    languages: list
    content_hash: str
    sections: list[SectionData]


@dataclass(frozen=True, slots=True)
class RoundData:
    """A round: ``channels`` are (platform, workspace_id, channel_id) triples."""

    id: int
    name: str
    plan_slug: str | None
    language: str
    status: str
    source: str
    opened_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    channels: list[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class MessageTarget:
    """What a platform message is to planbot: the statement it carries and its round."""

    statement_id: int
    round_id: int
    kind: str
    round_open: bool
    channel_id: str
    thread_id: str | None


@dataclass(frozen=True, slots=True)
class RoundStatement:
    """A section statement of a round, for posting: the section's key and content."""

    statement_id: int
    section_key: str
    position: int
    titles: dict
    bodies: dict


class Store:
    """The central store over one SQLAlchemy ``Engine``.

    Methods raise ``sqlalchemy.exc.SQLAlchemyError`` on database failures; callers decide
    whether to retry. Nothing here knows chat platforms beyond their names and ids.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._hot = _HotStatements(self._insert_ignore)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        """A Core connection in a transaction: the hot event path skips the ORM's overhead."""
        with self.engine.begin() as conn:
            yield conn

    def _insert_ignore(self, table):
        """An INSERT that does nothing on a unique-key conflict, on SQLite and PostgreSQL."""
        if self.engine.dialect.name == "postgresql":
            return pg_insert(table).on_conflict_do_nothing()
        return sqlite_insert(table).on_conflict_do_nothing()

    # ---- plans -------------------------------------------------------------------------

    def save_plan_version(
        self,
        slug: str,
        titles: dict,
        languages: list,
        content_hash: str,
        sections: Sequence[tuple[str, dict, dict, str]],
        now: datetime,
    ) -> tuple[PlanVersionData, bool]:
        """Store a parsed plan; ``sections`` are (key, titles, bodies, content_hash) in order.

        Returns the version and whether it is new: importing the same content as the latest
        version creates nothing. Sections keep their identity (plan, key) across versions.
        """
        with self._tx() as s:
            plan = s.scalar(select(Plan).where(Plan.slug == slug))
            if plan is None:
                plan = Plan(slug=slug, created_at=now)
                s.add(plan)
                s.flush()
            latest = s.scalar(
                select(PlanVersion)
                .where(PlanVersion.plan_id == plan.id)
                .order_by(PlanVersion.number.desc())
                .limit(1)
            )
            if latest is not None and latest.content_hash == content_hash:
                return self._plan_version(s, plan, latest), False
            version = PlanVersion(
                plan_id=plan.id,
                number=(latest.number + 1) if latest else 1,
                titles=titles,
                languages=list(languages),
                content_hash=content_hash,
                imported_at=now,
            )
            s.add(version)
            s.flush()
            known = {k: i for k, i in s.execute(
                select(Section.key, Section.id).where(Section.plan_id == plan.id))}
            for position, (key, s_titles, s_bodies, s_hash) in enumerate(sections):
                if key not in known:
                    section = Section(plan_id=plan.id, key=key)
                    s.add(section)
                    s.flush()
                    known[key] = section.id
                s.add(SectionVersion(
                    plan_version_id=version.id, section_id=known[key], position=position,
                    titles=s_titles, bodies=s_bodies, content_hash=s_hash))
            s.flush()
            return self._plan_version(s, plan, version), True

    def _plan_version(self, s: Session, plan: Plan, version: PlanVersion) -> PlanVersionData:
        rows = s.execute(
            select(SectionVersion, Section.key)
            .join(Section, Section.id == SectionVersion.section_id)
            .where(SectionVersion.plan_version_id == version.id)
            .order_by(SectionVersion.position)
        ).all()
        return PlanVersionData(
            plan_id=plan.id, slug=plan.slug, version_id=version.id, number=version.number,
            titles=version.titles, languages=version.languages,
            content_hash=version.content_hash,
            sections=[SectionData(sv.section_id, key, sv.position, sv.titles, sv.bodies,
                                  sv.content_hash) for sv, key in rows],
        )

    def latest_plan_version(self, slug: str) -> PlanVersionData | None:
        """The newest version of plan ``slug``, or None if no such plan."""
        with self._tx() as s:
            plan = s.scalar(select(Plan).where(Plan.slug == slug))
            if plan is None:
                return None
            version = s.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id)
                               .order_by(PlanVersion.number.desc()).limit(1))
            return self._plan_version(s, plan, version)

    def list_plans(self) -> list[tuple[str, int, dict]]:
        """All plans as (slug, latest version number, titles by language), by slug."""
        with self._tx() as s:
            latest = (select(PlanVersion.plan_id, func.max(PlanVersion.number).label("n"))
                      .group_by(PlanVersion.plan_id).subquery())
            rows = s.execute(
                select(Plan.slug, PlanVersion.number, PlanVersion.titles)
                .join(latest, latest.c.plan_id == Plan.id)
                .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id,
                                        PlanVersion.number == latest.c.n))
                .order_by(Plan.slug)
            ).all()
            return [(slug, n, titles) for slug, n, titles in rows]

    # ---- rounds ------------------------------------------------------------------------

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
    ) -> int:
        """Create an open round with one section statement per ``section_ids``; returns its id."""
        with self._tx() as s:
            rnd = Round(plan_version_id=plan_version_id, name=name, language=language,
                        status="open", source=source, opened_at=opened_at, closes_at=closes_at)
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
        return RoundData(rnd.id, rnd.name, slug, rnd.language, rnd.status, rnd.source,
                         rnd.opened_at, rnd.closes_at, rnd.closed_at,
                         [tuple(c) for c in channels])

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

    def open_round_for_plan(self, plan_slug: str) -> int | None:
        """The id of the newest open chat round over plan ``plan_slug``, or None."""
        with self._tx() as s:
            return s.scalar(
                select(Round.id).join(PlanVersion, PlanVersion.id == Round.plan_version_id)
                .join(Plan, Plan.id == PlanVersion.plan_id)
                .where(Plan.slug == plan_slug, Round.status == "open")
                .order_by(Round.id.desc()).limit(1))

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
            rows = s.execute(
                select(Statement.id, Section.key, SectionVersion.position, SectionVersion.titles,
                       SectionVersion.bodies)
                .join(Section, Section.id == Statement.section_id)
                .join(SectionVersion, and_(SectionVersion.section_id == Section.id,
                                           SectionVersion.plan_version_id == rnd.plan_version_id))
                .where(Statement.round_id == round_id, Statement.kind == "section")
                .order_by(SectionVersion.position)).all()
            return [RoundStatement(*r) for r in rows]

    def posted_statements(self, round_id: int, platform: str, channel_id: str) -> set[int]:
        """Ids of the round's section statements already posted in that channel."""
        with self._tx() as s:
            return set(s.scalars(
                select(PlatformMessage.statement_id).join(
                    Statement, Statement.id == PlatformMessage.statement_id)
                .where(Statement.round_id == round_id, Statement.kind == "section",
                       PlatformMessage.platform == platform,
                       PlatformMessage.channel_id == channel_id)))

    def record_messages(self, statement_id: int | None, messages: Iterable[tuple],
                        digest_id: int | None = None) -> None:
        """Record posted messages: (platform, workspace_id, channel_id, message_id, thread_id,
        part) tuples for a statement or a digest. Recording one twice is harmless."""
        rows = [dict(platform=p, workspace_id=w, channel_id=c, message_id=m, thread_id=t,
                     part=part, statement_id=statement_id, digest_id=digest_id)
                for p, w, c, m, t, part in messages]
        if rows:
            with self._tx() as s:
                s.execute(self._insert_ignore(PlatformMessage), rows)

    def close_round(self, round_id: int, now: datetime) -> bool:
        """Close an open round; False if it was not open."""
        with self._tx() as s:
            res = s.execute(update(Round).where(Round.id == round_id, Round.status == "open")
                            .values(status="closed", closed_at=now))
            return res.rowcount == 1

    # ---- participants and events -------------------------------------------------------

    def participant(self, key_hash: str, platform: str, now: datetime,
                    display_name: str | None = None, external_id: str | None = None) -> int:
        """The id of the participant with ``key_hash``, created if new; a changed
        ``display_name`` is kept as the latest snapshot."""
        hot = self._hot
        with self._conn() as c:
            c.execute(hot.insert_participant, {
                "key_hash": key_hash, "platform": platform, "display_name": display_name,
                "external_id": external_id, "first_seen_at": now})
            pid = c.execute(hot.participant_id, {"key_hash": key_hash}).scalar_one()
            if display_name is not None:
                c.execute(hot.rename_participant, {"pid": pid, "name": display_name})
            return pid

    def find_message(self, platform: str, channel_id: str, message_id: str) -> MessageTarget | None:
        """What the message is (a section part or a reply), or None if planbot does not know it."""
        with self._conn() as c:
            row = c.execute(
                select(PlatformMessage.statement_id, Statement.round_id, Statement.kind,
                       Round.status, PlatformMessage.channel_id, PlatformMessage.thread_id)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .join(Round, Round.id == Statement.round_id)
                .where(PlatformMessage.platform == platform,
                       PlatformMessage.channel_id == channel_id,
                       PlatformMessage.message_id == message_id)).first()
            if row is None:
                return None
            sid, rid, kind, status, chan, thread = row
            return MessageTarget(sid, rid, kind, status == "open", chan, thread)

    def find_thread(self, platform: str, thread_id: str) -> MessageTarget | None:
        """The section statement whose first message roots thread ``thread_id``, or None."""
        with self._tx() as s:
            row = s.execute(
                select(PlatformMessage.statement_id, Statement.round_id, Statement.kind,
                       Round.status, PlatformMessage.channel_id, PlatformMessage.thread_id)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .join(Round, Round.id == Statement.round_id)
                .where(PlatformMessage.platform == platform,
                       PlatformMessage.thread_id == thread_id,
                       PlatformMessage.part == 0, Statement.kind == "section")).first()
            if row is None:
                return None
            sid, rid, kind, status, chan, thread = row
            return MessageTarget(sid, rid, kind, status == "open", chan, thread)

    def _claim(self, s: Session | Connection, event_key: str | None, now: datetime) -> bool:
        """Record ``event_key`` in this transaction; False if it was already applied."""
        if event_key is None:
            return True
        res = s.execute(self._hot.claim, {"event_key": event_key, "processed_at": now})
        return res.first() is not None

    def _recompute_current(self, s: Session | Connection, participant_id: int,
                           statement_id: int) -> None:
        """Mark the one stance that counts: the latest-added present mapped reaction."""
        pair = {"pid": participant_id, "sid": statement_id}
        s.execute(self._hot.clear_current, pair)
        s.execute(self._hot.set_current, pair)

    def add_reaction(self, *, event_key: str | None, participant_id: int, statement_id: int,
                     platform: str, emoji_key: str, emoji_raw: str, stance: str | None,
                     at: datetime, source: str) -> bool:
        """Record a present reaction; True if the store changed.

        Adding a reaction already present changes nothing, so re-delivery is harmless even
        without an event key; an add older than the reaction's last removal (a late
        re-delivery) changes nothing either.
        """
        hot = self._hot
        with self._conn() as c:
            if not self._claim(c, event_key, at):
                return False
            row = c.execute(hot.find_stance, {"pid": participant_id, "sid": statement_id,
                                              "ek": emoji_key}).first()
            if row is not None and (row.removed_at is None or row.removed_at > at):
                return False  # already present, or this add is older than its removal
            values = {"emoji_raw": emoji_raw, "stance": stance, "source": source,
                      "added_at": at}
            if row is None:
                c.execute(hot.insert_stance, dict(
                    values, participant_id=participant_id, statement_id=statement_id,
                    emoji_key=emoji_key, platform=platform, is_current=False, removed_at=None))
            else:
                c.execute(hot.revive_stance, dict(values, row_id=row.id))
            if stance is not None:
                self._recompute_current(c, participant_id, statement_id)
            return True

    def remove_reactions(self, *, event_key: str | None, statement_id: int,
                         participant_id: int | None, emoji_key: str | None, at: datetime,
                         observed: bool = False) -> bool:
        """Withdraw present reactions on a statement: one participant's (or everyone's when
        ``participant_id`` is None), one emoji (or all when ``emoji_key`` is None).

        True if the store changed; removing what is already gone, or what was added after
        ``at`` (a removal delivered late), changes nothing. ``observed`` marks a removal
        seen on the platform by reconciliation: it holds whatever the timestamps say.
        """
        with self._conn() as s:
            if not self._claim(s, event_key, at):
                return False
            q = select(Stance.id, Stance.participant_id).where(
                Stance.statement_id == statement_id, Stance.removed_at.is_(None))
            if not observed:
                q = q.where(Stance.added_at <= at)
            if participant_id is not None:
                q = q.where(Stance.participant_id == participant_id)
            if emoji_key is not None:
                q = q.where(Stance.emoji_key == emoji_key)
            hits = s.execute(q).all()
            if not hits:
                return False
            s.execute(update(Stance).where(Stance.id.in_([h[0] for h in hits]))
                      .values(removed_at=at))
            for pid in {h[1] for h in hits}:
                self._recompute_current(s, pid, statement_id)
            return True

    def present_reactions(self, statement_id: int) -> set[tuple[str, str]]:
        """(participant key_hash, emoji_key) of every present reaction on a statement."""
        with self._tx() as s:
            return {tuple(r) for r in s.execute(
                select(Participant.key_hash, Stance.emoji_key)
                .join(Participant, Participant.id == Stance.participant_id)
                .where(Stance.statement_id == statement_id, Stance.removed_at.is_(None)))}

    def add_reply(self, *, event_key: str | None, round_id: int, section_statement_id: int,
                  parent_statement_id: int, author_id: int, platform: str, workspace_id: str,
                  channel_id: str, message_id: str, thread_id: str, text: str | None,
                  text_withheld: bool, at: datetime, source: str) -> bool:
        """Record a reply as a statement and its platform message; True if new.

        The platform message's unique key makes a second delivery a no-op.
        """
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            known = s.scalar(select(PlatformMessage.id).where(
                PlatformMessage.platform == platform, PlatformMessage.channel_id == channel_id,
                PlatformMessage.message_id == message_id))
            if known is not None:
                return False
            section_id = s.scalar(select(Statement.section_id)
                                  .where(Statement.id == section_statement_id))
            stmt = Statement(round_id=round_id, kind="reply", section_id=section_id,
                             parent_id=parent_statement_id, author_id=author_id,
                             platform=platform, text=text, text_withheld=text_withheld,
                             moderated=True, created_at=at, source=source)
            s.add(stmt)
            s.flush()
            s.add(PlatformMessage(platform=platform, workspace_id=workspace_id,
                                  channel_id=channel_id, message_id=message_id,
                                  thread_id=thread_id, part=0, statement_id=stmt.id))
            return True

    def edit_reply(self, *, event_key: str | None, statement_id: int, text: str | None,
                   text_withheld: bool, at: datetime) -> bool:
        """Replace a reply's text, keeping the previous text in the edit history.

        True if the text changed; the same edit applied twice, or an edit older than the
        last one applied, changes nothing.
        """
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            stmt = s.get(Statement, statement_id)
            if stmt is None or stmt.kind != "reply" or stmt.deleted_at is not None:
                return False
            if stmt.text == text and stmt.text_withheld == text_withheld:
                return False
            if stmt.edited_at is not None and at < stmt.edited_at:
                return False  # an older edit delivered late
            s.add(StatementEdit(statement_id=statement_id, previous_text=stmt.text,
                                replaced_at=at))
            stmt.text, stmt.text_withheld, stmt.edited_at = text, text_withheld, at
            return True

    def delete_message(self, *, event_key: str | None, platform: str, channel_id: str,
                       message_id: str, at: datetime) -> bool:
        """Mark a platform message deleted; a deleted reply leaves the analysis.

        A deleted section message (a Slack tombstone) keeps its statement, replies and stances.
        True if the store changed.
        """
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            msg = s.scalar(select(PlatformMessage).where(
                PlatformMessage.platform == platform, PlatformMessage.channel_id == channel_id,
                PlatformMessage.message_id == message_id))
            if msg is None or msg.deleted_at is not None:
                return False
            msg.deleted_at = at
            stmt = s.get(Statement, msg.statement_id) if msg.statement_id else None
            if stmt is not None and stmt.kind == "reply" and stmt.deleted_at is None:
                stmt.deleted_at = at
            return True

    def relay_targets(self, platform: str, channel_id: str, message_id: str
                      ) -> tuple[int, str, list[tuple[str, str, str, str]]] | None:
        """Where a reply should be copied: (its statement id, the round's language, and the
        (platform, workspace, channel, thread) of its section's thread in every other
        channel of the round that has no copy yet). None for an unknown message or a
        statement that is not a live reply."""
        with self._tx() as s:
            row = s.execute(
                select(Statement.id, Statement.round_id, Statement.section_id, Round.language,
                       PlatformMessage.thread_id)
                .join(PlatformMessage, PlatformMessage.statement_id == Statement.id)
                .join(Round, Round.id == Statement.round_id)
                .where(PlatformMessage.platform == platform,
                       PlatformMessage.channel_id == channel_id,
                       PlatformMessage.message_id == message_id,
                       Statement.kind == "reply", Statement.deleted_at.is_(None))).first()
            if row is None:
                return None
            statement_id, round_id, section_id, language, thread_id = row
            section = aliased(Statement)
            threads = s.execute(
                select(PlatformMessage.platform, PlatformMessage.workspace_id,
                       PlatformMessage.channel_id, PlatformMessage.thread_id)
                .join(section, section.id == PlatformMessage.statement_id)
                .where(section.round_id == round_id, section.kind == "section",
                       section.section_id == section_id, PlatformMessage.part == 0,
                       PlatformMessage.thread_id.is_not(None))
                .order_by(PlatformMessage.id)).all()
            copied = {tuple(r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.thread_id)
                .where(PlatformMessage.statement_id == statement_id))}
        return statement_id, language, [tuple(t) for t in threads
                                        if (t.platform, t.thread_id) not in copied]

    def statement_messages(self, statement_id: int) -> list[tuple[str, str, str]]:
        """(platform, channel_id, message_id) of every message carrying a statement."""
        with self._tx() as s:
            return [tuple(r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.channel_id,
                       PlatformMessage.message_id)
                .where(PlatformMessage.statement_id == statement_id)
                .order_by(PlatformMessage.id))]

    def thread_replies(self, platform: str, thread_id: str) -> dict[str, tuple[str, str | None, bool]]:
        """Live replies written on ``platform`` in a thread: message id -> (channel id, text,
        text withheld). Copies planbot itself posted of replies from another platform are
        left out: they are the bot's messages, which the platform's history also omits."""
        with self._tx() as s:
            rows = s.execute(
                select(PlatformMessage.message_id, PlatformMessage.channel_id, Statement.text,
                       Statement.text_withheld)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .where(PlatformMessage.platform == platform,
                       PlatformMessage.thread_id == thread_id, Statement.kind == "reply",
                       Statement.platform == platform, Statement.deleted_at.is_(None),
                       PlatformMessage.deleted_at.is_(None))).all()
        return {mid: (chan, text, withheld) for mid, chan, text, withheld in rows}

    def round_messages(self, round_id: int, platform: str, *, include_deleted: bool = False
                       ) -> list[tuple[int, str, str, str, str | None, int, str]]:
        """Every live section-part and reply message of a round on ``platform`` (deleted
        ones too with ``include_deleted``: a Slack tombstone still roots its thread):
        (statement_id, workspace_id, channel_id, message_id, thread_id, part, kind)."""
        with self._tx() as s:
            q = (select(PlatformMessage.statement_id, PlatformMessage.workspace_id,
                        PlatformMessage.channel_id, PlatformMessage.message_id,
                        PlatformMessage.thread_id, PlatformMessage.part, Statement.kind)
                 .join(Statement, Statement.id == PlatformMessage.statement_id)
                 .where(Statement.round_id == round_id, PlatformMessage.platform == platform)
                 .order_by(PlatformMessage.id))
            if not include_deleted:
                q = q.where(PlatformMessage.deleted_at.is_(None))
            return [tuple(r) for r in s.execute(q).all()]

    def participant_by_key(self, key_hash: str) -> int | None:
        """The id of the participant with ``key_hash``, or None."""
        with self._tx() as s:
            return s.scalar(select(Participant.id).where(Participant.key_hash == key_hash))

    def present_reactions_on(self, statement_id: int, platform: str) -> set[tuple[str, str]]:
        """(participant key_hash, emoji_key) of present reactions on a statement made on
        ``platform`` (reconciliation compares one platform at a time)."""
        with self._tx() as s:
            return {tuple(r) for r in s.execute(
                select(Participant.key_hash, Stance.emoji_key)
                .join(Participant, Participant.id == Stance.participant_id)
                .where(Stance.statement_id == statement_id, Stance.platform == platform,
                       Stance.removed_at.is_(None)))}

    # ---- digests -----------------------------------------------------------------------

    def statement_counts(self, round_id: int) -> list[dict]:
        """Per statement of a round: id, kind, section key, text, author platform, external
        id, moderated, deleted, created_at, and agree / disagree / pass counts of current
        stances. One SQL aggregate; statements with no stance have zeros."""
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
        keys = ("id", "kind", "section_key", "text", "text_withheld", "platform", "external_id",
                "moderated", "deleted_at", "created_at", "parent_id", "agree", "disagree", "pass")
        return [dict(zip(keys, r)) for r in rows]

    def participation(self, round_id: int) -> dict[str, int]:
        """Distinct participants of a round (a current stance or a live reply), per platform,
        with the total under ``"all"``."""
        with self._tx() as s:
            voters = (select(Stance.participant_id.label("pid"), Participant.platform.label("p"))
                      .join(Participant, Participant.id == Stance.participant_id)
                      .join(Statement, Statement.id == Stance.statement_id)
                      .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                             Statement.deleted_at.is_(None)))
            authors = (select(Statement.author_id.label("pid"), Participant.platform.label("p"))
                       .join(Participant, Participant.id == Statement.author_id)
                       .where(Statement.round_id == round_id, Statement.kind == "reply",
                              Statement.deleted_at.is_(None)))
            both = voters.union(authors).subquery()
            rows = s.execute(select(both.c.p, func.count(func.distinct(both.c.pid)))
                             .group_by(both.c.p)).all()
            total = s.scalar(select(func.count(func.distinct(both.c.pid))))
        counts = {platform: n for platform, n in rows}
        counts["all"] = total or 0
        return counts

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

    def stance_activity(self, round_id: int) -> list[tuple[datetime, str]]:
        """(added_at, stance) of every current stance of a round, oldest first (for charts)."""
        with self._tx() as s:
            return [tuple(r) for r in s.execute(
                select(Stance.added_at, Stance.stance)
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True))
                .order_by(Stance.added_at))]

    def vote_triples(self, round_id: int) -> tuple[list[tuple[str, str, int]], list[str], list[str]]:
        """The round's vote matrix as Polis-export triples, read in one query.

        Returns (votes, statement ids, excluded statement ids): votes are (participant,
        statement, 1 agree / -1 disagree / 0 pass) over current stances on live statements;
        ids are strings (Polis' own ids for imported conversations). Statements moderated
        out are listed as excluded.
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
        triples = [(str(p), names[sid], value[st]) for p, sid, st in votes if sid in names]
        return (triples, [names[sid] for sid, _, _ in statements],
                [names[sid] for sid, _, moderated in statements if not moderated])

    def claim_digest(self, round_id: int, kind: str, period_start: datetime,
                     period_end: datetime, now: datetime) -> int | None:
        """Claim a digest period; returns the new digest id, or None when another process
        (or an earlier run) already claimed the same (round, kind, period_end)."""
        with self._tx() as s:
            return s.scalar(self._insert_ignore(Digest).values(
                round_id=round_id, kind=kind, period_start=period_start,
                period_end=period_end, created_at=now, status="claimed").returning(Digest.id))

    def finish_digest(self, digest_id: int, content: dict, outputs: dict) -> None:
        """Store what a claimed digest said and how it was rendered; marks it posted."""
        with self._tx() as s:
            s.execute(update(Digest).where(Digest.id == digest_id)
                      .values(content=content, outputs=outputs, status="posted"))

    def last_digest_end(self, round_id: int, kinds: Sequence[str] = ("weekly", "final")) -> datetime | None:
        """End of the latest claimed scheduled digest of a round, or None."""
        with self._tx() as s:
            return s.scalar(select(func.max(Digest.period_end))
                            .where(Digest.round_id == round_id, Digest.kind.in_(kinds)))

    def digests(self, round_id: int) -> list[dict]:
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
        return [dict(id=d.id, kind=d.kind, period_start=d.period_start, period_end=d.period_end,
                     status=d.status, content=d.content, outputs=d.outputs,
                     messages=[tuple(p[1:]) for p in posted if p[0] == d.id]) for d in rows]

    # ---- bulk import -------------------------------------------------------------------

    def round_by_source(self, source_hash: str) -> int | None:
        """The id of the round imported from a conversation with this fingerprint, or None."""
        with self._tx() as s:
            return s.scalar(select(Round.id).where(Round.source_hash == source_hash))

    def import_conversation(self, *, name: str, language: str, opened_at: datetime,
                            source_hash: str, platform: str,
                            participants: Sequence[tuple[str, str]],
                            statements: Sequence[dict], votes: Sequence[tuple[str, str, str, datetime]],
                            now: datetime, progress: Callable[[int], None] | None = None,
                            batch: int = 50_000) -> int:
        """Bulk-load a conversation as a new round, all in one transaction; returns its id.

        ``participants`` are (key_hash, external id); ``statements`` dicts with external_id,
        author (external participant id or None), text, moderated, created_at; ``votes``
        (external participant id, external statement id, stance, at), already reduced to one
        per pair. Votes go straight in as current stances (source ``import``). ``progress``
        is called with the number of votes written after each batch. A failure leaves
        nothing behind; the unique ``source_hash`` refuses a second import of the same data
        (``IntegrityError``).
        """
        with self._tx() as s:
            rnd = Round(plan_version_id=None, name=name[:200], language=language,
                        status="open", source="polis", source_hash=source_hash,
                        opened_at=opened_at)
            s.add(rnd)
            s.flush()
            round_id = rnd.id
            if participants:
                s.execute(self._insert_ignore(Participant), [
                    dict(key_hash=k, platform=platform, external_id=ext, first_seen_at=now)
                    for k, ext in participants])
            keys = [k for k, _ in participants]
            pids: dict[str, int] = {}
            for i in range(0, len(keys), 10_000):
                pids.update({ext: pid for pid, ext in s.execute(
                    select(Participant.id, Participant.external_id)
                    .where(Participant.key_hash.in_(keys[i:i + 10_000])))})
            if statements:
                s.execute(insert(Statement), [
                    dict(round_id=round_id, kind="reply", author_id=pids.get(st["author"]),
                         platform=platform, text=st["text"], moderated=st["moderated"],
                         external_id=st["external_id"], created_at=st["created_at"],
                         source="import", text_withheld=False)
                    for st in statements])
            sids = {ext: sid for sid, ext in s.execute(
                select(Statement.id, Statement.external_id).where(Statement.round_id == round_id))}
            for i in range(0, len(votes), batch):
                s.execute(insert(Stance), [
                    dict(participant_id=pids[p], statement_id=sids[c], emoji_key="polis",
                         emoji_raw="polis", stance=st, source="import", platform=platform,
                         added_at=at, is_current=True)
                    for p, c, st, at in votes[i:i + batch]])
                if progress:
                    progress(min(i + batch, len(votes)))
            return round_id

    def export_conversation(self, round_id: int) -> tuple[list[dict], list[tuple]]:
        """A round as Polis sees it: (statements, votes).

        Statements: dicts with id (Polis' id when imported, else planbot's), author,
        text, moderated (1 kept / -1 out), created_at; sections come first, titled by key.
        Votes: (added_at, statement id, participant id, 1 / -1 / 0) for current stances on
        statements not deleted, oldest first.
        """
        pid = func.coalesce(Participant.external_id, func.cast(Participant.id, String))
        author = aliased(Participant)
        sid = func.coalesce(Statement.external_id, func.cast(Statement.id, String))
        with self._tx() as s:
            statements = [dict(id=i, author=a, text=t if t is not None else (k or ""),
                               moderated=1 if m else -1, created_at=c)
                          for i, a, t, k, m, c in s.execute(
                              select(sid, func.coalesce(author.external_id,
                                                        func.cast(author.id, String)),
                                     Statement.text, Section.key, Statement.moderated,
                                     Statement.created_at)
                              .outerjoin(author, author.id == Statement.author_id)
                              .outerjoin(Section, Section.id == Statement.section_id)
                              .where(Statement.round_id == round_id,
                                     Statement.deleted_at.is_(None))
                              .order_by(Statement.id))]
            value = case((Stance.stance == "agree", 1), (Stance.stance == "disagree", -1),
                         else_=0)
            votes = [tuple(r) for r in s.execute(
                select(Stance.added_at, sid, pid, value)
                .join(Participant, Participant.id == Stance.participant_id)
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                       Statement.deleted_at.is_(None))
                .order_by(Stance.added_at, Stance.id))]
        return statements, votes


class _HotStatements:
    """Statements of the per-event path, built once with bind parameters.

    Building a SQLAlchemy statement costs more than running it on SQLite; these are built
    on Core tables (no ORM compile step) and reused for every event. The current-stance
    update takes two statements because the partial unique index is checked row by row: the
    old current row must be cleared before the new one is set.
    """

    def __init__(self, insert_ignore) -> None:
        p = Participant.__table__
        self.insert_participant = insert_ignore(p)
        self.participant_id = select(p.c.id).where(p.c.key_hash == bindparam("key_hash"))
        self.rename_participant = p.update().where(
            p.c.id == bindparam("pid"), p.c.display_name.is_distinct_from(bindparam("name"))
        ).values(display_name=bindparam("name"))
        t = Stance.__table__
        pair = and_(t.c.participant_id == bindparam("pid"), t.c.statement_id == bindparam("sid"))
        self.claim = insert_ignore(ProcessedEvent.__table__).returning(
            ProcessedEvent.__table__.c.event_key)
        self.find_stance = select(t.c.id, t.c.removed_at).where(
            pair, t.c.emoji_key == bindparam("ek"))
        self.insert_stance = t.insert()
        self.revive_stance = t.update().where(t.c.id == bindparam("row_id")).values(
            removed_at=None, added_at=bindparam("added_at"), source=bindparam("source"),
            emoji_raw=bindparam("emoji_raw"), stance=bindparam("stance"))
        self.clear_current = t.update().where(pair, t.c.is_current.is_(True)).values(
            is_current=False)
        winner = (select(t.c.id).where(pair, t.c.removed_at.is_(None), t.c.stance.is_not(None))
                  .order_by(t.c.added_at.desc(), t.c.id.desc()).limit(1).scalar_subquery())
        self.set_current = t.update().where(t.c.id == winner).values(is_current=True)
