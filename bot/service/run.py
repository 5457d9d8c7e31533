"""``planbot run``: the store, the core, the configured platforms and the scheduler on one
asyncio loop, until SIGINT or SIGTERM.

Shutdown order, so that nothing acknowledged is lost: stop the scheduler (no new jobs), stop
taking events (Slack: close the socket or HTTP server; Discord: close the gateway), let work in
flight end (the adapters wait for their handlers), then drain the core's database thread
(``Core.close``) and dispose of the engine. Both adapters acknowledge an event only after
the core stored it, so an event cut off by the shutdown is not acknowledged: Slack sends it
again, and the start-up reconciliation reads whatever was missed from the platform.

Each adapter runs supervised (:class:`bot.supervise.Supervisor`): if its connection ends by
itself (a malformed gateway event that discord.py cannot parse, a connection its library
gives up on), it is restarted with exponential backoff and reconciles on connecting, while
the other platform and the scheduler keep running. A platform that cannot be reached at
start-up (DNS, refused connection, timeout: :func:`bot.reachability.unreachable`) is not
fatal either: its adapter is supervised from that failed start. Only a token the platform
refuses ends the service (exit status 2).

Endpoints come from the settings (``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``,
``SLACK_API_BASE``, ``SLACK_HOST``; see ``.env.example``): a local server in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.errors import SetupError
from bot.i18n import translate
from bot.platform import Adapter
from bot.reachability import unreachable
from bot.service.build import Service, build_service
from bot.service.health import HealthChecks, HealthServer, Metrics
from bot.service.invocation import planbot_command
from bot.supervise import Sleep, Supervisor

_log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code (0 clean stop, 2 nothing configured
    or a token the platform refuses, 1 a platform failed)."""
    if not settings.discord_enabled and not settings.slack_enabled:
        print(translate("run.not_configured", settings.language, planbot=planbot_command()),
              file=sys.stderr)
        return 2
    return asyncio.run(serve(settings))


async def serve(settings: Settings, stop: asyncio.Event | None = None, *,
                clock: Clock | None = None, sleep: Sleep = asyncio.sleep,
                supervisors: list[Supervisor] | None = None) -> int:
    """The service on the running loop until ``stop`` is set (by SIGINT/SIGTERM when not
    given) or a platform refuses its token. Returns the exit code. ``clock`` and ``sleep``
    drive the service and the restarts' backoff (tests: a manual clock); the adapters'
    supervisors are appended to ``supervisors`` when given (tests read their restarts)."""
    stop = stop or _stop_on_signals()
    _warn_facilitator_gaps(settings)
    metrics = Metrics() if settings.health_port is not None else None
    service = build_service(settings, clock or SystemClock(), observer=metrics)
    started: list[Adapter] = []
    unreached: dict[str, Exception] = {}
    health: HealthServer | None = None
    try:
        if not await _until_started(stop, service, started, unreached):
            return 0
        if metrics is not None and settings.health_port is not None:
            health = HealthServer(metrics, HealthChecks(
                service.adapters, service.engine, lambda: service.scheduler.scheduler.running))
            await health.start(settings.health_host, settings.health_port)
            _log.info("health and metrics on http://%s:%d/", settings.health_host, health.port)
        _log.info("planbot running: %s", ", ".join(sorted(a.name for a in started)))
        # What start-up built lives as long as the process: out of the collector's sight, a
        # full collection no longer walks it (measured: 80-90 ms pauses holding every
        # acknowledgement during a burst; https://docs.python.org/3/library/gc.html#gc.freeze).
        gc.freeze()
        watching = [Supervisor(a, service.core.clock, sleep=sleep) for a in started]
        if supervisors is not None:
            supervisors.extend(watching)
        return await _until_stopped(stop, watching, settings.language, unreached)
    except SetupError as err:
        _log.error("%s", err.message(settings.language))
        return 2
    except Exception:  # noqa: BLE001 - a platform that cannot start: say why, stop cleanly
        _log.exception("planbot could not start")
        return 1
    finally:
        if health is not None:
            await health.stop()
        await _shutdown(service, started)


FACILITATOR_GAPS = {
    "discord": "Discord: DISCORD_FACILITATOR_ROLE_IDS is empty, only members with Manage "
               "Server can run facilitator commands",
    "slack": "Slack: SLACK_FACILITATOR_IDS is empty, nobody can run facilitator commands"}


def _warn_facilitator_gaps(settings: Settings) -> None:
    """One WARNING naming each configured platform without a facilitator setting and the key
    to set (``Settings.facilitator_gaps``); the refusals in chat would otherwise be the only
    sign. It names keys, never ids."""
    gaps = settings.facilitator_gaps()
    if gaps:
        _log.warning("no facilitators configured: %s (planbot doctor says how to find the "
                     "ids)", "; ".join(FACILITATOR_GAPS[platform] for platform in gaps))


async def _until_started(stop: asyncio.Event, service: Service, started: list[Adapter],
                         unreached: dict[str, Exception]) -> bool:
    """Start the adapters (each added to ``started`` first, so that a half-started one is
    stopped too), then the scheduler. False when ``stop`` comes first: the start-up is
    cancelled, however long a platform keeps it waiting. A start that failed because the
    platform could not be reached is put in ``unreached`` (adapter name -> error) for its
    supervisor; raises what any other start raises."""
    async def start_all() -> None:
        service.core.intake.start()  # what an earlier run left in the inbox is applied
        for adapter in service.adapters:
            started.append(adapter)
            try:
                await adapter.start()
            except SetupError:
                raise
            except Exception as err:
                if unreachable(err) is None:
                    raise
                unreached[adapter.name] = err
        await service.scheduler.start()

    starting = asyncio.ensure_future(start_all())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        starting.result()
        return True
    _log.info("stop asked during start-up")
    starting.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await starting
    return False


async def _until_stopped(stop: asyncio.Event, supervisors: list[Supervisor], lang: str,
                         unreached: dict[str, Exception]) -> int:
    """Wait for ``stop`` while the supervisors keep the adapters running (those in
    ``unreached`` restarted from their failed start); the exit code: 0 for a stop, 2 when a
    platform refused its token (a ``SetupError``, not retried)."""
    stopping = asyncio.ensure_future(stop.wait())
    watching = [asyncio.ensure_future(s.run(unreached.get(s.name))) for s in supervisors]
    done, _ = await asyncio.wait([stopping, *watching], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    for task in watching:
        task.cancel()
    await asyncio.gather(*watching, return_exceptions=True)
    ended = [w for w in watching if w in done and not w.cancelled()]
    if not ended or stop.is_set():
        return 0
    _log.error("%s", ended[0].result().message(lang))
    return 2


async def _shutdown(service: Service, started: list[Adapter]) -> None:
    _log.info("shutting down")
    service.scheduler.shutdown()
    for adapter in started:
        try:
            await adapter.stop()
        except Exception as err:  # noqa: BLE001 - the store must still be drained below
            # E.g. a start-up reconciliation still running past the stop's bound.
            _log.warning("stopping the %s adapter: %s", adapter.name, type(err).__name__)
    service.core.close()
    service.engine.dispose()
    _log.info("stopped")


def _stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM; the signals then get their default
    action back, so a second one ends the process even if the shutdown hangs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def first_signal() -> None:
        stop.set()
        for sig in signals:
            loop.remove_signal_handler(sig)

    for sig in signals:
        loop.add_signal_handler(sig, first_signal)
    return stop
