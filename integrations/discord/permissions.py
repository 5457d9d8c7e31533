"""The permissions planbot needs in a Discord channel, and which of them it lacks there.

Discord computes a member's permissions in a channel from the guild's roles, then the
channel's overwrites for @everyone, the member's roles and the member, in that order (docs:
topics/permissions, "Permission Overwrites"); discord.py's ``permissions_for`` does exactly
that from the cached guild, which CHANNEL_UPDATE and GUILD_ROLE_UPDATE keep current.
"""

from __future__ import annotations

import discord

from bot.i18n import translate

NEEDED_PERMISSIONS = (
    ("view_channel", "discord.perm.view_channel"),
    ("send_messages", "discord.perm.send_messages"),
    ("create_public_threads", "discord.perm.create_public_threads"),
    ("send_messages_in_threads", "discord.perm.send_messages_in_threads"),
    ("add_reactions", "discord.perm.add_reactions"),
    ("read_message_history", "discord.perm.read_message_history"),
    ("embed_links", "discord.perm.embed_links"),
    ("attach_files", "discord.perm.attach_files"),
)
"""Permission flag -> the catalogue id of its name in Discord's settings. Sections need Send
Messages, Create Public Threads and Add Reactions; copies of replies Send Messages in
Threads; digests Embed Links and Attach Files (the charts); reconciliation Read Message
History (integrations/discord/README.md)."""


def missing_flags(channel: discord.abc.GuildChannel, member: discord.Member) -> list[tuple[str, str]]:
    """The ``(flag, catalogue id)`` pairs of :data:`NEEDED_PERMISSIONS` that ``member`` lacks
    in ``channel``, in that order."""
    granted = channel.permissions_for(member)
    return [(flag, msgid) for flag, msgid in NEEDED_PERMISSIONS if not getattr(granted, flag)]


async def missing_permissions(client: discord.Client, channel_id: str, lang: str) -> tuple[str, ...]:
    """The permissions of :data:`NEEDED_PERMISSIONS` ``client``'s bot lacks in the channel
    ``channel_id``, as Discord's settings name them in ``lang``, from the cached guild's roles
    and the channel's overwrites. A channel the bot cannot see at all (not cached, and
    ``GET /channels/{id}`` refused with 403 50001) lacks View Channel. Raises
    ``discord.HTTPException`` for other refusals (404 10003: no such channel)."""
    target = client.get_channel(int(channel_id))
    if not isinstance(target, discord.abc.GuildChannel):
        try:
            fetched = await client.fetch_channel(int(channel_id))
        except discord.Forbidden:
            return (translate("discord.perm.view_channel", lang),)
        if not isinstance(fetched, discord.abc.GuildChannel):
            return ()  # a DM: planbot's commands are guild-only
        target = fetched
    me = target.guild.me
    if me is None:
        assert client.user is not None  # logged in before any command
        me = await target.guild.fetch_member(client.user.id)
    return tuple(translate(msgid, lang) for _, msgid in missing_flags(target, me))
