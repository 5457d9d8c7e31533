"""``/healthz`` and ``/metrics`` over a real service: the local Slack, the real slack-bolt
adapter, the store and the scheduler; counts follow what happens on the platform."""

from __future__ import annotations

import aiohttp

from bot.clock import SystemClock
from bot.plans import import_plan, sample_plan_paths
from bot.service.build import build_service
from bot.service.health import HealthChecks, HealthServer, Metrics
from integrations.sandbox.slack import LocalSlack
from tests.helpers import is_notice, make_settings


def sample(text: str, name: str, platform: str = "slack") -> float:
    """The value of ``name{platform=...}`` in a Prometheus text exposition (0 if absent)."""
    for line in text.splitlines():
        if line.startswith(f'{name}{{platform="{platform}"}} '):
            return float(line.split()[-1])
    return 0.0


async def test_health_and_metrics_follow_the_service(tmp_path):
    async with LocalSlack() as slack:
        slack.seed_cast()
        settings = make_settings(tmp_path, slack_bot_token=slack.bot_token,
                                 slack_app_token=slack.app_token, slack_api_base=slack.base_url,
                                 slack_facilitator_ids=frozenset({slack.facilitator_group_id}))
        metrics = Metrics(inbox_lag=lambda: 0.25)
        service = build_service(settings, SystemClock(), name=f"health-{id(tmp_path)}",
                                observer=metrics)
        import_plan(service.core.store, sample_plan_paths(), SystemClock().now())
        (adapter,) = service.adapters
        health = HealthServer(metrics, HealthChecks(
            service.adapters, service.engine, lambda: service.scheduler.scheduler.running))
        try:
            await adapter.start()
            await service.scheduler.start()
            await adapter.wait_until_reconciled(1)
            await health.start("127.0.0.1", 0)
            base = f"http://127.0.0.1:{health.port}"
            alice, channel = slack.people["alice"].id, slack.channel_id
            await slack.user_runs_command(alice, channel, "open", plan="sample",
                                          sections="broadband")
            await slack.settle()
            (section,) = [m.ts for m in slack.messages(channel)
                          if m.bot_id and not is_notice(m.text)]
            await slack.user_reacts(slack.people["bob"].id, channel, section, "+1")
            await slack.user_reacts(slack.people["bob"].id, channel, section, "+1")  # no-op
            await slack.user_reacts(slack.people["chloe"].id, channel, section, "tada")
            await slack.run_slash_command(alice, channel, "digest now")
            await slack.settle()
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/healthz") as answer:
                    assert answer.status == 200
                    assert await answer.json() == {"healthy": True, "checks": {
                        "slack": True, "store": True, "scheduler": True}}
                async with http.get(f"{base}/metrics") as answer:
                    assert answer.headers["Content-Type"].startswith("text/plain")
                    text = await answer.text()
                assert sample(text, "planbot_events_received_total") >= 2
                assert sample(text, "planbot_events_applied_total") >= 1
                assert sample(text, "planbot_apply_lag_seconds_count") == \
                    sample(text, "planbot_events_applied_total")
                assert sample(text, "planbot_reconciliation_runs_total") >= 1
                assert sample(text, "planbot_digests_posted_total") == 1
                assert "planbot_last_digest_success_timestamp_seconds 1.7" in text
                assert "planbot_inbox_lag_seconds 0.25" in text
                await adapter.stop()
                async with http.get(f"{base}/healthz") as answer:
                    assert answer.status == 503
                    assert (await answer.json())["checks"]["slack"] is False
        finally:
            await health.stop()
            await adapter.stop()
            service.scheduler.shutdown()
            service.core.close()
            service.engine.dispose()
