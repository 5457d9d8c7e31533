"""planbot's Socket Mode connection: slack-sdk's client, with its one unrecovered failure
turned into an end the supervisor sees.

Slack asks a Socket Mode app to reconnect from time to time (a ``disconnect`` message, a
refresh every few hours: https://api.slack.com/apis/socket-mode, "Disconnects"); slack-sdk
then asks ``apps.connections.open`` for a new URL. When that call fails (Slack's API down, a
network fault), slack-sdk logs it and retries the whole connection every ping interval,
forever, while events go nowhere (``slack_sdk/socket_mode/aiohttp``, ``connect``). Here such a
failure ends the connection instead: :attr:`SocketConnection.ended` then holds the error,
the adapter's ``wait_until_closed`` returns it, and the supervisor (:mod:`bot.supervise`)
stops and restarts the adapter with its backoff; the new connection's ``hello`` reconciles
what was missed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack.checks import socket_url

_log = logging.getLogger(__name__)


class SocketConnection:
    """One Socket Mode connection of ``app`` with the app-level token ``app_token``;
    ``on_hello`` is called on each ``hello`` (each new websocket, the first included)."""

    def __init__(self, app: AsyncApp, app_token: str, web: AsyncWebClient,
                 on_hello: Callable[[], object]) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token)
        self._app_token = app_token
        self._web = web
        self._on_hello = on_hello
        self.ended: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
        """Set to the error when a reconnection failed (module docstring); never otherwise."""

    @property
    def connected(self) -> bool:
        """The websocket is open."""
        client = self._handler.client
        session = client.current_session
        return not client.closed and session is not None and not session.closed

    async def open(self) -> None:
        """Connect. Raises ``SetupError("run.token_rejected")`` when Slack refuses the app
        token (:func:`integrations.slack.checks.socket_url`)."""
        client = self._handler.client
        client.message_listeners.append(self._on_message)
        # The first URL asked here, so that a refused app token stops the start (the socket
        # client would retry it forever); reconnections ask their own, watched.
        client.wss_uri = await socket_url(self._web, self._app_token)
        reissue = client.issue_new_wss_url

        async def watched_reissue() -> str:
            try:
                return await reissue()
            except Exception as err:
                self._end(err)
                raise

        client.issue_new_wss_url = watched_reissue  # type: ignore[method-assign]
        await self._handler.connect_async()

    async def close(self) -> None:
        await self._handler.close_async()

    async def wait_ended(self, stopped: asyncio.Event) -> BaseException | None:
        """The error that ended the connection (module docstring), or None once ``stopped``
        is set (the adapter stopped it)."""
        waiting = asyncio.ensure_future(stopped.wait())
        either: list[asyncio.Future[Any]] = [waiting, self.ended]
        try:
            # ``wait`` leaves ``ended`` alone, and lets this waiter's cancellation through.
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        return self.ended.result() if self.ended.done() and not stopped.is_set() else None

    def _end(self, err: BaseException) -> None:
        if not self.ended.done():
            _log.warning("Slack refused a new Socket Mode connection (%s)", type(err).__name__)
            self.ended.set_result(err)

    async def _on_message(self, client: Any, message: dict, raw: str | None) -> None:
        if message.get("type") == "hello":
            self._on_hello()
