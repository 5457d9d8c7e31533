"""What simulated people do on the local Discord: react, reply, edit, delete, leave, post in
forums. Mixed into :class:`DiscordSandbox`; commands, clicks and modals are in
:mod:`.interacting`.

Each method changes the world first, then dispatches what Discord's gateway sends (docs:
events/gateway-events), so REST reads made afterwards agree with the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.sandbox.discord.world import (
    FORUM_CHANNEL,
    PUBLIC_THREAD,
    Channel,
    Message,
    emoji_payload,
    is_known_unicode_emoji,
)

if TYPE_CHECKING:
    from integrations.sandbox.discord.gateway import Gateway
    from integrations.sandbox.discord.world import Guild, World

MAX_DISTINCT_REACTIONS = 20
"""Distinct emoji on one message (docs: resources/message#create-reaction, error 30010)."""

class People:
    """Simulated people's actions; needs ``world``, ``gateway``, ``guild`` and
    ``thread_updated`` / ``message_deleted`` from the sandbox."""

    world: World
    gateway: Gateway
    guild: Guild

    async def thread_updated(self, thread: Channel) -> None: ...
    async def message_deleted(self, message: Message) -> None: ...

    # -- reactions -----------------------------------------------------------------------

    async def apply_reaction(self, user_id: str, message: Message, emoji: str, *, burst: bool = False) -> None:
        """Add a reaction (a super-reaction with ``burst``) and dispatch
        MESSAGE_REACTION_ADD (``burst``, ``type`` 1 or 0). Raises ``PermissionError`` for a
        21st distinct emoji (Discord: 20 per message, error 30010)."""
        key, payload = emoji_payload(emoji)
        present = {k for k, (_, users) in message.reactions.items() if users}
        present |= {k for k, users in message.burst.items() if users}
        if key not in present and len(present) >= MAX_DISTINCT_REACTIONS:
            raise PermissionError("Maximum number of reactions reached (20)")
        users = message.burst.setdefault(key, []) if burst else message.reactions.setdefault(key, (payload, []))[1]
        if user_id in users:
            return
        users.append(user_id)
        guild = self.world.guilds[message.guild_id]
        user = self.world.users[user_id]
        await self.gateway.dispatch(
            "MESSAGE_REACTION_ADD",
            {
                "user_id": user_id,
                "channel_id": message.channel_id,
                "message_id": message.id,
                "guild_id": guild.id,
                "emoji": payload,
                "member": self.world.member_payload(guild, user),
                "message_author_id": message.author.id,
                "burst": burst,
                "burst_colors": ["#5865F2"] if burst else [],
                "type": 1 if burst else 0,
            },
        )

    async def remove_reaction(self, user_id: str, message: Message, emoji: str, *, burst: bool = False) -> None:
        """Remove a reaction (nothing happens, and nothing is sent, if it is not there)."""
        key, payload = emoji_payload(emoji)
        users = message.burst.get(key, []) if burst else message.reactions.get(key, (payload, []))[1]
        if user_id not in users:
            return
        users.remove(user_id)
        await self.gateway.dispatch(
            "MESSAGE_REACTION_REMOVE",
            {
                "user_id": user_id,
                "channel_id": message.channel_id,
                "message_id": message.id,
                "guild_id": message.guild_id,
                "emoji": payload,
                "burst": burst,
                "type": 1 if burst else 0,
            },
        )

    def _find(self, channel_id: str, message_id: str) -> Message:
        """The message ``message_id`` in ``channel_id`` or in one of its threads."""
        message = self.world.messages[message_id]
        where = self.world.channels[message.channel_id]
        if channel_id not in (where.id, where.parent_id):
            raise KeyError(f"message {message_id} is not in channel {channel_id}")
        return message

    async def user_reacts(self, user_id: str, channel_id: str, message_id: str, emoji: str, *,
                          burst: bool = False) -> None:
        """``emoji``: a Unicode emoji in Discord's form, or ``name:id`` for a custom one (a
        member may use another guild's emoji). ``burst`` makes it a super-reaction. Raises
        ``PermissionError`` in an archived thread, which Discord's client does not allow, and
        ``ValueError`` for a Unicode emoji Discord does not list (its picker cannot send it)."""
        message = self._find(channel_id, message_id)
        if self.world.channels[message.channel_id].archived:
            raise PermissionError("the thread is archived")
        if ":" not in emoji and not is_known_unicode_emoji(emoji):
            raise ValueError(f"Discord lists no emoji {emoji!r}")
        await self.apply_reaction(user_id, message, emoji, burst=burst)

    async def user_unreacts(self, user_id: str, channel_id: str, message_id: str, emoji: str, *,
                            burst: bool = False) -> None:
        """Remove a reaction; removing one never added dispatches nothing, as on Discord."""
        await self.remove_reaction(user_id, self._find(channel_id, message_id), emoji, burst=burst)

    # -- messages ------------------------------------------------------------------------

    async def user_replies(
        self,
        user_id: str,
        channel_id: str,
        thread_id: str,
        text: str,
        *,
        broadcast: bool = False,
        reply_to: str | None = None,
        files: dict[str, bytes] | None = None,
    ) -> str:
        """Post ``text`` in thread ``thread_id`` of ``channel_id``; returns the message id.

        ``files`` (name -> bytes) become attachments; with ``text=""`` the reply is
        image-only (or file-only). ``broadcast`` exists for parity with Slack and has no
        Discord equivalent. A reply in an archived unlocked thread unarchives it first
        (THREAD_UPDATE); a locked one raises ``PermissionError``.
        """
        thread = self.world.channels[thread_id]
        if thread.type != PUBLIC_THREAD or thread.parent_id != channel_id:
            raise KeyError(f"thread {thread_id} is not a thread of {channel_id}")
        if thread.locked:
            raise PermissionError("the thread is locked")
        if thread.archived:
            self.world.set_archived(thread, False)
            await self.thread_updated(thread)
        attachments = [self.world.attachment(name, data) for name, data in (files or {}).items()]
        message = self.world.post(thread_id, self.world.users[user_id], text, reference_id=reply_to,
                                  attachments=attachments)
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message.id

    async def user_creates_post(self, user_id: str, forum_id: str, title: str, text: str) -> str:
        """A forum post: THREAD_CREATE then the starter MESSAGE_CREATE (same id); returns it."""
        forum = self.world.channels[forum_id]
        if forum.type != FORUM_CHANNEL:
            raise KeyError(f"channel {forum_id} is not a forum")
        thread, message = self.world.start_forum_post(forum, title, self.world.users[user_id], text)
        await self.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return thread.id

    async def user_edits(self, user_id: str, channel_id: str, message_id: str, text: str | None) -> None:
        """Edit a message; ``text=None`` is an edit without a content change (e.g. an
        attachment removed): MESSAGE_UPDATE with a new ``edited_timestamp``, same content."""
        message = self._find(channel_id, message_id)
        if message.author.id != user_id:
            raise PermissionError("only the author edits a message")
        if self.world.channels[message.channel_id].archived:
            raise PermissionError("the thread is archived")
        if text is not None:
            message.content = text
        message.edited_at = self.world.now()
        await self.gateway.dispatch_message("MESSAGE_UPDATE", message)

    async def link_preview_appears(self, channel_id: str, message_id: str) -> None:
        """Discord attaches a link preview: MESSAGE_UPDATE with an embed, not an edit
        (``edited_timestamp`` stays null)."""
        message = self._find(channel_id, message_id)
        message.embeds.append({"type": "link", "title": "Aperçu", "url": "https://example.org/"})
        await self.gateway.dispatch_message("MESSAGE_UPDATE", message)

    async def user_deletes(self, user_id: str, channel_id: str, message_id: str) -> None:
        await self.message_deleted(self._find(channel_id, message_id))

