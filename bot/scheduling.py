"""Scheduled work with APScheduler 3: weekly digests, round deadlines and reminders.

The jobs live in memory only and are rebuilt from the store (the open rounds, their opening
and closing times, the digests already claimed) at start-up and every minute after. No job is
ever stored: APScheduler's ``SQLAlchemyJobStore`` pickles each job, callable reference
included, and unpickling a row a database writer replaced would run their code in planbot
(Python's ``pickle`` documentation: "never unpickle data that could have come from an
untrusted source"). Migration ``0012_versions`` drops the table it used (``apscheduler_jobs``).

Job ids are stable (``digest:<round>``, ``close:<round>``, ``remind:<round>``). What a
persisted store used to give, the catch-up of runs missed while the service was down, comes
from the store itself: a round's closing job has a fixed run date and no misfire limit, so a
deadline passed while down closes the round at start-up; when a round's weekly job is first
added, a one-off ``catchup:<round>`` job posts the digest of the latest weekly fire time if it
is not posted yet (the digest's claim in the store makes a second try a no-op), and it covers
everything since the last digest posted.

Weekly runs use a ``CronTrigger`` in the configured time zone, so they stay at the configured
local time (09:00) across daylight-saving changes.

APScheduler reads the wall clock; the job functions read time from the service's clock, so
tests call them directly with a ``ManualClock`` and compute fire times with the triggers'
``get_next_fire_time``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.core import Core
from bot.publish import PublishResult

_log = logging.getLogger(__name__)

WEEKLY_GRACE = timedelta(days=7)
"""A missed weekly run still runs on return within a week; later, the next run covers the gap."""
REMINDER_GRACE = timedelta(hours=1)
CLOSE_GRACE = None
"""A round always closes, however late the service comes back (APScheduler: None = no limit)."""
SYNC_EVERY = timedelta(minutes=1)
PURGE_EVERY_HOURS = 24
"""The retention purge runs daily: a text is kept at most a day past its retention period."""
ROUND_JOBS = ("digest", "close", "remind")

SERVICES: dict[str, DigestScheduler] = {}
"""Running services by name: how persisted jobs, which hold only the name, find theirs."""


def weekly_trigger(settings: Settings, start: datetime | None = None) -> CronTrigger:
    """The weekly digest trigger: ``digest_day`` at ``digest_time`` in ``timezone``."""
    return CronTrigger(day_of_week=settings.digest_day, hour=settings.digest_time.hour,
                       minute=settings.digest_time.minute, timezone=settings.timezone,
                       start_date=start)


def last_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time of a weekly ``trigger`` at or before ``now``, in UTC (None if none
    in the past eight days). Both racing processes compute the same value, which is what makes the
    digest's claim key (round, kind, period end) collide."""
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last.astimezone(UTC) if last else None


def make_scheduler(settings: Settings) -> AsyncIOScheduler:
    """An ``AsyncIOScheduler`` in the configured time zone, its jobs in memory (see the
    module's docstring). Defaults: coalesce missed runs, one instance per job."""
    return AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone=settings.timezone,
                            job_defaults={"coalesce": True, "max_instances": 1,
                                          "misfire_grace_time": int(WEEKLY_GRACE.total_seconds())})


def service(name: str) -> DigestScheduler:
    """The running service ``name``; raises ``LookupError`` when none is registered."""
    try:
        return SERVICES[name]
    except KeyError:
        raise LookupError(f"no planbot service named {name!r} is running") from None


# ---- job functions (module-level, plain arguments) -------------------------------------


async def weekly_digest(name: str, round_id: int) -> PublishResult | None:
    """Post the weekly digest of ``round_id`` for the latest weekly fire time at or before
    the service's now; nothing if the round is not open. Safe to run twice (the claim)."""
    svc = service(name)
    rnd = await svc.core.db(svc.core.store.get_round, round_id)
    if rnd is None or rnd.status != "open":
        return None
    now = svc.publisher.clock.now()
    due = last_fire_time(weekly_trigger(svc.settings), now)
    if due is None or due <= rnd.opened_at:
        return None
    return await svc.publisher.publish(round_id, "weekly", end=due)


async def close_round(name: str, round_id: int) -> PublishResult | None:
    """Close the round (if still open) and post its final digest, up to its closing time."""
    svc = service(name)
    await svc.core.rounds.close(round_id)
    rnd = await svc.core.db(svc.core.store.get_round, round_id)
    if rnd is None or rnd.closed_at is None:
        return None
    _log.info("round %s closed at %s", round_id, rnd.closed_at.isoformat())
    svc.remove_jobs(round_id)
    return await svc.publisher.publish(round_id, "final", end=rnd.closed_at)


async def remind(name: str, round_id: int) -> None:
    """Post the closing reminder of an open round."""
    await service(name).publisher.remind(round_id)


async def purge_expired(name: str) -> None:
    """The retention purge: texts of rounds closed longer ago than ``RETENTION_PERIOD``
    (:meth:`bot.privacy.Privacy.purge`)."""
    await service(name).core.privacy.purge(dry_run=False)


async def sync_jobs(name: str) -> None:
    """Add the jobs of rounds opened since the last pass; drop those of closed rounds."""
    await service(name).sync()


# ---- the service ----------------------------------------------------------------------


class DigestScheduler:
    """Keeps one weekly digest job per open round, plus closing and reminder jobs, on
    ``scheduler`` under the service name ``name`` (several services may share a process,
    as in tests, under different names). Digests go through ``core.digest_publisher``."""

    def __init__(self, core: Core, scheduler: AsyncIOScheduler, name: str = "planbot") -> None:
        self.core = core
        self.publisher = core.digest_publisher
        self.settings = core.settings
        self.scheduler = scheduler
        self.name = name

    async def start(self) -> None:
        """Register, sync the jobs of open rounds, start the scheduler on the running loop,
        and keep syncing every minute (rounds are opened by commands at any time)."""
        SERVICES[self.name] = self
        self.scheduler.start()
        _log.info("weekly digests on %s at %s (%s)", self.settings.digest_day,
                  self.settings.digest_time.strftime("%H:%M"), self.settings.timezone)
        self._add(sync_jobs, "sync", IntervalTrigger(seconds=SYNC_EVERY.total_seconds()),
                  args=[self.name], misfire_grace_time=None, replace=True)
        self._add(purge_expired, "privacy-purge", IntervalTrigger(hours=PURGE_EVERY_HOURS),
                  args=[self.name], misfire_grace_time=None, replace=True)
        await self.sync()

    def shutdown(self) -> None:
        """Stop the scheduler without waiting for running jobs (their awaiters finish them),
        and unregister."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        SERVICES.pop(self.name, None)

    def job_ids(self, round_id: int) -> tuple[str, str, str]:
        """The stable ids of a round's jobs: weekly digest, closing, reminder."""
        digest, close, remind = (f"{kind}:{round_id}" for kind in ROUND_JOBS)
        return digest, close, remind

    async def sync(self) -> None:
        """Ensure the jobs of every open round exist (a weekly job whose day, time or zone
        changed in the settings is rescheduled); remove the jobs of rounds no longer open.
        Reads the job store once."""
        rounds = [r for r in await self.core.db(self.core.store.rounds, "open")
                  if r.source == "chat"]
        now = self.publisher.clock.now()
        jobs = {job.id: job for job in self.scheduler.get_jobs()}
        for rnd in rounds:
            digest_id, close_id, remind_id = self.job_ids(rnd.id)
            weekly = weekly_trigger(self.settings, rnd.opened_at)
            if digest_id in jobs and repr(jobs[digest_id].trigger) != repr(weekly):
                self.scheduler.reschedule_job(digest_id, trigger=weekly)
            elif digest_id not in jobs:  # first seen since start-up: a missed weekly is due now
                self._add(weekly_digest, f"catchup:{rnd.id}", DateTrigger(), jobs,
                          args=[self.name, rnd.id], misfire_grace_time=WEEKLY_GRACE)
            self._add(weekly_digest, digest_id, weekly, jobs, args=[self.name, rnd.id],
                      misfire_grace_time=WEEKLY_GRACE)
            if rnd.closes_at is not None:
                self._add(close_round, close_id, DateTrigger(run_date=rnd.closes_at), jobs,
                          args=[self.name, rnd.id], misfire_grace_time=CLOSE_GRACE)
                remind_at = rnd.closes_at - self.settings.reminder_before
                if remind_at > now:
                    self._add(remind, remind_id, DateTrigger(run_date=remind_at), jobs,
                              args=[self.name, rnd.id], misfire_grace_time=REMINDER_GRACE)
        wanted = {job_id for rnd in rounds for job_id in self.job_ids(rnd.id)}
        for job_id in jobs:
            if job_id.partition(":")[0] in ROUND_JOBS and job_id not in wanted:
                self._remove(job_id)

    def remove_jobs(self, round_id: int) -> None:
        """Remove a round's jobs (those that exist)."""
        for job_id in self.job_ids(round_id):
            self._remove(job_id)

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):  # already gone, or removed by another process
            self.scheduler.remove_job(job_id)

    def _add(self, func: Callable[..., object], job_id: str, trigger: BaseTrigger,
             existing: Collection[str] | None = None, *, args: Sequence[object] = (),
             misfire_grace_time: timedelta | None, replace: bool = False) -> None:
        """Add a job unless one with ``job_id`` is already stored (``existing``: the stored
        jobs by id, read once by the caller). Keeping a stored job keeps its next run time,
        hence the catch-up after a restart; two processes adding at once is harmless."""
        if not replace and job_id in (existing if existing is not None else
                                      {j.id for j in self.scheduler.get_jobs()}):
            return
        grace = None if misfire_grace_time is None else int(misfire_grace_time.total_seconds())
        with contextlib.suppress(ConflictingIdError):  # another process added it just now
            self.scheduler.add_job(func, trigger, id=job_id, args=list(args), coalesce=True,
                                   misfire_grace_time=grace, max_instances=1,
                                   replace_existing=replace)
