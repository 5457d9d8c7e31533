"""A local Slack for tests and the demo: see :class:`LocalSlack`."""

from integrations.sandbox.slack.server import BotAnswer, LocalSlack, RecordedCall

__all__ = ["BotAnswer", "LocalSlack", "RecordedCall"]
