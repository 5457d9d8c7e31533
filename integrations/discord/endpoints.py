"""Pointing discord.py at other endpoints than discord.com (a local Discord, in tests and demos).

discord.py has no per-client base URL: the REST base (``discord.http.Route.BASE``) and the
default gateway (``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``) are class attributes,
so the change is process-wide (docs/platform-facts.md, "Running the real libraries against local
servers"). A plain ``Client``/``Bot`` never asks ``/gateway/bot``; READY's
``resume_gateway_url`` decides where a RESUME goes.
"""

from __future__ import annotations

from collections.abc import Callable

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


def use_endpoints(api_base: str, gateway_url: str | None = None) -> Callable[[], None]:
    """Send REST calls to ``api_base`` (e.g. ``http://127.0.0.1:PORT/api/v10``) and open the
    gateway at ``gateway_url`` (e.g. ``ws://127.0.0.1:PORT/``) for the whole process.

    Returns a function that puts back the endpoints in force before the call.
    """
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved

    return restore
