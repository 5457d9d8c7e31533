"""The digest's data: typed, immutable records built by ``bot.digests.build`` and read by
every renderer (Markdown, HTML, Discord, Slack, charts).

``Digest.to_json()`` gives the JSON form (``planbot digest --format json``, stored with each
posted digest); ``standing`` in it is what the next digest compares against (see
``bot.digests.moved``). Shares are plain proportions (agree / votes) in [0, 1]; ``pa`` is
Polis' smoothed agreement (1 + agree) / (2 + votes) and ``z`` its one-proportion test
against 1/2 (``math/src/polismath/math/stats.clj``, ``prop-test``), used for ranking only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Split:
    """Counts of current stances on one statement (or by one group)."""

    agree: int = 0
    disagree: int = 0
    passed: int = 0

    @property
    def votes(self) -> int:
        return self.agree + self.disagree + self.passed

    def share(self, stance: str) -> float:
        """``agree``, ``disagree`` or ``passed`` over all votes (0 when nobody voted)."""
        return getattr(self, stance) / self.votes if self.votes else 0.0


@dataclass(frozen=True, slots=True)
class GroupSplit:
    """How one opinion group (``letter`` A, B...) voted on a statement."""

    group: int
    letter: str
    split: Split


@dataclass(frozen=True, slots=True)
class Statement:
    """A section or a reply, with its counts and indices.

    ``consensus`` is Polis' group-informed consensus (product over groups of (1 + agree_g) /
    (2 + votes_g), ``conversation.clj`` ``:group-aware-consensus``): high only when every
    group agrees, so it also measures how much a reply bridges groups; None without groups.
    ``significant``: agreement above one half at 90 % (z > 1.2816).
    """

    id: str
    kind: str
    section: str | None
    text: str
    withheld: bool
    platform: str | None
    in_analysis: bool
    created_at: datetime
    split: Split
    pa: float
    z: float
    significant: bool
    consensus: float | None = None
    groups: tuple[GroupSplit, ...] = ()
    earlier: Split | None = None
    """Stances given to an earlier text of an edited reply: kept and reported apart, never
    in ``split`` nor in any ranking (None when there are none)."""
    broadcast: bool = False
    """A reply also sent to the channel (Slack ``thread_broadcast``)."""


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the plan in plan order, with its replies ranked by support."""

    key: str
    position: int
    title: str
    body: str
    statement: Statement | None
    replies: tuple[Statement, ...]
    removed_on: tuple[str, ...] = ()
    """Platforms where the section's message was deleted: its tallies there are frozen as
    they were then."""


@dataclass(frozen=True, slots=True)
class Highlight:
    """A statement in a headline list, with why it is there (``score``: the index it is
    ranked by, see the list's explanation; ``side``: ``agree`` or ``disagree`` for common
    ground, the side most voters took)."""

    statement: Statement
    score: float
    side: str = "agree"


@dataclass(frozen=True, slots=True)
class Group:
    """An opinion group: its letter, size and the statements that set it apart (with the
    share of the group on the side it leans, in [0, 1])."""

    id: int
    letter: str
    size: int
    representative: tuple[tuple[Statement, str, float], ...]


@dataclass(frozen=True, slots=True)
class MapPoint:
    """A clustered participant on the opinion map: analysis projection (x, y), group id.
    No identifier: the map shows where people stand, not who they are."""

    x: float
    y: float
    group: int


@dataclass(frozen=True, slots=True)
class Moved:
    """What changed against an earlier digest (``against``: ``digest`` of the same round, or
    ``round`` for the previous round of the same plan; ``label`` names it: a date or a round
    name). Statement lists hold texts; participants are (then, now)."""

    against: str
    label: str
    entered_consensus: tuple[str, ...]
    left_consensus: tuple[str, ...]
    became_divisive: tuple[str, ...]
    stopped_divisive: tuple[str, ...]
    participants: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Trend:
    """A statement's agree share over time (for the consensus-over-time chart): points are
    (time, share in [0, 1]) in time order."""

    statement: Statement
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class RoundInfo:
    id: int
    name: str
    plan: str | None
    plan_title: str
    language: str
    status: str
    source: str


@dataclass(frozen=True, slots=True)
class Participation:
    """Distinct participants (overall and per platform), stances and replies."""

    people: int
    people_by_platform: dict[str, int]
    stances: int
    stances_by_platform: dict[str, int]
    statements: int
    replies: int
    moderated_out: int


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest of a round over [start, end).

    Headline lists (``common_ground``, ``divides``, ``most_agreed``, ``most_divided``,
    ``uncertain``, ``new_replies``, ``top_replies``) never repeat a statement. ``clustered``
    counts participants placed in a group; ``min_votes`` is the fewest votes a statement
    needs to be ranked "most agreed". ``groups`` holds the groups of at least ``min_group``
    members; ``hidden_groups`` counts the smaller ones, not described.
    """

    round: RoundInfo
    start: datetime
    end: datetime
    final: bool
    participation: Participation
    statements: tuple[Statement, ...]
    sections: tuple[Section, ...]
    common_ground: tuple[Highlight, ...]
    divides: tuple[Highlight, ...]
    most_agreed: tuple[Highlight, ...]
    most_divided: tuple[Highlight, ...]
    uncertain: tuple[Highlight, ...]
    new_replies: tuple[Highlight, ...]
    new_reply_count: int
    top_replies: tuple[Highlight, ...]
    groups: tuple[Group, ...]
    clustered: int
    opinion_map: tuple[MapPoint, ...]
    min_votes: int
    moved: tuple[Moved, ...] = ()
    trends: tuple[Trend, ...] = ()
    hidden_groups: int = 0
    min_group: int = 5
    standing: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Statement id -> {"key", "agree", "votes", "consensus" (bool), "divisive" (bool)}: what
    the next digest compares against."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: dataclasses as objects (fields in order), tuples as lists, dict keys
        as strings, datetimes as ISO 8601 strings."""
        plain: dict[str, Any] = _plain(self)
        return plain


_LEAVES = frozenset((str, int, float, bool, type(None)))
_FIELDS: dict[type, tuple[str, ...]] = {}
"""Field names of each dataclass met by :func:`_plain` (``dataclasses.fields`` is slow)."""


def _plain(value: Any) -> Any:
    """What ``dataclasses.asdict`` then a JSON walk give, in one pass without the deep copy
    (a Bowling Green-size digest holds a hundred thousand values)."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind in (list, tuple):
        return [_plain(v) for v in value]
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    names = _FIELDS.get(kind)
    if names is None:
        if not dataclasses.is_dataclass(value):
            return _plain(list(value)) if isinstance(value, (list, tuple)) else value
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    return {name: _plain(getattr(value, name)) for name in names}
