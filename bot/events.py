"""Neutral inbound events: the only way platform code changes the store.

Each adapter (``integrations.discord``, ``integrations.slack``) translates raw platform
payloads into these frozen dataclasses and hands them to :class:`bot.core.Core`.
The shape follows opsdroid's ``opsdroid/events.py``: one small class per kind of thing that
happened, carrying platform ids as strings and nothing platform-specific beyond them.

Identity rules every adapter must follow:

* ``message_id`` is the platform's id for one message: a Discord snowflake, a Slack ``ts``.
* ``thread_id`` is the id of the message that roots the thread. On Discord a thread started
  from a message has that message's id; on Slack it is the parent's ``ts`` (``thread_ts``).
* ``event_key`` is a platform-unique delivery key (Slack's ``event_id``) used for exactly-once
  across re-deliveries; ``None`` when the platform gives none (Discord gateway events), in
  which case applying the event is idempotent by state alone.
* ``occurred_at`` is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: ``user_id`` is the raw platform id (hashed before storage)."""

    user_id: str
    display_name: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Emoji:
    """An emoji as the platform sent it.

    ``name`` is the Unicode character sequence (Discord) or short name (Slack, e.g.
    ``+1::skin-tone-4``); ``custom_id`` is set for custom emoji (Discord id), which are matched
    by id because admins may rename them.
    """

    name: str
    custom_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields common to every inbound event."""

    platform: str
    workspace_id: str
    channel_id: str
    occurred_at: datetime
    event_key: str | None = None
    backfill: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded(Event):
    """``actor`` added ``emoji`` to message ``message_id`` (a section part or a reply)."""

    actor: Actor
    message_id: str
    emoji: Emoji


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRemoved(Event):
    """``actor`` removed ``emoji`` from message ``message_id``."""

    actor: Actor
    message_id: str
    emoji: Emoji


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionsCleared(Event):
    """A moderator cleared reactions on ``message_id``: all of them, or only ``emoji``."""

    message_id: str
    emoji: Emoji | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyPosted(Event):
    """A message was posted in the thread rooted at ``thread_id``.

    ``text_withheld`` is true when the platform withheld the text (Discord without the
    message-content intent): the reply is stored as withheld, never as an empty opinion.
    ``parent_message_id`` names the reply this one answers, when the platform says so.
    ``attachments`` are the names of the files posted with it: a reply with files and no
    text is an attachment reply (counted as a reply, not a statement to analyse).
    ``edited_at`` is when the platform says the text was last edited (Discord
    ``edited_timestamp``, Slack ``edited.ts``), ``None`` if never: reconciliation dates an
    edit it finds by it, not by when it ran. ``broadcast``: the reply was also sent to the
    channel (Slack ``thread_broadcast``); it is still one reply.
    """

    actor: Actor
    message_id: str
    thread_id: str
    text: str
    text_withheld: bool = False
    parent_message_id: str | None = None
    attachments: tuple[str, ...] = ()
    edited_at: datetime | None = None
    broadcast: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyEdited(Event):
    """The reply ``message_id`` now reads ``text`` (edit history is kept by the store)."""

    message_id: str
    text: str
    text_withheld: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyDeleted(Event):
    """The reply (or section message) ``message_id`` was deleted."""

    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadStateChanged(Event):
    """The thread ``thread_id`` (on Discord, the id of the section message rooting it) is now
    ``state``: ``open``, ``archived`` (by inactivity or by a moderator) or ``locked``
    (:data:`storage.threads.THREAD_STATES`); ``channel_id`` is its parent channel."""

    thread_id: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateVote(Event):
    """``actor`` voted ``stance`` (agree / disagree / pass) on ``statement_id`` through the
    Vote button, seen by no one else; ``stance`` None withdraws their private vote.
    ``event_key`` is the interaction's id, so a click delivered twice is one vote."""

    actor: Actor
    statement_id: int
    stance: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalSubmitted(Event):
    """``actor`` proposed ``text`` as a new statement under the section statement
    ``section_id`` of round ``round_id`` through the propose form (``bot.proposals``);
    planbot posts it in every channel of the round without the author's name.
    ``event_key`` is the form's own key (Discord: the interaction that opened the modal;
    Slack: the view id), so a form submitted twice is one proposal. ``author_agrees``: the
    author's stance on it is agree, as in Polis, unless the operator turned that off."""

    actor: Actor
    round_id: int
    section_id: int
    text: str
    author_agrees: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(Event):
    """A slash command, already parsed by the adapter.

    ``action`` is one of ``open``, ``close``, ``status``, ``digest``, ``plans``; ``args``
    holds the named options as strings. ``locale`` is the user's language tag as the platform
    reports it (``fr``, ``en-US``...). ``roles`` are the ids of the roles (Discord) or user
    groups (Slack) the user holds; ``is_admin`` is true for Discord's Manage Server
    permission. The bot, not the adapter, decides who is a facilitator.
    """

    actor: Actor
    action: str
    args: dict[str, str] = field(default_factory=dict)
    locale: str | None = None
    roles: frozenset[str] = frozenset()
    is_admin: bool = False


InboundEvent = (
    ReactionAdded | ReactionRemoved | ReactionsCleared | ReplyPosted | ReplyEdited | ReplyDeleted
    | PrivateVote | ProposalSubmitted | ThreadStateChanged
)
