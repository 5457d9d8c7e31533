"""Render a digest (``bot.digests.model.Digest``) as Markdown with a Jinja2 template, and the
helpers every digest template shares."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from bot.digests import model
from bot.digests.build import letter
from bot.i18n import language_of, translate, translate_plural
from bot.markup import inert
from bot.textsplit import one_message

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")
CHAT_REPLIES_PER_SECTION = 3
"""Replies shown under each section in the chat digest (the HTML page shows more)."""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment over ``bot/digests/templates`` (HTML autoescape for .html only).
    Jinja is imported here: a JSON digest renders no template."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def quote(text: str | None, limit: int = 280) -> str:
    """One line of user text for a list item: whitespace folded, at most ``limit`` code
    points. A longer text is cut as :func:`bot.textsplit.one_message` cuts (at a sentence or
    a word, else between grapheme clusters, never inside a URL: a flag, an emoji sequence or
    a link is kept whole or left out) and ends with "…"."""
    return one_message(" ".join((text or "").split()), limit)


def render_markdown(digest: model.Digest, lang: str | None = None) -> str:
    """The digest as Markdown in ``lang`` (default the digest's language)."""
    lang = language_of(lang or digest.round.language)
    return environment().get_template("digest.md.j2").render(
        d=digest, lang=lang, per_section=CHAT_REPLIES_PER_SECTION, **helpers(lang))


def group_name(group_id: int) -> str:
    """The letter of an opinion group (0 -> A)."""
    return letter(group_id)


class Explainer:
    """Each index's one-sentence explanation, given the first time it is asked for in one
    rendering and never again (``explain("consensus")`` -> sentence, then "")."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.done: set[str] = set()

    def __call__(self, name: str, **fields: Any) -> str:
        if name in self.done:
            return ""
        self.done.add(name)
        return translate(f"digest.explain.{name}", self.lang, **fields)


def helpers(lang: str) -> dict[str, Any]:
    """Functions the digest templates use, in ``lang``: ``_`` (catalogue), ``_n`` (plural
    entry by count), ``day`` (datetime -> long date), ``number``, ``pct`` (0..1 -> "42 %" /
    "42%"), ``score`` (0..1 index, two decimals), ``text`` (a statement's text, or the
    withheld notice), ``md`` (people's text made inert in Markdown, ``bot.markup``),
    ``split`` (a ``Split`` as counts and shares, marked by emoji or, with ``words=True``, by
    words), ``gap`` (largest
    difference between groups' agree shares, in points), ``earlier`` (the stances given to an
    edited reply's earlier text, as " · 3 agreed before the reply was edited", or ""),
    ``explain`` (see ``Explainer``)."""
    locale = f"{lang}_CA"

    def pct(value: float) -> str:
        return format_percent(value, locale=locale)

    def split(s: model.Split, words: bool = False) -> str:
        # Words where the reader may lack an emoji font (a printed report, a bare browser).
        if not s.votes:
            return translate("digest.no_stance", lang)
        marks = ((translate(f"chart.{k}", lang) + " " if words else emoji + " ", n)
                 for k, emoji, n in (("agree", "👍", s.agree), ("disagree", "👎", s.disagree),
                                     ("pass", "🤷", s.passed)))
        return " · ".join(f"{mark}{format_decimal(n, locale=locale)} ({pct(n / s.votes)})"
                          for mark, n in marks)

    def text(s: model.Statement) -> str:
        return translate("digest.withheld", lang) if s.withheld else s.text

    def earlier(s: model.Statement) -> str:
        # Stances given to a reply's earlier text: told apart, never added to its split.
        e = s.earlier
        if e is None or not e.votes:
            return ""
        parts = [translate(f"digest.earlier_{k}", lang, n=format_decimal(n, locale=locale))
                 for k, n in (("agree", e.agree), ("disagree", e.disagree), ("pass", e.passed))
                 if n]
        return " · " + translate("digest.earlier", lang, stances=", ".join(parts))

    def gap(s: model.Statement) -> int | None:
        shares = [g.split.share("agree") for g in s.groups if g.split.votes]
        return round(100 * (max(shares) - min(shares))) if len(shares) > 1 else None

    def day(when: datetime) -> str:
        return format_date(when, format="long", locale=locale)

    return {
        "_": lambda msgid, **kw: translate(msgid, lang, **kw),
        "_n": lambda msgid, n, **kw: translate_plural(msgid, n, lang, **kw),
        "day": day,
        "number": lambda n: format_decimal(n, locale=locale),
        "pct": pct,
        "score": lambda value: format_decimal(value, format="0.00", locale=locale),
        "text": text,
        "quote": quote,
        "split": split,
        "gap": gap,
        "earlier": earlier,
        "explain": Explainer(lang),
        "md": inert,
    }
