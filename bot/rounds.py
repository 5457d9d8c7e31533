"""Rounds: open (or join) a round of a plan in a channel and post its sections; close it.

One round may span several channels on Discord and Slack: opening a plan that already has
an open round joins that round, and re-running the same open posts nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial

from sqlalchemy.exc import IntegrityError

from bot.apply import EventApplier
from bot.clock import Clock
from bot.config import Settings, parse_duration
from bot.errors import BadArgument, Conflict, NotFound
from bot.i18n import translate
from bot.intake import RunInDb
from bot.invitations import Invitations
from bot.platform import ChannelRef, ChatPlatform, PostedMessage, SectionPost
from bot.privacy import opening_announcement
from bot.relay import Relay
from storage.records import Place, PlanVersionData
from storage.store import Store

_log = logging.getLogger(__name__)
CLOSES_TOLERANCE = timedelta(hours=1)
"""``closes=7d`` run again this soon means the same closing date, not another one."""


def parse_closes(text: str | None, now: datetime, zone: tzinfo) -> datetime | None:
    """``7d``/``36h`` from ``now``, or an ISO date (end of that day in ``zone``) or
    datetime. Raises ``BadArgument`` for anything else or a time already past."""
    if not text:
        return None
    try:
        closes = now + parse_duration(text)
    except OverflowError:
        raise BadArgument("error.bad_closes", value=text) from None
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            raise BadArgument("error.bad_closes", value=text) from None
        if len(text.strip()) == 10:
            parsed = parsed.replace(hour=23, minute=59)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        closes = parsed
    try:
        # The store keeps UTC: a date near year 9999 in a western zone has no UTC form.
        closes.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadArgument("error.bad_closes", value=text) from None
    if closes <= now:
        raise BadArgument("error.closes_past", value=text)
    return closes


class Rounds:
    """Opens, joins and closes rounds. ``db`` runs store calls on the database thread;
    ``relay`` copies earlier replies into a channel that joins; ``applier``'s cached message
    targets are dropped when a round closes so its events stop counting at once."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb,
                 relay: Relay, applier: EventApplier, invitations: Invitations) -> None:
        self.invitations = invitations
        self.store = store
        self.settings = settings
        self.clock = clock
        self.db = db
        self.relay = relay
        self.applier = applier
        self._open_locks: dict[str, asyncio.Lock] = {}

    def parse_closes(self, text: str | None) -> datetime | None:
        """:func:`parse_closes` now, in the configured zone."""
        return parse_closes(text, self.clock.now(), self.settings.timezone)

    async def close(self, round_id: int) -> bool:
        """Close an open round so its events stop counting (what comes later is stored,
        marked late), then post a closing note in each section thread on the connected
        platforms and close those threads; False if it was not open. A thread that cannot
        be closed is logged and the others are closed all the same."""
        closed: bool = await self.db(self.store.close_round, round_id, self.clock.now())
        self.applier.forget_targets()
        if closed:
            await self._close_threads(round_id)
        return closed

    async def _close_threads(self, round_id: int) -> None:
        rnd = await self.db(self.store.get_round, round_id)
        note = translate("round.closing_note", rnd.language if rnd else self.settings.language,
                         round=rnd.public_id if rnd else "")
        for name, platform in list(self.relay.platforms.items()):
            for _sid, ws, chan, _mid, thread, part, kind in await self.db(
                    self.store.round_messages, round_id, name, include_deleted=True):
                if kind != "section" or part != 0 or thread is None:
                    continue
                try:
                    await platform.close_thread(ChannelRef(name, ws, chan), thread, note)
                except Exception:  # noqa: BLE001 - one thread's failure must not stop the others
                    _log.warning("could not close thread %s on %s", thread, name, exc_info=True)

    async def open(self, *, plan: str | None, channel: ChannelRef, platform: ChatPlatform,
                   sections: list[str] | None = None, closes: str | None = None,
                   language: str | None = None, join: str | None = None
                   ) -> tuple[int, int, int]:
        """Open (or join) the round of ``plan`` in ``channel`` and post its missing sections.

        An open round over ``plan`` that belongs to the place (guild, workspace) of
        ``channel`` is reused, so re-running the same open posts nothing twice; a round of
        another place is joined only with ``join``, an invitation code (``plan`` may then be
        None). Returns (round id, sections posted now, sections already there). Raises
        ``NotFound`` (also for any unusable code, all alike), ``BadArgument``, ``Conflict``.
        """
        place = Place(channel.platform, channel.workspace_id)
        invited = await self.invitations.round_for(join, place) if join else None
        if invited is not None:
            if plan and plan != invited.plan_slug:
                raise Conflict("error.invitation_other_plan", plan=invited.plan_slug or "")
            plan = invited.plan_slug
        if not plan:
            raise BadArgument("error.plan_required")
        version = await self.db(self.store.latest_plan_version, plan)
        if version is None:
            raise NotFound("error.no_plan", plan=plan)
        if language and language not in version.languages:
            raise BadArgument("error.bad_language", language=language,
                              languages=", ".join(version.languages))
        by_key = {s.key: s for s in version.sections}
        wanted = [k.strip() for k in sections or [] if k.strip()]
        unknown = [k for k in wanted if k not in by_key]
        if unknown:
            raise NotFound("error.no_section", keys=", ".join(unknown), plan=plan)
        closes_at = self.parse_closes(closes)
        # One lock per plan: two opens of one plan in one place (even from two channels)
        # must not both create a round.
        async with self._open_locks.setdefault(plan, asyncio.Lock()):
            if invited is not None and join is not None:
                await self._check_join(invited.id, wanted, language, closes_at)
                await self.invitations.use(invited, join, place)
                round_id = invited.id
            else:
                here: int | None = await self.db(self.store.open_round_for_plan, plan, place)
                if here is None:
                    round_id = await self._create(version, plan, wanted, language, closes_at,
                                                  place)
                else:
                    round_id = here
                    await self._check_join(round_id, wanted, language, closes_at)
            await self.db(self.store.add_round_channel, round_id, channel.platform,
                          channel.workspace_id, channel.channel_id)
            posted, total = await self._post_sections(round_id, channel, platform)
            if posted:
                await self._announce(round_id, channel, platform)
                self.relay.spawn(self.relay.copy_replies(round_id))  # replies from before
            return round_id, posted, total - posted

    async def _announce(self, round_id: int, channel: ChannelRef, platform: ChatPlatform) -> None:
        """Post the round's opening announcement under its sections (the channel's latest
        message, :func:`bot.privacy.opening_announcement`); a failure is logged, the round
        is open all the same."""
        rnd = await self.db(self.store.get_round, round_id)
        try:
            if rnd is not None:
                await platform.post_notice(channel, opening_announcement(self.settings, rnd,
                                                                         channel.platform))
        except Exception:  # noqa: BLE001 - the sections are out; the round stands without it
            _log.warning("could not post the opening announcement of round %s on %s",
                         round_id, channel.platform, exc_info=True)

    async def _create(self, version: PlanVersionData, plan: str, wanted: list[str],
                      language: str | None, closes_at: datetime | None, place: Place) -> int:
        """A new round over ``version`` opened in ``place``; joins the round another process
        opened there meanwhile."""
        chosen = [s for s in version.sections if not wanted or s.key in wanted]
        lang = language or version.languages[0]
        try:
            round_id: int = await self.db(
                self.store.create_round, name=version.titles.get(lang) or plan,
                language=lang, plan_version_id=version.version_id,
                section_ids=[s.section_id for s in chosen], opened_at=self.clock.now(),
                closes_at=closes_at, home=place)
            _log.info("opened round %s over plan %s", round_id, plan)
        except IntegrityError:
            # Another process opened this plan here at the same moment: join its round.
            joined = await self.db(self.store.open_round_for_plan, plan, place)
            if joined is None:  # the other round closed meanwhile
                raise
            round_id = joined
            await self._check_join(round_id, wanted, language, closes_at)
        return round_id

    async def _post_sections(self, round_id: int, channel: ChannelRef,
                             platform: ChatPlatform) -> tuple[int, int]:
        """Post the round's sections missing in ``channel``; (posted now, sections)."""
        rnd = await self.db(self.store.get_round, round_id)
        if rnd is None:
            raise NotFound("error.no_round", round=round_id)
        statements = await self.db(self.store.round_sections, round_id)
        done = await self.db(self.store.posted_statements, round_id, channel.platform,
                             channel.channel_id)
        posted = 0
        for st in statements:
            post = SectionPost(
                key=st.section_key,
                title=st.titles.get(rnd.language) or next(iter(st.titles.values())),
                body=st.bodies.get(rnd.language) or next(iter(st.bodies.values())),
                seed_emoji=self.settings.stance_map.seeds, language=rnd.language)
            if st.statement_id in done:
                # Posted before; a run stopped half-way may have left it without its
                # thread or reactions.
                await platform.finish_section(channel, done[st.statement_id], post)
                continue
            record = partial(self._record, st.statement_id)
            # Recorded once sent (on_posted) and again at the end: recording is
            # idempotent, and the end covers a platform that does not call back.
            await record(await platform.post_section(channel, post, on_posted=record))
            posted += 1
        return posted, len(statements)

    async def _record(self, statement_id: int, messages: list[PostedMessage]) -> None:
        await self.db(self.store.record_messages, statement_id, [
            (m.channel.platform, m.channel.workspace_id, m.channel.channel_id, m.message_id,
             m.thread_id, m.part) for m in messages])

    async def _check_join(self, round_id: int, wanted: list[str], language: str | None,
                          closes_at: datetime | None) -> None:
        """Joining an open round from another channel must not silently drop what was asked:
        other sections, another language or another closing date are refused with the
        round's current values."""
        rnd = await self.db(self.store.get_round, round_id)
        if rnd is None:
            raise NotFound("error.no_round", round=round_id)
        if wanted:
            present = {s.section_key for s in await self.db(self.store.round_sections, round_id)}
            if not set(wanted) <= present:
                raise Conflict("error.round_open_other_sections", round=rnd.public_id)
        if language and language != rnd.language:
            raise Conflict("error.round_other_language", round=rnd.public_id, current=rnd.language)
        # "closes=7d" run again a few minutes later means the same date (a facilitator
        # re-running a command as told): only a different date is refused.
        if closes_at and (rnd.closes_at is None
                          or abs(closes_at - rnd.closes_at) > CLOSES_TOLERANCE):
            when = rnd.closes_at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M") \
                if rnd.closes_at else "—"
            raise Conflict("error.round_other_closes", round=rnd.public_id, closes=when)
