"""Apply neutral events to the store, exactly once.

Decisions live here (what counts, what is ignored); ``storage.Store`` does the writing and
its unique keys make a second delivery harmless. Each ``apply`` call is one transaction per
store write, run on the core's database thread.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.events import (
    Actor,
    Event,
    InboundEvent,
    PrivateVote,
    ProposalSubmitted,
    ReactionAdded,
    ReactionRemoved,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
    ThreadStateChanged,
)
from bot.identity import Pseudonymizer
from bot.moderation import admit
from bot.privacy import redact_stored_digests
from bot.stances import STANCES, StanceMap, emoji_key
from storage.moderation import HELD
from storage.store import MessageTarget, Store

_log = logging.getLogger(__name__)
TARGET_TTL = timedelta(seconds=60)
CACHE_SIZE = 100_000
LATE = "late"
"""Source of a reply or reaction that came after its round closed: stored, never counted."""
FILE_NAME_LIMIT = 255
"""Characters kept of an attachment's name (Discord and Slack names are shorter in practice)."""


def clean_text(text: str) -> str:
    """User text as stored: NFC-normalised, without NUL characters (PostgreSQL refuses them)
    or lone surrogates (not encodable)."""
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    return text.encode("utf-8", "replace").decode("utf-8")


def _source(event: Event) -> str:
    return "backfill" if event.backfill else "live"


class _AlreadyApplied(Exception):
    """The event was applied before (its ``event_key`` is recorded): nothing to do."""


class _People:
    """The applier's part for participants (:class:`EventApplier` has the rest): their
    cached ids, and what an erasure, here or in another process, changes for their events."""

    store: Store
    pseudonyms: Pseudonymizer
    clock: Clock
    _participants: dict[tuple[str, str | None], int]

    def forget_people(self) -> None:
        """Drop cached participant ids (call on the database thread after erasing one)."""
        self._participants.clear()

    def _applied(self, handler: Callable[[Any], bool], event: InboundEvent) -> bool:
        """``handler(event)``; False for an event applied before; the cached ids dropped
        when the store refuses the write (:meth:`EventApplier.apply`)."""
        try:
            return handler(event)
        except _AlreadyApplied:
            return False
        except IntegrityError:
            self._participants.clear()
            raise

    def _participant(self, event: Event, actor: Actor) -> int:
        key = self.pseudonyms.key(event.platform, actor.user_id)
        pid = self._participants.get((key, actor.display_name))
        if pid is None:
            if self.store.event_applied(event.event_key):
                # A re-delivery (a Slack retry) of an event whose author may have been erased
                # since: recording them again would undo the erasure.
                raise _AlreadyApplied
            if len(self._participants) > CACHE_SIZE:
                self._participants.clear()
            name = actor.display_name[:200] if actor.display_name else None
            pid = self.store.participant(key, event.platform, self.clock.now(), name)
            self._participants[(key, actor.display_name)] = pid
        return pid

    def _erased_backfill(self, event: Event, actor: Actor, *, dated: bool = False) -> bool:
        """Whether ``event`` was read back from the platform (reconciliation) and made by a
        person who has since been erased: applying it would record them again. ``dated``:
        the event carries the platform's own date (a reply), so one made after the erasure
        is a new participation; a reaction read back is dated when it was read."""
        if not event.backfill:
            return False
        erased_at = self.store.erased_at(self.pseudonyms.key(event.platform, actor.user_id))
        return erased_at is not None and (not dated or event.occurred_at <= erased_at)


class _Proposals(_People):
    """The applier's part for anonymous proposals (:class:`EventApplier` has the rest)."""

    def _proposal(self, ev: ProposalSubmitted) -> bool:
        """An anonymous proposal: a new statement of an open round, its author recorded
        (``bot.proposals`` checked the form; the store refuses a closed round or a section
        of another round); under strict moderation it waits for a facilitator, as a reply
        does (``bot.moderation.admit``)."""
        text = clean_text(ev.text).strip()
        if ev.actor.is_bot or not text:
            return False
        return self.store.add_proposal(
            event_key=ev.event_key, round_id=ev.round_id, section_statement_id=ev.section_id,
            author_id=self._participant(ev, ev.actor), platform=ev.platform, text=text,
            at=ev.occurred_at, author_agrees=ev.author_agrees,
            moderation=admit(self.store, ev.round_id))


def _thread_state(store: Store, ev: ThreadStateChanged) -> bool:
    """Record the state of a section thread planbot has finished (seeded): one whose
    opening is still under way keeps no state, so that the opening completes it."""
    return store.set_thread_state(ev.platform, ev.thread_id, ev.state, known_only=True)


class EventApplier(_Proposals):
    """Applies one neutral event to the store; returns True when the store changed.

    Ignored quietly (False): events from bots, events on messages planbot does not know,
    events on closed rounds, duplicate deliveries. Raises nothing for such input.
    """

    def __init__(self, store: Store, stances: StanceMap, pseudonyms: Pseudonymizer,
                 clock: Clock) -> None:
        self.store = store
        self.stances = stances
        self.pseudonyms = pseudonyms
        self.clock = clock
        # Participant ids never change nor come back (0021_participant_ids), and a message's
        # statement never does; caching both saves two queries per event. A participant
        # erased by another process is noticed when the store refuses their cached id
        # (:meth:`apply`). Targets are re-read after TARGET_TTL so a round closed by another
        # process stops counting soon after.
        self._participants: dict[tuple[str, str | None], int] = {}
        self._targets: dict[tuple[str, str, str], tuple[MessageTarget, datetime]] = {}

    def forget_targets(self) -> None:
        """Drop cached message targets (call after closing a round in this process)."""
        self._targets.clear()

    def apply(self, event: InboundEvent) -> bool:
        """Apply ``event``; raises ``ValueError`` for an event that cannot be applied.

        Raises ``IntegrityError`` when the store refuses the write, having dropped the cached
        participant ids: another process wrote the same rows meanwhile, or erased a
        participant whose id is cached here. Applying the event again then reads the new
        state (the intake does), and an erased person comes back as a new participant."""
        if getattr(event, "event_key", None) == "":
            raise ValueError("empty event key")
        actor = getattr(event, "actor", None)
        if actor is not None and not (isinstance(actor.user_id, str) and actor.user_id):
            raise ValueError("event without a user id")
        handlers: dict[type[Event], Callable[[Any], bool]] = {
            ReactionAdded: self._reaction_added,
            ReactionRemoved: self._reaction_removed,
            ReactionsCleared: self._reactions_cleared,
            ReplyPosted: self._reply_posted,
            ReplyEdited: self._reply_edited,
            ReplyDeleted: self._reply_deleted,
            PrivateVote: self._private_vote, ProposalSubmitted: self._proposal,
            ThreadStateChanged: partial(_thread_state, self.store),
        }
        handler = handlers.get(type(event))
        if handler is None:
            _log.warning("skipped an event of unknown kind %s", type(event).__name__)
            return False
        return self._applied(handler, event)

    def _target(self, event: Event, message_id: str, *,
                late_ok: bool = False) -> MessageTarget | None:
        now = self.clock.now()
        cache_key = (event.platform, event.channel_id, message_id)
        cached = self._targets.get(cache_key)
        target: MessageTarget | None
        if cached is not None and now - cached[1] < TARGET_TTL:
            target = cached[0]
        else:
            target = self.store.find_message(event.platform, event.channel_id, message_id)
            if target is not None and target.round_open:
                if len(self._targets) > CACHE_SIZE:
                    self._targets.clear()
                self._targets[cache_key] = (target, now)
        if target is None:
            _log.debug("ignored %s on unknown message %s", type(event).__name__, message_id)
            return None
        if not target.round_open and not late_ok:
            _log.info("ignored %s on a closed round (%s)", type(event).__name__, target.round_id)
            return None
        return target

    def _reaction_added(self, ev: ReactionAdded) -> bool:
        if ev.actor.is_bot or (target := self._target(ev, ev.message_id, late_ok=True)) is None:
            return False
        if target.stance_mode == "private":
            return False  # a private round counts only the Vote button; its posts say so
        if self._erased_backfill(ev, ev.actor):
            return False
        key, stance = self.stances.stance_of(ev.emoji)
        if not target.round_open:
            # After the close: kept, marked late, never the stance that counts.
            return self.store.add_late_reaction(
                event_key=ev.event_key, participant_id=self._participant(ev, ev.actor),
                statement_id=target.statement_id, platform=ev.platform, emoji_key=key,
                emoji_raw=ev.emoji.name[:200], stance=stance, at=ev.occurred_at)
        return self.store.add_reaction(
            event_key=ev.event_key, participant_id=self._participant(ev, ev.actor),
            statement_id=target.statement_id, platform=ev.platform, emoji_key=key,
            emoji_raw=ev.emoji.name[:200], stance=stance, at=ev.occurred_at,
            source=_source(ev))

    def _reaction_removed(self, ev: ReactionRemoved) -> bool:
        if ev.actor.is_bot or self._erased_backfill(ev, ev.actor) \
                or (target := self._target(ev, ev.message_id)) is None:
            return False
        return self.store.remove_reactions(
            event_key=ev.event_key, statement_id=target.statement_id,
            participant_id=self._participant(ev, ev.actor), emoji_key=emoji_key(ev.emoji),
            at=ev.occurred_at, observed=ev.backfill, platform=ev.platform)

    def _reactions_cleared(self, ev: ReactionsCleared) -> bool:
        if (target := self._target(ev, ev.message_id)) is None:
            return False
        return self.store.remove_reactions(
            event_key=ev.event_key, statement_id=target.statement_id, participant_id=None,
            emoji_key=emoji_key(ev.emoji) if ev.emoji else None, at=ev.occurred_at)

    def _private_vote(self, ev: PrivateVote) -> bool:
        """A vote through the Vote button: counted on a statement of an open round whose
        mode allows it (``private`` or ``both``), unless a reply pending moderation or
        rejected (a stale card, a crafted id); the latest stance wins, whichever way it
        came (:meth:`storage.reactions.ReactionWrites.set_private_stance`)."""
        if ev.stance is not None and ev.stance not in STANCES:
            raise ValueError(f"unknown stance {ev.stance!r}")
        target = self.store.statement_target(ev.statement_id)
        if target is None or not target.round_open or target.stance_mode == "reactions" \
                or target.moderation in HELD:
            return False
        return self.store.set_private_stance(
            event_key=ev.event_key, participant_id=self._participant(ev, ev.actor),
            statement_id=ev.statement_id, platform=ev.platform, stance=ev.stance,
            at=ev.occurred_at)

    def _reply_posted(self, ev: ReplyPosted) -> bool:
        # A message with only files is an attachment reply: stored with their names, out of
        # the analysis (nothing to vote on); with neither text nor files, nothing was said.
        files = not ev.text_withheld and not ev.text.strip()
        if ev.actor.is_bot or (files and not ev.attachments) \
                or self._erased_backfill(ev, ev.actor, dated=True):
            return False
        thread = self.store.find_thread(ev.platform, ev.thread_id)
        if thread is None:
            return False
        parent = thread.statement_id
        if ev.parent_message_id:
            replied = self.store.find_message(ev.platform, ev.channel_id, ev.parent_message_id)
            if replied is not None and replied.round_id == thread.round_id:
                parent = replied.statement_id
        text = None if ev.text_withheld or files else clean_text(ev.text)
        return self.store.add_reply(
            event_key=ev.event_key, round_id=thread.round_id,
            section_statement_id=thread.statement_id, parent_statement_id=parent,
            author_id=self._participant(ev, ev.actor), platform=ev.platform,
            workspace_id=ev.workspace_id, channel_id=ev.channel_id, message_id=ev.message_id,
            thread_id=ev.thread_id, text=text, text_withheld=ev.text_withheld,
            at=ev.occurred_at, source=_source(ev) if thread.round_open else LATE,
            attachments=[clean_text(name)[:FILE_NAME_LIMIT] for name in ev.attachments],
            moderation=admit(self.store, thread.round_id), broadcast=ev.broadcast)

    def _reply_edited(self, ev: ReplyEdited) -> bool:
        target = self._target(ev, ev.message_id)
        # An edit of planbot's own copy (it follows the author's edit) says nothing new.
        if target is None or target.kind != "reply" or target.is_copy:
            return False
        text = None if ev.text_withheld else clean_text(ev.text)
        return self.store.edit_reply(event_key=ev.event_key, statement_id=target.statement_id,
                                     text=text, text_withheld=ev.text_withheld,
                                     at=ev.occurred_at, moderation=admit(self.store,
                                                                        target.round_id))

    def _reply_deleted(self, ev: ReplyDeleted) -> bool:
        if (target := self._target(ev, ev.message_id)) is None:
            if self._in_open_round(ev.platform, ev.channel_id):
                # Not known yet: its post may still come, late (a Slack retry).
                self.store.delete_message(event_key=ev.event_key, platform=ev.platform,
                                          channel_id=ev.channel_id, message_id=ev.message_id,
                                          at=ev.occurred_at, workspace_id=ev.workspace_id)
            return False
        deleted = self.store.delete_message(event_key=ev.event_key, platform=ev.platform,
                                            channel_id=ev.channel_id, message_id=ev.message_id,
                                            at=ev.occurred_at)
        if deleted and target.kind == "reply" and not target.is_copy:
            # Its author deleted it: only a tombstone stays, in the reply and the digests.
            redact_stored_digests(self.store, self.store.forget_reply_text(target.statement_id),
                                  [target.round_id])
            self.store.release_erased()
        return deleted

    def _in_open_round(self, platform: str, channel_id: str) -> bool:
        """A section thread (Discord: a thread is its replies' channel) or a channel of an
        open round."""
        thread = self.store.find_thread(platform, channel_id)
        return (thread is not None and thread.round_open) or \
            self.store.round_for_channel(platform, channel_id, open_only=True) is not None
