"""Event intake: neutral events from the adapters recorded durably, then applied exactly once.

This is where an event enters the core. :class:`DatabaseThread` runs every store call on one
dedicated thread, so the event loop never blocks on the database. :class:`Intake` is the
loop's side: :meth:`Intake.capture` records an event in the inbox (or, with the store
unreachable, the local journal) and returns, so the adapter acknowledges at once; the
inbox is then applied in batches, in arrival order, by :class:`bot.inbox.InboxWorker` on the
database thread. Both run as *turns* on that thread, recording first: every capture waiting
when a turn starts is recorded in one transaction (a burst pays one commit, not one each).
What an event means is decided by :class:`bot.apply.EventApplier`; the inbox's delivery key
and the store's unique keys make a second delivery harmless (docs/decisions.md, "Exactly
once" and "The inbox").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, Protocol, TypeVar

from bot import wire
from bot.clock import Clock
from bot.events import InboundEvent
from bot.inbox import Applied, InboxWorker, Turn
from storage.records import NewInboxRow

_log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

class RunInDb(Protocol):
    """``await db(fn, *args, **kwargs)``: ``fn(*args, **kwargs)`` run on the database thread,
    typed as ``fn`` is."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args,
                 **kwargs: P.kwargs) -> Awaitable[T]: ...

AfterApplied = Callable[[InboundEvent], Awaitable[None]]
"""Awaited with each event that changed the store (the reply relay's ``follow``)."""

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



AfterGap = Callable[[], Awaitable[None]]
"""Awaited when the store is back after events were refused (the reconciliation)."""
_Capture = tuple[NewInboxRow, "asyncio.Future[int | None]", "asyncio.Future[bool] | None"]
RETRY_SOON = 0.05
"""Seconds before looking again at rows this process waits for that another process holds."""
CAPTURE_FIRST = 0.1
"""Seconds without a new event before a batch is applied (unless :meth:`Intake.settle` waits
for it): during a burst the thread (and the interpreter's lock, which applying would hold)
records first and applies in the pauses. A burst of 32 concurrent requests comes in waves:
the acknowledgements of one record bring the next requests some milliseconds later, more on a
loaded machine (``bench/bench_slack.py``), hence a tenth of a second..."""
APPLY_AT_LEAST_EVERY = 5.0
"""...but a short batch (``bot.inbox.SHORT_SLICE``) is applied at least this often (seconds),
however long the burst lasts. Each one holds the acknowledgements arriving meanwhile (tens of
milliseconds on a loaded machine), so it is rare: a burst that never pauses for a tenth of a
second for this long is an overload, which the inbox absorbs."""


class Intake:
    """Captures neutral events durably and has them applied exactly once, in arrival order
    per channel, on ``database``'s thread (module docstring).

    ``after_applied`` is awaited with every event that changed the store, in order (the
    wiring passes the reply relay's ``follow``); ``after_gap`` when the store is back after
    the journal refused events (the wiring reconciles every connected platform).
    ``poll`` seconds: how often the inbox is looked at when nothing happens here (rows left
    by a process that stopped, the journal, pruning).
    """

    def __init__(self, database: DatabaseThread, worker: InboxWorker, clock: Clock, *,
                 after_applied: AfterApplied | None = None, after_gap: AfterGap | None = None,
                 poll: float = 1.0) -> None:
        self.database = database
        self.worker = worker
        self.clock = clock
        self._after_applied = after_applied
        self._after_gap = after_gap
        self._poll = poll
        self._captures: list[_Capture] = []
        self._waiters: dict[int, asyncio.Future[bool]] = {}
        self._outstanding: set[int] = set()
        self._turning = False
        self._following: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._idle: asyncio.Event | None = None
        self._closed = False
        self._applied_at = self._captured_at = 0.0
        self._deferred: asyncio.TimerHandle | None = None
        self._settling = 0
        self._gap_task: asyncio.Future[None] | None = None
        self.applied = 0
        """Events that changed the store since start (benchmarks and tests read it)."""
        self.captured = 0
        """Events recorded (inbox or journal) since start, re-deliveries included."""

    def capture(self, event: InboundEvent) -> asyncio.Future[int | None]:
        """Record ``event`` durably (inbox, or journal when the store is unreachable): the
        future gives its inbox id (None: a re-delivery, or kept in the journal) or raises
        :class:`bot.journal.JournalFull` (not kept: do not acknowledge). A future, not a
        coroutine: no frames per event in flight, thousands in a burst (bench_discord)."""
        recorded, _ = self._enqueue(event, wait=False)
        return recorded

    async def handle(self, event: InboundEvent) -> bool:
        """Capture ``event`` and wait until it is applied; True if it changed the store
        (False: ignored, a re-delivery, or kept in the journal for later). Raises
        ``JournalFull`` as :meth:`capture` does."""
        recorded, applied = self._enqueue(event, wait=True)
        await recorded
        return await applied if applied is not None else False

    async def settle(self) -> None:
        """Return once everything captured here is applied and followed (tests, the demo,
        the benchmarks, shutdown); at once after :meth:`close`."""
        loop = asyncio.get_running_loop()
        idle = self._idle_event()
        self._settling += 1
        try:
            while not self._closed and (not idle.is_set() or self._captures
                                        or self._outstanding):
                idle.clear()
                self._kick(loop)
                await idle.wait()
        finally:
            self._settling -= 1
        if self._following is not None:
            await self._following

    def start(self) -> None:
        """Look at the inbox now and every ``poll`` seconds from now on: rows a stopped
        process left are applied, the journal is moved in, old rows pruned. (A capture
        starts this too.) Call on the running loop."""
        self._kick(asyncio.get_running_loop())

    def close(self) -> None:
        """Stop looking at the inbox (the database thread is closed by the core)."""
        self._closed = True
        for timer in (self._timer, self._deferred):
            if timer is not None:
                timer.cancel()
        self._timer = self._deferred = None

    def _enqueue(self, event: InboundEvent, wait: bool
                 ) -> tuple[asyncio.Future[int | None], asyncio.Future[bool] | None]:
        loop = asyncio.get_running_loop()
        row = wire.inbox_row(event, self.clock.now())
        recorded: asyncio.Future[int | None] = loop.create_future()
        applied = loop.create_future() if wait else None
        self._captures.append((row, recorded, applied))
        self._captured_at = loop.time()
        if len(self._captures) == 1:  # the requests read in this loop pass join this one
            loop.call_soon(self._kick, loop)
        return recorded, applied

    def _idle_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
        return self._idle

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start a turn on the database thread unless one is under way: a record if events
        wait, else an apply, put off while capturing unless awaited (``CAPTURE_FIRST``)."""
        if self._closed:
            return
        if self._timer is None:
            self._timer = loop.call_later(self._poll, self._tick, loop)
        if self._turning:
            return
        captures, self._captures = self._captures, []
        short = False
        if not captures:
            now = loop.time()
            self._applied_at = self._applied_at or now  # the first turn is not overdue
            pause = self._captured_at + CAPTURE_FIRST - now
            urgent = self._settling or self._waiters
            if pause > 0 and not urgent and now - self._applied_at < APPLY_AT_LEAST_EVERY:
                if self._deferred is None:
                    self._deferred = loop.call_later(pause, self._undefer, loop)
                return
            short, self._applied_at = pause > 0 and not urgent, now
        self._turning = True
        self._idle_event().clear()
        turn = loop.run_in_executor(self.database.executor, self.worker.turn,
                                    [c[0] for c in captures], sorted(self._outstanding), short)
        turn.add_done_callback(partial(self._after_turn, loop, captures))

    def _undefer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._deferred = None
        self._kick(loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = loop.call_later(self._poll, self._tick, loop)
        self._kick(loop)

    def _after_turn(self, loop: asyncio.AbstractEventLoop, captures: list[_Capture],
                    done: asyncio.Future[Turn]) -> None:
        self._turning = False
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            _log.error("an intake turn failed: %s", type(error).__name__)
        turn = done.result() if error is None else Turn(recorded=[error] * len(captures))
        self._deliver(captures, turn.recorded)
        if captures:  # the acknowledgements bring the next requests: a pause starts now
            self._captured_at = loop.time()
        for row_id, outcome in turn.seen.items():
            if outcome is not None:
                self._outstanding.discard(row_id)
                self._resolve(row_id, outcome == "changed")
        if turn.applied:
            for applied in turn.applied:
                self._outstanding.discard(applied.row_id)
            self._following = asyncio.ensure_future(
                self._follow(self._following, turn.applied))
        if turn.gap_closed and self._after_gap is not None:
            self._gap_task = asyncio.ensure_future(self._after_gap())
        if self._captures or captures or turn.more or (turn.applied and self._outstanding):
            self._kick(loop)
        elif self._outstanding:
            loop.call_later(RETRY_SOON if turn.store_up else self._poll, self._kick, loop)
        else:
            self._idle_event().set()

    def _deliver(self, captures: list[_Capture],
                 recorded: list[int | BaseException | None]) -> None:
        for (_, future, applied), result in zip(captures, recorded, strict=True):
            if not isinstance(result, BaseException):
                self.captured += 1
                if result is not None:
                    self._outstanding.add(result)
                    if applied is not None:
                        self._waiters[result] = applied
                elif applied is not None:
                    applied.set_result(False)
            _resolve(future, result)

    def _resolve(self, row_id: int, changed: bool) -> None:
        waiter = self._waiters.pop(row_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(changed)

    async def _follow(self, previous: asyncio.Future[None] | None,
                      applied: list[Applied]) -> None:
        """After the previous batch's: tell ``after_applied`` of each change, in order, then
        the events' waiters."""
        if previous is not None:
            await previous
        for item in applied:
            changed = item.outcome == "changed"
            self.applied += changed
            if changed and item.event is not None and self._after_applied is not None:
                try:
                    await self._after_applied(item.event)
                except Exception:  # noqa: BLE001 - one failed follow-up must not stop the rest
                    _log.exception("following an applied %s failed", type(item.event).__name__)
            self._resolve(item.row_id, changed)


def _resolve(future: asyncio.Future[int | None], result: int | BaseException | None) -> None:
    """Give a capture its outcome. Its future is done already only if the task awaiting it
    was cancelled meanwhile (an HTTP request dropped): the row is recorded all the same."""
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
