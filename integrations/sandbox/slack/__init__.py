"""A local Slack for tests and the demo: see :class:`LocalSlack`."""

from integrations.sandbox.slack.server import CommandAnswer, LocalSlack, RecordedCall

__all__ = ["CommandAnswer", "LocalSlack", "RecordedCall"]
