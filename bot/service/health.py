"""Health and metrics for the operator: an opt-in HTTP port (``HEALTH_PORT``).

``GET /healthz`` answers 200 when every platform is connected, the store answers and the
scheduler runs, else 503; the JSON body says which check failed. ``GET /metrics`` is
Prometheus' text exposition format (prometheus-client, its own registry, not the global
one): events received and applied per platform, the apply lag (seconds from the event on
the platform to its change in the store), the inbox lag when an inbox is there to measure
it, digests posted per platform, the time of the last successful digest, reconciliation
runs per platform. Metric names follow https://prometheus.io/docs/practices/naming/.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.exposition import generate_latest
from sqlalchemy import Engine, text

from bot.platform import Adapter

LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 3600.0)
"""Seconds: a live event lands in milliseconds; a reconciliation backfills hours later."""


class Metrics:
    """planbot's metrics, fed as an :class:`bot.observe.Observer`. ``inbox_lag`` (seconds,
    the age of the oldest event received and not yet applied) is read at each scrape when
    given: the durable inbox (issue 12) feeds it."""

    def __init__(self, inbox_lag: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("planbot_events_received", "Events the adapters handed to "
                                "the core", ["platform"], registry=r)
        self.applied = Counter("planbot_events_applied", "Events that changed the store",
                               ["platform"], registry=r)
        self.apply_lag = Histogram("planbot_apply_lag_seconds", "From the event on the "
                                   "platform to its change in the store", ["platform"],
                                   buckets=LAG_BUCKETS, registry=r)
        self.digests = Counter("planbot_digests_posted", "Digests posted, per channel",
                               ["platform"], registry=r)
        self.last_digest = Gauge("planbot_last_digest_success_timestamp_seconds",
                                 "When a digest was last posted (Unix time)", registry=r)
        self.reconciliations = Counter("planbot_reconciliation_runs", "Reconciliation passes "
                                       "finished", ["platform"], registry=r)
        if inbox_lag is not None:
            Gauge("planbot_inbox_lag_seconds", "Age of the oldest event received and not yet "
                  "applied", registry=r).set_function(inbox_lag)

    def event_received(self, platform: str) -> None:
        self.received.labels(platform).inc()

    def event_applied(self, platform: str, lag_seconds: float) -> None:
        self.applied.labels(platform).inc()
        self.apply_lag.labels(platform).observe(max(lag_seconds, 0.0))

    def digest_posted(self, platform: str, at: datetime) -> None:
        self.digests.labels(platform).inc()
        self.last_digest.set(at.timestamp())

    def reconciled(self, platform: str) -> None:
        self.reconciliations.labels(platform).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


@dataclass(frozen=True)
class HealthChecks:
    """What ``/healthz`` looks at: the adapters, the store's engine, the scheduler."""

    adapters: Sequence[Adapter]
    engine: Engine
    scheduler_running: Callable[[], bool]

    async def report(self) -> dict[str, bool]:
        """Check name -> fine: ``<platform>`` connected, ``store``, ``scheduler``."""
        checks = {a.name: a.connected for a in self.adapters}
        checks["store"] = await asyncio.to_thread(self._store_answers)
        checks["scheduler"] = self.scheduler_running()
        return checks

    def _store_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means the store does not answer
            return False
        return True


class HealthServer:
    """``/healthz`` and ``/metrics`` on ``host:port`` (0: a free port, see :attr:`port`)."""

    def __init__(self, metrics: Metrics, checks: HealthChecks) -> None:
        self.metrics = metrics
        self.checks = checks
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        checks = await self.checks.report()
        healthy = all(checks.values())
        return web.Response(text=json.dumps({"healthy": healthy, "checks": checks}),
                            status=200 if healthy else 503, content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})
