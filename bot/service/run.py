"""``planbot run``: the store, the core, the configured platforms and the scheduler on one
asyncio loop, until SIGINT or SIGTERM.

Shutdown order, so that nothing acknowledged is lost: stop the scheduler (no new jobs), stop
taking events (Slack: close the socket or HTTP server; Discord: close the gateway), let work in
flight end (the adapters wait for their handlers), then drain the core's database thread
(``Core.close``) and dispose of the engine. Both adapters acknowledge an event only after
the core stored it, so an event cut off by the shutdown is not acknowledged: Slack sends it
again, and the start-up reconciliation reads whatever was missed from the platform.

Endpoints come from the settings (``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``,
``SLACK_API_BASE``, ``SLACK_HOST``; see ``.env.example``): a local server in tests.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.clock import SystemClock
from bot.config import Settings
from bot.i18n import translate
from bot.platform import Adapter
from bot.service.build import Service, build_service

_log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code (0 clean stop, 2 nothing configured,
    1 a platform failed)."""
    if not settings.discord_enabled and not settings.slack_enabled:
        print(translate("run.not_configured", settings.language), file=sys.stderr)
        return 2
    return asyncio.run(serve(settings))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """The service on the running loop until ``stop`` is set (by SIGINT/SIGTERM when not
    given) or a platform's connection ends by itself. Returns the exit code."""
    stop = stop or _stop_on_signals()
    if settings.discord_enabled:
        from integrations.discord import no_voice_warning

        logging.getLogger("discord.client").addFilter(no_voice_warning)
    service = build_service(settings, SystemClock())
    started: list[Adapter] = []
    failed = False
    try:
        for adapter in service.adapters:
            await adapter.start()
            started.append(adapter)
        await service.scheduler.start()
        _log.info("planbot running: %s", ", ".join(sorted(a.name for a in started)))
        failed = await _until_stopped(stop, started)
    except Exception:  # noqa: BLE001 - a platform that cannot start: say why, stop cleanly
        _log.exception("planbot could not start")
        failed = True
    finally:
        await _shutdown(service, started)
    return 1 if failed else 0


async def _until_stopped(stop: asyncio.Event, adapters: list[Adapter]) -> bool:
    """Wait for ``stop`` or for an adapter's connection to end by itself; True for the
    latter (a failure, logged)."""
    stopping = asyncio.ensure_future(stop.wait())
    closed = {asyncio.ensure_future(a.wait_until_closed()): a for a in adapters}
    done, _ = await asyncio.wait([stopping, *closed], return_when=asyncio.FIRST_COMPLETED)
    for waiter in [stopping, *closed]:
        waiter.cancel()
    ended = [w for w in done if w in closed]
    if ended and not stop.is_set():
        _log.error("the %s client stopped: %r", closed[ended[0]].name, ended[0].result())
        return True
    return False


async def _shutdown(service: Service, started: list[Adapter]) -> None:
    _log.info("shutting down")
    service.scheduler.shutdown()
    for adapter in started:
        await adapter.stop()
    service.core.close()
    service.engine.dispose()
    _log.info("stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
