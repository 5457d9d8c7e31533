"""Split long text into ordered parts that each fit a platform's length limit.

Lengths are Python ``len()`` (Unicode code points). That is how Discord counts its
2,000-character message limit: Discord's API is written in Python 3 and measures code points
(Discord staff answer in discord-api-docs issue #1315). Slack's section-text limit is
measured the same way here; it is a ceiling, so counting code points is conservative.

Cuts are chosen, in order of preference, at a paragraph break (blank line), a line break, the
end of a sentence, a space between words, and only as a last resort anywhere between two
grapheme clusters. A cut never falls inside an extended grapheme cluster (Unicode UAX #29:
emoji ZWJ sequences, skin-tone modifiers, regional-indicator flags, keycaps, letters with
combining accents) nor inside a URL or a Markdown link, unless that single token is longer than
the limit. Non-breaking spaces (U+00A0, U+202F, U+2007, as French puts before ``?`` and inside
``« »``) are never cut at.

Grapheme clusters come from the ``regex`` module's ``\\X``, which implements UAX #29's
extended grapheme clusters and follows current Unicode releases; the standard library has
no segmentation, and the ``grapheme`` package has not been updated since 2020 (Unicode 11,
before several emoji sequences it would now mis-cut).
"""

from __future__ import annotations

import regex

_BREAKABLE_SPACE = r"[^\S\u00a0\u202f\u2007]"
# Not cut before punctuation that French sets off with a space (often a plain one when typed).
_NOT_BEFORE_PUNCT = r"(?![;:!?»…])"

# One pattern per preference level; each match is whitespace dropped at the cut. The
# sentence level keeps the final punctuation (and closing quotes/brackets) in the earlier part.
_LEVELS: tuple[regex.Pattern[str], ...] = (
    regex.compile(r"[^\S\n]*\n(?:[^\S\n]*\n)+"),  # paragraph: one or more blank lines
    regex.compile(r"[^\S\n]*\n"),  # line break
    regex.compile(  # sentence end
        r"(?<=[.!?…;:](?:\s?[»\"”’')\]])*)" + _BREAKABLE_SPACE + "++" + _NOT_BEFORE_PUNCT
    ),
    regex.compile(_BREAKABLE_SPACE + "++" + _NOT_BEFORE_PUNCT),  # between words
)

# Tokens never cut: Markdown links and Discord's <url> (no preview) wrappers, then, more
# important and also inside those, the URLs themselves. A URL ends before trailing punctuation,
# as autolinkers read it (GFM spec, "autolinks (extension)").
_WRAPPED_URL = regex.compile(r"\[[^\]\n]*\]\([^)\s]+\)|<[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>]+>")
_URL = regex.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>]*[^\s<>.,;:!?»\"')\]]")

_GRAPHEME = regex.compile(r"\X")


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into ordered parts of at most ``limit`` code points each.

    Returns ``[text]`` when it already fits, ``[]`` when it holds only whitespace. Joining the
    parts, each separated by the whitespace that stood at its cut (possibly none after a hard
    cut), gives back ``text`` exactly; whitespace-only parts are never returned.

    A grapheme cluster longer than ``limit`` (only possible with absurd stacks of combining
    marks, or a tiny limit) is cut between code points, since the limit is the platform's hard
    rule. Raises ``ValueError`` if ``limit`` < 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if not text.strip():
        return []
    if len(text) <= limit:
        return [text]

    allowed = _cut_positions(text)
    parts: list[str] = []
    pos = 0
    while len(text) - pos > limit:
        cut_start, cut_end = _best_cut(text, pos, limit, allowed)
        part = text[pos:cut_start]
        if part.strip():
            parts.append(part)
        pos = cut_end
    rest = text[pos:]
    if rest.strip():
        parts.append(rest)
    return parts


def split_under_heading(heading: str, body: str, limit: int) -> list[str]:
    """``heading``, a blank line and ``body`` in ordered parts of at most ``limit`` code points,
    the first part always holding the heading AND the start of the body.

    A plain :func:`split_text` prefers the paragraph break right after the heading when the
    first paragraph is long, leaving a heading-only first part; on the platforms the first
    part carries the thread and the stance reactions, so people would react to a bare title.
    Here the first paragraph is cut (at a sentence, then a word, never inside a grapheme or
    a URL) to fit beside the heading instead. With no room for any body beside the heading
    (a heading near ``limit``), or no body, this is :func:`split_text` of the whole. Raises
    ``ValueError`` if ``limit`` < 1.
    """
    body = body.strip()
    text = f"{heading}\n\n{body}".strip() if body else heading.strip()
    room = limit - len(heading) - 2
    if len(text) <= limit or not body or room < 1:
        return split_text(text, limit)
    first = split_text(body, room)[0]  # starts the body: split_text never skips its start
    return [f"{heading}\n\n{first}", *split_text(body[len(first):], limit)]


def one_message(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its first part (cut as
    :func:`split_text` cuts) ended with "…", so a reader sees it was shortened."""
    if len(text) <= limit:
        return text
    return split_text(text, limit - 1)[0].rstrip() + "…"


def _cut_positions(text: str) -> tuple[frozenset[int], ...]:
    """Allowed cut offsets, best first: grapheme boundaries outside Markdown links, ``<url>``
    and URLs, then outside URLs only, then every grapheme boundary."""
    boundaries = {m.start() for m in _GRAPHEME.finditer(text)}
    boundaries.add(len(text))
    in_urls = _inside(_URL, text)
    outside_urls = boundaries - in_urls
    return frozenset(outside_urls - _inside(_WRAPPED_URL, text)), frozenset(outside_urls), frozenset(boundaries)


def _inside(pattern: regex.Pattern[str], text: str) -> set[int]:
    """Offsets strictly inside a match of ``pattern``."""
    inside: set[int] = set()
    for m in pattern.finditer(text):
        inside.update(range(m.start() + 1, m.end()))
    return inside


def _best_cut(text: str, pos: int, limit: int, allowed: tuple[frozenset[int], ...]) -> tuple[int, int]:
    """The cut ``(end of this part, start of the next)`` for the part starting at ``pos``.

    Picks the last separator of the most preferred level whose cut keeps the part within
    ``limit`` and non-empty; falls back to the last allowed grapheme boundary (see
    :func:`_cut_positions`), then to a plain code-point cut.
    """
    safe = allowed[0]
    window_end = pos + limit
    for level in _LEVELS:
        best: tuple[int, int] | None = None
        for m in level.finditer(text, pos):
            start, end = m.span()
            if start > window_end:
                break
            if start > pos and start in safe and end in safe:
                best = (start, end)
        if best is not None:
            return best
    for candidates in allowed:
        cut = max((p for p in candidates if pos < p <= window_end), default=None)
        if cut is not None:
            return cut, cut
    return window_end, window_end
