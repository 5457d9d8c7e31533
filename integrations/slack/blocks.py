"""Block Kit payloads for sections and digests, within Slack's limits.

Limits (https://api.slack.com/reference/block-kit/blocks#section): a section block's text is
at most 3,000 characters; a message holds at most 50 blocks. A longer section is cut with
:func:`bot.textsplit.split_text` (paragraph, sentence, then word boundaries; never inside a
grapheme or URL) and spread over as many ordered messages as needed.
"""

from __future__ import annotations

from bot.platform import SectionPost
from bot.textsplit import split_under_heading
from integrations.slack.mrkdwn import escape, markdown_to_mrkdwn

SECTION_TEXT_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
# The top-level ``text`` is the notification and screen-reader fallback; keep it short.
FALLBACK_LIMIT = 300


def section_block(mrkdwn: str) -> dict:
    """One ``section`` block of ``mrkdwn`` text (at most 3,000 characters)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def section_messages(section: SectionPost, *, text_limit: int = SECTION_TEXT_LIMIT,
                     blocks_per_message: int = BLOCKS_PER_MESSAGE) -> list[dict]:
    """The ``chat.postMessage`` payloads (``text`` + ``blocks``) for ``section``, in order.

    The first message opens with the title in bold and the start of the body in one block
    (never a title-only block); every message's ``text`` names the
    section and its part (``Title (2/3)``) so notifications stay meaningful.
    """
    title = escape(section.title)
    body = markdown_to_mrkdwn(section.body)
    chunks = split_under_heading(f"*{title}*", body, text_limit)
    groups = [chunks[i:i + blocks_per_message] for i in range(0, len(chunks), blocks_per_message)]
    fallback = _fallback(section.title)
    messages = []
    for n, group in enumerate(groups, start=1):
        text = fallback if len(groups) == 1 else f"{fallback} ({n}/{len(groups)})"
        messages.append({"text": text, "blocks": [section_block(c) for c in group]})
    return messages


def _fallback(title: str) -> str:
    short = title if len(title) <= FALLBACK_LIMIT else title[: FALLBACK_LIMIT - 1] + "…"
    return escape(short)
