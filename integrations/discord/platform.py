"""bot.platform.ChatPlatform on Discord, through discord.py's public models.

Channels are reached as ``PartialMessageable`` and messages as ``PartialMessage``, so nothing
depends on discord.py's caches (threads and messages older than the bot's uptime are not cached).
Everything is sent with mentions disabled: a section or digest quoting "@everyone" pings no one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import discord

from bot.events import ReplyPosted
from bot.platform import (
    ChannelRef,
    DigestPost,
    OnPosted,
    PostedMessage,
    ReactionState,
    SectionPost,
    VoteOn,
)
from bot.textsplit import one_message, split_text, split_under_heading
from integrations.discord.permissions import missing_permissions
from integrations.discord.proposals import ProposalPosting
from integrations.discord.translate import emoji_of, reply_posted
from integrations.discord.voting import sent as forget
from integrations.discord.voting import vote_button

_log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
THREAD_ALREADY_CREATED = 160004
"""Discord's JSON error code: "A thread has already been created for this message"."""
THREAD_ARCHIVED = 50083
"""Discord's JSON error code: "Operation cannot be performed on an archived thread"."""
"""Characters (code points) in one message's content (docs: resources/message#create-message)."""
THREAD_NAME_LIMIT = 100
"""Characters in a thread name (docs: resources/channel#start-thread-from-message)."""
NO_MENTIONS = discord.AllowedMentions.none()
T = TypeVar("T")


class DiscordPlatform(ProposalPosting):
    """The ChatPlatform the core drives on Discord; ``client`` is a logged-in discord.py client.

    Methods raise discord.py's ``HTTPException`` family on failures the library did not retry
    (429s are waited out and retried by discord.py itself).
    """

    name = "discord"

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, ref: ChannelRef, channel_id: str | None = None) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(
            int(channel_id or ref.channel_id), guild_id=int(ref.workspace_id)
        )

    async def post_section(self, channel: ChannelRef, section: SectionPost,
                           on_posted: OnPosted | None = None) -> list[PostedMessage]:
        """Post the section in parts of at most 2,000 characters (``on_posted`` awaited with
        them), the first holding the title and the start of the body, then start its thread
        from the first part and seed the stance reactions on it, in ``section.seed_emoji``
        order."""
        target = self._channel(channel)
        sent: list[discord.Message] = []
        posted: list[PostedMessage] = []
        parts = split_under_heading(f"## {section.title}", section.body, MESSAGE_LIMIT)
        for i, part in enumerate(parts):
            # The first part carries the Vote button, unless the round counts reactions only.
            view = vote_button(section.statement_id, section.language) \
                if i == 0 and section.stance_mode != "reactions" else None
            if view is None:
                sent.append(await target.send(part, allowed_mentions=NO_MENTIONS))
            else:
                sent.append(await target.send(part, allowed_mentions=NO_MENTIONS, view=view))
                forget(view)
            posted.append(PostedMessage(channel, str(sent[-1].id),
                                        str(sent[0].id) if i == 0 else None, i))
            if on_posted is not None:
                await on_posted(posted[-1:])  # each part recorded as soon as it is out
        first = sent[0]
        await first.create_thread(name=_thread_name(section.title))
        for emoji in section.seed_emoji:
            await first.add_reaction(emoji)
        return posted

    async def finish_section(self, channel: ChannelRef, message_id: str,
                             section: SectionPost) -> None:
        """Start the section's thread if it has none (Discord answers 160004 when it has
        one) and add the seed reactions (adding one already there changes nothing)."""
        first = self._channel(channel).get_partial_message(int(message_id))
        try:
            await first.create_thread(name=_thread_name(section.title))
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
        for emoji in section.seed_emoji:
            await first.add_reaction(emoji)

    async def post_copy(self, channel: ChannelRef, thread_id: str, text: str,
                        vote_on: VoteOn | None = None) -> PostedMessage:
        """A reply from elsewhere, copied into the section's thread (a reply lives in the
        thread, which is its channel on Discord), with a Vote button for ``vote_on`` (an
        edit of the content keeps it)."""
        if vote_on is None:
            message_id = await self.post_in_thread(channel, thread_id, text)
        else:
            view = vote_button(vote_on.statement_id, vote_on.language)
            message = await _unarchived(self.client, thread_id, lambda: self._channel(channel, thread_id).send(
                one_message(text, MESSAGE_LIMIT), allowed_mentions=NO_MENTIONS, view=view))
            forget(view)
            message_id = str(message.id)
        return PostedMessage(ChannelRef(channel.platform, channel.workspace_id, thread_id),
                             message_id, thread_id, 0)

    async def edit_copy(self, channel: ChannelRef, message_id: str, text: str) -> None:
        """Edit the bot's copy in place (``channel`` is the thread it lives in), in an
        archived thread too (:func:`_unarchived`). Raises ``discord.HTTPException``."""
        message = self._channel(channel).get_partial_message(int(message_id))
        content = one_message(text, MESSAGE_LIMIT)
        await _unarchived(self.client, channel.channel_id, lambda: message.edit(
            content=content, allowed_mentions=NO_MENTIONS))

    async def delete_copy(self, channel: ChannelRef, message_id: str) -> None:
        """Delete the bot's copy; one already gone (404) is fine."""
        with contextlib.suppress(discord.NotFound):
            await self._channel(channel).get_partial_message(int(message_id)).delete()

    async def post_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> str:
        """Post ``text`` (cut to the 2,000-character limit at a safe boundary) in the thread
        ``thread_id`` of ``channel`` as the bot, mentions disabled, unarchiving a locked
        archived thread first (:func:`_unarchived`); returns the message id."""
        message = await _unarchived(self.client, thread_id, lambda: self._channel(channel, thread_id).send(
            one_message(text, MESSAGE_LIMIT), allowed_mentions=NO_MENTIONS))
        return str(message.id)

    async def close_thread(self, channel: ChannelRef, thread_id: str, note: str) -> str:
        """Post ``note`` in the thread (a post unarchives an archived, unlocked thread), then
        archive and lock it: ``PATCH /channels/{thread}`` with ``archived`` and ``locked``,
        which needs Manage Threads (docs: resources/channel#modify-channel-json-params-thread).
        Raises ``discord.HTTPException`` (403 50013 without Manage Threads)."""
        await self.post_in_thread(channel, thread_id, note)
        await (await _thread(self.client, thread_id)).edit(archived=True, locked=True)
        return "locked"

    async def post_notice(self, channel: ChannelRef, text: str) -> list[PostedMessage]:
        """Post ``text`` in parts of at most 2,000 characters, mentions disabled."""
        target = self._channel(channel)
        posted = []
        for i, part in enumerate(split_text(text, MESSAGE_LIMIT)):
            message = await target.send(part, allowed_mentions=NO_MENTIONS)
            posted.append(PostedMessage(channel, str(message.id), None, i))
        return posted

    async def post_digest(self, channel: ChannelRef, digest: DigestPost) -> list[PostedMessage]:
        """Post each part (``content`` and/or ``embeds`` as Discord embed dicts); ``files`` go
        with the first part."""
        target = self._channel(channel)
        posted = []
        for i, part in enumerate(digest.parts):
            files = [discord.File(io.BytesIO(data), filename=name)
                     for name, data in digest.files.items()] if i == 0 else []
            message = await target.send(
                part.get("content") or None,
                embeds=[discord.Embed.from_dict(e) for e in part.get("embeds", [])],
                files=files,
                allowed_mentions=NO_MENTIONS,
            )
            posted.append(PostedMessage(channel, str(message.id), None, i))
        return posted

    async def fetch_reactions(self, channel: ChannelRef, message_id: str) -> list[ReactionState]:
        """Every reaction on the message and who holds it, normal and super-reactions,
        reading all pages of users."""
        message = await self._channel(channel).fetch_message(int(message_id))
        states = []
        for reaction in message.reactions:
            users = [u async for u in reaction.users(limit=None)]
            if reaction.burst_count:
                # Without ``type=1`` Discord lists only normal reactors (docs: resources/
                # message#get-reactions); a super-reaction is a stance all the same.
                users += [u async for u in reaction.users(limit=None,
                                                          type=discord.ReactionType.burst)]
            states.append(
                ReactionState(
                    emoji=emoji_of(reaction.emoji),
                    user_ids=tuple(str(u.id) for u in users),
                    bot_user_ids=tuple(str(u.id) for u in users if u.bot),
                    by_me=reaction.me,
                )
            )
        return states

    async def missing_permissions(self, channel: ChannelRef, lang: str) -> tuple[str, ...]:
        """See :func:`integrations.discord.permissions.missing_permissions`."""
        return await missing_permissions(self.client, channel.channel_id, lang)

    def describe_failure(self, error: Exception) -> str | None:
        """Discord's JSON error code and message (``50013 Missing Permissions``, docs:
        topics/opcodes-and-status-codes#json), else the HTTP status; a network failure by
        its kind; ``None`` for anything else."""
        if isinstance(error, discord.HTTPException):
            return f"{error.code} {error.text}".strip() if error.code else f"HTTP {error.status}"
        if isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
            return type(error).__name__
        return None

    async def fetch_replies(
        self, channel: ChannelRef, thread_id: str, after_message_id: str | None
    ) -> list[ReplyPosted]:
        """Replies in the thread after ``after_message_id``, oldest first, tagged backfill."""
        thread = self._channel(channel, thread_id)
        after = discord.Object(int(after_message_id)) if after_message_id else None
        content_intent = self.client.intents.message_content
        me = self.client.user.id if self.client.user else 0
        replies = []
        async for message in thread.history(limit=None, after=after, oldest_first=True):
            event = reply_posted(message, me=me, content_intent=content_intent, backfill=True)
            if event is not None:
                replies.append(event)
        return replies


async def _thread(client: discord.Client, thread_id: str) -> discord.Thread:
    """The thread as Discord has it now (``GET /channels/{id}``); raises ``TypeError``
    for a channel that is not a thread."""
    thread = await client.fetch_channel(int(thread_id))
    if not isinstance(thread, discord.Thread):
        raise TypeError(f"channel {thread_id} is not a thread")
    return thread


async def _unarchived(client: discord.Client, thread_id: str, send: Callable[[], Awaitable[T]]) -> T:
    """``send()`` in the thread ``thread_id``. An archived thread refuses edits, and posts
    too once locked (400 50083, docs: topics/threads, "Archiving & unarchiving"): the thread
    is then unarchived (``PATCH /channels/{thread}``, ``archived: false``; a lock stays, and
    planbot's Manage Threads lets it post there) and ``send()`` run again. Raises
    ``discord.HTTPException`` (403 50013 without Manage Threads)."""
    try:
        return await send()
    except discord.HTTPException as exc:
        if exc.code != THREAD_ARCHIVED:
            raise
    await (await _thread(client, thread_id)).edit(archived=False)
    return await send()


def _thread_name(title: str) -> str:
    name = " ".join(title.split()) or "discussion"
    return name if len(name) <= THREAD_NAME_LIMIT else split_text(name, THREAD_NAME_LIMIT - 1)[0] + "…"
