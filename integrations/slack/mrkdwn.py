"""Text into and out of Slack's ``mrkdwn``.

Slack's formatting rules (https://api.slack.com/reference/surfaces/formatting#escaping):
``&``, ``<`` and ``>`` are control characters; text planbot echoes must carry them as
``&amp;``, ``&lt;``, ``&gt;``, so that ``<!channel>``, ``<!here>`` or ``<@U123>`` typed by a
user shows as text and notifies no one. Incoming message text arrives escaped the same way;
:func:`unescape` gives back what the user typed, which is what the store keeps.
"""

from __future__ import annotations

from bot.digests.render_slack import escape
from bot.digests.render_slack import to_mrkdwn as markdown_to_mrkdwn

__all__ = ["escape", "markdown_to_mrkdwn", "unescape"]


def unescape(text: str) -> str:
    """Undo :func:`escape` on text Slack sent (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
