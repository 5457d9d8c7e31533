"""Rounds: open (or join) a round of a plan in a channel and post its sections; close it.

A round belongs to the place (guild, workspace) where it was opened: opening there a plan that
already has an open round joins that round, and re-running the same open posts nothing twice.
Another place (even on the other platform) joins it only with an invitation code.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError

from bot.apply import EventApplier
from bot.clock import Clock
from bot.config import Settings, parse_duration
from bot.errors import BadArgument, Conflict, NotFound
from bot.i18n import translate
from bot.intake import RunInDb
from bot.invitations import Invitations
from bot.moderation import MODES
from bot.opening import Posting, SectionPoster
from bot.platform import ChannelRef, ChatPlatform
from bot.relay import Relay
from storage.records import Place, PlanVersionData
from storage.store import Store

_log = logging.getLogger(__name__)
STANCE_MODES = ("reactions", "private", "both")
"""How a round's stances are given: reactions only, the Vote button only, or both."""
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


class Opened(NamedTuple):
    """What an open did: the round, its sections' posting in the channel, and the platforms
    of the other channels it was already open in (empty for a new round)."""

    round_id: int
    posting: Posting
    elsewhere: tuple[str, ...]


class Rounds:
    """Opens, joins and closes rounds. ``db`` runs store calls on the database thread;
    ``relay`` copies earlier replies into a channel that joins; ``applier``'s cached message
    targets are dropped when a round closes so its events stop counting at once; ``poster``
    posts a round's sections in a channel."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb,
                 relay: Relay, applier: EventApplier, poster: SectionPoster,
                 invitations: Invitations) -> None:
        self.invitations = invitations
        self.store = store
        self.settings = settings
        self.clock = clock
        self.db = db
        self.relay = relay
        self.applier = applier
        self.poster = poster
        self._open_locks: dict[tuple[str, Place], asyncio.Lock] = {}

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
                    state = await platform.close_thread(ChannelRef(name, ws, chan), thread, note)
                except Exception:  # noqa: BLE001 - one thread's failure must not stop the others
                    _log.warning("could not close thread %s on %s", thread, name, exc_info=True)
                    continue
                await self.db(self.store.set_thread_state, name, thread, state)

    async def open(self, *, plan: str | None, channel: ChannelRef, platform: ChatPlatform,
                   sections: list[str] | None = None, closes: str | None = None,
                   language: str | None = None, join: str | None = None,
                   stance_mode: str | None = None, moderation: str | None = None) -> Opened:
        """Open (or join) the round of ``plan`` in ``channel`` and post its missing sections.

        An open round over ``plan`` that belongs to the place (guild, workspace) of
        ``channel`` is reused, so one round can span several channels of that place and
        re-running the same open posts nothing twice; a round of another place is joined
        only with ``join``, an invitation code (``plan`` may then be None). ``stance_mode``
        (:data:`STANCE_MODES`, default ``both``) is chosen by the opening; joining with
        another one is refused; so is ``moderation`` (:data:`bot.moderation.MODES`, default
        ``open``), which a facilitator changes with ``/moderate``. Raises ``NotFound`` (also
        for any unusable code, all alike),
        ``BadArgument``, ``Conflict`` (another open of this plan is under way, or the open
        round differs from what is asked).
        """
        if stance_mode is not None and stance_mode not in STANCE_MODES:
            raise BadArgument("error.bad_stance_mode", value=stance_mode,
                              modes=", ".join(STANCE_MODES))
        if moderation is not None and moderation not in MODES:
            raise BadArgument("moderation.bad_mode", value=moderation, modes=", ".join(MODES))
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
        # must not both create a round. A second open while the first posts is answered at
        # once rather than left waiting behind it.
        lock = self._open_locks.setdefault((plan, place), asyncio.Lock())
        if lock.locked():
            raise Conflict("error.round_opening", plan=plan)
        async with lock:
            if invited is not None and join is not None:
                await self._check_join(invited.id, wanted, language, closes_at, stance_mode,
                                       moderation)
                await self.invitations.use(invited, join, place)
                round_id = invited.id
            else:
                here: int | None = await self.db(self.store.open_round_for_plan, plan, place)
                if here is None:
                    round_id = await self._create(version, plan, wanted, language, closes_at,
                                                  stance_mode or "both", place,
                                                  moderation or "open")
                else:
                    round_id = here
                    await self._check_join(round_id, wanted, language, closes_at, stance_mode,
                                           moderation)
            elsewhere = await self._elsewhere(round_id, channel)
            await self.db(self.store.add_round_channel, round_id, channel.platform,
                          channel.workspace_id, channel.channel_id)
            posting = await self.poster.post(round_id, channel, platform)
            if posting.posted and not posting.already:
                # Announced once, with the channel's first sections: a re-run retrying a
                # refused section must not repeat it.
                await self.poster.announce(round_id, channel, platform)
            if posting.posted:
                self.relay.spawn(self.relay.copy_replies(round_id))  # replies from before
            return Opened(round_id, posting, elsewhere)

    async def _elsewhere(self, round_id: int, channel: ChannelRef) -> tuple[str, ...]:
        """The platforms of the round's other channels when ``channel`` joins it now,
        sorted; empty when ``channel`` was in the round already."""
        rnd = await self.db(self.store.get_round, round_id)
        here = (channel.platform, channel.workspace_id, channel.channel_id)
        channels = {(c.platform, c.workspace_id, c.channel_id) for c in rnd.channels} \
            if rnd else set()
        return () if here in channels else tuple(sorted({c[0] for c in channels}))

    async def _create(self, version: PlanVersionData, plan: str, wanted: list[str],
                      language: str | None, closes_at: datetime | None, mode: str,
                      place: Place, moderation: str = "open") -> int:
        """A new round over ``version`` opened in ``place``; joins the round another process
        opened there meanwhile."""
        chosen = [s for s in version.sections if not wanted or s.key in wanted]
        lang = language or version.languages[0]
        try:
            round_id: int = await self.db(
                self.store.create_round, name=version.titles.get(lang) or plan,
                language=lang, plan_version_id=version.version_id,
                section_ids=[s.section_id for s in chosen], opened_at=self.clock.now(),
                closes_at=closes_at, stance_mode=mode, home=place,
                moderation=moderation)
            _log.info("opened round %s over plan %s", round_id, plan)
        except IntegrityError:
            # Another process opened this plan here at the same moment: join its round.
            joined = await self.db(self.store.open_round_for_plan, plan, place)
            if joined is None:  # the other round closed meanwhile
                raise
            round_id = joined
            await self._check_join(round_id, wanted, language, closes_at, mode, moderation)
        return round_id

    async def _check_join(self, round_id: int, wanted: list[str], language: str | None,
                          closes_at: datetime | None, mode: str | None,
                          moderation: str | None = None) -> None:
        """Joining an open round from another channel must not silently drop what was asked:
        other sections, another language, another stance mode, another moderation or another
        closing date are refused with the round's current values."""
        rnd = await self.db(self.store.get_round, round_id)
        if rnd is None:
            raise NotFound("error.no_round", round=round_id)
        if wanted:
            present = {s.section_key for s in await self.db(self.store.round_sections, round_id)}
            if not set(wanted) <= present:
                raise Conflict("error.round_open_other_sections", round=rnd.public_id)
        if language and language != rnd.language:
            raise Conflict("error.round_other_language", round=rnd.public_id, current=rnd.language)
        if mode and mode != rnd.stance_mode:
            raise Conflict("error.round_other_mode", round=rnd.public_id, current=rnd.stance_mode)
        current = await self.db(self.store.round_moderation, round_id)
        if moderation and moderation != current:
            raise Conflict("moderation.round_other", round=rnd.public_id, current=current)
        # "closes=7d" run again a few minutes later means the same date (a facilitator
        # re-running a command as told): only a different date is refused.
        if closes_at and (rnd.closes_at is None
                          or abs(closes_at - rnd.closes_at) > CLOSES_TOLERANCE):
            when = rnd.closes_at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M") \
                if rnd.closes_at else "—"
            raise Conflict("error.round_other_closes", round=rnd.public_id, closes=when)
