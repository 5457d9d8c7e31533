"""Raw discord.py gateway payloads -> planbot's neutral events (bot.events).

Only translation happens here; the core decides what counts. Identity rules (bot/events.py):
a reply's ``channel_id`` is the channel the message lives in, which on Discord is the thread
itself, and its ``thread_id`` is that thread's id (= the id of the section message it was started
from, docs: topics/threads). Reactions carry the channel of the message they are on.

Discord gives reaction events no timestamp, so ``now`` (the core's clock) dates them.
"""

from __future__ import annotations

from datetime import datetime

import discord

from bot.events import (
    Actor,
    Emoji,
    ReactionAdded,
    ReactionRemoved,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
    ThreadStateChanged,
)

PLATFORM = "discord"
REPLY_TYPES = (discord.MessageType.default, discord.MessageType.reply)
"""Message types that are someone's reply; thread starters, joins, pins... are not."""


def emoji_of(emoji: discord.PartialEmoji | discord.Emoji | str) -> Emoji:
    """A neutral emoji: Unicode name, or custom name plus id (matched by id: admins rename)."""
    if isinstance(emoji, str):
        return Emoji(emoji)
    if emoji.id is None:
        return Emoji(emoji.name or "")
    return Emoji(emoji.name or "", str(emoji.id))


def _actor(user_id: int, member: discord.Member | None, me: int) -> Actor:
    if member is not None:
        return Actor(str(user_id), member.display_name, member.bot or user_id == me)
    return Actor(str(user_id), None, user_id == me)


def reaction_added(payload: discord.RawReactionActionEvent, *, me: int, now: datetime) -> ReactionAdded | None:
    """MESSAGE_REACTION_ADD; ``None`` outside guilds."""
    if payload.guild_id is None:
        return None
    return ReactionAdded(
        platform=PLATFORM,
        workspace_id=str(payload.guild_id),
        channel_id=str(payload.channel_id),
        occurred_at=now,
        actor=_actor(payload.user_id, payload.member, me),
        message_id=str(payload.message_id),
        emoji=emoji_of(payload.emoji),
    )


def reaction_removed(payload: discord.RawReactionActionEvent, *, me: int, now: datetime) -> ReactionRemoved | None:
    """MESSAGE_REACTION_REMOVE (Discord sends no member with it)."""
    if payload.guild_id is None:
        return None
    return ReactionRemoved(
        platform=PLATFORM,
        workspace_id=str(payload.guild_id),
        channel_id=str(payload.channel_id),
        occurred_at=now,
        actor=_actor(payload.user_id, None, me),
        message_id=str(payload.message_id),
        emoji=emoji_of(payload.emoji),
    )


def reactions_cleared(
    payload: discord.RawReactionClearEvent | discord.RawReactionClearEmojiEvent, *, now: datetime
) -> ReactionsCleared | None:
    """MESSAGE_REACTION_REMOVE_ALL, or _REMOVE_EMOJI when the payload names an emoji."""
    if payload.guild_id is None:
        return None
    emoji = getattr(payload, "emoji", None)
    return ReactionsCleared(
        platform=PLATFORM,
        workspace_id=str(payload.guild_id),
        channel_id=str(payload.channel_id),
        occurred_at=now,
        message_id=str(payload.message_id),
        emoji=emoji_of(emoji) if emoji is not None else None,
    )


def withheld(message: discord.Message, *, content_intent: bool) -> bool:
    """True when Discord withheld the text: no message-content intent and nothing came."""
    return not content_intent and not message.content and not message.attachments and not message.embeds


def reply_posted(
    message: discord.Message, *, me: int, content_intent: bool, backfill: bool = False
) -> ReplyPosted | None:
    """A message in a (possible) section thread; ``None`` for non-replies and non-guild ones."""
    if message.guild is None or message.type not in REPLY_TYPES:
        return None
    parent = None
    if message.type is discord.MessageType.reply and message.reference is not None:
        parent = str(message.reference.message_id)
    author = message.author
    return ReplyPosted(
        platform=PLATFORM,
        workspace_id=str(message.guild.id),
        channel_id=str(message.channel.id),
        occurred_at=message.created_at,
        backfill=backfill,
        actor=Actor(str(author.id), author.display_name, author.bot or author.id == me),
        message_id=str(message.id),
        thread_id=str(message.channel.id),
        text=message.content,
        text_withheld=withheld(message, content_intent=content_intent),
        parent_message_id=parent,
        attachments=tuple(a.filename for a in message.attachments),
        edited_at=message.edited_at,
    )


def reply_edited(payload: discord.RawMessageUpdateEvent, *, content_intent: bool) -> ReplyEdited | None:
    """MESSAGE_UPDATE: the full new message is in ``payload.message`` (discord.py 2.5+).

    ``None`` when nobody edited it: Discord also sends MESSAGE_UPDATE when a link preview
    (embed) is attached, with ``edited_timestamp`` left null.
    """
    message = payload.message
    if payload.guild_id is None or message.edited_at is None:
        return None
    return ReplyEdited(
        platform=PLATFORM,
        workspace_id=str(payload.guild_id),
        channel_id=str(payload.channel_id),
        occurred_at=message.edited_at,
        message_id=str(payload.message_id),
        text=message.content,
        text_withheld=withheld(message, content_intent=content_intent),
    )


def reply_deleted(payload: discord.RawMessageDeleteEvent, *, now: datetime) -> ReplyDeleted | None:
    """MESSAGE_DELETE (a reply or a section message)."""
    if payload.guild_id is None:
        return None
    return ReplyDeleted(
        platform=PLATFORM,
        workspace_id=str(payload.guild_id),
        channel_id=str(payload.channel_id),
        occurred_at=now,
        message_id=str(payload.message_id),
    )


def thread_state_changed(payload: discord.RawThreadUpdateEvent, *,
                         now: datetime) -> ThreadStateChanged | None:
    """THREAD_UPDATE: the thread's state from its ``thread_metadata`` (docs: resources/
    channel#thread-metadata-object): ``locked`` whether archived or not, else ``archived``
    (by inactivity, a moderator or planbot) or ``open`` (unarchived). ``None`` without
    metadata (a malformed event)."""
    meta = payload.data.get("thread_metadata")
    if not isinstance(meta, dict):
        return None
    state = "locked" if meta.get("locked") else "archived" if meta.get("archived") else "open"
    return ThreadStateChanged(platform=PLATFORM, workspace_id=str(payload.guild_id),
                              channel_id=str(payload.parent_id), occurred_at=now,
                              thread_id=str(payload.thread_id), state=state)


def replies_bulk_deleted(payload: discord.RawBulkMessageDeleteEvent, *, now: datetime) -> list[ReplyDeleted]:
    """MESSAGE_DELETE_BULK (a moderator's purge): one deletion per message, oldest id first."""
    if payload.guild_id is None:
        return []
    return [
        ReplyDeleted(
            platform=PLATFORM,
            workspace_id=str(payload.guild_id),
            channel_id=str(payload.channel_id),
            occurred_at=now,
            message_id=str(message_id),
        )
        for message_id in sorted(payload.message_ids)
    ]
