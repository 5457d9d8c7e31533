"""A local Discord: REST and gateway on 127.0.0.1, one world, simulated people, faults.

Usage (tests and the demo)::

    async with DiscordSandbox() as sandbox:
        with discord_py_pointed_at(sandbox):
            bot = ...  # a real discord.py client started with token=sandbox.token
            await sandbox.gateway.wait_connected()
            mid = ...  # a message the bot posted
            await sandbox.user_reacts(sandbox.people["alice"].id, channel_id, mid, "👍")

Every people method (:mod:`.people`) mutates the world first and then dispatches the matching
gateway event, so REST reads made afterwards agree with what the gateway said. Ids are
strings. What the sandbox models, and what not yet: integrations/sandbox/README.md.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Self

from aiohttp import web

from integrations.sandbox.discord.gateway import MESSAGE_CONTENT, Gateway
from integrations.sandbox.discord.interacting import CommandAnswer, Interacting
from integrations.sandbox.discord.interactions import InteractionRecord
from integrations.sandbox.discord.moderation import Moderation
from integrations.sandbox.discord.people import People
from integrations.sandbox.discord.ratelimits import Buckets, Fault
from integrations.sandbox.discord.rest import API, RecordedRequest, Rest
from integrations.sandbox.discord.world import (
    FORUM_CHANNEL,
    Channel,
    Guild,
    Message,
    User,
    World,
)

__all__ = ["CommandAnswer", "DiscordSandbox", "discord_py_pointed_at"]


class DiscordSandbox(People, Interacting, Moderation):
    """The local Discord server and its world.

    Built with one guild (``guild``), one text channel (``channel``), a facilitator role
    (``facilitator_role``) and people (``people``: ``admin`` owns the guild and has Manage
    Server; ``alice`` holds the facilitator role; ``bob``, ``chloe``, ``dan`` are members;
    ``otherbot`` is another bot). ``message_content_enabled`` is the developer-portal switch
    of the privileged message-content intent: off, IDENTIFY asking for it is closed with 4014
    and REST reads withhold message text. ``now`` is the sandbox clock (UTC datetimes): ids,
    timestamps, thread auto-archiving and interaction deadlines follow it; after moving it,
    :meth:`catch_up` (run before every REST request) applies what the time did.
    ``rate_limit_per_second`` is each route bucket's limit per second.
    """

    def __init__(self, *, token: str = "local-discord-token", message_content_enabled: bool = True,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 rate_limit_per_second: int = 1000) -> None:
        self.token = token
        self.world = World(now=now)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.buckets = Buckets(limit=rate_limit_per_second)
        self.commands: dict[str | None, list[dict]] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.ephemeral: dict[str, tuple[InteractionRecord, dict]] = {}
        """Ephemeral answer messages by id, with the interaction that made them: seen by
        that interaction's user only, never in a channel's history."""
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
        self.bot_role = next(r for r in self.guild.roles.values() if r.managed)
        self.channel = w.add_channel(self.guild, "plan-de-quartier")
        self.people: dict[str, User] = {"admin": admin}
        for name, locale in (("alice", "fr"), ("bob", "en-US"), ("chloe", "fr"), ("dan", "en-GB")):
            self.add_person(name, locale=locale, facilitator=name == "alice")
        self.add_person("otherbot", bot=True)

    def add_guild(self, name: str, owner: str, *, locale: str = "fr") -> tuple[Guild, Channel]:
        """Another guild the bot is in, owned by a new person ``owner`` (in ``people``: an
        owner has every permission, Manage Server included), with one text channel; for
        rounds across servers. Call it before the bot connects: READY and GUILD_CREATE then
        announce it, and the bot syncs its commands to the guild ids it is given."""
        user = self.world.add_user(owner, locale=locale)
        self.people[owner] = user
        guild = self.world.add_guild(name, user)
        return guild, self.world.add_channel(guild, f"plan-{owner}")

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def message_content_enabled(self) -> bool:
        """The developer portal's message-content switch; turning it on or off takes effect
        at the bot's next IDENTIFY and at once for REST reads."""
        return bool(self.gateway.allowed_intents & MESSAGE_CONTENT)

    @message_content_enabled.setter
    def message_content_enabled(self, enabled: bool) -> None:
        self.gateway.allowed_intents = MESSAGE_CONTENT if enabled else 0

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

    def direct_messages(self, user_id: str) -> list[Message]:
        """What the bot sent ``user_id`` in their DM channel, oldest first."""
        dm = next((c for c in self.world.channels.values() if c.recipient_id == user_id), None)
        return [] if dm is None else self.messages(dm.id)

    def thread_messages(self, thread_id: str) -> list[Message]:
        """Replies now in a thread, oldest first (the type-21 starter excluded)."""
        return [m for m in self.world.history(thread_id) if m.type != 21]

    def interaction_by_token(self, token: str) -> InteractionRecord | None:
        return next((r for r in self.interactions.values() if r.token == token), None)

    # -- time, limits and faults ---------------------------------------------------------

    async def catch_up(self) -> None:
        """Apply what the sandbox clock's passage did: threads inactive for their
        ``auto_archive_duration`` are archived (THREAD_UPDATE each)."""
        for thread in self.world.due_archives():
            await self.thread_updated(thread)

    def rate_limit(self, method: str, path_regex: str, *, retry_after: float = 0.2, count: int = 1,
                   nth: int = 1) -> None:
        """The ``nth`` matching request (and the ``count - 1`` after it) gets 429 with
        ``retry_after`` seconds; ``path_regex`` matches the path after ``/api/v10``."""
        self.faults.append(Fault(method, path_regex, retry_after=retry_after, times=count, nth=nth))

    def fail(self, method: str, path_regex: str, *, status: int, code: int, message: str = "",
             nth: int = 1, times: int | None = None) -> None:
        """Matching requests answer ``status`` with Discord error ``code`` from the ``nth`` on,
        ``times`` times (``None``: for good), e.g. ``fail("POST", rf"/channels/{cid}/messages",
        status=403, code=50001)``."""
        self.faults.append(Fault(method, path_regex, status=status, code=code,
                                 message=message or f"error {code}", nth=nth, times=times))

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

    async def add_channel(self, name: str, *, forum: bool = False) -> Channel:
        """A new text channel (or forum) in ``guild``, announced with CHANNEL_CREATE.

        (``world.add_channel`` alone makes a channel the bot cannot see.)
        """
        kind = FORUM_CHANNEL if forum else 0
        channel = self.world.add_channel(self.guild, name, kind=kind)
        await self.gateway.dispatch("CHANNEL_CREATE", channel.payload())
        return channel

    async def thread_updated(self, thread: Channel) -> None:
        await self.gateway.dispatch("THREAD_UPDATE", thread.payload())

    async def message_deleted(self, message: Message) -> None:
        del self.world.messages[message.id]
        await self.gateway.dispatch(
            "MESSAGE_DELETE",
            {"id": message.id, "channel_id": message.channel_id, "guild_id": message.guild_id})


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
