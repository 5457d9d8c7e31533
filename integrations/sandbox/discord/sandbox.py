"""A local Discord: REST and gateway on 127.0.0.1, one world, simulated people, faults.

Usage (tests and the demo)::

    async with DiscordSandbox() as sandbox:
        with discord_py_pointed_at(sandbox):
            bot = ...  # a real discord.py client started with token=sandbox.token
            await sandbox.gateway.wait_connected()
            mid = ...  # a message the bot posted
            await sandbox.user_reacts(sandbox.people["alice"].id, channel_id, mid, "👍")

Every people method mutates the world first and then dispatches the matching gateway event,
so REST reads made afterwards agree with what the gateway said. Ids are strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Self

from aiohttp import web

from integrations.sandbox.discord.gateway import MESSAGE_CONTENT, Gateway
from integrations.sandbox.discord.rest import (
    API,
    InteractionRecord,
    RateLimitFault,
    RecordedRequest,
    Rest,
)
from integrations.sandbox.discord.world import (
    EPHEMERAL_FLAG,
    MANAGE_GUILD,
    PLANBOT_PERMISSIONS,
    PUBLIC_THREAD,
    Channel,
    Message,
    User,
    World,
    emoji_payload,
)

MAX_DISTINCT_REACTIONS = 20
"""Distinct emoji on one message (docs: resources/message#create-reaction, error 30010)."""

ANSWER_TIMEOUT = 10.0
"""Seconds :meth:`DiscordSandbox.user_runs_command` waits for the bot's answer."""

_OPTION_STRING, _OPTION_INTEGER, _OPTION_BOOLEAN, _OPTION_CHANNEL = 3, 4, 5, 7
_SUB_COMMAND, _SUB_COMMAND_GROUP = 1, 2


@dataclass(frozen=True)
class CommandAnswer:
    """The bot's answer to a slash command: the first message it sent back."""

    text: str
    ephemeral: bool
    record: InteractionRecord


class DiscordSandbox:
    """The local Discord server and its world.

    Built with one guild (``guild``), one text channel (``channel``), a facilitator role
    (``facilitator_role``) and people (``people``: ``admin`` owns the guild and has Manage
    Server; ``alice`` holds the facilitator role; ``bob``, ``chloe``, ``dan`` are members;
    ``otherbot`` is another bot). ``message_content_enabled`` is the developer-portal switch
    of the privileged message-content intent: off, IDENTIFY asking for it is closed with 4014
    and REST reads withhold message text.
    """

    def __init__(self, *, token: str = "local-discord-token", message_content_enabled: bool = True) -> None:
        self.token = token
        self.message_content_enabled = message_content_enabled
        self.world = World()
        self.requests: list[RecordedRequest] = []
        self.rate_limits: list[RateLimitFault] = []
        self.commands: dict[str | None, list[dict]] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.interaction_channels: dict[str, str] = {}
        self.sent_allowed_mentions: dict[str, dict | None] = {}
        self.gateway = Gateway(
            self.world,
            token=token,
            resume_url=lambda: f"ws://127.0.0.1:{self.port}/resume/",
            allowed_intents=MESSAGE_CONTENT if message_content_enabled else 0,
        )
        self._rest = Rest(self)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._seed()

    def _seed(self) -> None:
        w = self.world
        admin = w.add_user("admin", locale="fr")
        self.guild = w.add_guild("Quartier Saint-Roch", admin)
        self.facilitator_role = w.add_role(self.guild, "animation")
        # Discord gives an invited bot a managed role with the permissions its link asked for.
        self.bot_role = w.add_role(self.guild, "planbot", PLANBOT_PERMISSIONS)
        w.join(self.guild, w.bot, (self.bot_role,))
        self.channel = w.add_channel(self.guild, "plan-de-quartier")
        self.people: dict[str, User] = {"admin": admin}
        for name, locale in (("alice", "fr"), ("bob", "en-US"), ("chloe", "fr"), ("dan", "en-GB")):
            self.add_person(name, locale=locale, facilitator=name == "alice")
        self.add_person("otherbot", bot=True)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> Self:
        """Serve on 127.0.0.1 at a port the OS picks."""
        app = web.Application(middlewares=[self._rest.middleware])
        app.add_routes(self._rest.routes())
        app.add_routes([web.get("/", self.gateway.handle), web.get("/resume/", self.gateway.handle)])
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    # -- record --------------------------------------------------------------------------

    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests to routes the local Discord does not serve (a test asserts none)."""
        return [r for r in self.requests if not r.known]

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def messages(self, channel_id: str) -> list[Message]:
        """Messages now in a channel, oldest first."""
        return self.world.history(channel_id)

    def thread_messages(self, thread_id: str) -> list[Message]:
        """Replies now in a thread, oldest first (the type-21 starter excluded)."""
        return [m for m in self.world.history(thread_id) if m.type != 21]

    def interaction_by_token(self, token: str) -> InteractionRecord | None:
        return next((r for r in self.interactions.values() if r.token == token), None)

    # -- faults --------------------------------------------------------------------------

    def rate_limit(self, method: str, path_regex: str, *, retry_after: float = 0.2, count: int = 1) -> None:
        """The next ``count`` matching requests get 429 with ``retry_after`` seconds."""
        self.rate_limits.append(RateLimitFault(method, path_regex, retry_after, count))

    @contextlib.asynccontextmanager
    async def bot_offline(self, *, resumable: bool = False):
        """Cut the bot off for the ``async with`` body; what happens meanwhile is not delivered.

        On exit the bot reconnects: with ``resumable`` it RESUMEs and the missed events are
        replayed; without, its RESUME is refused (op 9) and it must IDENTIFY afresh.
        """
        await self.gateway.go_offline(resumable=resumable)
        try:
            yield
        finally:
            self.gateway.come_back()

    # -- world changes -------------------------------------------------------------------

    def add_person(self, name: str, *, locale: str = "fr", facilitator: bool = False, bot: bool = False) -> User:
        """A new member of ``guild`` (in ``people`` under ``name``), with the facilitator role
        if asked. Discord announces members only to bots with the members intent, which
        planbot does not ask for, so nothing is dispatched."""
        user = self.world.add_user(name, bot=bot, locale=locale)
        self.world.join(self.guild, user, (self.facilitator_role,) if facilitator else ())
        self.people[name] = user
        return user

    def deny_bot(self, channel: Channel, permissions: int) -> None:
        """An admin takes ``permissions`` (bits, docs: topics/permissions) from the bot's role
        in ``channel`` with a permission overwrite; the bot sees it at its next connection."""
        channel.permission_overwrites.append(
            {"id": self.bot_role.id, "type": 0, "allow": "0", "deny": str(permissions)})

    async def add_channel(self, name: str) -> Channel:
        """A new text channel in ``guild``, announced with CHANNEL_CREATE.

        (``world.add_channel`` alone makes a channel the bot cannot see.)
        """
        channel = self.world.add_channel(self.guild, name)
        await self.gateway.dispatch("CHANNEL_CREATE", channel.payload())
        return channel

    async def moderator_archives_thread(self, thread_id: str, archived: bool = True) -> None:
        """Archive (or unarchive) a thread, as Discord does after inactivity; THREAD_UPDATE."""
        thread = self.world.channels[thread_id]
        thread.archived = archived
        await self.gateway.dispatch("THREAD_UPDATE", thread.payload())

    # -- simulated people ----------------------------------------------------------------

    async def apply_reaction(self, user_id: str, message: Message, emoji: str) -> None:
        """Add a reaction and dispatch MESSAGE_REACTION_ADD. Raises ``PermissionError`` for a
        21st distinct emoji (Discord: 20 per message, error 30010)."""
        key, payload = emoji_payload(emoji)
        present = [k for k, (_, users) in message.reactions.items() if users]
        if key not in present and len(present) >= MAX_DISTINCT_REACTIONS:
            raise PermissionError("Maximum number of reactions reached (20)")
        _, users = message.reactions.setdefault(key, (payload, []))
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
                "burst": False,
                "burst_colors": [],
                "type": 0,
            },
        )

    async def remove_reaction(self, user_id: str, message: Message, emoji: str) -> None:
        key, payload = emoji_payload(emoji)
        _, users = message.reactions.get(key, (payload, []))
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
                "burst": False,
                "type": 0,
            },
        )

    def _find(self, channel_id: str, message_id: str) -> Message:
        """The message ``message_id`` in ``channel_id`` or in one of its threads."""
        message = self.world.messages[message_id]
        where = self.world.channels[message.channel_id]
        if channel_id not in (where.id, where.parent_id):
            raise KeyError(f"message {message_id} is not in channel {channel_id}")
        return message

    async def user_reacts(self, user_id: str, channel_id: str, message_id: str, emoji: str) -> None:
        """``emoji``: a Unicode emoji, or ``name:id`` for a custom one. Raises
        ``PermissionError`` in an archived thread, which Discord's client does not allow."""
        message = self._find(channel_id, message_id)
        if self.world.channels[message.channel_id].archived:
            raise PermissionError("the thread is archived")
        await self.apply_reaction(user_id, message, emoji)

    async def user_unreacts(self, user_id: str, channel_id: str, message_id: str, emoji: str) -> None:
        await self.remove_reaction(user_id, self._find(channel_id, message_id), emoji)

    async def user_replies(
        self,
        user_id: str,
        channel_id: str,
        thread_id: str,
        text: str,
        *,
        broadcast: bool = False,
        reply_to: str | None = None,
    ) -> str:
        """Post ``text`` in thread ``thread_id`` of ``channel_id``; returns the message id.

        ``broadcast`` exists for parity with Slack and has no Discord equivalent.
        """
        thread = self.world.channels[thread_id]
        if thread.type != PUBLIC_THREAD or thread.parent_id != channel_id:
            raise KeyError(f"thread {thread_id} is not a thread of {channel_id}")
        if thread.archived:  # a member's message unarchives an unlocked thread
            await self.moderator_archives_thread(thread_id, archived=False)
        message = self.world.post(thread_id, self.world.users[user_id], text, reference_id=reply_to)
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message.id

    async def user_edits(self, user_id: str, channel_id: str, message_id: str, text: str) -> None:
        message = self._find(channel_id, message_id)
        if message.author.id != user_id:
            raise PermissionError("only the author edits a message")
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
        message = self._find(channel_id, message_id)
        del self.world.messages[message_id]
        await self.gateway.dispatch(
            "MESSAGE_DELETE",
            {"id": message.id, "channel_id": message.channel_id, "guild_id": message.guild_id},
        )

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

    async def moderator_clears_reactions(self, channel_id: str, message_id: str, emoji: str | None = None) -> None:
        message = self._find(channel_id, message_id)
        base = {"channel_id": message.channel_id, "message_id": message.id, "guild_id": message.guild_id}
        if emoji is None:
            message.reactions.clear()
            await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_ALL", base)
        else:
            key, payload = emoji_payload(emoji)
            message.reactions.pop(key, None)
            await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", {**base, "emoji": payload})

    async def user_runs_command(
        self, user_id: str, channel_id: str, action: str, *, locale: str | None = None, **options: str
    ) -> CommandAnswer:
        """Run the synced slash command whose leaf name is ``action`` (``open`` finds
        ``/round open``) with ``options``; returns the bot's first answer.

        Raises ``LookupError`` if no synced command has that name, ``TimeoutError`` if the bot
        does not answer within :data:`ANSWER_TIMEOUT` seconds.
        """
        user = self.world.users[user_id]
        channel = self.world.channels[channel_id]
        guild = self.world.guilds[channel.guild_id]
        command, path, schema = self._command_named(action, guild.id)
        resolved: dict = {}
        leaf = [self._option(name, value, schema, resolved) for name, value in options.items()]
        for depth, sub in reversed(list(enumerate(path))):
            kind = _SUB_COMMAND if depth == len(path) - 1 else _SUB_COMMAND_GROUP
            leaf = [{"name": sub, "type": kind, "options": leaf}]
        data = {"id": command["id"], "name": command["name"], "type": 1, "options": leaf}
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        interaction_id = self.world.ids.next()
        record = InteractionRecord(interaction_id, f"tok-{interaction_id}", self.world.now())
        self.interactions[interaction_id] = record
        self.interaction_channels[interaction_id] = channel.id
        member = self.world.member_payload(guild, user)
        member["permissions"] = str(guild.permissions_of(user_id))
        await self.gateway.dispatch(
            "INTERACTION_CREATE",
            {
                "id": interaction_id,
                "application_id": self.world.application_id,
                "type": 2,
                "data": data,
                "guild_id": guild.id,
                "channel_id": channel.id,
                "channel": channel.payload(),
                "member": member,
                "token": record.token,
                "version": 1,
                "locale": locale or user.locale,
                "guild_locale": "fr",
                "app_permissions": str(guild.permissions_of(self.world.bot.id)),
                "attachment_size_limit": 10 * 1024 * 1024,
                "entitlements": [],
                "authorizing_integration_owners": {"0": guild.id},
                "context": 0,
            },
        )
        await asyncio.wait_for(record.answered.wait(), ANSWER_TIMEOUT)
        _, body = (record.followups or record.callbacks)[0]
        inner = body if record.followups else (body.get("data") or {})
        return CommandAnswer(
            inner.get("content") or "", bool(int(inner.get("flags", 0)) & EPHEMERAL_FLAG), record
        )

    def _command_named(self, action: str, guild_id: str) -> tuple[dict, list[str], list[dict]]:
        """(top-level command, sub-command path, leaf option schema) for ``action``."""
        for command in self.commands.get(guild_id, []) + self.commands.get(None, []):
            for path, schema in _leaves(command):
                if (path[-1] if path else command["name"]) == action:
                    return command, path, schema
        raise LookupError(f"no synced command named {action!r}")

    def _option(self, name: str, value: str, schema: list[dict], resolved: dict) -> dict:
        spec = next((o for o in schema if o["name"] == name), None)
        if spec is None:
            raise LookupError(f"the command has no option {name!r}")
        kind = spec["type"]
        if kind == _OPTION_INTEGER:
            return {"name": name, "type": kind, "value": int(value)}
        if kind == _OPTION_BOOLEAN:
            return {"name": name, "type": kind, "value": value in ("true", "1", True)}
        if kind == _OPTION_CHANNEL:
            channel = self.world.channels[value]
            entry = {**channel.payload(), "permissions": str(MANAGE_GUILD | 0x400 | 0x800)}
            resolved.setdefault("channels", {})[channel.id] = entry
        return {"name": name, "type": kind, "value": value}


def _leaves(command: dict) -> Iterator[tuple[list[str], list[dict]]]:
    """Every runnable path of a command: ([], options) or ([sub], options), ([group, sub], ...)."""
    options = command.get("options") or []
    subs = [o for o in options if o["type"] in (_SUB_COMMAND, _SUB_COMMAND_GROUP)]
    if not subs:
        yield [], options
        return
    for sub in subs:
        if sub["type"] == _SUB_COMMAND:
            yield [sub["name"]], sub.get("options") or []
        else:
            for inner in sub.get("options") or []:
                yield [sub["name"], inner["name"]], inner.get("options") or []


@contextlib.contextmanager
def discord_py_pointed_at(sandbox: DiscordSandbox) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at ``sandbox``; restore on exit.

    Both are process-wide class attributes (docs/platform-facts.md), hence the restore.
    """
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = sandbox.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sandbox.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
