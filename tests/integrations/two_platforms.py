"""The real Discord bot and the real Slack app on their local servers around one core."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from bot.clock import ManualClock
from bot.core import Core
from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at
from integrations.sandbox.slack import LocalSlack
from tests.helpers import make_core
from tests.integrations.discord.harness import start_bot as start_discord
from tests.integrations.discord.harness import stop_bot as stop_discord
from tests.integrations.slack.conftest import start_bot as start_slack

SLACK_FACILITATOR, SLACK_CHANNEL = "UFACIL", "C0PLANNUM"


@asynccontextmanager
async def two_platforms(tmp_path: Path, slack_users: Iterable[tuple[str, str, str | None]],
                        clock: ManualClock | None = None
                        ) -> AsyncIterator[tuple[Core, object, LocalSlack, object]]:
    """Yields (core, Discord harness, local Slack, Slack app): both connected, the Slack
    facilitator ``SLACK_FACILITATOR`` and channel ``SLACK_CHANNEL`` set up, plus
    ``slack_users`` as (user id, name, locale or None)."""
    async with DiscordSandbox() as discord_local:
        with discord_py_pointed_at(discord_local):
            core = make_core(tmp_path, clock=clock, facilitator_ids=frozenset(
                {discord_local.facilitator_role.id, SLACK_FACILITATOR}))
            slack_local = LocalSlack()
            await slack_local.start()
            for user_id, name, locale in slack_users:
                if locale:
                    slack_local.add_user(user_id, name, locale=locale)
                else:
                    slack_local.add_user(user_id, name)
            slack_local.add_channel(SLACK_CHANNEL, "plan")
            harness = await start_discord(discord_local, core)
            slackbot = await start_slack(slack_local, core, "socket")
            try:
                yield core, harness, slack_local, slackbot
            finally:
                await slackbot.stop()
                await stop_discord(harness)
                await slack_local.stop()
                core.close()
