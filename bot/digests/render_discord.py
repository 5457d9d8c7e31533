"""Render a digest as Discord message parts (payload dicts for ``DigestPost.parts``).

Discord's limits (https://discord.com/developers/docs/resources/message#create-message):
message ``content`` is at most 2,000 characters. Mentions are disabled with
``allowed_mentions: {"parse": []}`` (same page, "Allowed mentions object"), so a reply quoted
in a digest that contains ``@everyone`` or ``<@id>`` notifies no one.
"""

from __future__ import annotations

from typing import Any

from bot.digests.model import Digest
from bot.digests.render_md import render_markdown
from bot.textsplit import split_text

CONTENT_LIMIT = 2000
NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def discord_parts(markdown: str, limit: int = CONTENT_LIMIT) -> list[dict[str, Any]]:
    """Markdown (Discord renders headings, bullets, bold) split into ordered message payloads
    ``{"content": str, "allowed_mentions": {"parse": []}}``, each ``content`` <= ``limit``."""
    return [{"content": part, "allowed_mentions": dict(NO_MENTIONS)}
            for part in split_text(markdown, limit)]


def render_discord(digest: Digest, lang: str | None = None) -> list[dict[str, Any]]:
    """The digest (``bot.digests.build``) as Discord message payloads, in posting order."""
    return discord_parts(render_markdown(digest, lang))
