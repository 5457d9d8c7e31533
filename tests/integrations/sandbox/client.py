"""Plain HTTP calls to the local Discord, as a bot would make them, and a movable clock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import aiohttp

from integrations.sandbox.discord import DiscordSandbox


@dataclass
class Clock:
    """A sandbox clock that moves only when told."""

    now_: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now_

    def advance(self, **delta: float) -> None:
        self.now_ += timedelta(**delta)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


async def call(sb: DiscordSandbox, method: str, path: str, body: Any = None, *,
               files: dict[str, bytes] | None = None, auth: bool = True) -> Answer:
    """``method path`` on the local Discord's REST API (``path`` after ``/api/v10``)."""
    headers = {"Authorization": f"Bot {sb.token}"} if auth else {}
    data: Any = None
    if files is not None:
        data = aiohttp.FormData()
        data.add_field("payload_json", json.dumps(body or {}), content_type="application/json")
        for i, (name, content) in enumerate(files.items()):
            data.add_field(f"files[{i}]", content, filename=name, content_type="image/png")
        body = None
    async with aiohttp.ClientSession() as http, http.request(
        method, sb.api_base + path, json=body, data=data, headers=headers
    ) as resp:
        raw = await resp.read()
        return Answer(resp.status, json.loads(raw) if raw else None, dict(resp.headers))


class Watcher:
    """A bare gateway client: identifies with ``intents`` and keeps every dispatch.

    ``await watcher.events_after(action)`` runs ``action`` and returns the dispatches it
    caused, once the gateway's heartbeat barrier says all were read.
    """

    ALL_INTENTS = (1 << 0) | (1 << 3) | (1 << 9) | (1 << 10) | (1 << 15)

    def __init__(self, sb: DiscordSandbox, intents: int = ALL_INTENTS) -> None:
        self.sb, self.intents = sb, intents
        self.events: list[tuple[str, dict]] = []
        self._seq = 0

    async def __aenter__(self) -> Self:
        import asyncio

        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.sb.gateway_url)
        await self._ws.receive_json()  # HELLO
        await self._ws.send_json({"op": 2, "d": {"token": self.sb.token, "intents": self.intents,
                                                 "properties": {}}})
        self._task = asyncio.create_task(self._read())
        await self.sb.gateway.wait_connected()
        await self.sb.gateway.barrier()  # READY and GUILD_CREATE read
        return self

    async def _read(self) -> None:
        async for msg in self._ws:
            frame = json.loads(msg.data)
            if frame["op"] == 0:
                self._seq = frame["s"]
                self.events.append((frame["t"], frame["d"]))
            elif frame["op"] == 1:
                await self._ws.send_json({"op": 1, "d": self._seq})

    async def events_after(self, action) -> list[tuple[str, dict]]:
        start = len(self.events)
        await action
        await self.sb.gateway.barrier()
        return self.events[start:]

    async def __aexit__(self, *exc: object) -> None:
        await self._ws.close()
        self._task.cancel()
        await self._http.close()
