"""``/my-stances``: what one participant said on their round's statements, shown to them
alone, with buttons to change or withdraw each stance (issue 14).

The adapters turn ``/my-stances`` (``/mes-positions``; Slack ``/planbot my-stances``) into
:meth:`MyStances.show` and a click on one of its buttons into :meth:`MyStances.change` or
:meth:`MyStances.page`, and show the :class:`StanceList` returned to the caller only
(Discord: an ephemeral message; Slack: a modal). A change is a private vote and a withdrawal
the withdrawal of one: each is a :class:`bot.events.PrivateVote` handed to the core's intake,
exactly once (its key is the interaction's id), as the Vote button's are. A stance given by
reaction is withdrawn by removing the reaction: planbot cannot remove a member's reaction on
Slack (``reactions.remove`` removes the caller's own), so the answer says so on both
platforms rather than hide it behind a private withdrawal the channel would contradict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.errors import BadArgument, Conflict, NotFound
from bot.events import InboundEvent, PrivateVote
from bot.i18n import translate, translate_plural
from bot.identity import Pseudonymizer
from bot.intake import RunInDb
from bot.markup import inert
from bot.stances import STANCES
from bot.textsplit import one_message
from bot.voting import Voting
from storage.records import CurrentStance
from storage.store import Store

EXCERPT_LIMIT = 80
"""Characters of a reply's text shown in the list (one line per stance)."""
WITHDRAW = "withdraw"
"""The action of the button that withdraws a private vote."""


@dataclass(frozen=True, slots=True)
class StanceEntry:
    """One statement the caller holds a stance on: ``line`` (Markdown: the section's title
    or the reply's excerpt, the stance and how it was given), ``actions`` the buttons'
    labels by action (each other stance, and :data:`WITHDRAW`; empty in a round that counts
    reactions only)."""

    statement_id: int
    stance: str
    via: str
    line: str
    actions: dict[str, str]


@dataclass(frozen=True, slots=True)
class StanceList:
    """One page of the caller's stances in round ``round_id``, in ``lang``: ``heading`` is
    the Markdown to show above the entries (which page, and what the last click did or why
    it could not), ``text`` the heading and the entries' numbered lines; ``page`` counts
    from 0 of ``pages`` (at least 1); ``nav`` the labels of the buttons to other pages, by
    page; ``title`` a short heading (Slack's modal title, at most 24 characters)."""

    round_id: int
    heading: str
    text: str
    title: str
    lang: str
    entries: tuple[StanceEntry, ...]
    page: int
    pages: int
    nav: dict[int, str]


class MyStances:
    """Lists and changes one participant's stances; ``voting`` finds the channel's round and
    the statement texts; ``handle`` is the core's intake (``Core.handle``)."""

    def __init__(self, store: Store, db: RunInDb, pseudonyms: Pseudonymizer, voting: Voting,
                 handle: Callable[[InboundEvent], Awaitable[bool]]) -> None:
        self.store = store
        self.db = db
        self.pseudonyms = pseudonyms
        self.voting = voting
        self.handle = handle

    async def show(self, platform: str, channel_id: str, user_id: str, lang: str,
                   size: int) -> StanceList:
        """``/my-stances``: the first page (``size`` stances) of the caller's stances in the
        channel's open round. Raises ``NotFound`` (no round here) or ``Conflict`` (its round
        is closed)."""
        round_id = await self.voting.round_here(platform, channel_id)
        return await self._list(round_id, self.pseudonyms.key(platform, user_id), lang, 0,
                                size)

    async def page(self, platform: str, user_id: str, round_id: int, page: int, lang: str,
                   size: int) -> StanceList:
        """Another page of the caller's stances in ``round_id`` (pages past the end show
        the last). Raises ``NotFound`` for an unknown round, ``Conflict`` for a closed one."""
        rnd = await self.db(self.store.get_round, round_id)
        if rnd is None:
            raise NotFound("error.no_round", round=round_id)
        if rnd.status != "open":
            raise Conflict("error.round_closed", round=rnd.public_id)
        return await self._list(round_id, self.pseudonyms.key(platform, user_id), lang, page,
                                size)

    async def change(self, event: PrivateVote, lang: str, page: int, size: int) -> StanceList:
        """A click on an entry's button: ``event.stance`` a stance (a private vote that
        becomes the stance, the latest given) or None (withdraw the private vote; a stance
        given by reaction is not touched and the answer says how to withdraw it). Recorded
        once whatever the deliveries; returns the list's ``page`` again, with what was done.
        Raises ``BadArgument`` for an unknown stance, ``NotFound`` / ``Conflict`` for a
        statement that cannot be voted on (deleted, closed round, reactions only)."""
        if event.stance is not None and event.stance not in STANCES:
            raise BadArgument("error.bad_vote", value=str(event.stance))
        round_id = await self.voting.votable_round(event.statement_id)
        key = self.pseudonyms.key(event.platform, event.actor.user_id)
        held = next((s for s in await self.db(self.store.current_stances, round_id, key)
                     if s.statement_id == event.statement_id), None)
        if event.stance is None and held is not None and held.via == "reaction":
            notice = translate("mine.withdraw_reaction", lang)
        else:
            await self.handle(event)
            notice = translate("mine.withdrawn" if event.stance is None else "mine.changed",
                               lang)
        return await self._list(round_id, key, lang, page, size, notice)

    async def _list(self, round_id: int, key: str, lang: str, page: int, size: int,
                    notice: str = "") -> StanceList:
        rnd = await self.db(self.store.get_round, round_id)
        votable = rnd is not None and rnd.stance_mode != "reactions"
        public_id = rnd.public_id if rnd is not None else ""  # never the row number
        held = await self.db(self.store.current_stances, round_id, key)
        pages = max(1, -(-len(held) // size))
        page = min(max(page, 0), pages - 1)
        shown = held[page * size:(page + 1) * size]
        what = await self._statements(round_id, [s.statement_id for s in shown], lang)
        entries = tuple(_entry(s, what[s.statement_id], lang, votable) for s in shown)
        if held:
            heading = translate_plural("mine.heading", len(held), lang, round=public_id,
                                       first=page * size + 1, last=page * size + len(shown))
        else:
            heading = translate("mine.none", lang, round=public_id)
        if held and not votable:
            heading += "\n" + translate("mine.reactions_only", lang)
        if notice:
            heading += f"\n*{notice}*"
        lines = [heading, *(f"{i}. {e.line}" for i, e in enumerate(entries, page * size + 1))]
        nav = {p: translate(f"mine.{name}", lang)
               for p, name in ((page - 1, "previous"), (page + 1, "next")) if 0 <= p < pages}
        return StanceList(round_id, heading, "\n".join(lines), translate("mine.title", lang),
                          lang, entries, page, pages, nav)

    async def _statements(self, round_id: int, ids: list[int], lang: str) -> dict[int, str]:
        """What each statement of ``ids`` is called in the list: its section's title in the
        round's language, or an excerpt of the reply (made inert: a member's text)."""
        rnd = await self.db(self.store.get_round, round_id)
        language = rnd.language if rnd is not None else lang
        titles = {s.statement_id: s.titles.get(language) or next(iter(s.titles.values()))
                  for s in await self.db(self.store.round_sections, round_id)}
        texts = {c.id: c.text for c in await self.db(self.store.statement_counts, round_id)
                 if c.id in ids}
        return {sid: f"**{inert(titles[sid])}**" if sid in titles else translate(
            "mine.reply", lang, text=inert(one_message(" ".join((texts.get(sid) or "").split()),
                                                       EXCERPT_LIMIT)))
                for sid in ids}


def _entry(held: CurrentStance, what: str, lang: str, votable: bool) -> StanceEntry:
    stance = translate(f"vote.{held.stance}", lang)
    # A named emoji (Slack's, a Discord server's own) reads as its :name:.
    emoji = f":{held.emoji}:" if held.emoji.isascii() else held.emoji
    how = translate("mine.via_private", lang) if held.via == "private" else translate(
        "mine.via_reaction", lang, emoji=emoji)
    actions = {s: translate(f"vote.{s}", lang) for s in STANCES if s != held.stance} \
        if votable else {}
    if votable:
        actions[WITHDRAW] = translate("mine.withdraw", lang)
    return StanceEntry(held.statement_id, held.stance, held.via, f"{what} — {stance} ({how})",
                       actions)
