"""Render a digest (see ``bot.digests.build``) as Markdown with a Jinja2 template."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from babel.numbers import format_decimal

from bot.i18n import language_of, translate, translate_plural

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment over ``bot/digests/templates`` (no HTML autoescape for .md)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def quote(text: str | None, limit: int = 280) -> str:
    """One line of user text for a list item: whitespace folded, cut at ``limit`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def render_markdown(digest: dict[str, Any], lang: str | None = None) -> str:
    """The digest as Markdown in ``lang`` (default the round's language)."""
    lang = language_of(lang or digest["round"]["language"])
    by_id = {s["id"]: s for s in digest["statements"]}
    template = environment().get_template("digest.md.j2")
    return template.render(d=digest, by_id=by_id, lang=lang, quote=quote,
                           **helpers(digest, lang))


def group_name(group_id: int) -> str:
    """Opinion groups are shown as letters, as Polis reports do (0 -> A)."""
    return chr(ord("A") + group_id)


def helpers(digest: dict[str, Any], lang: str) -> dict[str, Any]:
    """Functions every digest template uses: ``_`` (catalogue), ``_n`` (plural entry by count,
    ``_n(msgid, n, **fields)``), ``day`` (ISO datetime -> a
    date in the language, by Babel's CLDR data), ``score`` (a 0..1 index, two decimals in
    the language's notation), ``text_of`` (statement id -> its text),
    ``group_name`` and ``group_names``."""
    by_id = {s["id"]: s for s in digest["statements"]}

    def text_of(statement_id: str) -> str:
        s = by_id.get(statement_id)
        if s is None:
            return statement_id
        return translate("digest.withheld", lang) if s["text_withheld"] else (s["text"] or "")

    def day(iso: str) -> str:
        return format_date(datetime.fromisoformat(iso), format="long", locale=f"{lang}_CA")

    return {
        "_": lambda msgid, **kw: translate(msgid, lang, **kw),
        "_n": lambda msgid, n, **kw: translate_plural(msgid, n, lang, **kw),
        "day": day,
        "score": lambda value: format_decimal(value, format="0.00", locale=f"{lang}_CA"),
        # The share people see is the plain one; Polis' smoothed pa only ranks.
        "share": lambda part, whole: round(100 * part / whole) if whole else 0,
        "text_of": text_of,
        "group_name": group_name,
        "group_names": lambda ids: ", ".join(group_name(i) for i in ids),
    }
