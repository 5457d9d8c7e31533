"""Reconciliation after downtime: read platform state, apply what the store missed.

python-discord/bot's ``_syncers.py`` pattern: compute the difference between what the
platform holds and what the store holds, then apply only the difference, as ordinary neutral
events tagged ``backfill``. Applying events is idempotent, so running this twice, or while
live events arrive, changes nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot.apply import clean_text
from bot.clock import Clock
from bot.events import (
    Actor,
    Emoji,
    InboundEvent,
    ReactionAdded,
    ReplyDeleted,
    ReplyEdited,
)
from bot.identity import Pseudonymizer
from bot.intake import RunInDb
from bot.opening import SectionPoster
from bot.platform import ChannelRef, ChatPlatform, ReactionState, SectionPost
from bot.stances import emoji_key
from storage.records import PresentReaction, RoundMessage
from storage.store import Store

_log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    """Counts of what one reconciliation applied."""

    rounds: int = 0
    replies_added: int = 0
    replies_edited: int = 0
    replies_deleted: int = 0
    reactions_added: int = 0
    reactions_removed: int = 0
    copies_posted: int = 0
    sections_finished: int = 0


def _order(message_id: str) -> Decimal:
    """Discord snowflakes and Slack ``ts`` values both sort as numbers."""
    try:
        return Decimal(message_id)
    except InvalidOperation:
        return Decimal(0)


class Reconciler:
    """Brings the store level with one platform for every open round posted there.

    ``handle`` applies a neutral event exactly once (:meth:`bot.intake.Intake.handle`);
    ``copy_replies(round_id, platform_name)`` posts the copies a platform is owed
    (:meth:`bot.relay.Relay.copy_replies`); ``platforms`` is the core's registry of connected
    adapters; ``db`` runs store calls on the database thread; ``sections`` finishes a
    section left without its thread or a seed reaction.
    """

    def __init__(self, store: Store, clock: Clock, db: RunInDb, pseudonyms: Pseudonymizer,
                 handle: Callable[[InboundEvent], Awaitable[bool]],
                 copy_replies: Callable[[int, str], Awaitable[int]],
                 platforms: dict[str, ChatPlatform], sections: SectionPoster) -> None:
        self.store = store
        self.clock = clock
        self.db = db
        self.pseudonyms = pseudonyms
        self.handle = handle
        self.copy_replies = copy_replies
        self.platforms = platforms
        self.sections = sections

    async def run(self, platform: ChatPlatform) -> ReconcileReport:
        """Reconcile every open round on ``platform``: replies, reactions (a section's first
        part missing its thread or one of planbot's seed reactions is finished), then the
        copies of replies this platform's channels are owed. Platform errors on one message are
        logged and the rest goes on (the next reconciliation retries)."""
        report = ReconcileReport()
        # The platform being read is connected: copies owed to it can be made now.
        self.platforms.setdefault(platform.name, platform)
        for rnd in await self.db(self.store.rounds, "open"):
            if not any(c.platform == platform.name for c in rnd.channels):
                continue
            report.rounds += 1
            await self._replies(platform, rnd.id, report)
            await self._reactions(platform, rnd.id, report)
            report.copies_posted += await self.copy_replies(rnd.id, platform.name)
        _log.info("reconciled %s: %s", platform.name, report)
        return report

    async def _replies(self, platform: ChatPlatform, round_id: int,
                       report: ReconcileReport) -> None:
        """Read every section thread in full and apply the difference: replies posted,
        edited or deleted while planbot was away. A thread whose history cannot be read is
        skipped whole, so a partial read never passes for deletions."""
        messages = await self.db(self.store.round_messages, round_id, platform.name,
                                 include_deleted=True)
        now = self.clock.now()
        for root in messages:
            thread, ws = root.thread_id, root.workspace_id
            if root.kind != "section" or root.part != 0 or thread is None:
                continue
            known = await self.db(self.store.thread_replies, platform.name, thread)
            try:
                replies = await platform.fetch_replies(
                    ChannelRef(platform.name, ws, root.channel_id), thread, None)
            except Exception as err:  # noqa: BLE001 - one failure must not stop the pass
                _log.warning("could not read thread %s on %s: %s", thread, platform.name, err)
                continue
            for reply in replies:
                if reply.message_id not in known:
                    report.replies_added += await self.handle(reply)
                    continue
                files_only = not reply.text.strip() and bool(reply.attachments)
                if not reply.text_withheld and not files_only and \
                        clean_text(reply.text) != known[reply.message_id].text:
                    # Dated by the platform: the edit happened while planbot was away.
                    report.replies_edited += await self.handle(ReplyEdited(
                        platform=platform.name, workspace_id=ws, channel_id=reply.channel_id,
                        occurred_at=reply.edited_at or now, backfill=True, message_id=reply.message_id,
                        text=reply.text))
            for message_id in sorted(set(known) - {r.message_id for r in replies}, key=_order):
                report.replies_deleted += await self.handle(ReplyDeleted(
                    platform=platform.name, workspace_id=ws,
                    channel_id=known[message_id].channel_id,
                    occurred_at=now, backfill=True, message_id=message_id))

    async def _reactions(self, platform: ChatPlatform, round_id: int,
                         report: ReconcileReport) -> None:
        store = self.store
        now = self.clock.now()
        seen: dict[int, set[PresentReaction]] = {}
        raw: dict[tuple[int, str, str], tuple[str, Emoji, str, str, str]] = {}
        # A section whose first message was deleted here keeps its tallies as they were:
        # its other parts, if any, must not pass for the whole section's reactions.
        removed = await self.db(store.removed_sections, round_id)
        messages = [m for m in await self.db(store.round_messages, round_id, platform.name)
                    if platform.name not in removed.get(m.statement_id, ())]
        posts = await self.sections.section_posts(round_id)
        # Read the store before the platform: a reaction that arrives live while the platform
        # is being read is in neither snapshot, so it is never withdrawn by mistake.
        before = {sid: await self.db(store.present_reactions_on, sid, platform.name)
                  for sid in {m.statement_id for m in messages}}
        for message in messages:
            sid, ws, chan, mid = (message.statement_id, message.workspace_id,
                                  message.channel_id, message.message_id)
            try:
                states = await platform.fetch_reactions(ChannelRef(platform.name, ws, chan), mid)
            except Exception as err:  # noqa: BLE001 - one failure must not stop the pass
                _log.warning("could not read reactions of %s on %s: %s", mid, platform.name, err)
                continue
            if message.kind == "section" and message.part == 0:
                report.sections_finished += await self._finish(platform, message, states, posts)
            bucket = seen.setdefault(sid, set())
            for state in states:
                key = emoji_key(state.emoji)
                for user in state.user_ids:
                    if user in state.bot_user_ids:
                        continue
                    pkey = self.pseudonyms.key(platform.name, user)
                    bucket.add(PresentReaction(pkey, key))
                    raw[(sid, pkey, key)] = (user, state.emoji, ws, chan, mid)
        for sid, on_platform in seen.items():
            in_store = before[sid]
            # Sorted, so which of several reactions becomes current does not depend on the
            # hash seed.
            for pkey, key in sorted(on_platform - in_store):
                user, emoji, ws, chan, mid = raw[(sid, pkey, key)]
                report.reactions_added += await self.handle(ReactionAdded(
                    platform=platform.name, workspace_id=ws, channel_id=chan, occurred_at=now,
                    backfill=True, actor=Actor(user), message_id=mid, emoji=emoji))
            for pkey, key in sorted(in_store - on_platform):
                report.reactions_removed += await self.db(
                    self._withdraw, sid, pkey, key, now)

    async def _finish(self, platform: ChatPlatform, message: RoundMessage,
                      states: list[ReactionState], posts: dict[int, SectionPost]) -> bool:
        """Finish a section's first part left without its thread (its thread state unknown)
        or without one of planbot's seed reactions (a moderator removed it, a run stopped
        while seeding); True if the platform was asked. A failure is logged: the next
        reconciliation tries again."""
        post = posts.get(message.statement_id)
        if post is None:
            return False
        mine = {emoji_key(s.emoji) for s in states if s.by_me}
        missing = any(emoji_key(Emoji(seed)) not in mine for seed in post.seed_emoji)
        channel = ChannelRef(platform.name, message.workspace_id, message.channel_id)
        try:
            return await self.sections.finish(channel, platform, message.message_id, post,
                                               force=missing)
        except Exception as err:  # noqa: BLE001 - one failure must not stop the pass
            _log.warning("could not finish section %s on %s: %s", post.key, platform.name,
                         platform.describe_failure(err) or type(err).__name__)
            return False

    def _withdraw(self, statement_id: int, participant_key: str, key: str,
                  now: datetime) -> bool:
        store = self.store
        pid = store.participant_by_key(participant_key)
        return pid is not None and store.remove_reactions(
            event_key=None, statement_id=statement_id, participant_id=pid, emoji_key=key, at=now,
            observed=True)
