"""The platform-neutral core adapters talk to: events in, commands in, posts out.

``Planbot`` owns no connection of its own: store, settings, clock and the stance map come in
through the constructor (discord.py ``examples/advanced_startup.py`` style). Store work runs
on one dedicated thread so the event loop never blocks on the database and writes are
applied in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from bot.apply import EventApplier
from bot.clock import Clock
from bot.config import Settings, parse_duration
from bot.errors import BadArgument, Conflict, NotAllowed, NotFound, PlanbotError
from bot.events import (
    CommandInvoked,
    InboundEvent,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from bot.i18n import language_of, translate, translate_plural
from bot.identity import Pseudonymizer
from bot.platform import ChannelRef, ChatPlatform, PostedMessage, SectionPost
from bot.reconcile import Reconciler, ReconcileReport
from storage.store import Store

_log = logging.getLogger(__name__)
T = TypeVar("T")
DRAIN_CHUNK = 64
CLOSES_TOLERANCE = timedelta(hours=1)
FACILITATOR_ACTIONS = frozenset({"open", "close", "status", "digest"})
ACTIONS = FACILITATOR_ACTIONS | {"plans", "help"}


def _deliver(results: list) -> None:
    for done, value, error in results:
        if done.cancelled():
            continue
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value)


@dataclass(frozen=True, slots=True)
class CommandReply:
    """What to answer the user: ``text`` in their language; ``ephemeral`` = only they see it."""

    text: str
    ephemeral: bool = True


class Planbot:
    """The core service. Async methods are safe to call from the adapters' event loop.

    ``platforms`` maps a platform name to its connected adapter (the wiring fills it): new
    replies are copied to the round's other channels through them. ``digest_publisher``,
    when set, is called as ``await publisher(round_id, kind, platform,
    channel)`` by the ``digest`` command to post a digest in a channel, and as
    ``await publisher(round_id, "final")`` by ``close`` to post the final digest in every
    channel of the round (the service wires it).
    """

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.pseudonyms = Pseudonymizer(settings.participant_secret)
        self.applier = EventApplier(store, settings.stance_map, self.pseudonyms, clock)
        self.reconciler = Reconciler(self)
        self.digest_publisher: Callable | None = None
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planbot-db")
        self._open_locks: dict[str, asyncio.Lock] = {}
        self.platforms: dict[str, ChatPlatform] = {}
        self._closed = False
        self._relays: set[asyncio.Task] = set()
        self._copy_lock = asyncio.Lock()
        self._pending: deque[tuple[InboundEvent, asyncio.Future]] = deque()
        self._draining = False
        self.applied = 0

    async def db(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a store call on the database thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Finish queued store work and stop the database thread. Copies of replies still
        under way are dropped: the next reconciliation makes what they would have."""
        self._closed = True
        for task in list(self._relays):
            task.cancel()
        self._db_thread.shutdown(wait=True)

    # ---- events ------------------------------------------------------------------------

    async def handle(self, event: InboundEvent) -> bool:
        """Apply a neutral event exactly once; False when ignored or already applied.

        Never raises for bad input: a malformed event is logged (WARNING) and skipped.
        Database failures propagate so the adapter does not acknowledge what was not stored.
        Events are applied in arrival order by one drain on the database thread, which takes
        every event queued meanwhile, so a burst pays one thread hand-over, not one each.
        """
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append((event, done))
        if not self._draining:
            self._draining = True
            loop.run_in_executor(self._db_thread, self._drain, loop)
        changed = await done
        self.applied += changed
        if changed and isinstance(event, (ReplyPosted, ReplyEdited, ReplyDeleted)):
            target = await self.db(self.store.find_message, event.platform, event.channel_id,
                                   event.message_id)
            if target is not None and target.kind == "reply" and not target.is_copy:
                if isinstance(event, ReplyPosted):
                    self._spawn(self.copy_replies(target.round_id))
                else:
                    self._spawn(self.update_copies(target.statement_id))
        return changed

    def _spawn(self, work) -> None:
        if self._closed:
            work.close()  # shutting down: reconciliation on the next start does it
            return
        task = asyncio.create_task(work)
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def update_copies(self, statement_id: int) -> None:
        """Make planbot's copies of a reply say what the reply says now: edited with it,
        deleted with it (or when its text became unreadable). A copy that cannot be
        updated is logged; the author's reply and its stances are unaffected."""
        reply = await self.db(self.store.copies_of, statement_id)
        text = translate("relay.copy", reply.language,
                         platform=(reply.platform or "").capitalize(), text=reply.text or "")
        for platform_name, workspace_id, channel_id, message_id in reply.copies:
            platform = self.platforms.get(platform_name)
            if platform is None:
                continue
            channel = ChannelRef(platform_name, workspace_id, channel_id)
            try:
                if reply.deleted or reply.text_withheld:
                    await platform.delete_copy(channel, message_id)
                    await self.db(self.store.delete_message, event_key=None,
                                  platform=platform_name, channel_id=channel_id,
                                  message_id=message_id, at=self.clock.now())
                else:
                    await platform.edit_copy(channel, message_id, text)
            except Exception:  # noqa: BLE001 - one copy's failure must not stop the others
                _log.warning("could not update copy %s on %s", message_id, platform_name,
                             exc_info=True)

    async def copy_replies(self, round_id: int, only_platform: str | None = None) -> int:
        """Copy each reply of a round into its section's thread in every channel of the
        round where it is not yet (other platforms included), recorded as the same
        statement, so that everyone can read every reply and take a stance on it.

        Run after each new reply, when a channel joins the round, and by reconciliation
        (``only_platform``): a copy missed while a platform was away is made when it is
        back. A channel whose platform is not connected, or whose post fails, is skipped
        until the next pass. One pass at a time; returns the number of copies posted.
        """
        posted_count = 0
        async with self._copy_lock:
            for missing in await self.db(self.store.copies_missing, round_id):
                statement_id = missing.statement_id
                copy = translate("relay.copy", missing.language,
                                 platform=(missing.origin or "").capitalize(),
                                 text=missing.text or "")
                for platform_name, workspace_id, channel_id, thread_id in missing.threads:
                    platform = self.platforms.get(platform_name)
                    if platform is None or (only_platform and platform_name != only_platform):
                        continue
                    try:
                        posted = await platform.post_copy(
                            ChannelRef(platform_name, workspace_id, channel_id), thread_id, copy)
                    except Exception:  # noqa: BLE001 - the next pass tries again
                        _log.warning("could not copy statement %s to %s %s", statement_id,
                                     platform_name, channel_id, exc_info=True)
                        continue
                    await self.db(self.store.record_messages, statement_id, [
                        (posted.channel.platform, posted.channel.workspace_id,
                         posted.channel.channel_id, posted.message_id, posted.thread_id,
                         posted.part)], is_copy=True)
                    posted_count += 1
        return posted_count

    async def settle_relays(self) -> None:
        """Wait until every reply copy under way is posted (tests, the demo, shutdown)."""
        while self._relays:
            await asyncio.gather(*list(self._relays), return_exceptions=True)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the database thread: apply queued events in order, handing results back to
        the loop in chunks; the loop decides whether to drain again (no lost wake-up)."""
        results: list[tuple[asyncio.Future, bool | None, BaseException | None]] = []
        while self._pending:
            event, done = self._pending.popleft()
            try:
                results.append((done, self._apply_safely(event), None))
            except Exception as err:  # noqa: BLE001 - handed to the awaiting adapter
                results.append((done, None, err))
            if len(results) >= DRAIN_CHUNK:
                loop.call_soon_threadsafe(_deliver, results)
                results = []
        loop.call_soon_threadsafe(self._drained, loop, results)

    def _drained(self, loop: asyncio.AbstractEventLoop, results: list) -> None:
        _deliver(results)
        if self._pending:
            loop.run_in_executor(self._db_thread, self._drain, loop)
        else:
            self._draining = False

    def _apply_safely(self, event: InboundEvent) -> bool:
        """Apply one event on the database thread; bad input is logged and skipped.

        A unique key refusing our write means another process wrote the same rows
        meanwhile: applying again against the new state makes a true duplicate a no-op
        and keeps a different change (👎 racing 👍)."""
        name = type(event).__name__
        try:
            try:
                return self.applier.apply(event)
            except IntegrityError:
                return self.applier.apply(event)
        except IntegrityError:
            _log.info("skipped %s already applied concurrently", name)
        except (AttributeError, TypeError, ValueError, KeyError, OverflowError,
                DataError) as err:
            _log.warning("skipped malformed %s: %s", name, err)
        except StatementError as err:
            if isinstance(err, DBAPIError):
                raise  # the database failed: the adapter must not acknowledge
            _log.warning("skipped malformed %s: %s", name, err)
        return False

    async def reconcile(self, platform: ChatPlatform) -> ReconcileReport:
        """Compare every open round on ``platform`` with the platform's state and apply what
        was missed, tagged backfill (see :class:`bot.reconcile.Reconciler`)."""
        return await self.reconciler.run(platform)

    async def close_round(self, round_id: int) -> bool:
        """Close an open round so its events stop counting; False if it was not open."""
        closed = await self.db(self.store.close_round, round_id, self.clock.now())
        self.applier.forget_targets()
        return closed

    # ---- commands ----------------------------------------------------------------------

    def is_facilitator(self, cmd: CommandInvoked) -> bool:
        """Manage Server, a configured role or user group, or a configured user id."""
        allowed = self.settings.facilitator_ids
        return cmd.is_admin or cmd.actor.user_id in allowed or bool(cmd.roles & allowed)

    async def run_command(self, cmd: CommandInvoked, platform: ChatPlatform) -> CommandReply:
        """Run a facilitator command; every user error becomes a reply in the user's language.

        The adapter must acknowledge the interaction before awaiting this: opening a round
        posts every section and may wait on rate limits.
        """
        lang = language_of(cmd.locale, self.settings.language)
        try:
            if cmd.action not in ACTIONS:
                raise BadArgument("error.unknown_action", action=cmd.action)
            if cmd.action in FACILITATOR_ACTIONS and not self.is_facilitator(cmd):
                raise NotAllowed("error.not_facilitator")
            handler = getattr(self, f"_cmd_{cmd.action}")
            return await handler(cmd, platform, lang)
        except PlanbotError as err:
            return CommandReply(err.message(lang))

    async def _cmd_help(self, cmd, platform, lang) -> CommandReply:
        return CommandReply(translate("help.text", lang))

    async def _cmd_plans(self, cmd, platform, lang) -> CommandReply:
        plans = await self.db(self.store.list_plans)
        if not plans:
            return CommandReply(translate("plans.none", lang))
        lines = [translate("plans.header", lang)] + [
            f"• `{p.slug}` (v{p.version}) — {p.titles.get(lang) or next(iter(p.titles.values()))}"
            for p in plans]
        return CommandReply("\n".join(lines))

    def parse_closes(self, text: str | None) -> datetime | None:
        """``7d``/``36h`` from now, or an ISO date (end of that day in the configured zone) or
        datetime. Raises ``BadArgument`` for anything else or a time already past."""
        if not text:
            return None
        now = self.clock.now()
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
                parsed = parsed.replace(tzinfo=self.settings.timezone)
            closes = parsed
        if closes <= now:
            raise BadArgument("error.closes_past", value=text)
        return closes

    async def open_round(self, *, plan: str, channel: ChannelRef, platform: ChatPlatform,
                         sections: list[str] | None = None, closes: str | None = None,
                         language: str | None = None) -> tuple[int, int, int]:
        """Open (or join) the round of ``plan`` in ``channel`` and post its missing sections.

        An open round over the same plan is reused, so one round can span Discord and Slack,
        and re-running the same open posts nothing twice. Returns (round id, sections posted
        now, sections already there). Raises ``NotFound``, ``BadArgument``, ``Conflict``.
        """
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
        # One lock per plan: rounds are shared across channels, so two opens of one plan
        # (even on two platforms) must not both create a round.
        lock = self._open_locks.setdefault(plan, asyncio.Lock())
        async with lock:
            round_id = await self.db(self.store.open_round_for_plan, plan)
            if round_id is None:
                chosen = [s for s in version.sections if not wanted or s.key in wanted]
                lang = language or version.languages[0]
                try:
                    round_id = await self.db(
                        self.store.create_round, name=version.titles.get(lang) or plan,
                        language=lang, plan_version_id=version.version_id,
                        section_ids=[s.section_id for s in chosen], opened_at=self.clock.now(),
                        closes_at=closes_at)
                    _log.info("opened round %s over plan %s", round_id, plan)
                except IntegrityError:
                    # Another process opened this plan at the same moment: join its round.
                    round_id = await self.db(self.store.open_round_for_plan, plan)
                    await self._check_join(round_id, wanted, language, closes_at)
            else:
                await self._check_join(round_id, wanted, language, closes_at)
            await self.db(self.store.add_round_channel, round_id, channel.platform,
                          channel.workspace_id, channel.channel_id)
            rnd = await self.db(self.store.get_round, round_id)
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
            if posted:
                self._spawn(self.copy_replies(round_id))  # replies written before it joined
            return round_id, posted, len(statements) - posted

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
        if wanted:
            present = {s.section_key for s in await self.db(self.store.round_sections, round_id)}
            if not set(wanted) <= present:
                raise Conflict("error.round_open_other_sections", round=round_id)
        if language and language != rnd.language:
            raise Conflict("error.round_other_language", round=round_id, current=rnd.language)
        # "closes=7d" run again a few minutes later means the same date (a facilitator
        # re-running a command as told): only a different date is refused.
        if closes_at and (rnd.closes_at is None
                          or abs(closes_at - rnd.closes_at) > CLOSES_TOLERANCE):
            when = rnd.closes_at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M") \
                if rnd.closes_at else "—"
            raise Conflict("error.round_other_closes", round=round_id, closes=when)

    async def _cmd_open(self, cmd: CommandInvoked, platform, lang) -> CommandReply:
        plan = cmd.args.get("plan", "").strip()
        if not plan:
            raise BadArgument("error.plan_required")
        channel = ChannelRef(cmd.platform, cmd.workspace_id,
                             cmd.args.get("channel") or cmd.channel_id)
        sections = None
        if "sections" in cmd.args:
            sections = [k.strip() for k in cmd.args["sections"].split(",") if k.strip()]
            if not sections:
                raise BadArgument("error.no_sections_given")
        round_id, posted, already = await self.open_round(
            plan=plan, channel=channel, platform=platform, sections=sections,
            closes=cmd.args.get("closes"), language=cmd.args.get("language") or None)
        if posted == 0:
            return CommandReply(translate_plural("round.already_posted", already, lang,
                                                 round=round_id))
        return CommandReply(translate_plural("round.opened", posted, lang, round=round_id))

    async def _round_arg(self, cmd: CommandInvoked, *, open_only: bool) -> int:
        raw = cmd.args.get("round", "").strip().lstrip("#")
        if raw:
            if not (raw.isascii() and raw.isdigit()) or int(raw) > 2**31 - 1:
                raise BadArgument("error.bad_round", value=raw)
            rnd = await self.db(self.store.get_round, int(raw))
            if rnd is None:
                raise NotFound("error.no_round", round=raw)
            return rnd.id
        round_id = await self.db(self.store.round_for_channel, cmd.platform, cmd.channel_id,
                                 open_only=open_only)
        if round_id is None:
            latest = await self.db(self.store.round_for_channel, cmd.platform, cmd.channel_id,
                                   open_only=False)
            if open_only and latest is not None:
                raise Conflict("error.round_closed", round=latest)
            raise NotFound("error.no_round_here")
        return round_id

    async def _cmd_close(self, cmd, platform, lang) -> CommandReply:
        round_id = await self._round_arg(cmd, open_only=True)
        if not await self.close_round(round_id):
            raise Conflict("error.round_closed", round=round_id)
        if self.digest_publisher is not None:
            await self.digest_publisher(round_id, "final")
        return CommandReply(translate("round.closed", lang, round=round_id))

    async def _cmd_status(self, cmd, platform, lang) -> CommandReply:
        round_id = await self._round_arg(cmd, open_only=False)
        rnd = await self.db(self.store.get_round, round_id)
        counts = await self.db(self.store.statement_counts, round_id)
        people = await self.db(self.store.participation, round_id)
        closes = rnd.closes_at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M") \
            if rnd.closes_at else "—"
        return CommandReply(translate(
            "round.status", lang, round=rnd.id, name=rnd.name,
            status=translate(f"round.state_{rnd.status}", lang), closes=closes,
            sections=translate_plural("count.sections", sum(
                1 for c in counts if c.kind == "section"), lang),
            replies=translate_plural("count.replies", sum(
                1 for c in counts if c.kind == "reply" and c.deleted_at is None), lang),
            stances=translate_plural("count.stances", sum(
                c.agree + c.disagree + c.passes for c in counts), lang),
            participants=translate_plural("count.participants", people.total, lang)))

    async def _cmd_digest(self, cmd, platform, lang) -> CommandReply:
        round_id = await self._round_arg(cmd, open_only=False)
        if self.digest_publisher is None:
            raise Conflict("error.digest_unavailable")
        channel = ChannelRef(cmd.platform, cmd.workspace_id, cmd.channel_id)
        result = await self.digest_publisher(round_id, "on_demand", platform, channel)
        if result.digest_id is None:
            return CommandReply(translate("digest.just_posted", lang, round=round_id))
        return CommandReply(translate("digest.posted", lang, round=round_id))

