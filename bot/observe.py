"""What the core tells an observer as it works: the interface ``planbot run``'s metrics
(``bot.service.health``) are fed through. The core never depends on how it is observed."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Observer(Protocol):
    """Receives the core's milestones; each call must return at once and never raise."""

    def event_received(self, platform: str) -> None:
        """An adapter handed the core an event (counted before it is applied)."""

    def event_applied(self, platform: str, lag_seconds: float) -> None:
        """An event changed the store, ``lag_seconds`` after it happened on the platform."""

    def digest_posted(self, platform: str, at: datetime) -> None:
        """A digest was posted in a channel of ``platform`` at ``at`` (UTC)."""

    def reconciled(self, platform: str) -> None:
        """A reconciliation pass over ``platform`` finished."""


class Unobserved:
    """The observer of a core nobody watches (tests, the CLI, the demo)."""

    def event_received(self, platform: str) -> None:
        return None

    def event_applied(self, platform: str, lag_seconds: float) -> None:
        return None

    def digest_posted(self, platform: str, at: datetime) -> None:
        return None

    def reconciled(self, platform: str) -> None:
        return None
