"""Plain records the store returns: no ORM object leaves a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class SectionData:
    """A section of one plan version: ``titles``/``bodies`` map language -> text."""

    section_id: int
    key: str
    position: int
    titles: dict[str, str]
    bodies: dict[str, str]
    content_hash: str


@dataclass(frozen=True, slots=True)
class PlanVersionData:
    """A plan version with its sections in position order."""

    plan_id: int
    slug: str
    version_id: int
    number: int
    titles: dict[str, str]
    languages: list[str]
    content_hash: str
    sections: list[SectionData]


@dataclass(frozen=True, slots=True)
class RoundData:
    """A round and the channels it is posted in, oldest first."""

    id: int
    name: str
    plan_slug: str | None
    language: str
    status: str
    source: str
    opened_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    channels: list[ChannelKey]
    public_id: str
    home: Place | None
    places: frozenset[Place]
    stance_mode: str = "both"
    """``reactions``, ``private`` or ``both`` (:class:`storage.models.Round`)."""
    purged: bool = False
    """Its reply texts were purged after the retention period (``storage.privacy``)."""


class Place(NamedTuple):
    """Where a round was opened or joined: a Discord guild or a Slack workspace (team)."""

    platform: str
    workspace_id: str


class InvitationUse(NamedTuple):
    """What using an invitation code gave: the round's id, or None with why (``unknown``,
    ``expired``, ``used``) when it gave nothing."""

    round_id: int | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class MessageTarget:
    """What a platform message is to planbot: the statement it carries and its round;
    ``is_copy`` for planbot's copy of a reply written in another channel; ``moderation``
    where moderation left the statement (``storage.models.Statement.moderation``)."""

    statement_id: int
    round_id: int
    kind: str
    round_open: bool
    channel_id: str
    thread_id: str | None
    is_copy: bool = False
    stance_mode: str = "both"
    moderation: str = "auto"


@dataclass(frozen=True, slots=True)
class RoundStatement:
    """A section statement of a round, for posting: the section's key and content."""

    statement_id: int
    section_key: str
    position: int
    titles: dict[str, str]
    bodies: dict[str, str]


class SavedPlanVersion(NamedTuple):
    """What importing a plan did: the version now latest, and whether it is new (importing
    the same content as the latest version creates nothing)."""

    version: PlanVersionData
    created: bool


class PlanSummary(NamedTuple):
    """A plan in the list of plans: its latest version's number and titles by language."""

    slug: str
    version: int
    titles: dict[str, str]


class ChannelKey(NamedTuple):
    """A channel of a round on one platform."""

    platform: str
    workspace_id: str
    channel_id: str


class ThreadRef(NamedTuple):
    """A section's thread in one channel of a round."""

    platform: str
    workspace_id: str
    channel_id: str
    thread_id: str


@dataclass(frozen=True, slots=True)
class MissingCopy:
    """A reply still to be copied: its text (``origin`` is the author's platform), the
    round's language, and the section threads lacking both the reply and a copy of it.
    ``proposal``: an anonymous proposal, posted without its author's name."""

    statement_id: int
    language: str
    origin: str | None
    text: str | None
    threads: list[ThreadRef]
    proposal: bool = False


class CopyMessage(NamedTuple):
    """One of planbot's live copies of a reply."""

    platform: str
    workspace_id: str
    channel_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ReplyCopies:
    """A reply's state as its copies must show it, and planbot's live copies of it."""

    deleted: bool
    text: str | None
    text_withheld: bool
    platform: str | None
    language: str
    copies: list[CopyMessage]
    moderation: str = "auto"
    """Where moderation left the reply (``Statement.moderation``)."""

    @property
    def gone(self) -> bool:
        """Whether no copy of the reply may stay up: deleted (or erased), withheld or
        rejected (as ``storage.copies``)."""
        return self.deleted or self.text_withheld or self.moderation == "rejected"


class MessageRef(NamedTuple):
    """A platform message carrying a statement."""

    platform: str
    channel_id: str
    message_id: str


class ThreadReply(NamedTuple):
    """A live reply a person wrote in a thread, as the store has it."""

    channel_id: str
    text: str | None
    text_withheld: bool


class RoundMessage(NamedTuple):
    """A section part or reply message of a round on one platform; ``part`` 0 is a
    section's first message (it roots the thread), ``kind`` is ``section`` or ``reply``."""

    statement_id: int
    workspace_id: str
    channel_id: str
    message_id: str
    thread_id: str | None
    part: int
    kind: str


class PresentReaction(NamedTuple):
    """A present reaction: who (the participant's key hash) and which emoji."""

    key_hash: str
    emoji_key: str


@dataclass(frozen=True, slots=True)
class StatementCount:
    """A statement of a round with the counts of its current stances: ``kind`` is
    ``section`` (with ``section_key``) or ``reply`` (with ``text`` unless withheld, and
    ``parent_id``); ``external_id`` is Polis' id for an imported statement."""

    id: int
    kind: str
    section_key: str | None
    text: str | None
    text_withheld: bool
    platform: str | None
    external_id: str | None
    moderated: bool
    deleted_at: datetime | None
    created_at: datetime
    parent_id: int | None
    agree: int
    disagree: int
    passes: int
    broadcast: bool = False
    """A reply also sent to the channel (Slack ``thread_broadcast``)."""


@dataclass(frozen=True, slots=True)
class Participation:
    """Distinct participants of a round: in all, and per platform."""

    total: int
    by_platform: dict[str, int]

    def as_counts(self) -> dict[str, int]:
        """Platform -> participants, with the total under ``"all"``: the shape digests and
        ``planbot round status`` show."""
        return {**self.by_platform, "all": self.total}


class StanceEvent(NamedTuple):
    """When a current stance was taken (UTC), and which: agree, disagree or pass."""

    added_at: datetime
    stance: str


class StatementStance(NamedTuple):
    """When a current stance on one statement was taken (UTC), and which."""

    statement_id: int
    added_at: datetime
    stance: str


class Vote(NamedTuple):
    """One vote of a Polis-style matrix: participant, statement (both as Polis-export
    strings) and 1 agree / -1 disagree / 0 pass."""

    participant: str
    statement: str
    value: int


class VoteTriples(NamedTuple):
    """A round's vote matrix: the votes, every live statement's id, and the ids of the
    statements moderated out."""

    votes: list[Vote]
    statement_ids: list[str]
    excluded: list[str]


class PostedIn(NamedTuple):
    """A channel a digest was posted in."""

    platform: str
    channel_id: str


class DigestProgress(NamedTuple):
    """A claimed digest's period start and the channels it was already posted in."""

    period_start: datetime
    posted: set[PostedIn]


class DigestMessage(NamedTuple):
    """One message of a posted digest; ``part`` orders a digest split over messages."""

    platform: str
    channel_id: str
    message_id: str
    part: int


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A digest of a round: its kind (weekly, final, on demand...), period, status
    (``claimed`` then ``posted``), what it said and how it was rendered, and its messages."""

    id: int
    kind: str
    period_start: datetime
    period_end: datetime
    status: str
    content: dict[str, Any] | None
    outputs: dict[str, Any] | None
    messages: list[DigestMessage]


@dataclass(frozen=True, slots=True)
class ExportedStatement:
    """A statement as a Polis export lists it: ``id`` and ``author`` are Polis' ids when
    imported, planbot's otherwise; ``moderated`` is 1 kept, -1 moderated out or 0 not moderated yet."""

    id: str
    author: str | None
    text: str
    moderated: int
    created_at: datetime


class ExportedVote(NamedTuple):
    """A current stance as a Polis vote: when, on which statement, by whom, and 1 agree /
    -1 disagree / 0 pass."""

    added_at: datetime
    statement: str
    participant: str
    value: int


class ExportedConversation(NamedTuple):
    """A round as Polis sees it: its statements (sections first) and votes (oldest first)."""

    statements: list[ExportedStatement]
    votes: list[ExportedVote]


@dataclass(frozen=True, slots=True)
class ImportedStatement:
    """A statement of a conversation held elsewhere (Polis' ``comments.csv``), to import:
    ``author`` is the external participant id (None when unknown); ``moderated`` False for a
    statement moderated out. ``section`` and ``role`` (``section`` or ``reply``) come from the
    two extra columns of planbot's synthetic conversations (``bot/synthetic.py``)."""

    external_id: str
    author: str | None
    text: str | None
    moderated: bool
    created_at: datetime
    section: str | None = None
    role: str = "reply"


class NewInboxRow(NamedTuple):
    """An inbound event to record in the inbox (``storage.inbox``): ``payload`` is JSON."""

    platform: str
    delivery_key: str
    partition: int
    payload: str
    received_at: datetime


class InboxItem(NamedTuple):
    """An inbox row taken by an applier: its id (arrival order), platform and payload."""

    id: int
    platform: str
    payload: str
    received_at: datetime


class SectionFailureRecord(NamedTuple):
    """A section whose post failed for good in a channel at the last open, and why."""

    statement_id: int
    section_key: str | None
    platform: str
    channel_id: str
    reason: str


# -- a participant's own data (issue 10, Quebec's Law 25) ---------------------------------


class HeldStance(NamedTuple):
    """One of a participant's stances: on which round and statement (a section by its key,
    or a reply by its id), with which emoji, meaning what (None: an emoji with no stance),
    when added and removed (UTC), whether it is the one that counts, and ``via``
    ``reaction`` or ``private`` (the Vote button; its ``emoji`` is
    :data:`storage.models.PRIVATE_KEY`)."""

    round_id: int
    statement_id: int
    target_kind: str
    section_key: str | None
    emoji: str
    stance: str | None
    platform: str
    added_at: datetime
    removed_at: datetime | None
    current: bool
    via: str


class HeldEdit(NamedTuple):
    """An earlier version of a reply: its text until ``replaced_at`` (UTC)."""

    previous_text: str | None
    replaced_at: datetime


class HeldMessage(NamedTuple):
    """Where a reply is on a platform: the author's own message, or planbot's copy of it
    (``is_copy``); ``deleted_at`` when it was deleted there."""

    platform: str
    workspace_id: str
    channel_id: str
    message_id: str
    is_copy: bool
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class HeldReply:
    """One of a participant's replies as the store holds it: text (None when withheld,
    deleted or purged), file names, times (UTC), edit history (oldest first), the messages
    carrying it (copies included) and where moderation left it (``auto``, ``pending``,
    ``accepted``, ``rejected``); ``proposal`` for an anonymous proposal (posted by planbot
    without their name: every message is planbot's)."""

    round_id: int
    statement_id: int
    section_key: str | None
    text: str | None
    attachments: list[str]
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    edits: list[HeldEdit]
    messages: list[HeldMessage]
    moderation: str = "auto"
    proposal: bool = False


class HeldRound(NamedTuple):
    """A round a participant took part in (``public_id``: the id people see)."""

    id: int
    name: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    public_id: str


class HeldDecision(NamedTuple):
    """A moderation decision a facilitator made: round, statement (None for a change of the
    round's mode), ``action`` (``accepted``, ``rejected``, ``strict``, ``open``), platform,
    when (UTC)."""

    round_id: int
    statement_id: int | None
    action: str
    platform: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class ParticipantData:
    """Everything the store holds about one person (found by pseudonym): as a participant
    (``participant_id`` and ``first_seen_at`` None for a facilitator who only moderated),
    and the moderation decisions they made."""

    participant_id: int | None
    platform: str
    display_name: str | None
    first_seen_at: datetime | None
    rounds: list[HeldRound]
    stances: list[HeldStance]
    replies: list[HeldReply]
    decisions: list[HeldDecision] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a participant removed from the store: their replies' statement ids, the
    texts those replies had (current and earlier versions, to redact stored digests with),
    stances removed, and planbot's copies of the replies still live on platforms (to
    delete there)."""

    statement_ids: list[int]
    texts: list[str]
    stances: int
    copies: list[CopyMessage]
    decisions: int = 0
    """Their moderation decisions, now linked to no one (``moderator_key`` NULL)."""
    pending: int = 0
    """Their events still waiting in the inbox, discarded unapplied (``storage.inbox``)."""


class StoredDigest(NamedTuple):
    """A stored digest's content and renderings, to redact."""

    id: int
    content: dict[str, Any] | None
    outputs: dict[str, Any] | None


class PurgeCandidate(NamedTuple):
    """A round past its retention period: closed at ``closed_at`` (UTC); what its purge
    removes: reply texts, earlier versions, display names."""

    round_id: int
    public_id: str
    name: str
    closed_at: datetime
    replies: int
    edits: int
    names: int


class PrivacyRequestRecord(NamedTuple):
    """An entry of the privacy audit log: what kind of request, by which way, for which
    platform, when it was served (UTC)."""

    kind: str
    via: str
    platform: str | None
    served_at: datetime


class CurrentStance(NamedTuple):
    """A participant's stance that counts on one statement: ``stance`` agree / disagree /
    pass, ``via`` ``reaction`` (``emoji`` the reaction's raw emoji) or ``private`` (the Vote
    button), given at ``added_at`` (UTC)."""

    statement_id: int
    stance: str
    via: str
    emoji: str
    added_at: datetime


class ModerationEntry(NamedTuple):
    """A reply as a facilitator reviews it: ``state`` is ``auto``, ``pending``, ``accepted``
    or ``rejected`` (``storage.models.Statement.moderation``); ``text`` None when withheld
    or attachments only (``attachments``: file names, one per line)."""

    statement_id: int
    state: str
    text: str | None
    text_withheld: bool
    attachments: str | None
    platform: str | None
    created_at: datetime


class ModerationQueue(NamedTuple):
    """What ``/moderate`` shows of a round: its mode (``open`` or ``strict``), how many
    replies wait for a decision in all, and the entries: pending ones oldest first, then the
    most recent others, newest first."""

    round_id: int
    mode: str
    pending: int
    entries: list[ModerationEntry]


class ModerationOutcome(NamedTuple):
    """A decision that changed a statement: its round, and its state before (``auto``,
    ``pending``, ``accepted`` or ``rejected``)."""

    round_id: int
    previous: str


class ModerationRecord(NamedTuple):
    """An entry of the moderation audit: which round and statement (None for a change of
    mode), what (``accepted``, ``rejected``, ``strict``, ``open``), who as a pseudonym, on
    which platform, when (UTC)."""

    round_id: int
    statement_id: int | None
    action: str
    moderator_key: str | None
    platform: str
    decided_at: datetime
