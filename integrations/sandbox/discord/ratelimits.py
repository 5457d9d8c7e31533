"""Rate limits and injected failures of the local Discord (docs: topics/rate-limits).

Every REST answer carries ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch seconds),
``-Reset-After`` (seconds) and ``-Bucket`` (the route's bucket, without its top-level
resource). Buckets count requests per route and top-level resource (channel, guild, or
webhook id + token) over a window; a request beyond the limit answers 429 with
``Retry-After`` (whole seconds), ``X-RateLimit-Scope: user`` and the JSON body
``{"message", "retry_after", "global"}``. Windows run on the monotonic wall clock, since
discord.py waits them out in wall time. A 429 also carries ``Via``: discord.py takes a 429
without it for a Cloudflare ban (docs/platform-facts.md).

:class:`Fault` makes one chosen call fail: the n-th matching request, ``times`` times, with a
429 or any Discord error (status and JSON code), e.g. a 429 on the 9th post or a permanent
50001 on one channel.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAJOR = re.compile(r"^/(channels|guilds)/(\d+)|^/webhooks/(\d+/[^/]+)")
"""Top-level resources that split a route's bucket (docs: topics/rate-limits)."""


@dataclass
class Fault:
    """Answer matching requests with an error, skipping the first ``nth - 1`` of them.

    ``status`` 429 makes a rate-limit answer waiting ``retry_after`` seconds; any other status
    answers ``{"message", "code"}``. ``times`` is how many matching requests fail (``None``:
    every one from the n-th on, a permanent error).
    """

    method: str
    path_regex: str
    status: int = 429
    code: int = 0
    message: str = "You are being rate limited."
    retry_after: float = 0.2
    nth: int = 1
    times: int | None = 1
    seen: int = 0

    def take(self, method: str, path: str) -> bool:
        """Count a request; True if this one fails."""
        if method != self.method or not re.fullmatch(self.path_regex, path):
            return False
        if self.times is not None and self.times <= 0:
            return False
        self.seen += 1
        if self.seen < self.nth:
            return False
        if self.times is not None:
            self.times -= 1
        return True


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass
class Buckets:
    """Per-route request counting: ``limit`` requests per ``window`` seconds per bucket."""

    limit: int = 1000
    window: float = 1.0
    clock: Callable[[], float] = time.monotonic
    epoch: Callable[[], float] = time.time
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)

    @staticmethod
    def bucket(method: str, template: str) -> str:
        """The bucket id Discord reports: a hash of the route, not of its ids."""
        return hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:16]

    def take(self, method: str, template: str, path: str) -> tuple[dict[str, str], float | None]:
        """Count one request; returns its headers and, if over the limit, seconds to wait."""
        major = MAJOR.match(path)
        key = (self.bucket(method, template), major.group(0) if major else "")
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self.window:
            window = self._windows[key] = _Window(now)
        reset_after = max(self.window - (now - window.started), 0.0)
        over = window.used >= self.limit
        if not over:
            window.used += 1
        headers = rate_limit_headers(self.limit, self.limit - window.used, reset_after,
                                     key[0], self.epoch())
        return headers, (reset_after if over else None)


def rate_limit_headers(limit: int, remaining: int, reset_after: float, bucket: str,
                       epoch: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": f"{epoch + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def too_many(retry_after: float, headers: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """The body and headers of a per-route 429 (docs: "Example Exceeded User Rate Limit")."""
    body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3),
            "global": False, "code": 0}
    return body, {**headers, "Retry-After": str(math.ceil(retry_after)),
                  "X-RateLimit-Scope": "user", "Via": "1.1 google"}
