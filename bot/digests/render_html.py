"""Render a digest as one self-contained HTML page, printable as the round's report.

User text (replies, plan titles) is escaped by Jinja2's autoescape, selected for ``.html``
templates in :func:`bot.digests.render_md.environment`; the plan's text, written in Markdown
by the facilitators, is rendered as HTML by :func:`plan_html` (raw HTML escaped, links
http(s) and mailto only, no images). Charts are embedded as
``data:image/png;base64`` URIs, so the page is one file. The print stylesheet keeps 15 mm
margins on any paper (A4 or Letter: the text is narrower than both) and avoids breaking a
section or a figure across pages; a final digest adds the plan's text, the replies as
proposed changes and a paragraph on the method.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import TYPE_CHECKING

from markupsafe import Markup

from bot.digests.model import Digest
from bot.digests.render_md import environment, helpers
from bot.i18n import language_of

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_REPLIES = 10
"""Replies shown under each section on the page (all of them in the final report)."""


def _embed(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


SAFE_LINK = ("http://", "https://", "mailto:")
"""Link targets kept live in the plan's text; others (``javascript:``, ``data:``...) are not."""


@cache
def _markdown() -> MarkdownIt:
    # CommonMark as the plan files are written (bot.plans), with raw HTML off: a tag in a
    # plan shows as text. Images are off: a printed report fetches nothing from elsewhere.
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    md.validateLink = _web_link  # type: ignore[method-assign]  # markdown-it's documented hook
    return md


def _web_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_LINK)


def plan_html(body: str) -> Markup:
    """A section's Markdown text (CommonMark, ``bot.plans``) as HTML for the report:
    paragraphs, lists, emphasis, links (http, https, mailto only; others stay text); raw
    HTML and images are shown as text."""
    return Markup(_markdown().render(body))  # markdown-it escapes the text itself


def render_html(digest: Digest, chart_png: bytes | None = None, lang: str | None = None,
                map_png: bytes | None = None) -> str:
    """The digest as an HTML5 page in ``lang`` (default the digest's language), with the
    chart and the opinion map when given."""
    lang = language_of(lang or digest.round.language)
    most = max((len(s.replies) for s in digest.sections), default=0)
    return environment().get_template("digest.html").render(
        d=digest, lang=lang, chart=_embed(chart_png), opinion_map=_embed(map_png),
        max_replies=most if digest.final else MAX_REPLIES, plan_html=plan_html,
        **helpers(lang))
