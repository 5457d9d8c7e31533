"""The protocol every chat adapter implements, and the plain data it exchanges with ``bot``.

Modelled on python-zulip-api's ``AbstractBotHandler``: a small surface the core calls, which
a recording stand-in can implement in tests. Adapters translate; they decide nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bot.events import Emoji, ReplyPosted


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """Where to post: ``workspace_id`` is the Discord guild id or the Slack team id."""

    platform: str
    workspace_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """One message the adapter posted: ``part`` counts from 0 in posting order.

    ``thread_id`` is the id replies will carry as their thread (the first part's id on both
    platforms).
    """

    channel: ChannelRef
    message_id: str
    thread_id: str | None
    part: int


@dataclass(frozen=True, slots=True)
class SectionPost:
    """A section to post: ``title`` and ``body`` are Markdown in the round's language.

    ``seed_emoji`` are the stance reactions to add to the first part, in order.
    ``statement_id`` is the section's statement (what its Vote button votes on) and
    ``stance_mode`` the round's (``reactions``: no Vote button).
    """

    key: str
    title: str
    body: str
    seed_emoji: tuple[str, ...]
    language: str
    statement_id: int = 0
    stance_mode: str = "both"


@dataclass(frozen=True, slots=True)
class VoteOn:
    """A Vote button to put on a message: the statement it votes on, labelled in
    ``language``."""

    statement_id: int
    language: str


@dataclass(frozen=True, slots=True)
class ProposalPost:
    """An anonymous proposal to post in a section's thread: ``text`` is planbot's Markdown
    (the heading and the proposal made inert, no author), ``seed_emoji`` the stance reactions
    to add (none in a round of private votes), ``vote_on`` its Vote button (None in a round
    counting reactions only)."""

    text: str
    seed_emoji: tuple[str, ...] = ()
    vote_on: VoteOn | None = None


@dataclass(frozen=True, slots=True)
class ReactionState:
    """Who currently holds ``emoji`` on a message, as the platform reports it."""

    emoji: Emoji
    user_ids: tuple[str, ...]
    bot_user_ids: tuple[str, ...] = ()
    by_me: bool = False
    """Whether planbot itself holds it (a seed reaction still in place)."""


@dataclass(frozen=True, slots=True)
class DigestPost:
    """A digest rendered for one platform: ``parts`` are platform payloads posted in order.

    Each part is a dict the adapter understands (Discord: ``content``/``embeds``; Slack:
    ``text``/``blocks``); ``files`` maps a file name to PNG bytes attached to the first part.
    """

    parts: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)


OnPosted = Callable[[list[PostedMessage]], Awaitable[None]]


@runtime_checkable
class ChatPlatform(Protocol):
    """What ``bot`` needs from a chat platform.

    Every method may raise the platform library's network errors; the core logs them and
    retries on the next reconciliation.
    """

    name: str

    async def post_section(self, channel: ChannelRef, section: SectionPost,
                           on_posted: OnPosted | None = None) -> list[PostedMessage]:
        """Post ``section`` (split within the platform's limits), open its thread, seed
        reactions. ``on_posted`` is awaited with the messages as soon as they are sent,
        before the thread and reactions (which rate limits may delay), so that a process
        stopped half-way has recorded them and does not post the section again."""

    async def post_digest(self, channel: ChannelRef, digest: DigestPost) -> list[PostedMessage]:
        """Post a rendered digest's parts in order; returns one entry per message posted."""

    async def finish_section(self, channel: ChannelRef, message_id: str,
                             section: SectionPost) -> None:
        """Make sure a section posted earlier (``message_id``, its first part) has its thread
        and its seed reactions: what a process stopped half-way through ``post_section``
        left undone. Doing it again changes nothing."""

    async def post_notice(self, channel: ChannelRef, text: str) -> list[PostedMessage]:
        """Post, as the bot, a notice to everyone in ``channel`` (the round's opening
        announcement): ``text`` is planbot's Markdown, split within the platform's limits,
        with mentions disabled."""

    async def post_copy(self, channel: ChannelRef, thread_id: str, text: str,
                        vote_on: VoteOn | None = None) -> PostedMessage:
        """Post, as the bot, a copy of a reply written on another platform or channel into
        the thread ``thread_id`` of ``channel``, so people here can read it and react to it.
        ``vote_on``: a Vote button for the reply's statement, where the platform keeps one
        through edits (None: no button).
        ``text`` is Markdown from users: the adapter disables mentions and escapes it, and
        cuts it to one message. The returned message's channel is where replies of that
        thread live (the thread itself on Discord)."""

    async def post_proposal(self, channel: ChannelRef, thread_id: str,
                            proposal: ProposalPost) -> PostedMessage:
        """Post, as the bot, an anonymous proposal into the thread ``thread_id`` of
        ``channel``, with its Vote button and seed reactions, like a section's (the text is
        never edited afterwards). Mentions disabled, cut to one message; the returned
        message's channel is where the thread's replies live, as with :meth:`post_copy`."""

    async def edit_copy(self, channel: ChannelRef, message_id: str, text: str) -> None:
        """Replace the text of a copy planbot posted (the author edited the reply); the same
        escaping and limits as :meth:`post_copy`."""

    async def delete_copy(self, channel: ChannelRef, message_id: str) -> None:
        """Delete a copy planbot posted (the author deleted the reply). A copy already gone
        is not an error."""

    async def close_thread(self, channel: ChannelRef, thread_id: str, note: str) -> str:
        """Post ``note`` in the section thread ``thread_id`` of ``channel``, then close the
        thread where the platform can (Discord: archived and locked); returns the state it
        is left in, one of ``storage.threads.THREAD_STATES`` (``locked``, or ``open`` where
        threads cannot be closed)."""
        ...

    async def fetch_reactions(self, channel: ChannelRef, message_id: str) -> list[ReactionState]:
        """Current reactions on one message (for reconciliation after downtime)."""

    async def missing_permissions(self, channel: ChannelRef, lang: str) -> tuple[str, ...]:
        """What planbot lacks in ``channel`` to run a round there (post the sections, start
        their threads, seed their reactions, attach the digests' files, read the history
        reconciliation reads), each named as the platform's settings name it, in ``lang``
        (``fr``/``en``); empty when nothing is missing."""

    def describe_failure(self, error: Exception) -> str | None:
        """The platform's short reason for ``error`` raised by one of these methods, for the
        facilitator and the store (Discord ``50013 Missing Permissions``, Slack
        ``msg_too_long``); ``None`` when ``error`` is not the platform refusing or failing
        (a bug, which must not pass for a refusal)."""

    async def fetch_replies(
        self, channel: ChannelRef, thread_id: str, after_message_id: str | None
    ) -> list[ReplyPosted]:
        """Replies in a thread after ``after_message_id`` (all when ``None``), oldest first,
        as ``ReplyPosted`` events tagged ``backfill=True``."""


@runtime_checkable
class Adapter(Protocol):
    """One platform's connection, driven alike by the service (``planbot run``) and the demo.

    ``platform`` is the adapter's :class:`ChatPlatform` (valid once :meth:`start` returned).
    Waits take ``timeout`` seconds at most and raise ``TimeoutError`` past it.
    """

    name: str

    @property
    def platform(self) -> ChatPlatform:
        """What the core posts through."""

    @property
    def connected(self) -> bool:
        """Whether the connection to the platform is up now (``/healthz``)."""

    async def start(self) -> None:
        """Connect and start handing events to the core; returns once connecting is under
        way (:meth:`wait_until_reconciled` waits for the start-up reconciliation). Raises
        ``ValueError`` for settings the platform cannot start with."""

    async def stop(self) -> None:
        """Stop taking events, let the handlers in flight finish (bounded), disconnect."""

    async def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Return once no event handler, command or reconciliation is running."""

    async def wait_until_reconciled(self, count: int = 1, timeout: float = 10.0) -> None:
        """Return once ``count`` reconciliations have finished since start."""

    async def wait_until_closed(self) -> BaseException | None:
        """Return when the connection ended by itself (not by :meth:`stop`), with the error
        that ended it; an adapter that reconnects by itself never returns."""
