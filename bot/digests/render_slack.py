"""Render a digest as Slack messages of Block Kit blocks (payload dicts for ``DigestPost``).

Slack's limits (https://api.slack.com/reference/block-kit/blocks#section, and
https://api.slack.com/reference/block-kit/blocks): a section block's ``text`` is at most
3,000 characters and a message holds at most 50 blocks. Longer digests are split over several
messages, posted in order. Text is Slack ``mrkdwn`` with ``&``, ``<``, ``>`` escaped
(https://api.slack.com/reference/surfaces/formatting#escaping) so quoted replies cannot
ping ``<!channel>`` or anyone.
"""

from __future__ import annotations

import re
from typing import Any

from bot.digests.model import Digest
from bot.digests.render_md import render_markdown
from bot.textsplit import split_text

SECTION_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
FALLBACK_LIMIT = 3000
"""``text`` of each message: the notification fallback; kept short, the blocks carry it all."""

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
"""A CommonMark backslash escape: a backslash before any ASCII punctuation character."""
_HOLD = ("\ue000", "\ue001")
"""Private-use characters around the number of an escaped character set aside."""
_HELD = re.compile("\ue000(\\d+)\ue001")


def escape(text: str) -> str:
    """Escape Slack's three control characters (``&`` first, so nothing is escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Convert the Markdown planbot writes (plans, digests, replies) to escaped ``mrkdwn``.

    ``**bold**`` and headings become ``*bold*``, ``[text](https://...)`` becomes
    ``<https://...|text>``, ``- item`` becomes ``• item``; everything else is escaped text
    (``_italic_`` and ``` `code` ``` mean the same in both). A backslash-escaped character
    (``\\[``, as :func:`bot.markup.inert` writes people's text) is the plain character: it
    takes part in no conversion, so an escaped ``[text](https://...)`` stays text and no live
    link. The one converter: the Slack adapter uses it for sections too.
    """
    held: list[str] = []

    def hold(match: re.Match[str]) -> str:
        held.append(match.group(1))
        return f"{_HOLD[0]}{len(held) - 1}{_HOLD[1]}"

    text = escape(_ESCAPED.sub(hold, markdown.replace(_HOLD[0], "").replace(_HOLD[1], "")))
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _HEADING.sub(lambda m: f"*{m.group(1)}*", text)
    text = _BOLD.sub(lambda m: f"*{m.group(1)}*", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return _HELD.sub(lambda m: escape(held[int(m.group(1))]), text)


def slack_messages(markdown: str, *, section_limit: int = SECTION_LIMIT,
                   blocks_per_message: int = BLOCKS_PER_MESSAGE) -> list[dict[str, Any]]:
    """Markdown into ordered ``{"text": fallback, "blocks": [section...]}`` messages.

    Each block's text fits ``section_limit`` (split on paragraph, line, sentence, word
    boundaries by :func:`bot.textsplit.split_text`) and each message has at most
    ``blocks_per_message`` blocks. One block per paragraph keeps headings with their lists.
    """
    texts: list[str] = []
    for paragraph in re.split(r"\n\s*\n", to_mrkdwn(markdown)):
        texts.extend(split_text(paragraph, section_limit))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in texts]
    messages = []
    for start in range(0, len(blocks), blocks_per_message):
        chunk = blocks[start:start + blocks_per_message]
        fallback = chunk[0]["text"]["text"]
        messages.append({"text": split_text(fallback, FALLBACK_LIMIT)[0], "blocks": chunk})
    return messages


def render_slack(digest: Digest, lang: str | None = None) -> list[dict[str, Any]]:
    """The digest (``bot.digests.build``) as Slack message payloads, in posting order."""
    return slack_messages(render_markdown(digest, lang))
