"""Building the Slack side from settings, as the service wiring does."""

from __future__ import annotations

import pytest

from integrations.slack import SlackBot
from tests.helpers import make_settings
from tests.integrations.slack.conftest import ANA, CHANNEL


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_from_settings_in_each_mode(slack, planbot, tmp_path, mode):
    settings = make_settings(tmp_path, slack_bot_token=slack.bot_token,
                             slack_app_token=slack.app_token,
                             slack_signing_secret=slack.signing_secret, slack_mode=mode,
                             language="en")
    bot = SlackBot.from_settings(planbot, settings, base_url=slack.base_url)
    url = await bot.start(settings.slack_mode)
    try:
        if mode == "http":
            slack.use_http(url)
        else:
            await slack.wait_connected()
        slack.workspace.users[ANA].locale = ""  # Slack gives no locale: the default answers
        answer = await slack.run_slash_command(ANA, CHANNEL, "help")
        assert answer.text.startswith("Usage:")
    finally:
        await bot.stop()


async def test_missing_secrets_are_reported(slack, planbot, tmp_path):
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        SlackBot.from_settings(planbot, make_settings(tmp_path))
    bare = SlackBot.from_settings(planbot, make_settings(tmp_path, slack_bot_token="xoxb-x"))
    with pytest.raises(ValueError, match="SLACK_APP_TOKEN"):
        await bare.start("socket")
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        await bare.start("http")
    with pytest.raises(ValueError, match="socket or http"):
        await bare.start("carrier-pigeon")
