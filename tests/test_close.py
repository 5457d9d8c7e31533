"""``planbot round close`` posts the final digest in the round's channels, as the chat
command does, over the real slack-bolt adapter and the local Slack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.errors import NotAllowed
from bot.plans import import_plan, sample_plan_paths
from bot.service.build import build_service
from bot.service.cli import close_and_post
from integrations.sandbox.slack import LocalSlack
from tests.helpers import make_settings


async def open_on_slack(slack: LocalSlack, settings: Settings) -> str:
    """Open a round of the sample plan in the local Slack's channel; its public id."""
    service = build_service(settings, SystemClock(), name="open")
    import_plan(service.core.store, sample_plan_paths(), SystemClock().now())
    (adapter,) = service.adapters
    await adapter.start()
    alice, channel = slack.people["alice"].id, slack.channel_id
    await slack.user_runs_command(alice, channel, "open", plan="sample", sections="broadband")
    await slack.settle()
    public_id = service.core.store.get_round(1).public_id
    await adapter.stop()
    service.core.close()
    service.engine.dispose()
    return public_id


def slack_settings(tmp_path: Path, slack: LocalSlack) -> Settings:
    return make_settings(tmp_path, language="en", slack_bot_token=slack.bot_token,
                         slack_app_token=slack.app_token, slack_api_base=slack.base_url,
                         slack_facilitator_ids=frozenset({slack.facilitator_group_id}))


async def test_round_close_from_the_cli_posts_the_final_digest(tmp_path, capsys):
    async with LocalSlack() as slack:
        slack.seed_cast()
        settings = slack_settings(tmp_path, slack)
        public_id = await open_on_slack(slack, settings)
        channel = slack.channel_id
        before = len(slack.messages(channel))

        assert await close_and_post(settings, public_id) == 0
        await slack.settle()
        out = capsys.readouterr().out
        assert f"Round #{public_id} closed" in out
        assert "Final digest posted" in out
        posted = slack.messages(channel)[before:]
        assert posted and all(m.bot_id for m in posted)
        store = build_service(settings, SystemClock(), name="check").core.store
        assert store.get_round(1).status == "closed"


async def test_closing_where_no_platform_of_the_round_is_configured(tmp_path, capsys):
    """Closed here, the round's final digest would never be posted: refused, the round left
    open, unless ``--no-post`` says so."""
    async with LocalSlack() as slack:
        slack.seed_cast()
        settings = slack_settings(tmp_path, slack)
        public_id = await open_on_slack(slack, settings)
    elsewhere = replace(settings, slack_bot_token=None, slack_app_token=None)
    with pytest.raises(NotAllowed) as refused:
        await close_and_post(elsewhere, public_id)
    assert "--no-post" in refused.value.message("en") and "slack" in refused.value.message("fr")
    store = build_service(elsewhere, SystemClock(), name="check").core.store
    assert store.get_round(1).status == "open"
    assert await close_and_post(elsewhere, public_id, post=False) == 0
    assert "--no-post" in capsys.readouterr().out
    assert store.get_round(1).status == "closed"
