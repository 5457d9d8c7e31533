"""The reply relay: planbot's copies of each reply in the round's other channels.

A reply written on Discord is copied (by the bot, marked with its author's display name and its
origin, its text inert: :func:`copy_text`) into the same
section's thread on Slack and in every other channel of the round, and recorded as the same
statement, so everyone can read every reply and take a stance on it, as in Polis
(docs/decisions.md, "Why replies are copied"). Copies follow the author's edits and
deletions. A copy that cannot be made now is made by the next pass or by reconciliation.
A copy never outlives its reply: one posted while its reply was being erased, deleted or
rejected, here or in another process, is deleted as soon as it is recorded; one the store
could not record (the store briefly unavailable) is deleted at once, and made again by a later
pass (docs/decisions.md, "A copy never outlives its reply").

What planbot amplifies is limited per person: past ``COPY_LIMIT`` replies in
``COPY_LIMIT_WINDOW`` (``copy_limit``), a person's further replies are stored and counted as
usual but not copied to the other channels (``/round status`` tells facilitators how many),
so one person's flood stays in the thread where it was written. Copying one new reply reads
only that reply, its section's threads and its author's recent replies: its cost does not
grow with the round (``bench/bench_relay.py``).

An anonymous proposal (``bot.proposals``) has no message of its author's: the same passes
post it in every channel of the round, as planbot, without the author's name, with the Vote
button and the seed reactions a section has. The copy limit does not hold one back: it has
no other place to be read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.events import InboundEvent, ProposalSubmitted, ReplyDeleted, ReplyEdited, ReplyPosted
from bot.i18n import translate
from bot.intake import RunInDb
from bot.markup import inert
from bot.platform import ChannelRef, ChatPlatform, PostedMessage, ProposalPost, VoteOn
from storage.db import failure_kind
from storage.records import CopyMessage, MissingCopy
from storage.store import Store

_log = logging.getLogger(__name__)


class Relay:
    """Copies replies across the channels and platforms of a round.

    ``platforms`` is the live registry of connected adapters (name -> ``ChatPlatform``),
    shared with the digest publisher and the reconciler; a platform missing from it is
    skipped until it is there. ``db`` runs store calls on the database thread.
    ``copy_limit`` is (replies, window): at most that many of one person's replies copied in
    any such window; None copies everything. ``seeds`` are the stance reactions a proposal
    is seeded with (the settings' stance map's).
    """

    def __init__(self, store: Store, clock: Clock, db: RunInDb,
                 platforms: Mapping[str, ChatPlatform],
                 copy_limit: tuple[int, timedelta] | None = None,
                 seeds: tuple[str, ...] = ()) -> None:
        self.store = store
        self.seeds = seeds
        self.clock = clock
        self.db = db
        self.platforms = platforms
        self.copy_limit = copy_limit
        self._closed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._copy_lock = asyncio.Lock()
        self.unrecorded = UnrecordedCopies()

    async def follow(self, event: InboundEvent) -> None:
        """After ``event`` changed the store: a new reply is copied, an edited or deleted
        one has its copies updated, in the background (:meth:`settle` waits for them).
        A new proposal is posted. Copies themselves and other events start nothing."""
        if isinstance(event, ProposalSubmitted):
            self.spawn(self.copy_replies(event.round_id))
            return
        if not isinstance(event, (ReplyPosted, ReplyEdited, ReplyDeleted)):
            return
        target = await self.db(self.store.find_message, event.platform, event.channel_id,
                               event.message_id)
        if target is None or target.kind != "reply" or target.is_copy:
            return
        if isinstance(event, ReplyPosted):
            self.spawn(self.copy_replies(target.round_id, statement_id=target.statement_id))
        else:
            self.spawn(self.update_copies(target.statement_id))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background; dropped once closing (the next start's
        reconciliation makes those copies)."""
        if self._closed:
            work.close()
            return
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until every copy under way is posted (tests, the demo, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Start nothing more and cancel the copies under way."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()

    async def update_copies(self, statement_id: int) -> None:
        """Make planbot's copies of a reply say what the reply says now: edited with it,
        deleted with it (or when its text became unreadable, or a facilitator rejected it).
        A reply pending moderation (an edit under strict moderation) keeps its copies as
        they were accepted until a facilitator accepts the new text (:meth:`publish`). A
        copy that cannot be updated is logged; the author's reply and its stances are
        unaffected.

        The reply is read again from the store after each edit: erased, deleted or rejected
        meanwhile (in this process or another, whose deletions may not reach this platform),
        the copy just edited and those left are deleted instead, so an edit under way never
        leaves the erased text up."""
        reply = await self.db(self.store.copies_of, statement_id)
        if reply.moderation == "pending" and not reply.gone:
            return
        names = await self.db(self.store.author_names, [statement_id])
        text = copy_text(reply.language, reply.platform, names.get(statement_id), reply.text)
        for copy in reply.copies:
            platform = self.platforms.get(copy.platform)
            if platform is None:
                continue
            channel = ChannelRef(copy.platform, copy.workspace_id, copy.channel_id)
            if not reply.gone:
                try:
                    await platform.edit_copy(channel, copy.message_id, text)
                except Exception:  # noqa: BLE001 - one copy's failure must not stop the others
                    _log.warning("could not update copy %s on %s", copy.message_id,
                                 copy.platform, exc_info=True)
                reply = await self.db(self.store.copies_of, statement_id)
            # Only a copy still recorded as up: one the erasure deleted meanwhile is not
            # asked for twice.
            if reply.gone and copy in reply.copies:
                await withdraw_copy(self.store, self.db, platform, copy, self.clock.now())

    async def publish(self, round_id: int, statement_id: int) -> None:
        """A reply a facilitator accepted: its copies made to say its text (an edit that
        waited), then copied where it is not yet."""
        await self.update_copies(statement_id)
        await self.copy_replies(round_id, statement_id=statement_id)

    async def copy_replies(self, round_id: int, only_platform: str | None = None,
                           statement_id: int | None = None) -> int:
        """Copy each reply of a round (only reply ``statement_id`` if given) into its
        section's thread in every channel of the round where it is not yet (other platforms
        included), recorded as the same statement; a reply over its author's copy limit is
        held back instead.

        Run for each new reply (``statement_id``), when a channel joins the round, and by
        reconciliation (``only_platform``): a copy missed while a platform was away is made
        when it is back. A channel whose platform is not connected, or whose post fails, is
        skipped until the next pass. A round-wide pass first deletes the copies left up of
        replies that are gone (:meth:`withdraw_stale`); a copy whose reply is gone by the time
        it is posted is deleted at once (:meth:`_post`). One pass at a time; returns the
        number of copies posted (and left up).
        """
        posted_count = 0
        rnd = await self.db(self.store.get_round, round_id)
        mode = rnd.stance_mode if rnd is not None else "reactions"
        async with self._copy_lock:
            await self.unrecorded.retry(self.platforms)
            if statement_id is None:
                await self.withdraw_stale(round_id, only_platform)
            pending = await self.db(self.store.copies_missing, round_id, statement_id)
            # A proposal's author is never looked up: nothing posted may name them.
            names = await self.db(self.store.author_names,
                                  [m.statement_id for m in pending if not m.proposal])
            for missing in pending:
                if not missing.proposal and self.copy_limit is not None and await self.db(
                        self.store.hold_back_if_over, missing.statement_id, *self.copy_limit):
                    _log.debug("reply %s held back by the copy limit", missing.statement_id)
                    continue
                copy = copy_text(missing.language, missing.origin,
                                 names.get(missing.statement_id), missing.text)
                for platform_name, workspace_id, channel_id, thread_id in missing.threads:
                    platform = self.platforms.get(platform_name)
                    if platform is None or (only_platform and platform_name != only_platform):
                        continue
                    channel = ChannelRef(platform_name, workspace_id, channel_id)
                    posted_count += await self._post(platform, channel, thread_id, missing,
                                                     mode, copy)
        return posted_count

    async def _post(self, platform: ChatPlatform, channel: ChannelRef, thread_id: str,
                    missing: MissingCopy, mode: str, copy: str) -> int:
        """Post one reply's copy (or one proposal) in one thread and record it; 1 if posted,
        0 if the platform failed (logged: the next pass tries again) or if the reply is gone
        (erased, deleted, withheld or rejected) before the post, not posted, or by the time
        the copy is recorded, then deleted at once; 0 too if the store failed to record it
        (deleted at once, or by a later pass: :class:`UnrecordedCopies`), or while a copy of
        the same reply left up unrecorded in this thread is still to be deleted."""
        reply_id = missing.statement_id
        # Asked of the store right before each post, not remembered from the pass's start:
        # the reply may have been erased, deleted or rejected since, by another process too.
        if self.unrecorded.holds(reply_id, channel.platform, thread_id) or not await self.db(
                self.store.reply_stands, reply_id):
            return 0
        vote_on = VoteOn(reply_id, missing.language) if mode != "reactions" else None
        try:
            posted: PostedMessage
            if missing.proposal:
                posted = await platform.post_proposal(channel, thread_id, ProposalPost(
                    proposal_text(missing.language, missing.text),
                    () if mode == "private" else self.seeds, vote_on))
            else:
                posted = await platform.post_copy(channel, thread_id, copy, vote_on=vote_on)
        except Exception:  # noqa: BLE001 - the next pass tries again
            _log.warning("could not copy statement %s to %s %s", reply_id,
                         channel.platform, channel.channel_id, exc_info=True)
            return 0
        made = CopyMessage(posted.channel.platform, posted.channel.workspace_id,
                           posted.channel.channel_id, posted.message_id)
        try:
            stands = await self.db(self.store.record_copy, reply_id, (*made, posted.thread_id, posted.part))
        except Exception as error:  # noqa: BLE001 - the other channels are still owed theirs
            # In no table, no erasure nor reconciliation could ever find it.
            await self.unrecorded.withdraw(platform, (reply_id, channel.platform, thread_id), made, error)
            return 0
        if stands:
            return 1
        # Gone while the post was under way (an erasure read the copies recorded before
        # this one): the copy must not stay up with its text.
        await withdraw_copy(self.store, self.db, platform, made, self.clock.now())
        return 0

    async def withdraw_stale(self, round_id: int, only_platform: str | None = None) -> None:
        """Delete the copies still up of the round's replies that are gone (erased, deleted,
        withheld, rejected) on the connected platforms (only ``only_platform`` if given): a
        deletion that failed, was cut short by a stop, or was asked of a process where the
        platform was not connected (an erasure's copies left)."""
        for name, platform in list(self.platforms.items()):
            if only_platform and name != only_platform:
                continue
            for copy in await self.db(self.store.stale_copies, round_id, name):
                await withdraw_copy(self.store, self.db, platform, copy, self.clock.now())


class UnrecordedCopies:
    """planbot's copies up on a platform that the store failed to record (SQLite locked past
    its busy timeout, a PostgreSQL connection lost) and that could not be deleted at once
    either: in no table, no erasure nor reconciliation can find them, so this process keeps
    them in memory, keyed by (reply's statement id, platform name, section thread id), and
    deletes them at the start of the next pass (:meth:`retry`). A stop before then loses
    them: the error logged says so, for an operator to delete the copy by hand."""

    def __init__(self) -> None:
        self._left: dict[tuple[int, str, str], CopyMessage] = {}

    def holds(self, statement_id: int, platform: str, thread_id: str) -> bool:
        """Whether a copy of reply ``statement_id`` is left up unrecorded in that thread: no
        other is posted there until it is deleted, so the thread never shows two."""
        return (statement_id, platform, thread_id) in self._left

    async def withdraw(self, platform: ChatPlatform, key: tuple[int, str, str],
                       copy: CopyMessage, error: Exception) -> None:
        """Delete ``copy``, just posted on ``platform``, whose recording raised ``error``;
        kept for :meth:`retry` under ``key`` if the platform refuses. Logs neither ids nor
        text above DEBUG."""
        _log.warning("the store could not record a copy just posted on %s (%s, %s): deleting "
                     "it, a later pass copies the reply again", copy.platform,
                     failure_kind(error), type(error).__name__)
        if await _delete_copy(platform, copy):
            return
        self._left[key] = copy
        _log.error("a copy of a reply is up on %s, unrecorded: deleted at the next pass; if "
                   "planbot stops before, delete it by hand (its ids are logged at DEBUG)",
                   copy.platform)
        _log.debug("unrecorded copy left up: %s", copy)

    async def retry(self, platforms: Mapping[str, ChatPlatform]) -> None:
        """Delete the copies left up on the connected ``platforms``; those still refused are
        kept for the next pass."""
        for key, copy in list(self._left.items()):
            platform = platforms.get(copy.platform)
            if platform is not None and await _delete_copy(platform, copy):
                del self._left[key]
                _log.warning("deleted a copy left up unrecorded on %s", copy.platform)


async def _delete_copy(platform: ChatPlatform, copy: CopyMessage) -> bool:
    """Delete ``copy`` on ``platform``; False (logged) if the platform refused."""
    try:
        await platform.delete_copy(ChannelRef(copy.platform, copy.workspace_id,
                                              copy.channel_id), copy.message_id)
    except Exception:  # noqa: BLE001 - kept and retried by the caller
        _log.warning("could not delete a copy of a reply on %s", copy.platform, exc_info=True)
        return False
    return True


async def withdraw_copy(store: Store, db: RunInDb, platform: ChatPlatform, copy: CopyMessage,
                        at: datetime) -> None:
    """Delete planbot's ``copy`` on ``platform`` and mark it deleted at ``at``. A platform
    that refuses is logged and the copy stays recorded as up, for the next round-wide pass
    to delete (:meth:`Relay.withdraw_stale`)."""
    try:
        await platform.delete_copy(ChannelRef(copy.platform, copy.workspace_id,
                                              copy.channel_id), copy.message_id)
    except Exception:  # noqa: BLE001 - retried by the next round-wide pass
        _log.warning("could not delete a copy of a reply that is gone on %s", copy.platform,
                     exc_info=True)
        return
    await db(store.delete_message, event_key=None, platform=copy.platform,
             channel_id=copy.channel_id, message_id=copy.message_id, at=at)


def copy_text(language: str, origin: str | None, author: str | None, text: str | None) -> str:
    """What a copy of a reply says, as Markdown: whose reply it is (the author's display name,
    or "a participant") and on which platform, then the reply's text made inert
    (``bot.markup.inert``), so a copy never reads as planbot speaking and never turns the
    reply's link syntax into a live link, on the platform it is copied to."""
    who = author.strip() if author and author.strip() else translate("relay.someone", language)
    return translate("relay.copy", language, author=inert(" ".join(who.split())),
                     platform=(origin or "").capitalize(), text=inert(text or ""))


def proposal_text(language: str, text: str | None) -> str:
    """What planbot posts for an anonymous proposal, as Markdown: a heading saying it is an
    anonymous proposal ("Proposition anonyme"), then its text made inert
    (``bot.markup.inert``); no name, id or platform of its author."""
    return translate("proposal.posted", language, text=inert(text or ""))
