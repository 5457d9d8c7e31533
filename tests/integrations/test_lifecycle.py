"""The adapters ``planbot run`` builds from the settings, driven only through the one
lifecycle interface (``bot.platform.Adapter``), against the local Discord and Slack: the
endpoints come from the settings, and discord.py's process-wide endpoints are restored on
stop."""

from __future__ import annotations

from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.platform import Adapter
from bot.service.build import build_adapters
from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.slack import LocalSlack
from tests.helpers import invitation, make_core

SLACK_FACILITATOR, SLACK_CHANNEL = "UFACIL", "C0PLAN"


async def test_both_adapters_from_settings_share_one_lifecycle(tmp_path):
    real = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordSandbox() as discord_local:
        slack_local = LocalSlack()
        await slack_local.start()
        slack_local.add_user(SLACK_FACILITATOR, "ufacil")
        slack_local.add_channel(SLACK_CHANNEL, "plan")
        core = make_core(
            tmp_path, facilitator_ids=frozenset({discord_local.facilitator_role.id,
                                                 SLACK_FACILITATOR}),
            discord_token=discord_local.token, discord_api_base=discord_local.api_base,
            discord_gateway_url=discord_local.gateway_url,
            discord_guild_ids=frozenset({discord_local.guild.id}),
            slack_bot_token=slack_local.bot_token, slack_app_token=slack_local.app_token,
            slack_api_base=slack_local.base_url)
        adapters = build_adapters(core, core.settings)
        try:
            assert [a.name for a in adapters] == ["slack", "discord"]
            for adapter in adapters:
                await adapter.start()
            assert all(isinstance(a, Adapter) for a in adapters)  # platform valid once started
            assert discord_local.api_base == Route.BASE  # the settings' endpoint, while it runs
            for adapter in adapters:
                await adapter.wait_until_reconciled(1, timeout=10)
            assert {name: p.name for name, p in core.platforms.items()} == {
                "discord": "discord", "slack": "slack"}
            assert core.platforms["discord"] is adapters[1].platform

            alice = discord_local.people["alice"].id
            on_discord = await discord_local.user_runs_command(
                alice, discord_local.channel.id, "open", plan="sample", sections="broadband")
            on_slack = await slack_local.user_runs_command(
                SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample", sections="broadband",
                join=invitation(core))
            for adapter in adapters:
                await adapter.wait_until_idle(timeout=10)
            round_id = core.store.round_for_channel("discord", discord_local.channel.id,
                                                    open_only=True)
            assert round_id is not None
            public_id = core.store.get_round(round_id).public_id
            assert public_id in on_discord.text
            assert core.store.round_for_channel("slack", SLACK_CHANNEL, open_only=True) == round_id
            assert public_id in on_slack.text
        finally:
            for adapter in adapters:
                await adapter.stop()
            core.close()
            await slack_local.stop()
    assert real == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
