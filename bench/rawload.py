"""A lean load generator: pre-built, pre-signed HTTP/1.1 requests on keep-alive connections.

The benchmarks measure the server; the client shares the machine with it (2 cores here), so
its cost per request must be small next to the server's. An HTTP client library builds
headers, signs, encodes and parses each request and answer in Python: about a third of a
planbot process' CPU per event (``bench/bench_processes.py`` prints the split). Here every
request is built and signed as raw bytes before the clock starts; during the burst each
connection writes one request, reads the status line and headers up to the blank line, then
exactly ``Content-Length`` bytes of body, and writes the next (no pipelining: one request in
flight per connection, as a client library's pool does).

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


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    """Send ``request``, read its answer; returns the status code. Raises
    ``ConnectionError`` if the server closes the connection."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    start = head.lower().find(b"\r\ncontent-length:")
    if start >= 0:
        end = head.index(b"\r\n", start + 2)
        length = int(head[start + 17:end])
    if length:
        await reader.readexactly(length)
    return status


async def blast(urls: list[str], requests: list[tuple[int, bytes]],
                concurrency: int) -> tuple[float, list[float], int]:
    """Send ``requests`` (from :func:`slack_burst`) over ``concurrency`` keep-alive
    connections; returns (seconds from the first write to the last answer, per-request
    latencies in ms, count of answers that were not 2xx). Raises ``ValueError`` when
    ``concurrency`` is below the number of targets."""
    targets = [Target.of(u) for u in urls]
    if concurrency < len(targets):
        raise ValueError("at least one connection per target")
    queues: list[list[bytes]] = [[] for _ in targets]
    for index, request in reversed(requests):
        queues[index].append(request)  # popped from the end: first request first
    connections = [await asyncio.open_connection(targets[n % len(targets)].host,
                                                 targets[n % len(targets)].port)
                   for n in range(concurrency)]
    latencies: list[float] = []
    failures = 0

    async def worker(index: int, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        nonlocal failures
        queue = queues[index]
        while queue:
            request = queue.pop()
            sent = time.perf_counter()
            status = await _exchange(reader, writer, request)
            latencies.append((time.perf_counter() - sent) * 1000)
            failures += not 200 <= status < 300

    start = time.perf_counter()
    await asyncio.gather(*(worker(n % len(targets), reader, writer)
                           for n, (reader, writer) in enumerate(connections)))
    seconds = time.perf_counter() - start
    for _, writer in connections:
        writer.close()
    return seconds, latencies, failures
