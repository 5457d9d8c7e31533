"""The local Discord gateway's dispatch stream: one identified session's events, numbered,
buffered for RESUME replays and sent to the live connection while the bot is online; and the
heartbeats that tell how far the bot has read."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aiohttp import web

OP_DISPATCH, OP_HEARTBEAT, OP_HEARTBEAT_ACK = 0, 1, 11


@dataclass
class Session:
    """One identified gateway session: ``buffer`` keeps every dispatch for RESUME replays."""

    id: str
    intents: int
    shard: tuple[int, int] = (0, 1)
    """IDENTIFY's ``[shard_id, num_shards]`` (docs: events/gateway#sharding)."""
    seq: int = 0
    resumable: bool = True
    buffer: list[tuple[int, str, dict]] = field(default_factory=list)


async def send(ws: web.WebSocketResponse, payload: dict) -> None:
    """One JSON text frame."""
    await ws.send_str(json.dumps(payload))


class Stream:
    """``session`` (``None`` before IDENTIFY), ``ws`` the live connection (``None`` between
    connections), ``online`` cleared while the bot is cut off (one event shared by every
    shard's stream: the bot's network is down, or not)."""

    def __init__(self, online: asyncio.Event) -> None:
        self.session: Session | None = None
        self.ws: web.WebSocketResponse | None = None
        self.online = online
        self._beats: asyncio.Condition = asyncio.Condition()
        self._last_beat: int | None = None

    async def emit(self, name: str, data: dict) -> None:
        """Number and buffer event ``name``; send it if the bot is connected and online."""
        session = self.session
        if session is None:
            return
        session.seq += 1
        session.buffer.append((session.seq, name, data))
        ws = self.ws
        if ws is not None and not ws.closed and self.online.is_set():
            await send(ws, {"op": OP_DISPATCH, "t": name, "s": session.seq, "d": data})

    async def replay(self, ws: web.WebSocketResponse, session: Session, since: int) -> None:
        """Send ``ws`` every buffered dispatch after ``since``."""
        # Indexing the live buffer also replays what is dispatched during the replay; the
        # connection becomes live only after it, so nothing is sent twice or skipped.
        index = 0
        while index < len(session.buffer):
            seq, name, payload = session.buffer[index]
            index += 1
            if seq > since:
                await send(ws, {"op": OP_DISPATCH, "t": name, "s": seq, "d": payload})

    async def heartbeat(self, ws: web.WebSocketResponse, last_seq: int | None) -> None:
        """The client's heartbeat, carrying the last sequence it processed: acknowledged."""
        await send(ws, {"op": OP_HEARTBEAT_ACK})
        async with self._beats:
            self._last_beat = last_seq
            self._beats.notify_all()

    async def barrier(self) -> None:
        """Return once the bot has read every dispatch sent so far.

        Sends op 1, which obliges the client to answer with a heartbeat carrying the last
        sequence it processed (docs: "Heartbeat Requests"); frames are handled in order.
        """
        ws, session = self.ws, self.session
        if ws is None or ws.closed or session is None:
            return
        target = session.seq
        await send(ws, {"op": OP_HEARTBEAT, "d": None})
        async with self._beats:
            await self._beats.wait_for(
                lambda: self._last_beat is not None and self._last_beat >= target
            )
