"""Text drawn into the digest's charts: only glyphs the chart's font has, never math mode.

matplotlib renders text between two ``$`` with its mathtext parser, so a reply such as
``$\\undefined$`` raises ``ValueError`` at drawing time; an escaped ``\\$`` is drawn as a plain
dollar sign (matplotlib's "Writing mathematical expressions" guide). The bundled DejaVu Sans has
no emoji: a missing glyph would be drawn as an empty box with a warning, so characters the font
lacks are left out (https://matplotlib.org/stable/users/explain/text/fonts.html).
"""

from __future__ import annotations

from functools import cache

from matplotlib.backend_bases import RendererBase
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font


@cache
def _charmap(font_path: str) -> frozenset[int]:
    return frozenset(FT2Font(font_path).get_charmap())


def drawable(text: str, font: FontProperties | None = None) -> str:
    """``text`` with whitespace folded and the characters ``font`` (default: matplotlib's
    default font) has no glyph for removed; not yet escaped for mathtext."""
    known = _charmap(findfont(font or FontProperties()))
    kept = "".join(c for c in text if ord(c) in known or c.isspace())
    return " ".join(kept.split())


def escaped(text: str) -> str:
    """``text`` with every ``$`` escaped, so matplotlib never enters math mode."""
    return text.replace("$", r"\$")


def fit(text: str, room: float, renderer: RendererBase, font: FontProperties) -> str:
    """``text`` made drawable, cut with an ellipsis to the longest prefix at most ``room``
    pixels wide, then escaped: ready to pass to ``Axes.text``."""
    def width(candidate: str) -> float:
        return renderer.get_text_width_height_descent(candidate, font, ismath=False)[0]

    text = drawable(text, font)
    if width(text) <= room:
        return escaped(text)
    low, high = 0, len(text)  # binary search on the prefix length
    while low < high:
        mid = (low + high + 1) // 2
        if width(text[:mid].rstrip() + "…") <= room:
            low = mid
        else:
            high = mid - 1
    return escaped(text[:low].rstrip() + "…")
