"""Scheduling: fire times across DST, catch-up after downtime, one digest per period even
with two services on one database, deadlines and reminders, jobs rebuilt from the store (none
stored, so no pickle to replace)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from sqlalchemy import inspect

from bot import scheduling
from bot.clock import ManualClock
from bot.scheduling import (
    DigestScheduler,
    last_fire_time,
    make_scheduler,
    weekly_digest,
    weekly_trigger,
)
from storage.db import create_store_engine
from tests.bot.digest_fixtures import busy_round
from tests.helpers import START, make_core, make_settings

MONTREAL = ZoneInfo("America/Montreal")


def fire_times(trigger, after: datetime, n: int) -> list[datetime]:
    out, previous, now = [], None, after
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, now)
        out.append(previous)
        now = previous + timedelta(seconds=1)
    return out


@pytest.mark.parametrize("after, expected_utc", [
    # 2026-03-08: clocks go forward (EST -> EDT); Monday 09:00 stays 09:00 local.
    (datetime(2026, 2, 28, tzinfo=UTC), ["2026-03-02T14:00", "2026-03-09T13:00", "2026-03-16T13:00"]),
    # 2026-11-01: clocks go back (EDT -> EST).
    (datetime(2026, 10, 24, tzinfo=UTC), ["2026-10-26T13:00", "2026-11-02T14:00", "2026-11-09T14:00"]),
])
def test_weekly_run_stays_at_nine_local_across_dst(tmp_path, after, expected_utc):
    trigger = weekly_trigger(make_settings(tmp_path))
    times = fire_times(trigger, after, 3)
    assert [t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for t in times] == expected_utc
    assert {(t.astimezone(MONTREAL).weekday(), t.astimezone(MONTREAL).time()) for t in times} \
        == {(0, time(9, 0))}


def test_configured_day_time_and_zone(tmp_path):
    settings = make_settings(tmp_path, digest_day="fri", digest_time=time(17, 30),
                             timezone=ZoneInfo("Europe/Paris"))
    (fire,) = fire_times(weekly_trigger(settings), datetime(2026, 3, 27, 12, tzinfo=UTC), 1)
    assert fire.astimezone(UTC) == datetime(2026, 3, 27, 16, 30, tzinfo=UTC)  # CET, UTC+1


def test_last_fire_time_is_the_latest_at_or_before_now(tmp_path):
    trigger = weekly_trigger(make_settings(tmp_path))
    monday = datetime(2026, 11, 9, 14, 0, tzinfo=UTC)
    assert last_fire_time(trigger, monday) == monday
    assert last_fire_time(trigger, monday - timedelta(seconds=1)) == monday - timedelta(days=7)
    assert last_fire_time(trigger, monday + timedelta(days=6)) == monday


class Service:
    """A core, its publisher and its scheduler registered under a unique name."""

    def __init__(self, tmp_path, name, clock, database_url=None):
        self.core = make_core(tmp_path, clock=clock, database_url=database_url)
        self.publisher = self.core.digest_publisher
        self.scheduler = DigestScheduler(self.core, make_scheduler(self.core.settings), name)
        scheduling.SERVICES[name] = self.scheduler
        self.name = name

    def close(self):
        self.scheduler.shutdown()
        self.core.close()


@pytest.fixture
def service(tmp_path, request):
    svc = Service(tmp_path, request.node.name, ManualClock(START))
    yield svc
    svc.close()


async def test_a_service_down_over_two_runs_posts_one_catch_up_digest(service):
    round_id, platforms = await busy_round(service.core)
    service.core.platforms.update(platforms)
    first = datetime(2026, 11, 9, 14, 0, tzinfo=UTC)  # Monday 09:00 in Montreal
    service.core.clock.set(first + timedelta(minutes=1))
    posted = await weekly_digest(service.name, round_id)
    assert posted.digest_id is not None

    # Down from Tuesday through the runs of Nov 16 and Nov 23; back on Tuesday Nov 24.
    service.core.clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    catch_up = await weekly_digest(service.name, round_id)
    again = await weekly_digest(service.name, round_id)

    assert again.digest_id is None
    weekly = [d for d in service.core.store.digests(round_id) if d.kind == "weekly"]
    assert [(d.period_start, d.period_end) for d in weekly] == [
        (START, first), (first, datetime(2026, 11, 23, 14, 0, tzinfo=UTC))]
    assert catch_up.rendered.digest.start == first
    # Two weekly digests, each in both channels.
    assert [len(p.digests) for p in platforms.values()] == [2, 2]


async def test_real_scheduler_coalesces_missed_runs_into_one(tmp_path, request):
    """APScheduler itself: a job whose stored next run is two weeks late runs once."""
    now = datetime.now(UTC).replace(microsecond=0)
    svc = Service(tmp_path, request.node.name, ManualClock(START))
    try:
        round_id, platforms = await busy_round(svc.core)  # opened weeks ago, at START
        svc.core.platforms.update(platforms)
        svc.core.clock.set(now)  # the job and APScheduler now agree on the time
        done = asyncio.Event()
        runs = []

        def executed(event):
            if event.job_id == f"digest:{round_id}":
                runs.append(event.scheduled_run_time)
                done.set()

        svc.scheduler.scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
        await svc.scheduler.start()
        job = svc.scheduler.scheduler.get_job(f"digest:{round_id}")
        assert (job.coalesce, job.misfire_grace_time) == (True, 7 * 24 * 3600)
        # As if the service had been down since two weeks before the last run.
        last = last_fire_time(weekly_trigger(svc.core.settings), now)
        job.modify(next_run_time=last - timedelta(days=14))
        await asyncio.wait_for(done.wait(), 10)
        await asyncio.sleep(0)  # let a second (wrong) run be submitted if there were one
        assert runs == [last]
        digests = [d for d in svc.core.store.digests(round_id) if d.kind == "weekly"]
        assert [(d.period_start, d.period_end) for d in digests] == [(START, last)]
    finally:
        svc.close()


async def test_two_services_on_one_database_post_one_digest_per_period(tmp_path, database_url):
    clock = ManualClock(START)
    a = Service(tmp_path / "a", "svc-a", clock, database_url=database_url)
    b = Service(tmp_path / "b", "svc-b", clock, database_url=database_url)  # 2nd process
    engines = []
    try:
        round_id, platforms = await busy_round(a.core)
        a.core.platforms.update(platforms)
        b.core.platforms.update(platforms)
        for week in range(3):
            clock.set(datetime(2026, 11, 9, 14, 0, tzinfo=UTC) + timedelta(weeks=week))
            results = await asyncio.gather(weekly_digest("svc-a", round_id),
                                           weekly_digest("svc-b", round_id))
            assert sorted(r.digest_id is None for r in results) == [False, True]
        digests = a.core.store.digests(round_id)
        assert len(digests) == 3
        assert [len(p.digests) for p in platforms.values()] == [3, 3]
        assert all(d.status == "posted" and len(d.messages) >= 2 for d in digests)

        # Both rebuild the same jobs from the one database, which stores none of them.
        for svc in (a, b):
            svc.scheduler = DigestScheduler(svc.core, make_scheduler(svc.core.settings),
                                            svc.name)
            await svc.scheduler.start()
        ids = [{j.id for j in svc.scheduler.scheduler.get_jobs()} - {f"catchup:{round_id}"}
               for svc in (a, b)]  # the one-off catch-up may have run already
        assert ids[0] == ids[1] == {"sync", "privacy-purge", f"digest:{round_id}"}
        engines.append(create_store_engine(database_url))
        assert "apscheduler_jobs" not in inspect(engines[0]).get_table_names()
    finally:
        a.close()
        b.close()
        for engine in engines:
            engine.dispose()


async def test_round_closes_itself_with_a_final_digest_and_reminds_before(service):
    round_id, platforms = await busy_round(service.core)
    service.core.platforms.update(platforms)
    closes = START + timedelta(days=3)
    with service.core.store._tx() as s:  # the sample round has no deadline; give it one
        from storage.models import Round

        s.get(Round, round_id).closes_at = closes
    await service.scheduler.sync()
    sched = service.scheduler.scheduler
    remind_job = sched.get_job(f"remind:{round_id}")
    close_job = sched.get_job(f"close:{round_id}")
    assert remind_job.trigger.run_date == closes - timedelta(hours=24)
    assert close_job.trigger.run_date == closes and close_job.misfire_grace_time is None

    await scheduling.remind(service.name, round_id)
    reminder = platforms["slack"].digests[-1][1].parts[0]
    assert "closes on" in reminder["text"] or "se termine" in reminder["text"]

    service.core.clock.set(closes + timedelta(seconds=5))
    final = await scheduling.close_round(service.name, round_id)
    assert service.core.store.get_round(round_id).status == "closed"
    assert final.digest_id is not None
    (digest,) = [d for d in service.core.store.digests(round_id) if d.kind == "final"]
    assert digest.outputs["md"].startswith(
        f"Le tour n° {service.core.store.get_round(round_id).public_id} est maintenant fermé.")
    assert platforms["discord"].digests[-1][1].parts[0]["content"].startswith("Le tour n°")
    assert digest.period_end == closes + timedelta(seconds=5)
    assert sched.get_job(f"digest:{round_id}") is None
    assert await weekly_digest(service.name, round_id) is None  # closed: no more weeklies


async def test_jobs_are_rebuilt_from_the_store_and_a_missed_weekly_caught_up(tmp_path, request):
    """No job store to trust: a restart rebuilds the same jobs from the open rounds, and the
    weekly digest missed while down is posted once by the catch-up job."""
    svc = Service(tmp_path, request.node.name, ManualClock(START))
    try:
        round_id, platforms = await busy_round(svc.core)
        svc.core.platforms.update(platforms)
        first = make_scheduler(svc.core.settings)
        assert [type(s).__name__ for s in first._jobstores.values()] == ["MemoryJobStore"]
        svc.scheduler.scheduler = first
        await svc.scheduler.start()
        stored_next = first.get_job(f"digest:{round_id}").next_run_time
        first.shutdown(wait=False)

        second = make_scheduler(svc.core.settings)
        svc.scheduler.scheduler = second
        svc.core.clock.set(datetime(2026, 11, 10, 15, 0, tzinfo=UTC))  # missed Nov 9
        caught_up = asyncio.Event()
        second.add_listener(lambda e: e.job_id == f"catchup:{round_id}" and caught_up.set(),
                            EVENT_JOB_EXECUTED)
        await svc.scheduler.start()
        again = second.get_job(f"digest:{round_id}")
        assert again.next_run_time == stored_next
        assert (again.func, again.args) == (weekly_digest, (request.node.name, round_id))
        await asyncio.wait_for(caught_up.wait(), 10)
        (weekly,) = [d for d in svc.core.store.digests(round_id) if d.kind == "weekly"]
        assert weekly.period_end == datetime(2026, 11, 9, 14, 0, tzinfo=UTC)
        assert {j.id for j in second.get_jobs()} == {"sync", "privacy-purge", f"digest:{round_id}"}
        assert (await weekly_digest(svc.name, round_id)).digest_id is None  # once only
    finally:
        svc.close()


async def test_sync_follows_settings_and_drops_jobs_of_closed_rounds(service):
    round_id, _ = await busy_round(service.core)
    await service.scheduler.sync()
    sched = service.scheduler.scheduler
    sched.start(paused=True)  # next run times are computed once the scheduler runs
    monday = sched.get_job(f"digest:{round_id}").next_run_time
    assert monday.astimezone(MONTREAL).weekday() == 0
    service.scheduler.settings = replace(service.core.settings, digest_day="fri")
    await service.scheduler.sync()
    friday = sched.get_job(f"digest:{round_id}").next_run_time
    assert friday.astimezone(MONTREAL).weekday() == 4
    assert friday.astimezone(MONTREAL).time() == time(9, 0)

    service.core.store.close_round(round_id, START + timedelta(days=1))
    await service.scheduler.sync()
    assert sched.get_job(f"digest:{round_id}") is None
    service.scheduler.shutdown()  # on this test's loop
