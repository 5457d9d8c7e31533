"""Adapter supervision: one platform's crash never stops the others or the scheduler.

A chat adapter (:class:`bot.platform.Adapter`) can end by itself: discord.py lets an
exception raised while parsing a malformed gateway event end ``Client.start`` (its parsers
run outside any ``try``), and a connection a library gives up on ends its task. Without
supervision that ended ``planbot run``, the other platform included. :class:`Supervisor`
watches one adapter, and when its connection ends by itself it stops what is left of it,
waits, and starts it again; a fresh start reconciles (Discord on its new session's READY,
Slack on its new connection's ``hello`` or at HTTP start), so what happened while it was
down is read back from the platform.

The delays grow exponentially (:class:`Backoff`: 1, 2, 4 ... seconds, at most 60 by
default), the pattern of the AWS Architecture Blog's "Exponential Backoff And Jitter"
without the jitter (one process per platform connection, nothing to spread), and start
again from the first after the adapter stayed up ``stable_after`` seconds on the given
clock. A :class:`bot.errors.SetupError` (a token the platform refuses) is not retried: no
restart can fix it, and the service stops with exit status 2. A platform that cannot be
reached (:func:`bot.reachability.unreachable`: DNS, refused connection, timeout) is logged
once per outage at WARNING, in plain words, with the next delay; tracebacks go to DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import Clock
from bot.errors import SetupError
from bot.platform import Adapter
from bot.reachability import unreachable

_log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
"""Waits ``seconds`` (``asyncio.sleep`` in production; tests move a clock instead)."""


class Backoff:
    """Delays in seconds: ``first``, ``first * factor``, ... capped at ``ceiling``."""

    def __init__(self, first: float = 1.0, factor: float = 2.0, ceiling: float = 60.0) -> None:
        if first <= 0 or factor < 1 or ceiling < first:
            raise ValueError("backoff needs 0 < first <= ceiling and factor >= 1")
        self.first, self.factor, self.ceiling = first, factor, ceiling
        self._next = first

    def next(self) -> float:
        """The delay before the next attempt (seconds); each call grows the following one."""
        delay = self._next
        self._next = min(self._next * self.factor, self.ceiling)
        return delay

    def reset(self) -> None:
        """Back to ``first`` (the adapter ran long enough to count as healthy)."""
        self._next = self.first


class Supervisor:
    """Keeps ``adapter`` running once ``planbot run`` started it (a configuration that cannot
    work still fails the start-up at once), or from its first start when the platform could
    not be reached.

    ``clock`` tells how long the adapter stayed up (``stable_after`` seconds resets the
    backoff); ``sleep`` waits between attempts. ``restarts`` counts successful restarts and
    ``delays`` every delay waited, for the tests and ``/metrics``-style reports.
    """

    def __init__(self, adapter: Adapter, clock: Clock, *, sleep: Sleep = asyncio.sleep,
                 backoff: Backoff | None = None, stable_after: float = 300.0) -> None:
        self.adapter = adapter
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff or Backoff()
        self._stable_after = timedelta(seconds=stable_after)
        self.restarts = 0
        self.delays: list[float] = []
        self._outage = False

    @property
    def name(self) -> str:
        return self.adapter.name

    async def run(self, failed: Exception | None = None) -> SetupError:
        """Restart the adapter each time its connection ends by itself, for as long as the
        service runs (cancel the task to stop supervising). ``failed``: what the adapter's
        first start raised when its platform could not be reached; it is restarted from
        there. Returns only the :class:`SetupError` that makes restarting pointless."""
        if failed is not None:
            setup = await self._recover(failed, crashed=False)
            if setup is not None:
                return setup
        while True:
            up_since = self._clock.now()
            failure = await self.adapter.wait_until_closed()
            if isinstance(failure, SetupError):
                return failure
            if self._clock.now() - up_since >= self._stable_after:
                self._backoff.reset()
                self._outage = False  # what follows is a new outage, told again
            setup = await self._recover(failure, crashed=True)
            if setup is not None:
                return setup

    async def _recover(self, failure: BaseException | None, *, crashed: bool) -> SetupError | None:
        """Stop what is left of the adapter and start it again after the backoff's delay, as
        many times as it takes (``crashed``: it ran, then ended by itself). Returns the
        :class:`SetupError` that ends the attempts, else None once it runs again."""
        while True:
            delay = self._backoff.next()
            self._report(failure, delay, crashed=crashed)
            await self.adapter.stop()
            self.delays.append(delay)
            await self._sleep(delay)
            try:
                await self.adapter.start()
            except SetupError as err:
                return err
            except Exception as err:  # noqa: BLE001 - the platform may still be down: retry
                failure, crashed = err, False
                continue
            self.restarts += 1
            # Discord's start returns before its gateway connects: its outage ends when it
            # stays up (``stable_after``), Slack's when its start connected.
            if self._outage and self.adapter.connected:
                self._outage = False
                _log.info("%s is reachable again", self.name.capitalize())
            _log.log(logging.DEBUG if self._outage else logging.INFO,
                     "the %s adapter restarted (restart %d)", self.name, self.restarts)
            return None

    def _report(self, failure: BaseException | None, delay: float, *, crashed: bool) -> None:
        """Log ``failure`` in plain words: a platform that cannot be reached once per outage
        (WARNING), a crash at ERROR, a failed restart at WARNING; the traceback at DEBUG.
        The exception's type only: its text may quote a payload (people's data)."""
        _log.debug("the %s adapter stopped", self.name, exc_info=failure)
        reason = unreachable(failure)
        if reason is not None:
            if not self._outage:
                self._outage = True
                _log.warning("%s is unreachable (%s): check the network or proxy; retrying in "
                             "%g s", self.name.capitalize(), reason, delay)
        elif crashed:
            _log.error("the %s adapter stopped (%s); restarting it", self.name,
                       type(failure).__name__ if failure is not None else "closed")
        else:
            _log.warning("restarting the %s adapter failed (%s); trying again", self.name,
                         type(failure).__name__)
