"""A lean load generator: pre-built, pre-signed HTTP/1.1 requests on keep-alive connections.

The benchmarks measure the server; the client shares the machine with it (2 cores here), so
its cost per request must be small next to the server's. An HTTP client library builds
headers, signs, encodes and parses each request and answer in Python: aiohttp's client cost
about 0.14 ms of CPU per event, a third of what a planbot process then spent
(``bench/bench_processes.py --client aiohttp`` prints the split). Here every request is built
and signed as raw bytes before the clock starts; during the burst each connection (an
asyncio protocol, no stream or task per request) writes one request, reads the status line
and headers up to the blank line, then exactly ``Content-Length`` bytes of body, and writes
the next from that same callback (no pipelining: one request in flight per connection, as a
client library's pool does).

Requests go round-robin over the targets (request ``n`` to target ``n % len(targets)``, a
load balancer), and the ``concurrency`` connections are shared out evenly among the targets,
each taking its target's next request.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from integrations.sandbox.slack.delivery import sign


@dataclass(frozen=True)
class Target:
    """Where requests go: host, port and path of an HTTP URL."""

    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/")


def slack_request(target: Target, secret: str, body: dict, retry: int = 0) -> bytes:
    """One signed Events API POST of ``body`` to ``target`` as it goes on the wire (with
    ``X-Slack-Retry-Num`` when ``retry``), signed now: Slack's signature holds for 5 minutes."""
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    head = [f"POST {target.path} HTTP/1.1", f"Host: {target.host}:{target.port}",
            "Content-Type: application/json", f"Content-Length: {len(raw)}",
            f"X-Slack-Request-Timestamp: {stamp}",
            f"X-Slack-Signature: {sign(secret, stamp, raw)}"]
    if retry:
        head += [f"X-Slack-Retry-Num: {retry}", "X-Slack-Retry-Reason: http_timeout"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + raw


def slack_burst(urls: list[str], secret: str, bodies: list[dict],
                retries: list[dict]) -> list[tuple[int, bytes]]:
    """The burst as (target index, request bytes): ``bodies`` then ``retries`` (retry 1),
    request ``n`` to ``urls[n % len(urls)]``."""
    targets = [Target.of(u) for u in urls]
    queue = [(b, 0) for b in bodies] + [(b, 1) for b in retries]
    return [(n % len(targets), slack_request(targets[n % len(targets)], secret, body, retry))
            for n, (body, retry) in enumerate(queue)]


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending ``queue``'s requests one at a time: the next is
    written from the callback that reads the previous answer, with no task switch between."""

    def __init__(self, queue: list[bytes], latencies: list[float], statuses: list[int],
                 finished: asyncio.Future[None]) -> None:
        self._queue = queue
        self._latencies = latencies
        self._statuses = statuses
        self._finished = finished
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._sent = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def start(self) -> None:
        self._next()

    def _next(self) -> None:
        assert self._transport is not None
        if not self._queue:
            if not self._finished.done():
                self._finished.set_result(None)
            return
        self._sent = time.perf_counter()
        self._transport.write(self._queue.pop())

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self._buffer[:end].lower()
        length, start = 0, head.find(b"\r\ncontent-length:")
        if start >= 0:
            stop = head.find(b"\r\n", start + 2)
            length = int(head[start + 17:stop if stop >= 0 else None])
        if len(self._buffer) < end + 4 + length:
            return
        self._latencies.append((time.perf_counter() - self._sent) * 1000)
        self._statuses.append(int(head[9:12]))
        self._buffer = self._buffer[end + 4 + length:]
        self._next()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._finished.done():
            self._finished.set_exception(exc or ConnectionError("the server closed a connection"))


async def blast(urls: list[str], requests: list[tuple[int, bytes]],
                concurrency: int) -> tuple[float, list[float], int]:
    """Send ``requests`` (from :func:`slack_burst`) over ``concurrency`` keep-alive
    connections; returns (seconds from the first write to the last answer, per-request
    latencies in ms, count of answers that were not 2xx). Raises ``ValueError`` when
    ``concurrency`` is below the number of targets, ``ConnectionError`` when the server
    closes a connection."""
    targets = [Target.of(u) for u in urls]
    if concurrency < len(targets):
        raise ValueError("at least one connection per target")
    queues: list[list[bytes]] = [[] for _ in targets]
    for index, request in reversed(requests):
        queues[index].append(request)  # popped from the end: first request first
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: list[int] = []
    connections: list[tuple[_Connection, asyncio.Future[None]]] = []
    for n in range(concurrency):
        target, queue = targets[n % len(targets)], queues[n % len(targets)]
        finished: asyncio.Future[None] = loop.create_future()
        protocol = _Connection(queue, latencies, statuses, finished)
        await loop.create_connection(lambda p=protocol: p, target.host, target.port)
        connections.append((protocol, finished))
    start = time.perf_counter()
    for protocol, _ in connections:
        protocol.start()
    try:
        await asyncio.gather(*(finished for _, finished in connections))
        seconds = time.perf_counter() - start
    finally:
        for protocol, _ in connections:
            protocol.close()
    return seconds, latencies, sum(not 200 <= s < 300 for s in statuses)
