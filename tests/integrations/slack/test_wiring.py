"""Building the Slack side from settings, as the service wiring does."""

from __future__ import annotations

import pytest

from integrations.slack import SlackBot
from tests.helpers import make_settings
from tests.integrations.slack.conftest import ANA, CHANNEL


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_from_settings_in_each_mode(slack, core, tmp_path, mode):
    settings = make_settings(tmp_path, slack_bot_token=slack.bot_token,
                             slack_app_token=slack.app_token,
                             slack_signing_secret=slack.signing_secret, slack_mode=mode,
                             slack_api_base=slack.base_url, language="en")
    bot = SlackBot.from_settings(core, settings)
    await bot.start()
    try:
        if mode == "http":
            slack.use_http(bot.url)
        else:
            await slack.wait_connected()
        slack.workspace.users[ANA].locale = ""  # Slack gives no locale: the default answers
        answer = await slack.run_slash_command(ANA, CHANNEL, "help")
        assert answer.text.startswith("Usage:")
    finally:
        await bot.stop()


async def test_missing_secrets_are_reported(slack, core, tmp_path):
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        SlackBot.from_settings(core, make_settings(tmp_path))
    bare = SlackBot.from_settings(core, make_settings(tmp_path, slack_bot_token="xoxb-x"))
    with pytest.raises(ValueError, match="SLACK_APP_TOKEN"):
        await bare.start("socket")
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        await bare.start("http")
    with pytest.raises(ValueError, match="socket or http"):
        await bare.start("carrier-pigeon")
