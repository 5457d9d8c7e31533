"""Gateway payloads -> neutral events, on discord.py's own raw event classes (no client needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord

from bot.events import Emoji, ReactionAdded, ReactionsCleared
from integrations.discord import translate

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ME = 42


def _reaction(emoji: dict, *, user_id: int = 7, guild: bool = True) -> discord.RawReactionActionEvent:
    # The gateway's JSON as discord.py receives it (its TypedDict is for type checking only).
    data: Any = {"message_id": "100", "channel_id": "200", "user_id": str(user_id), "type": 0}
    if guild:
        data["guild_id"] = "300"
    return discord.RawReactionActionEvent(data, discord.PartialEmoji.from_dict(emoji), "REACTION_ADD")


def test_reaction_keeps_the_emoji_as_sent_and_the_ids_as_strings():
    event = translate.reaction_added(_reaction({"id": None, "name": "👍🏽"}), me=ME, now=NOW)

    assert isinstance(event, ReactionAdded)
    assert (event.workspace_id, event.channel_id, event.message_id) == ("300", "200", "100")
    assert event.emoji == Emoji("👍🏽") and event.actor.user_id == "7" and not event.actor.is_bot
    assert event.occurred_at == NOW and event.event_key is None


def test_custom_emoji_carries_its_id_and_own_reactions_are_the_bots():
    event = translate.reaction_added(_reaction({"id": "555", "name": "oui"}, user_id=ME), me=ME, now=NOW)

    assert event.emoji == Emoji("oui", "555") and event.actor.is_bot


def test_direct_messages_are_not_rounds():
    assert translate.reaction_added(_reaction({"id": None, "name": "👍"}, guild=False), me=ME, now=NOW) is None


def test_clearing_one_emoji_or_all():
    base = {"message_id": "100", "channel_id": "200", "guild_id": "300"}
    one = translate.reactions_cleared(
        discord.RawReactionClearEmojiEvent(base, discord.PartialEmoji(name="👎")), now=NOW
    )
    every = translate.reactions_cleared(discord.RawReactionClearEvent(base), now=NOW)

    assert isinstance(one, ReactionsCleared) and one.emoji == Emoji("👎")
    assert every.emoji is None and every.message_id == "100"


def test_deleted_message():
    event = translate.reply_deleted(
        discord.RawMessageDeleteEvent({"id": "100", "channel_id": "200", "guild_id": "300"}), now=NOW
    )

    assert (event.message_id, event.channel_id, event.workspace_id) == ("100", "200", "300")
