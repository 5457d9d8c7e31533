"""Typed SQLAlchemy 2 models of the central store.

Unique keys make re-delivery harmless: applying the same platform event twice cannot create a
second row, whatever the code above does (``processed_events.event_key``,
``platform_messages (platform, channel_id, message_id)``, ``stances (participant, statement,
emoji_key)``, ``digests (round_id, kind, period_end)``).

A *statement* is what participants vote on, as in Polis: each section of a round is one, and so
is each reply. Stances point at statements.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

INBOX_PARTITIONS = 32
"""Partitions of the inbox: how many appliers (across processes) can apply at once."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        # SQLite drops the offset, so anything not already UTC would be read back shifted.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable Alembic diffs)."""

    metadata = MetaData(naming_convention=NAMING)


class Plan(Base):
    """A plan document, identified by its slug across versions."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanVersion(Base):
    """One import of a plan: ``titles`` maps language -> title; ``languages`` in file order."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    number: Mapped[int] = mapped_column(Integer)
    titles: Mapped[dict[str, str]] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Section(Base):
    """A section's identity: its stable key within a plan, kept across versions."""

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(100))


class SectionVersion(Base):
    """A section's content in one plan version: ``titles``/``bodies`` map language -> text."""

    __tablename__ = "section_versions"
    __table_args__ = (UniqueConstraint("plan_version_id", "section_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    position: Mapped[int] = mapped_column(Integer)
    titles: Mapped[dict[str, str]] = mapped_column(JSON)
    bodies: Mapped[dict[str, str]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))


class Round(Base):
    """A discussion round over some sections of one plan version.

    ``status`` is ``open`` or ``closed``; ``source`` is ``chat`` or ``polis`` (imported);
    ``source_hash`` fingerprints an imported conversation so it is not imported twice.
    ``public_id`` is the random id people see and type (never the row id, which can be
    guessed); ``home_platform``/``home_workspace`` the place (Discord guild, Slack workspace)
    where the round was opened, None for an imported round. At most one round per plan is open
    in one place: a partial unique index holds it even when two processes open the same plan
    at once.
    """

    __table_args__ = (
        Index("uq_rounds_open_plan", "plan_id", "home_platform", "home_workspace", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("uq_rounds_public_id", "public_id", unique=True),
    )

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int | None] = mapped_column(ForeignKey("plan_versions.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="open")
    source: Mapped[str] = mapped_column(String(10), default="chat")
    source_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on every insert (storage.rounds.new_public_id); nullable in the schema only because
    # SQLite cannot make an added column NOT NULL without rebuilding the table.
    public_id: Mapped[str] = mapped_column(String(16), nullable=True)
    home_platform: Mapped[str | None] = mapped_column(String(16))
    home_workspace: Mapped[str | None] = mapped_column(String(64))

    kept_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the retention period starts for a round imported from elsewhere: the import
    moment, since its ``closed_at`` keeps the original (maybe years old) date; NULL for a
    round held in chat, whose period starts at ``closed_at`` (``storage.privacy``)."""
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the retention period's purge removed its reply texts, edit histories and display
    names (``bot.privacy``); NULL while they are held."""
    stance_mode: Mapped[str] = mapped_column(String(10), default="both",
                                             server_default="both")
    """How stances are given, chosen at opening: ``reactions``, ``private`` (the Vote button
    only: no seed reactions, reactions ignored) or ``both``."""
    moderation: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    """How new statements enter, chosen at opening and changed by a facilitator: ``open``
    (counted and copied at once) or ``strict`` (held ``pending`` until a facilitator accepts
    them; ``bot.moderation``)."""


class RoundInvitation(Base):
    """An invitation for another place to join a round, created by one of its facilitators.

    Only ``code_hash`` (SHA-256 of the code) is kept, so the store cannot hand the code out
    again. Usable once: ``used_at`` and the place that used it (``used_platform``,
    ``used_workspace``) are set then, and that place belongs to the round from then on.
    """

    __tablename__ = "round_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_platform: Mapped[str | None] = mapped_column(String(16))
    used_workspace: Mapped[str | None] = mapped_column(String(64))


class RoundChannel(Base):
    """A channel a round is posted in; one per platform, workspace and channel."""

    __tablename__ = "round_channels"
    __table_args__ = (UniqueConstraint("round_id", "platform", "workspace_id", "channel_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    platform: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))


class Participant(Base):
    """A pseudonymous participant.

    ``key_hash`` is HMAC-SHA256(secret, platform + ":" + user id) so analysis tables never
    hold raw platform ids. ``external_id`` keeps Polis' anonymous integer ids for round trips.
    """

    __tablename__ = "participants"
    # Ids are never reused (``0021_participant_ids``): a process may still hold an erased
    # participant's id, which must never come to name someone else.
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Statement(Base):
    """Something participants vote on: a round's section (``kind='section'``) or a reply.

    For replies: ``text`` is NFC-normalised, ``text_withheld`` marks text the platform did not
    give us, ``parent_id`` is the statement replied to (the section, or another reply),
    ``moderated`` is false when excluded from analysis, ``external_id`` keeps a Polis comment id.
    ``attachments`` holds the names of the files posted with a reply, one per line; a reply
    with files and no text is an attachment reply, counted as a reply but not analysed.
    ``copy_throttled`` marks a reply stored but not copied to the round's other channels
    because its author was over the per-person copy limit (``bot/relay.py``).
    """

    __tablename__ = "statements"
    __table_args__ = (
        # One reply's copy reads its section's threads through this index, whatever the
        # number of replies in the round (bot/relay.py), and the copy limit counts an
        # author's recent replies through the next.
        Index("ix_statements_round_kind_section", "round_id", "kind", "section_id"),
        Index("ix_statements_author_created", "author_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    platform: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    text_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments: Mapped[str | None] = mapped_column(Text)
    moderated: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10), default="live")
    copy_throttled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """The text's version: 1 as posted, one more at each edit (``StatementEdit``)."""
    moderation: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    """A facilitator's decision on it, as Polis' ``mod`` (1 / 0 / -1): ``auto`` (admitted
    without review: open moderation, sections, imports), ``pending`` (strict moderation, no
    decision yet: neither copied nor counted anywhere), ``accepted`` or ``rejected`` (kept
    for the record, ``moderated`` false). ``bot.moderation`` decides."""
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A reply also sent to the channel (Slack ``thread_broadcast``): still one reply."""


class StatementEdit(Base):
    """Edit history of a reply: the text it had before ``replaced_at``, which was its
    ``version`` (the stances given to that text carry the same version)."""

    __tablename__ = "statement_edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    previous_text: Mapped[str | None] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int | None] = mapped_column(Integer)


class PlatformMessage(Base):
    """A platform message planbot knows: a section part, a reply, or a digest part.

    ``message_id`` is a Discord snowflake or a Slack ``ts``; ``thread_id`` the thread it roots
    or lives in; ``is_copy`` marks planbot's copy of a reply written in another channel.
    ``thread_state`` is, on a section's first part, the state of the thread it roots as last
    seen: ``open``, ``archived`` or ``locked`` (archived and locked); NULL until the thread
    is known to exist (a post stopped before creating it).
    Unique per platform and channel, so recording it twice is harmless.
    """

    __tablename__ = "platform_messages"
    __table_args__ = (
        UniqueConstraint("platform", "channel_id", "message_id"),
        # A thread's root by its id (storage/events.py, find_thread), whatever the thread's size.
        Index("ix_platform_messages_thread_message", "thread_id", "message_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64), index=True)
    part: Mapped[int] = mapped_column(Integer, default=0)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"), index=True)
    is_copy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thread_state: Mapped[str | None] = mapped_column(String(10))


class SectionFailure(Base):
    """A section whose post in a channel failed for good at the last open, and why
    (``reason``: the platform's error, e.g. ``50013 Missing Permissions``, ``msg_too_long``).
    Removed once the section is posted there; one per section statement and channel."""

    __tablename__ = "section_failures"
    __table_args__ = (UniqueConstraint("statement_id", "platform", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    platform: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Stance(Base):
    """One participant's reaction with one emoji on one statement, or their private vote.

    ``stance`` is ``agree``/``disagree``/``pass``, or NULL for an unmapped emoji (kept raw,
    counting for nothing). ``is_current`` marks the single stance that counts for the pair
    (participant, statement): the most recently added present mapped one; a partial unique
    index enforces at most one. ``source`` is ``live``, ``backfill`` or ``import``.
    ``version`` is the statement's text version the reaction was given to: once a reply is
    edited, the stances given to its earlier text stop being current (they never count for
    the new text) and are reported apart.
    ``via`` is ``reaction``, or ``private`` for a vote given through the Vote button (one row
    per pair, ``emoji_key`` :data:`PRIVATE_KEY`, seen by no one else): both kinds compete
    for the current stance, the latest added wins.
    """

    __tablename__ = "stances"
    __table_args__ = (
        UniqueConstraint("participant_id", "statement_id", "emoji_key"),
        Index(
            "uq_stances_current",
            "participant_id",
            "statement_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        # Covers the digest's and the analysis' reads of a round's current stances (counts,
        # the vote matrix, activity, platforms): they read the index alone, never the rows.
        Index("ix_stances_current_cover", "statement_id", "is_current", "stance",
              "participant_id", "platform", "added_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    emoji_key: Mapped[str] = mapped_column(String(100))
    emoji_raw: Mapped[str] = mapped_column(String(200))
    stance: Mapped[str | None] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    platform: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    via: Mapped[str] = mapped_column(String(10), default="reaction", server_default="reaction")


PRIVATE_KEY = "@private"
"""``emoji_key`` of a private vote: no emoji key has this form (they are Unicode,
``custom:<id>`` or ``slack:<name>``), so it never meets a reaction's row."""


class ProcessedEvent(Base):
    """A platform delivery key already applied (Slack ``event_id``): exactly-once on retries."""

    __tablename__ = "processed_events"
    event_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboxEntry(Base):
    """An inbound platform event as it arrived, before it is applied (``bot/intake.py``).

    ``delivery_key`` is unique per platform, so a Slack retry or a Discord re-delivery is one
    row. ``payload`` is the neutral event as JSON (``bot.wire``). ``partition`` (0 to
    ``INBOX_PARTITIONS`` - 1) is derived from the platform and channel: the rows of one
    partition are applied in ``id`` order by one applier at a time (docs/decisions.md,
    "The inbox"). ``applied_at`` is set in the transaction that applies the row; ``outcome``
    says what applying it did: ``changed``, ``unchanged`` or ``skipped`` (malformed).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "delivery_key"),
        Index("ix_inbox_pending", "partition", "id",
              postgresql_where=text("applied_at IS NULL"),
              sqlite_where=text("applied_at IS NULL")),
        Index("ix_inbox_applied_at", "applied_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    delivery_key: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)


class InboxPartition(Base):
    """One partition of the inbox: an applier locks its row (``SELECT ... FOR UPDATE SKIP
    LOCKED`` on PostgreSQL) for the transaction in which it applies the partition's rows, so
    two processes never apply the same partition at once. ``claimed_at`` is when it was
    last taken. Rows 0 to ``INBOX_PARTITIONS`` - 1 are made by migration 0013_inbox."""

    __tablename__ = "inbox_partitions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Digest(Base):
    """A digest of a round over [period_start, period_end).

    ``kind`` is ``weekly``, ``final`` or ``on_demand``. The unique key (round, kind, period_end)
    is the claim two schedulers race for: only the one whose insert succeeds posts.
    ``content`` is the plain digest data; ``outputs`` maps a target (md, html, ...) to its text.
    """

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("round_id", "kind", "period_end"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="claimed")
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AnalysisStateRow(Base):
    """What a round's last analysis update leaves for the next (bot/analysis/history.py):
    clustered participants, clusters, the k smoother and the group letters, as JSON. One row
    per round, replaced by each update; ``fingerprint`` identifies the votes it was computed
    from."""

    __tablename__ = "analysis_states"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)


class StoreSetting(Base):
    """A fact about the store itself, by key: ``participant_secret_fingerprint`` ties the
    store to the secret its pseudonyms were made with (``storage.identity``)."""

    __tablename__ = "store_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PrivacyRequest(Base):
    """A privacy request served, for the operator's audit (Quebec's Law 25): when, what kind
    (``export``, ``erase``, ``purge``), by which way (``chat`` or ``cli``) and for which
    platform. No content and no person: neither a user id nor a pseudonym is kept."""

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    via: Mapped[str] = mapped_column(String(10))
    platform: Mapped[str | None] = mapped_column(String(16))
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ErasedParticipant(Base):
    """A participant erased at their request, by pseudonym (``key_hash``, as in
    ``participants``): what reconciliation reads back from a platform about them (reactions
    still there, made before the erasure) is not stored again. A new live action is a new
    participation."""

    __tablename__ = "erased_participants"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModerationDecision(Base):
    """The audit of moderation: each decision a facilitator made, when, and who as a
    pseudonym (``moderator_key``: the keyed HMAC ``Participant.key_hash`` is made of, never
    the platform id), and no text. ``action`` is ``accepted`` or ``rejected`` for a statement,
    ``strict`` or ``open`` for a change of the round's mode (``statement_id`` NULL).
    ``event_key`` is the interaction that made it (unique: a click delivered twice is one
    decision). ``moderator_key`` is NULL once the facilitator was erased at their request:
    the decision stays, linked to no one."""

    __tablename__ = "moderation_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    action: Mapped[str] = mapped_column(String(10))
    moderator_key: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
