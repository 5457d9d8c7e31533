"""The local Discord gateway: one websocket session speaking Discord's gateway protocol.

Opcodes, close codes and the READY/RESUME flow follow Discord's docs (topics/gateway,
topics/opcodes-and-status-codes). Frames are plain JSON text, which discord.py always accepts
even when it asked for ``compress=zlib-stream`` (docs/platform-facts.md).

Faults: :meth:`Gateway.send_malformed` (a dispatch missing required fields),
:meth:`Gateway.ask_reconnect` (op 7), :meth:`Gateway.invalidate_session` (op 9),
:meth:`Gateway.go_offline` / :meth:`Gateway.come_back` (the bot is cut off; new connections are
held before HELLO; events meanwhile are buffered for a resume or lost with the session), and
close code 4014 when IDENTIFY asks for a privileged intent the application lacks.

Sharding (docs: events/gateway#sharding): IDENTIFY may carry ``shard: [shard_id, num_shards]``;
each shard key has its own session and stream, READY's GUILD_CREATEs are the shard's guilds,
and a guild's events go to the session whose shard is ``(guild_id >> 22) % num_shards``
(events without a guild to shard 0). A session without ``shard`` is ``[0, 1]``: every guild.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from integrations.sandbox.discord.stream import (
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    Session,
    Stream,
    send,
)
from integrations.sandbox.discord.world import Message, World, guild_payload

_log = logging.getLogger(__name__)

# Gateway intents (docs: topics/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_EXPRESSIONS = 1 << 3
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

_EVENT_INTENT = {
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": GUILD_MESSAGE_REACTIONS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "GUILD_EMOJIS_UPDATE": GUILD_EXPRESSIONS,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
}

OP_IDENTIFY, OP_RESUME = 2, 6
OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO = 7, 8, 9, 10
CLOSE_UNKNOWN_ERROR = 4000
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_INVALID_SHARD = 4010
CLOSE_DISALLOWED_INTENTS = 4014


class GatewayFaults:
    """The faults a test plays on the gateway's connections (mixed into :class:`Gateway`):
    reconnect and invalid-session requests, an outage, a malformed dispatch."""

    world: World
    online: asyncio.Event
    streams: dict[tuple[int, int], Stream]
    close_codes: list[int]

    async def dispatch(self, name: str, data: dict) -> None:
        raise NotImplementedError  # Gateway.dispatch

    async def ask_reconnect(self) -> None:
        """Op 7: the client closes and RESUMEs on ``resume_gateway_url`` (every shard)."""
        for stream in list(self.streams.values()):
            if stream.ws is not None:
                await send(stream.ws, {"op": OP_RECONNECT, "d": None})

    async def invalidate_session(self) -> None:
        """Op 9 ``false``: the session is gone; the client must IDENTIFY again (every shard)."""
        for stream in list(self.streams.values()):
            if stream.session is not None:
                stream.session.resumable = False
            if stream.ws is not None:
                await send(stream.ws, {"op": OP_INVALID_SESSION, "d": False})

    async def send_malformed(self, name: str = "MESSAGE_REACTION_ADD") -> None:
        """Dispatch ``name`` with data missing the fields its docs require (only ids are
        left: no ``emoji``, no ``author``...), as a platform-side bug or an unannounced
        schema change would. discord.py parses dispatches outside any ``try``, so its parser's
        ``KeyError`` ends the client (the case planbot's supervision restarts)."""
        guild = next(iter(self.world.guilds))
        await self.dispatch(name, {"id": "1", "user_id": "1", "channel_id": "1",
                                   "message_id": "1", "guild_id": guild})

    async def go_offline(self, *, resumable: bool) -> None:
        """Cut the bot off: close its socket (code 4000) and hold reconnections.

        With ``resumable`` false the session is invalidated, so what happens meanwhile is lost
        to the bot and only reconciliation can recover it.
        """
        self.online.clear()
        for stream in list(self.streams.values()):
            if stream.session is not None and not resumable:
                stream.session.resumable = False
            if stream.ws is not None:
                self.close_codes.append(CLOSE_UNKNOWN_ERROR)
                await stream.ws.close(code=CLOSE_UNKNOWN_ERROR, message=b"local outage")

    def come_back(self) -> None:
        """End the outage: held connections get their HELLO."""
        self.online.set()



class Gateway(GatewayFaults):
    """The gateway half of the local Discord; serve :meth:`handle` on a websocket route.

    ``resume_url`` returns the URL READY advertises as ``resume_gateway_url`` (it must be local,
    or a RESUME would leave for discord.com). ``allowed_intents`` are the privileged intents
    the application may use (the developer portal's switches).
    """

    def __init__(
        self,
        world: World,
        *,
        token: str,
        resume_url: Callable[[], str],
        allowed_intents: int,
    ) -> None:
        self.world = world
        self._token = token
        self._resume_url = resume_url
        self.allowed_intents = allowed_intents
        self.online = asyncio.Event()
        """Cleared while the bot is cut off (:meth:`go_offline`)."""
        self.online.set()
        self.streams: dict[tuple[int, int], Stream] = {}
        """One stream per shard key ``(shard_id, num_shards)`` identified so far."""
        self._on_ws: dict[web.WebSocketResponse, Stream] = {}
        self.opcodes: list[int] = []  # every opcode the client sent, in order
        self.identified = 0
        self.resumed = 0
        self.identified_shards: list[tuple[int, int]] = []  # each IDENTIFY's shard key
        self.connected_paths: list[str] = []
        self.close_codes: list[int] = []  # codes the server closed connections with
        self._session_ids = itertools.count(1)
        self._ready = asyncio.Condition()

    # -- serving -------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for one gateway connection."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.connected_paths.append(request.path)
        # While "offline" the connection is held before HELLO, as if the network were down.
        await self.online.wait()
        if ws.closed:
            return ws
        try:
            await send(ws, {"op": OP_HELLO, "d": {"heartbeat_interval": 41250}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                await self._received(ws, json.loads(msg.data))
        finally:
            stream = self._on_ws.pop(ws, None)
            if stream is not None and stream.ws is ws:
                stream.ws = None
        return ws

    def shard_of(self, guild_id: str | None, num_shards: int) -> int:
        """The docs' sharding formula: ``(guild_id >> 22) % num_shards``; 0 without a guild."""
        return (int(guild_id) >> 22) % num_shards if guild_id else 0

    async def _received(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        op: Any = payload.get("op")
        data: Any = payload.get("d")  # a JSON value, its shape given by ``op``
        self.opcodes.append(op)
        if op == OP_HEARTBEAT:
            stream = self._on_ws.get(ws)
            if stream is None:  # before IDENTIFY: acknowledged, nothing to track
                await send(ws, {"op": OP_HEARTBEAT_ACK})
            else:
                await stream.heartbeat(ws, data)
        elif op == OP_IDENTIFY:
            await self._identify(ws, data)
        elif op == OP_RESUME:
            await self._resume(ws, data)
        elif op == OP_REQUEST_MEMBERS:
            chunk = {
                "guild_id": data["guild_id"],
                "members": [],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            }
            await self._on_ws[ws].emit("GUILD_MEMBERS_CHUNK", chunk)
        else:
            _log.warning("local gateway: unhandled opcode %s", op)

    async def _identify(self, ws: web.WebSocketResponse, data: dict) -> None:
        if data.get("token") != self._token:
            self.close_codes.append(CLOSE_AUTHENTICATION_FAILED)
            await ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            self.close_codes.append(CLOSE_DISALLOWED_INTENTS)
            await ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        shard_id, num_shards = data.get("shard") or (0, 1)
        if not 0 <= shard_id < num_shards:
            self.close_codes.append(CLOSE_INVALID_SHARD)
            await ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
            return
        session = Session(id=f"local-session-{next(self._session_ids)}", intents=intents,
                          shard=(shard_id, num_shards))
        stream = self.streams.setdefault(session.shard, Stream(self.online))
        stream.session = session
        self.identified += 1
        self.identified_shards.append(session.shard)
        stream.ws = ws  # live from READY on: dispatches go to this connection
        self._on_ws[ws] = stream
        guilds = [g for g in self.world.guilds.values()
                  if self.shard_of(g.id, num_shards) == shard_id]
        ready = {
            "v": 10,
            "user": self.world.bot.payload(),
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "shard": [shard_id, num_shards],
            "session_id": session.id,
            "resume_gateway_url": self._resume_url(),
            "application": {"id": self.world.application_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        await stream.emit("READY", ready)
        for guild in guilds:
            await stream.emit("GUILD_CREATE", guild_payload(self.world, guild))
        async with self._ready:
            self._ready.notify_all()

    async def _resume(self, ws: web.WebSocketResponse, data: dict) -> None:
        stream = next((s for s in self.streams.values() if s.session is not None
                       and s.session.id == data.get("session_id")), None)
        session = stream.session if stream is not None else None
        if (
            stream is None
            or session is None
            or not session.resumable
            or data.get("token") != self._token
        ):
            await send(ws, {"op": OP_INVALID_SESSION, "d": False})
            return
        await stream.replay(ws, session, data.get("seq") or 0)
        stream.ws = ws
        self._on_ws[ws] = stream
        self.resumed += 1
        await stream.emit("RESUMED", {})
        async with self._ready:
            self._ready.notify_all()

    # -- dispatching ---------------------------------------------------------------------

    async def dispatch(self, name: str, data: dict) -> None:
        """Send event ``name`` to the bot if its intents ask for it, buffering it for RESUME.

        When the bot is offline the event is only buffered: delivered on a resume, lost if the
        session cannot be resumed. Sent to the session of the event's guild's shard only.
        """
        needed = _EVENT_INTENT.get(name, 0)
        for stream in list(self.streams.values()):
            session = stream.session
            if session is None or (needed and not session.intents & needed):
                continue
            shard_id, num_shards = session.shard
            if self.shard_of(data.get("guild_id"), num_shards) == shard_id:
                await stream.emit(name, data)

    async def dispatch_message(self, name: str, message: Message) -> None:
        """MESSAGE_CREATE/UPDATE with content withheld unless the session has the intent."""
        sessions = [s.session for s in self.streams.values() if s.session is not None]
        withhold = bool(sessions) and not sessions[0].intents & MESSAGE_CONTENT
        payload = message.payload(me=self.world.bot.id, withhold_content=withhold)
        payload["guild_id"] = message.guild_id
        guild = self.world.guilds[message.guild_id]
        if message.author.id in guild.members:
            payload["member"] = self.world.member_payload(guild, message.author, with_user=False)
        await self.dispatch(name, payload)

    # -- waiting and faults --------------------------------------------------------------

    async def wait_connected(self, *, identified: int = 1, resumed: int = 0) -> None:
        """Wait until the bot has identified (and resumed) at least that many times."""
        async with self._ready:
            await self._ready.wait_for(
                lambda: self.identified >= identified and self.resumed >= resumed
            )

    async def barrier(self) -> None:
        """Return once the bot (every shard) has read every dispatch sent so far."""
        for stream in list(self.streams.values()):
            await stream.barrier()

    async def close(self) -> None:
        """Close the live connections (code 1000), releasing held ones."""
        self.online.set()
        for stream in list(self.streams.values()):
            if stream.ws is not None:
                await stream.ws.close(code=1000)
