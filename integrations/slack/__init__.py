"""planbot's Slack adapter: :class:`SlackBot` (slack-bolt app), :class:`SlackPlatform`
(the core's ``ChatPlatform``) and :func:`make_web_client`. See ``README.md`` here."""

from integrations.slack.app import SlackBot
from integrations.slack.client import make_web_client
from integrations.slack.platform import SlackPlatform

__all__ = ["SlackBot", "SlackPlatform", "make_web_client"]
