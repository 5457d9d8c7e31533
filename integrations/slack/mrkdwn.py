"""Text into and out of Slack's ``mrkdwn``.

Slack's formatting rules (https://api.slack.com/reference/surfaces/formatting#escaping):
``&``, ``<`` and ``>`` are control characters; text planbot echoes must carry them as
``&amp;``, ``&lt;``, ``&gt;``, so that ``<!channel>``, ``<!here>`` or ``<@U123>`` typed by a
user shows as text and notifies no one. Incoming message text arrives escaped the same way;
:func:`unescape` gives back what the user typed, which is what the store keeps.
"""

from __future__ import annotations

import re

_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_MD_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", re.MULTILINE)
_MD_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)


def escape(text: str) -> str:
    """Escape Slack's three control characters (``&`` first, so nothing is escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo :func:`escape` on text Slack sent (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def markdown_to_mrkdwn(markdown: str) -> str:
    """Convert the Markdown planbot writes (plans, digests, replies) to escaped ``mrkdwn``.

    Handles what plans use: ``**bold**`` -> ``*bold*``, ``[text](https://...)`` ->
    ``<https://...|text>``, ``# Heading`` -> ``*Heading*``, ``- item`` -> ``• item``.
    Everything else is escaped text; ``_italic_`` and ``` `code` ``` mean the same in both.
    """
    text = escape(markdown)
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _MD_HEADING.sub(lambda m: f"*{m.group(1)}*", text)
    text = _MD_BOLD.sub(lambda m: f"*{m.group(1)}*", text)
    return _MD_BULLET.sub(lambda m: f"{m.group(1)}• ", text)
