"""Render a digest as a standalone HTML page (Jinja2, autoescaped) with its chart embedded.

User text (replies, plan titles) is escaped by Jinja2's autoescape, selected for ``.html``
templates in :func:`bot.digests.render_md.environment`. The chart is embedded as a
``data:image/png;base64`` URI, so the page is one self-contained file.
"""

from __future__ import annotations

import base64
from typing import Any

from bot.digests.render_md import environment, helpers, quote
from bot.i18n import language_of


def render_html(digest: dict[str, Any], chart_png: bytes | None = None, lang: str | None = None) -> str:
    """The digest as an HTML5 page in ``lang`` (default the round's language)."""
    lang = language_of(lang or digest["round"]["language"])
    by_id = {s["id"]: s for s in digest["statements"]}
    chart = base64.b64encode(chart_png).decode("ascii") if chart_png else None
    return environment().get_template("digest.html").render(
        d=digest, by_id=by_id, lang=lang, quote=quote, chart=chart, **helpers(digest, lang))
