"""What moderators and admins do on the local Discord: permission overwrites, custom emoji,
archiving and locking threads, clearing reactions, purges; and members who leave or delete
their account. Mixed into :class:`DiscordSandbox`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.sandbox.discord.world import (
    Channel,
    Message,
    emoji_object,
    emoji_payload,
)

if TYPE_CHECKING:
    from integrations.sandbox.discord.gateway import Gateway
    from integrations.sandbox.discord.world import Guild, Role, World


class Moderation:
    """Moderators' and admins' actions; needs ``world``, ``gateway``, ``guild``,
    ``bot_role``, ``_find`` and ``thread_updated`` from the sandbox."""

    world: World
    gateway: Gateway
    guild: Guild
    bot_role: Role

    def _find(self, channel_id: str, message_id: str) -> Message:
        raise NotImplementedError  # People._find
    async def thread_updated(self, thread: Channel) -> None: ...

    def deny_bot(self, channel: Channel, permissions: int) -> None:
        """An admin takes ``permissions`` (bits, docs: topics/permissions) from the bot's role
        in ``channel`` with a permission overwrite; the bot sees it at its next connection."""
        allow, deny, _ = channel.overwrites.get(self.bot_role.id, (0, 0, 0))
        channel.overwrites[self.bot_role.id] = (allow, deny | permissions, 0)

    async def set_overwrite(self, channel_id: str, target_id: str, *, allow: int = 0, deny: int = 0) -> None:
        """Set a permission overwrite on a channel for a role or member (``target_id``);
        CHANNEL_UPDATE. E.g. ``deny=SEND_MESSAGES`` for the bot: it still sees the channel
        and gets 403 50013 when posting; ``deny=VIEW_CHANNEL``: 403 50001."""
        channel = self.world.channels[channel_id]
        kind = 0 if target_id in self.guild.roles else 1
        channel.overwrites[target_id] = (allow, deny, kind)
        await self.gateway.dispatch("CHANNEL_UPDATE", channel.payload())

    async def add_custom_emoji(self, name: str) -> str:
        """A custom emoji of ``guild``; returns ``name:id`` (GUILD_EMOJIS_UPDATE)."""
        emoji_id = self.world.add_emoji(self.guild, name)
        await self._emojis_updated()
        return f"{name}:{emoji_id}"

    async def admin_renames_emoji(self, emoji_id: str, new_name: str) -> None:
        """Rename a custom emoji: same id, new name (GUILD_EMOJIS_UPDATE)."""
        if emoji_id not in self.guild.emojis:
            raise KeyError(f"emoji {emoji_id}")
        self.guild.emojis[emoji_id] = new_name
        await self._emojis_updated()

    async def _emojis_updated(self) -> None:
        emojis = [emoji_object(i, n) for i, n in self.guild.emojis.items()]
        await self.gateway.dispatch("GUILD_EMOJIS_UPDATE", {"guild_id": self.guild.id, "emojis": emojis})

    async def moderator_archives_thread(self, thread_id: str, archived: bool = True, *,
                                        locked: bool | None = None) -> None:
        """Archive (or unarchive, or lock) a thread as a moderator; THREAD_UPDATE."""
        thread = self.world.channels[thread_id]
        if locked is not None:
            thread.locked = locked
        self.world.set_archived(thread, archived)
        await self.thread_updated(thread)

    async def moderator_clears_reactions(self, channel_id: str, message_id: str, emoji: str | None = None) -> None:
        message = self._find(channel_id, message_id)
        base = {"channel_id": message.channel_id, "message_id": message.id, "guild_id": message.guild_id}
        if emoji is None:
            message.reactions.clear()
            message.burst.clear()
            await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_ALL", base)
        else:
            key, payload = emoji_payload(emoji)
            message.reactions.pop(key, None)
            message.burst.pop(key, None)
            await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", {**base, "emoji": payload})

    async def moderator_bulk_deletes(self, channel_id: str, message_ids: list[str]) -> None:
        """A purge: the messages (all in one channel or thread) go in one MESSAGE_DELETE_BULK."""
        messages = [self._find(channel_id, mid) for mid in message_ids]
        where = {m.channel_id for m in messages}
        if len(where) != 1:
            raise ValueError("a bulk delete covers one channel")
        for m in messages:
            del self.world.messages[m.id]
        await self.gateway.dispatch(
            "MESSAGE_DELETE_BULK",
            {"ids": [m.id for m in messages], "channel_id": where.pop(), "guild_id": messages[0].guild_id},
        )

    async def member_leaves(self, user_id: str) -> None:
        """The member leaves the guild: their messages and reactions stay; GET member
        answers 404 10007. GUILD_MEMBER_REMOVE goes only to bots with the members intent."""
        user = self.world.users[user_id]
        self.guild.members.pop(user_id, None)
        await self.gateway.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": self.guild.id, "user": user.payload()})

    async def account_deleted(self, user_id: str) -> None:
        """The person deletes their Discord account: they leave every guild and their user
        object becomes "Deleted User" (same id; messages and reactions stay)."""
        await self.member_leaves(user_id)
        self.world.users[user_id].deleted = True
