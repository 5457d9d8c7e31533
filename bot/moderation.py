"""Moderation by facilitators (issue 14): the gate new statements pass, and ``/moderate``.

A round is opened in ``open`` moderation (the default: a new reply is copied and counted at
once) or ``strict`` moderation, which a facilitator may change. Under strict moderation a new
statement enters ``pending`` (:func:`admit`): stored, but neither copied to the round's other
channels nor counted in tallies, digests or the analysis, until a facilitator accepts it.
This follows Polis' strict moderation (``is_strict_moderation`` in ``conversation.clj``;
comments carry ``mod`` 1 accepted, 0 unmoderated, -1 rejected).

``/moderate`` shows the facilitator alone a :class:`ModerationCard`: the pending replies and
the latest others, each with Accept / Reject buttons. Accepting copies the reply and counts
it from then on; rejecting keeps it for the record, out of copies (those posted are deleted)
and of the analysis, and the digest counts it as moderated out. Each decision is applied
once (its key is the interaction's id) and logged with who, as a pseudonym, and when.
Only the facilitators of the round's home (the place where it was opened) may moderate,
as only they may close it or invite: a place that joined the round is told the round is
run from elsewhere (``error.not_round_home``), so that it can neither lift the home's strict
moderation nor decide on the home's replies. Anyone else gets the answer given for a round
that does not exist, so that the command reveals nothing. A closed round's result was
published with its final digest: its mode and decisions no longer change
(``error.round_closed``); its card shows no buttons.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.errors import BadArgument, Conflict, NotAllowed, NotFound, PlanbotError
from bot.events import CommandInvoked
from bot.i18n import language_of, translate, translate_plural
from bot.identity import Pseudonymizer
from bot.markup import inert
from bot.platform import ChannelRef, ChatPlatform
from bot.textsplit import one_message
from storage.records import ModerationEntry, ModerationQueue, Place, RoundData
from storage.store import Store

if TYPE_CHECKING:  # bot.apply imports admit(); bot.intake and bot.relay import bot.apply
    from bot.intake import RunInDb
    from bot.relay import Relay

_log = logging.getLogger(__name__)
MODES = ("open", "strict")
"""A round's moderation: new statements counted at once, or held until accepted."""
DECISIONS = {"accept": "accepted", "reject": "rejected"}
"""A button's decision -> the statement's state it leads to."""
PAGE = 5
"""Replies on one card: Discord allows 5 rows of buttons on a message, one row per reply."""
ENTRY_TEXT_LIMIT = 280
"""Characters of a reply quoted on a card (5 of them and the heading fit Discord's 2,000)."""


def admit(store: Store, round_id: int) -> str:
    """The state a new statement of ``round_id`` is stored in: ``pending`` under strict
    moderation (it waits for a facilitator), ``auto`` otherwise. Every new statement passes
    here before it is stored: replies (``bot.apply``), and proposals; so does every edit of
    a reply (its new text waits again, or 'post harmless, edit later' would bypass strict
    moderation). Runs on the database thread."""
    return "pending" if store.round_moderation(round_id) == "strict" else "auto"


@dataclass(frozen=True, slots=True)
class ModerationButton:
    """A button of a card: ``decision`` (``accept`` or ``reject``) on ``statement_id``."""

    statement_id: int
    decision: str
    label: str


@dataclass(frozen=True, slots=True)
class CardEntry:
    """One reply on a card: its Markdown ``text`` (number, state, platform, quote) and the
    buttons of the decisions still open to it."""

    statement_id: int
    text: str
    buttons: tuple[ModerationButton, ...]


@dataclass(frozen=True, slots=True)
class ModerationCard:
    """What ``/moderate`` shows a facilitator, in ``lang``: ``header`` (Markdown: the round,
    its mode, how many wait) then ``entries``; ``round_id`` None when it only says why there
    is nothing to show (an error). ``title`` is short (Slack's modal title: 24 characters)."""

    round_id: int | None
    header: str
    title: str
    lang: str
    entries: tuple[CardEntry, ...] = ()

    @property
    def text(self) -> str:
        """The whole card as one Markdown text."""
        return "\n\n".join([self.header, *(e.text for e in self.entries)])


class Moderation:
    """``/moderate``: cards, decisions and the round's mode. ``is_facilitator`` and
    ``round_of`` are what every facilitator command uses (``Commands.is_facilitator``,
    ``Commands.named_round``: the round named or the channel's, if it runs in the caller's
    place, else ``NotFound``); ``relay`` copies a reply once accepted; ``platforms`` (the
    live registry) delete the copies of a reply rejected."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb,
                 pseudonyms: Pseudonymizer, relay: Relay,
                 platforms: Mapping[str, ChatPlatform],
                 is_facilitator: Callable[[CommandInvoked], bool],
                 round_of: Callable[[CommandInvoked], Awaitable[RoundData]]) -> None:
        self.store, self.settings, self.clock, self.db = store, settings, clock, db
        self.pseudonyms = pseudonyms
        self.relay = relay
        self.platforms = platforms
        self.is_facilitator = is_facilitator
        self.round_of = round_of

    async def show(self, cmd: CommandInvoked) -> ModerationCard:
        """``/moderate [mode] [round]``: the card of the round named (``round``) or of the
        channel; with ``mode`` (``open``/``strict``), the round's mode is changed first
        (logged, once per ``cmd.event_key``). Errors come back as a card saying why."""
        lang = language_of(cmd.locale, self.settings.language)
        try:
            rnd = await self._round(cmd)
            note = await self._set_mode(cmd, rnd, lang) if cmd.args.get("mode") else None
            return await self._card(rnd, lang, note)
        except PlanbotError as err:
            return _error_card(err, lang)

    async def decide(self, cmd: CommandInvoked, statement_id: int,
                     decision: str) -> ModerationCard:
        """A click on Accept or Reject (``decision``: ``accept``/``reject``) by the
        facilitator of ``cmd``: applied once per ``cmd.event_key`` and logged; a click that
        changes nothing (the same decision twice) is no new decision. Returns the card of
        the statement's round as it is now; errors come back as a card saying why (another
        place's round or no facilitator: ``NotFound``; a joined place: ``NotAllowed``; a
        closed round: ``Conflict``)."""
        lang = language_of(cmd.locale, self.settings.language)
        try:
            if decision not in DECISIONS:
                raise BadArgument("moderation.bad_decision", value=decision)
            target = await self.db(self.store.statement_target, statement_id)
            rnd = await self.db(self.store.get_round, target.round_id) if target else None
            if rnd is None or not self.is_facilitator(cmd) \
                    or Place(cmd.platform, cmd.workspace_id) not in rnd.places:
                raise NotFound("error.no_statement")
            _check_can_change(cmd, rnd)
            outcome = await self.db(
                self.store.decide_statement, event_key=_key(cmd), statement_id=statement_id,
                decision=DECISIONS[decision], moderator_key=self._who(cmd),
                platform=cmd.platform, at=self.clock.now())
            if outcome is not None:
                _log.info("moderation: a statement of round %s %s", outcome.round_id,
                          DECISIONS[decision])
                if decision == "accept":
                    self.relay.spawn(self.relay.publish(outcome.round_id, statement_id))
                else:
                    await self._withdraw_copies(statement_id)
            return await self._card(rnd, lang)
        except PlanbotError as err:
            return _error_card(err, lang)

    def _who(self, cmd: CommandInvoked) -> str:
        return self.pseudonyms.key(cmd.platform, cmd.actor.user_id)

    async def _round(self, cmd: CommandInvoked) -> RoundData:
        """The round named by ``round=`` or the channel's, as for every facilitator command.
        Raises ``NotFound`` alike for a round that does not exist, one of another place, and
        a caller who is no facilitator (answered as if there were no round); ``NotAllowed``
        for a place that joined the round."""
        if not self.is_facilitator(cmd):
            raw = cmd.args.get("round", "").strip().lstrip("#")
            raise NotFound("error.no_round", round=raw) if raw else NotFound("error.no_round_here")
        rnd = await self.round_of(cmd)
        if rnd.home != Place(cmd.platform, cmd.workspace_id):
            raise NotAllowed("error.not_round_home", round=rnd.public_id)
        return rnd

    async def _set_mode(self, cmd: CommandInvoked, rnd: RoundData, lang: str) -> str:
        mode = cmd.args["mode"].strip().lower()
        if mode not in MODES:
            raise BadArgument("moderation.bad_mode", value=mode, modes=", ".join(MODES))
        _check_can_change(cmd, rnd)
        await self.db(self.store.set_round_moderation, event_key=_key(cmd), round_id=rnd.id,
                      mode=mode, moderator_key=self._who(cmd), platform=cmd.platform,
                      at=self.clock.now())
        return translate(f"moderation.now_{mode}", lang, round=rnd.public_id)

    async def _card(self, rnd: RoundData, lang: str, note: str | None = None) -> ModerationCard:
        queue = await self.db(self.store.moderation_queue, rnd.id, PAGE)
        if queue is None:
            raise NotFound("error.no_round", round=rnd.public_id)
        return card_of(queue, rnd.public_id, lang, note, closed=rnd.status != "open")

    async def _withdraw_copies(self, statement_id: int) -> None:
        """Delete planbot's copies of a rejected reply on the connected platforms; one that
        cannot be deleted now is logged (a facilitator may delete it by hand)."""
        reply = await self.db(self.store.copies_of, statement_id)
        for platform_name, workspace_id, channel_id, message_id in reply.copies:
            platform = self.platforms.get(platform_name)
            if platform is None:
                continue
            try:
                await platform.delete_copy(ChannelRef(platform_name, workspace_id, channel_id),
                                           message_id)
            except Exception:  # noqa: BLE001 - one copy's failure must not stop the others
                _log.warning("could not delete a copy on %s", platform_name, exc_info=True)
                continue
            await self.db(self.store.delete_message, event_key=None, platform=platform_name,
                          channel_id=channel_id, message_id=message_id, at=self.clock.now())


def _check_can_change(cmd: CommandInvoked, rnd: RoundData) -> None:
    """Raises ``NotAllowed`` unless ``cmd`` comes from ``rnd``'s home, ``Conflict`` once
    ``rnd`` is closed."""
    if rnd.home != Place(cmd.platform, cmd.workspace_id):
        raise NotAllowed("error.not_round_home", round=rnd.public_id)
    if rnd.status != "open":
        raise Conflict("error.round_closed", round=rnd.public_id)


def _key(cmd: CommandInvoked) -> str:
    """The decision's exactly-once key: the interaction's id, as the adapter gave it."""
    if not cmd.event_key:
        raise ValueError("a moderation decision needs the interaction's key")
    return cmd.event_key


def _error_card(err: PlanbotError, lang: str) -> ModerationCard:
    return ModerationCard(None, err.message(lang), translate("moderation.title", lang), lang)


def card_of(queue: ModerationQueue, shown: str, lang: str, note: str | None = None, *,
            closed: bool = False) -> ModerationCard:
    """The card showing ``queue`` of the round whose public id is ``shown``, in ``lang``, led
    by ``note`` (a change of mode) if any; a ``closed`` round's card says so and offers no
    decision."""
    lines = [note] if note else []
    lines.append(translate(f"moderation.header_{queue.mode}", lang, round=shown))
    if closed:
        lines.append(translate("error.round_closed", lang, round=shown))
    lines.append(translate_plural("moderation.waiting", queue.pending, lang)
                 if queue.pending else translate("moderation.none_waiting", lang))
    if not queue.entries:
        lines.append(translate("moderation.no_replies", lang))
    entries = tuple(_entry(i, e, lang, closed) for i, e in enumerate(queue.entries, start=1))
    return ModerationCard(queue.round_id, "\n".join(lines), translate("moderation.title", lang),
                          lang, entries)


def _entry(number: int, entry: ModerationEntry, lang: str, closed: bool) -> CardEntry:
    if entry.text is not None:
        said = one_message(inert(entry.text), ENTRY_TEXT_LIMIT)
    elif entry.text_withheld:
        said = translate("moderation.withheld", lang)
    else:
        said = "📎 " + ", ".join((entry.attachments or "").split("\n"))
    quoted = "\n".join(f"> {line}" for line in said.splitlines() or [""])
    state = translate(f"moderation.state_{entry.state}", lang)
    head = f"**{number}.** {state} · {(entry.platform or '').capitalize()}"
    offered = [] if closed else [
        d for d, state_after in DECISIONS.items()
        if state_after != entry.state and not (entry.state == "auto" and d == "accept")]
    buttons = tuple(ModerationButton(entry.statement_id, d,
                                     translate(f"moderation.{d}", lang, n=number))
                    for d in offered)
    return CardEntry(entry.statement_id, f"{head}\n{quoted}", buttons)
