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
        emoji cannot be). Raises ``BadArgument`` for an unknown stance or an emoji given to
        two stances.
        """
        mapping: dict[str, str] = {}
        seeds: list[str] = []
        for chunk in filter(None, (c.strip() for c in spec.split(";"))):
            stance, sep, emojis = chunk.partition("=")
            stance = stance.strip()
            names = [e.strip() for e in emojis.split(",") if e.strip()]
            if not sep or stance not in STANCES or not names:
                raise BadArgument("error.bad_stance_map", spec=chunk)
            for name in names:
                key = name if name.startswith(("custom:", "slack:")) else emoji_key(Emoji(name))
                if mapping.get(key, stance) != stance:
                    raise BadArgument("error.stance_twice", emoji=name)
                mapping[key] = stance
            # Only Unicode emoji can be seeded on both platforms; the first one of a stance.
            seeds += [k for k in dict.fromkeys(mapping) if mapping[k] == stance
                      and not k.startswith(("custom:", "slack:"))][:1]
        return cls(mapping, tuple(seeds))

    def stance_of(self, emoji: Emoji) -> tuple[str, str | None]:
        """(normalised key, stance or None when the emoji is unmapped)."""
        key = emoji_key(emoji)
        return key, self.mapping.get(key)
