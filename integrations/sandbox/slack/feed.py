"""The local Slack's events to the app: each wrapped in an Events API ``event_callback`` body,
kept, and handed to :class:`~integrations.sandbox.slack.delivery.Delivery`; those delivered
in the background (caused by the app's own calls, or retried as the clock moves) are tracked
until over."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from integrations.sandbox.slack.delivery import AckResult, Delivery


class EventFeed:
    """Events of workspace ``team_id`` for app ``app_id`` (bot user ``bot_user_id``)."""

    def __init__(self, delivery: Delivery, *, team_id: str, app_id: str, bot_user_id: str,
                 clock: Callable[[], float]) -> None:
        self.delivery = delivery
        self.team_id, self.app_id, self.bot_user_id = team_id, app_id, bot_user_id
        self.clock = clock
        self.events: list[dict] = []
        """Every body sent, in order."""
        self._background: set[asyncio.Task] = set()

    def body(self, event: dict, *, event_id: str | None = None) -> dict:
        """Wrap ``event`` in an Events API ``event_callback`` body with a fresh ``event_id``."""
        return {
            "token": "verification-token", "team_id": self.team_id,
            "api_app_id": self.app_id, "event": event, "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(6).upper(),
            "event_time": int(self.clock()),
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id,
                                "user_id": self.bot_user_id, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }

    async def send(self, event: dict) -> AckResult:
        """Deliver ``event`` with Slack's retries; with spaced retries, returns after the
        first attempt (its result) and the retries go on in the background."""
        body = self.body(event)
        self.events.append(body)
        if not self.delivery.retry_spacing:
            return await self.delivery.send_event(body)
        first = asyncio.Event()
        self._track(asyncio.get_running_loop().create_task(self.delivery.send_event(body, first)))
        await first.wait()
        return self.delivery.last_result(body)

    def send_later(self, event: dict) -> None:
        """Deliver ``event`` in the background."""
        self._track(asyncio.get_running_loop().create_task(self.send(event)))

    def _track(self, task: asyncio.Task) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self, timeout: float) -> None:
        """Wait until every background delivery is over."""
        async def _drain() -> None:
            while self._background:
                await asyncio.gather(*list(self._background), return_exceptions=True)
        await asyncio.wait_for(_drain(), timeout)

    async def stop(self) -> None:
        """Cancel the background deliveries."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
