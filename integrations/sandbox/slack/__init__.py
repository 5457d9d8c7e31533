"""A local Slack for tests and the demo: see :class:`LocalSlack`."""

from integrations.sandbox.slack.commands import CommandAnswer
from integrations.sandbox.slack.http import RecordedCall
from integrations.sandbox.slack.server import LocalSlack

__all__ = ["CommandAnswer", "LocalSlack", "RecordedCall"]
