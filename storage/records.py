"""Plain records the store returns: no ORM object leaves a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SectionData:
    """A section of one plan version: ``titles``/``bodies`` map language -> text."""

    section_id: int
    key: str
    position: int
    titles: dict
    bodies: dict
    content_hash: str


@dataclass(frozen=True, slots=True)
class PlanVersionData:
    """A plan version with its sections in position order."""

    plan_id: int
    slug: str
    version_id: int
    number: int
    titles: dict
    languages: list
    content_hash: str
    sections: list[SectionData]


@dataclass(frozen=True, slots=True)
class RoundData:
    """A round: ``channels`` are (platform, workspace_id, channel_id) triples."""

    id: int
    name: str
    plan_slug: str | None
    language: str
    status: str
    source: str
    opened_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    channels: list[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class MessageTarget:
    """What a platform message is to planbot: the statement it carries and its round;
    ``is_copy`` for planbot's copy of a reply written in another channel."""

    statement_id: int
    round_id: int
    kind: str
    round_open: bool
    channel_id: str
    thread_id: str | None
    is_copy: bool = False


@dataclass(frozen=True, slots=True)
class RoundStatement:
    """A section statement of a round, for posting: the section's key and content."""

    statement_id: int
    section_key: str
    position: int
    titles: dict
    bodies: dict
