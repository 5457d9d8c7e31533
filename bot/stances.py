"""Emoji -> stance (agree / disagree / pass), after normalising how platforms spell emoji.

The same stance arrives spelled many ways (docs/platform-facts.md, "Emoji"): with a skin-tone
modifier U+1F3FB..U+1F3FF, with or without the variation selector U+FE0F, with a gender sign
(🤷‍♀️), as a Slack short name (``+1``, ``thumbsup``, ``+1::skin-tone-4``), or as a custom emoji
whose name an admin may rename (matched by id, Discord
https://discord.com/developers/docs/resources/emoji).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import regex

from bot.errors import BadArgument
from bot.events import Emoji

STANCES = ("agree", "disagree", "pass")
SKIN_TONES = re.compile("[\U0001F3FB-\U0001F3FF]")
GENDER_SUFFIX = re.compile("\u200d[\u2640\u2642]")
VARIATION_SELECTORS = re.compile("[\ufe0e\ufe0f]")
SLACK_SKIN_TONE = re.compile(r"::skin-tone-\d$")

# Slack short names of the emoji planbot maps by default; anything else is kept as
# "slack:<name>" so a configured mapping can still name it.
SLACK_ALIASES = {
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎",
    "shrug": "🤷", "man-shrugging": "🤷", "woman-shrugging": "🤷", "person_shrugging": "🤷",
    "white_check_mark": "✅", "x": "❌", "heavy_check_mark": "✔",
}
DEFAULT_MAP = {"👍": "agree", "👎": "disagree", "🤷": "pass"}
DEFAULT_SEEDS = ("👍", "👎", "🤷")
KEY_LIMIT = 100
"""Keys are cut to the store's column width (a Slack custom name may be 100 characters)."""

_EMOJI_ELEMENT = (
    r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    r"|\p{Emoji_Presentation}(?<![#*0-9])"
    r"|(?![#*0-9])[\p{Emoji}--\p{Emoji_Presentation}--\p{Emoji_Component}]\uFE0F"
    r"|[#*0-9]\uFE0F\u20E3"
    r"|\p{Regional_Indicator}\p{Regional_Indicator})"
    r"[\U000E0020-\U000E007F]*"
)
_FULLY_QUALIFIED = regex.compile(rf"^{_EMOJI_ELEMENT}(?:\u200D{_EMOJI_ELEMENT})*$", regex.V1)


def is_fully_qualified(text: str) -> bool:
    """Whether ``text`` is one emoji in its fully-qualified form, the only form Discord
    accepts as a reaction (else 400 10014, docs/platform-facts.md).

    Rules from https://unicode.org/Public/emoji/latest/emoji-test.txt: a character shown as
    emoji by default (👍) has no U+FE0F, one shown as text by default (❤ U+2764) needs it,
    keycaps are ``digit FE0F 20E3``, flags two regional indicators, and ZWJ sequences join
    such elements.

    >>> is_fully_qualified("❤\ufe0f"), is_fully_qualified("❤"), is_fully_qualified("👍\ufe0f")
    (True, False, False)
    """
    return bool(_FULLY_QUALIFIED.match(text))


def emoji_key(emoji: Emoji) -> str:
    """The normalised key of an emoji: ``custom:<id>``, a bare Unicode sequence, or
    ``slack:<short name>`` for Slack names with no Unicode alias.

    >>> emoji_key(Emoji("👍🏽"))
    '👍'
    >>> emoji_key(Emoji("+1::skin-tone-4"))
    '👍'
    """
    return _emoji_key(emoji)[:KEY_LIMIT]


def _emoji_key(emoji: Emoji) -> str:
    if emoji.custom_id:
        return f"custom:{emoji.custom_id}"
    name = emoji.name.strip()
    if name.startswith(":") and name.endswith(":") and len(name) > 2:
        name = name[1:-1]
    name = SLACK_SKIN_TONE.sub("", name)
    if name.isascii():
        lowered = name.lower()
        return SLACK_ALIASES.get(lowered, f"slack:{lowered}")
    name = SKIN_TONES.sub("", name)
    name = GENDER_SUFFIX.sub("", name)
    return VARIATION_SELECTORS.sub("", name)


def _qualified_hint(name: str) -> str:
    """The form to write instead of ``name``: without selectors, plus U+FE0F when that
    makes a fully-qualified emoji; else ``👍`` as an example."""
    bare = VARIATION_SELECTORS.sub("", name)
    for candidate in (bare, bare + "\ufe0f"):
        if is_fully_qualified(candidate):
            return candidate
    return "👍"


@dataclass(frozen=True)
class StanceMap:
    """Which normalised emoji keys mean which stance, and which emoji to seed on posts.

    ``mapping`` maps an emoji key (see :func:`emoji_key`) to a stance in :data:`STANCES`.
    Raises ``BadArgument`` when a stance name is unknown.
    """

    mapping: Mapping[str, str]
    seeds: tuple[str, ...] = DEFAULT_SEEDS

    def __post_init__(self) -> None:
        for key, stance in self.mapping.items():
            if stance not in STANCES:
                raise BadArgument("error.bad_stance", stance=stance, emoji=key)

    @classmethod
    def default(cls) -> StanceMap:
        """👍 agree, 👎 disagree, 🤷 pass."""
        return cls(dict(DEFAULT_MAP))

    @classmethod
    def parse(cls, spec: str) -> StanceMap:
        """Parse ``agree=👍,✅;disagree=👎;pass=🤷,custom:1234`` (Slack names allowed).

        The first Unicode emoji of each stance is seeded on posts (custom and Slack-only
        emoji cannot be), spelled as given: its variation selector is kept, since Discord
        refuses ❤ without it. Raises ``BadArgument`` for an unknown stance, an emoji given to
        two stances, or a Unicode emoji not in its fully-qualified form
        (:func:`is_fully_qualified`), so that seeding never fails half-way through an opening.
        """
        mapping: dict[str, str] = {}
        seeds: list[str] = []
        for chunk in filter(None, (c.strip() for c in spec.split(";"))):
            stance, sep, emojis = chunk.partition("=")
            stance = stance.strip()
            names = [e.strip() for e in emojis.split(",") if e.strip()]
            if not sep or stance not in STANCES or not names:
                raise BadArgument("error.bad_stance_map", spec=chunk)
            # Seeded as given but for skin tones: a seed speaks for everyone.
            unicode_names = [SKIN_TONES.sub("", n) for n in names if not n.isascii()]
            for name in names:
                key = name if name.startswith(("custom:", "slack:")) else emoji_key(Emoji(name))
                if mapping.get(key, stance) != stance:
                    raise BadArgument("error.stance_twice", emoji=name)
                mapping[key] = stance
            for name in unicode_names:
                if not is_fully_qualified(name):
                    raise BadArgument("error.emoji_form", emoji=name,
                                      fixed=_qualified_hint(name))
            # Only Unicode emoji can be seeded on both platforms; the first one of a stance.
            seeds += unicode_names[:1]
        return cls(mapping, tuple(seeds))

    def stance_of(self, emoji: Emoji) -> tuple[str, str | None]:
        """(normalised key, stance or None when the emoji is unmapped)."""
        key = emoji_key(emoji)
        return key, self.mapping.get(key)
