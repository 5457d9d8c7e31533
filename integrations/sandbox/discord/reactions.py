"""REST handlers of the local Discord for reactions (docs: resources/message#create-reaction,
#get-reactions): Add Reactions for a new emoji and Read Message History (else 403 50013),
an emoji Discord does not list (400 10014), an archived thread (400 50083), 20 distinct emoji
(400 30010); the reaction-users route lists normal reactors, or super-reactors with
``type=1``."""

from __future__ import annotations

from aiohttp import web

from integrations.sandbox.discord.messages import Access
from integrations.sandbox.discord.responses import (
    MAX_REACTIONS,
    UNKNOWN_EMOJI,
    DiscordError,
    json_response,
    thread_archived,
)
from integrations.sandbox.discord.world import (
    ADD_REACTIONS,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    Channel,
    emoji_payload,
    is_known_unicode_emoji,
)


class Reactions(Access):
    """The bot's own reactions and the reaction-users route."""

    async def add_own_reaction(self, request: web.Request) -> web.Response:
        message = self.message(request)
        channel = self.channel(request)
        emoji = request.match_info["emoji"]
        key, _ = emoji_payload(emoji)
        new = not message.reactions.get(key, ({}, []))[1] and not message.burst.get(key)
        self.require(channel, READ_MESSAGE_HISTORY, *((ADD_REACTIONS,) if new else ()))
        if not self._known_emoji(emoji, channel):
            raise DiscordError(400, "Unknown Emoji", UNKNOWN_EMOJI)
        if channel.type == PUBLIC_THREAD and channel.archived:
            raise thread_archived()
        try:
            await self.sb.apply_reaction(self.world.bot.id, message, emoji)
        except PermissionError as exc:
            raise DiscordError(400, str(exc), MAX_REACTIONS) from None
        return web.Response(status=204)

    def _known_emoji(self, emoji: str, channel: Channel) -> bool:
        """A Unicode emoji in Discord's exact form, or a custom emoji of the channel's guild
        (a bot cannot use other guilds' emoji unless it is in them; matched by id)."""
        name, _, custom_id = emoji.partition(":")
        if custom_id:
            return any(custom_id in g.emojis for g in self.world.guilds.values()
                       if self.world.bot.id in g.members)
        return is_known_unicode_emoji(name)

    async def remove_own_reaction(self, request: web.Request) -> web.Response:
        message = self.message(request)
        channel = self.channel(request)
        self.require(channel, READ_MESSAGE_HISTORY)
        if channel.type == PUBLIC_THREAD and channel.archived:
            raise thread_archived()
        await self.sb.remove_reaction(self.world.bot.id, message, request.match_info["emoji"])
        return web.Response(status=204)

    async def reaction_users(self, request: web.Request) -> web.Response:
        """Users of one reaction, by id: normal reactors, or super-reactors with ``type=1``
        (docs: resources/message#get-reactions)."""
        message = self.message(request)
        self.require(self.channel(request), READ_MESSAGE_HISTORY)
        key, _ = emoji_payload(request.match_info["emoji"])
        q = request.query
        users = message.burst.get(key, []) if q.get("type", "0") == "1" else message.reactions.get(key, ({}, []))[1]
        after = int(q.get("after", 0))
        limit = min(int(q.get("limit", 25)), 100)
        ids = sorted((u for u in users if int(u) > after), key=int)[:limit]
        return json_response([self.world.users[u].payload() for u in ids])
