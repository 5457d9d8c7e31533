"""Event intake: neutral events from the adapters applied to the store exactly once.

This is where an event enters the core. :class:`DatabaseThread` runs every store call on one
dedicated thread, so the event loop never blocks on the database and writes are applied in
arrival order. :class:`Intake` queues events and drains them on that thread; what an event
means is decided by :class:`bot.apply.EventApplier`, and the store's unique keys make a
second delivery harmless (docs/decisions.md, "Exactly once").
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, Protocol, TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from bot.apply import EventApplier
from bot.events import InboundEvent

_log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")
DRAIN_CHUNK = 64
"""Results handed back to the event loop at most this many at a time during a drain."""

class RunInDb(Protocol):
    """``await db(fn, *args, **kwargs)``: ``fn(*args, **kwargs)`` run on the database thread,
    typed as ``fn`` is."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args,
                 **kwargs: P.kwargs) -> Awaitable[T]: ...

AfterApplied = Callable[[InboundEvent], Awaitable[None]]
"""Awaited with each event that changed the store (the reply relay's ``follow``)."""

_Result = tuple["asyncio.Future[bool]", bool | None, BaseException | None]


def _deliver(results: list[_Result]) -> None:
    for done, value, error in results:
        if done.cancelled():
            continue
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(bool(value))


class DatabaseThread:
    """The one thread every store call of the core runs on (``thread_name_prefix``
    ``planbot-db``)."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planbot-db")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the database thread and await its result; raises
        what ``fn`` raises."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Finish the queued store work, then stop the thread."""
        self.executor.shutdown(wait=True)


class Intake:
    """Applies neutral events exactly once, in arrival order, on ``database``'s thread.

    ``after_applied`` is awaited with every event that changed the store, before
    :meth:`handle` returns (the wiring passes the reply relay's ``follow``).
    """

    def __init__(self, database: DatabaseThread, applier: EventApplier,
                 after_applied: AfterApplied | None = None) -> None:
        self.database = database
        self.applier = applier
        self._after_applied = after_applied
        self._pending: deque[tuple[InboundEvent, asyncio.Future[bool]]] = deque()
        self._draining = False
        self.applied = 0
        """Events that changed the store since start (benchmarks and tests read it)."""

    async def handle(self, event: InboundEvent) -> bool:
        """Apply a neutral event exactly once; False when ignored or already applied.

        Never raises for bad input: a malformed event is logged (WARNING) and skipped.
        Database failures propagate so the adapter does not acknowledge what was not stored.
        Events are applied in arrival order by one drain on the database thread, which takes
        every event queued meanwhile, so a burst pays one thread hand-over, not one each.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._pending.append((event, done))
        if not self._draining:
            self._draining = True
            loop.run_in_executor(self.database.executor, self._drain, loop)
        changed = await done
        self.applied += changed
        if changed and self._after_applied is not None:
            await self._after_applied(event)
        return changed

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the database thread: apply queued events in order, handing results back to
        the loop in chunks; the loop decides whether to drain again (no lost wake-up)."""
        results: list[_Result] = []
        while self._pending:
            event, done = self._pending.popleft()
            try:
                results.append((done, self._apply_safely(event), None))
            except Exception as err:  # noqa: BLE001 - handed to the awaiting adapter
                results.append((done, None, err))
            if len(results) >= DRAIN_CHUNK:
                loop.call_soon_threadsafe(_deliver, results)
                results = []
        loop.call_soon_threadsafe(self._drained, loop, results)

    def _drained(self, loop: asyncio.AbstractEventLoop, results: list[_Result]) -> None:
        _deliver(results)
        if self._pending:
            loop.run_in_executor(self.database.executor, self._drain, loop)
        else:
            self._draining = False

    def _apply_safely(self, event: InboundEvent) -> bool:
        """Apply one event on the database thread; bad input is logged and skipped.

        A unique key refusing our write means another process wrote the same rows
        meanwhile: applying again against the new state makes a true duplicate a no-op
        and keeps a different change (👎 racing 👍)."""
        name = type(event).__name__
        try:
            try:
                return self.applier.apply(event)
            except IntegrityError:
                return self.applier.apply(event)
        except IntegrityError:
            _log.info("skipped %s already applied concurrently", name)
        except (AttributeError, TypeError, ValueError, KeyError, OverflowError,
                DataError) as err:
            _skipped(name, err)
        except StatementError as err:
            if isinstance(err, DBAPIError):
                raise  # the database failed: the adapter must not acknowledge
            _skipped(name, err)
        return False


def _skipped(name: str, err: Exception) -> None:
    """Log a malformed event: its kind and the error's kind at WARNING, the error itself
    (which may quote the event's text or ids) only at DEBUG."""
    _log.warning("skipped malformed %s (%s)", name, type(err).__name__)
    _log.debug("skipped malformed %s: %s", name, err)
