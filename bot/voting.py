"""Private votes: what the Vote button and ``/vote`` show one participant, and their votes.

The adapters turn a click on a section's (or a copy's) Vote button, or ``/vote``, into a call
here and show the :class:`VoteCard` it returns to that participant only (Discord: an
ephemeral message; Slack: a modal). A card holds one statement with Agree / Disagree / Pass;
each vote is a :class:`bot.events.PrivateVote` handed to the core's intake (exactly once: its
key is the interaction's id) and is answered with the next card, chosen by
:mod:`bot.routing`. Nothing is posted where others can see it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.errors import BadArgument, Conflict, NotFound
from bot.events import InboundEvent, PrivateVote
from bot.i18n import translate, translate_plural
from bot.identity import Pseudonymizer
from bot.intake import RunInDb
from bot.routing import Candidate, extremities, next_statement
from bot.stances import STANCES
from bot.textsplit import one_message
from storage.moderation import HELD
from storage.records import StatementCount
from storage.store import Store

CARD_TEXT_LIMIT = 1500
"""Characters of a statement shown on a card (Discord's message holds 2,000 with the rest)."""
MAP_TTL = timedelta(seconds=60)
"""How long a round's opinion map (statement extremities) is reused before recomputing it:
Polis' math worker also updates it between votes, not at each one."""


@dataclass(frozen=True, slots=True)
class VoteCard:
    """One participant's private voting card, in ``lang``.

    ``statement_id`` is the statement to vote on, None when nothing is left (``text`` then
    says so and how many they voted on); ``text`` is Markdown; ``labels`` maps each stance
    (agree, disagree, pass) to its button label; ``title`` is a short heading (Slack's modal
    title: at most 24 characters).
    """

    round_id: int
    statement_id: int | None
    text: str
    title: str
    lang: str
    labels: dict[str, str] = field(default_factory=dict)


class Voting:
    """Cards and private votes. ``handle`` is the core's event intake (``Core.handle``)."""

    def __init__(self, store: Store, clock: Clock, db: RunInDb, pseudonyms: Pseudonymizer,
                 handle: Callable[[InboundEvent], Awaitable[bool]]) -> None:
        self.store = store
        self.clock = clock
        self.db = db
        self.pseudonyms = pseudonyms
        self.handle = handle
        self._maps: dict[int, tuple[datetime, dict[int, float]]] = {}

    async def round_here(self, platform: str, channel_id: str) -> int:
        """The open round of a channel, or of the section thread ``channel_id`` is (Discord).
        Raises ``NotFound`` (no round here) or ``Conflict`` (its round is closed)."""
        round_id = await self.db(self.store.round_for_channel, platform, channel_id,
                                 open_only=True)
        if round_id is not None:
            return int(round_id)
        thread = await self.db(self.store.find_thread, platform, channel_id)
        if thread is not None and thread.round_open:
            return thread.round_id
        latest = thread.round_id if thread is not None else await self.db(
            self.store.round_for_channel, platform, channel_id, open_only=False)
        if latest is not None:
            raise Conflict("error.round_closed", round=await self._public_id(latest))
        raise NotFound("error.no_round_here")

    async def start(self, platform: str, channel_id: str, user_id: str, lang: str) -> VoteCard:
        """``/vote``: the first card of the channel's open round for ``user_id``."""
        round_id = await self.round_here(platform, channel_id)
        return await self._card(round_id, self.pseudonyms.key(platform, user_id), lang)

    async def open(self, platform: str, user_id: str, statement_id: int,
                   lang: str) -> VoteCard:
        """The Vote button of ``statement_id``: that statement, voted on already or not (a
        vote there replaces their stance, however given). Raises ``NotFound`` for a
        statement that cannot be voted on (unknown, deleted) and ``Conflict`` for one of a
        closed round or of a round counting reactions only."""
        round_id = await self.votable_round(statement_id)
        return await self._card(round_id, self.pseudonyms.key(platform, user_id), lang,
                                prefer=statement_id)

    async def vote(self, event: PrivateVote, lang: str) -> VoteCard:
        """Record ``event`` (a second delivery changes nothing) and return the next card.
        Raises ``BadArgument`` for a stance that is none of agree, disagree, pass."""
        if event.stance not in STANCES:
            raise BadArgument("error.bad_vote", value=str(event.stance))
        round_id = await self.votable_round(event.statement_id)
        await self.handle(event)
        return await self._card(round_id, self.pseudonyms.key(event.platform,
                                                              event.actor.user_id), lang)

    async def votable_round(self, statement_id: int) -> int:
        """The round of ``statement_id`` if a private vote on it can count. Raises
        ``NotFound`` (unknown or deleted statement, or a reply pending moderation or
        rejected: a stale card or a crafted id) or ``Conflict`` (closed round, or one
        counting reactions only)."""
        target = await self.db(self.store.statement_target, statement_id)
        if target is None:
            raise NotFound("error.no_statement")
        if target.moderation in HELD:
            raise NotFound("error.statement_held")
        if not target.round_open:
            raise Conflict("error.round_closed",
                           round=await self._public_id(target.round_id))
        if target.stance_mode == "reactions":
            raise Conflict("error.reactions_only",
                           round=await self._public_id(target.round_id))
        return target.round_id

    async def _public_id(self, round_id: int) -> str:
        """The id people see of round ``round_id`` (never its row number)."""
        rnd = await self.db(self.store.get_round, round_id)
        return rnd.public_id if rnd is not None else ""

    async def _card(self, round_id: int, key: str, lang: str,
                    prefer: int | None = None) -> VoteCard:
        counts = [c for c in await self.db(self.store.statement_counts, round_id)
                  if _votable(c)]
        voted: set[int] = await self.db(self.store.voted_statements, round_id, key)
        title = translate("vote.title", lang)
        if prefer is not None and any(c.id == prefer for c in counts):
            chosen: int | None = prefer
        else:
            extremity = await self._extremities(round_id)
            # Seeded by who and how far they are: the card shown stays the same until they
            # vote, whatever clicks come in between.
            rng = random.Random(f"{key}:{len(voted)}")
            pick = next_statement([Candidate(c.id, c.kind, c.agree, c.disagree, c.passes)
                                   for c in counts], voted, extremity, rng)
            chosen = pick.statement_id if pick is not None else None
        if chosen is None:
            text = translate_plural("vote.done", len(voted), lang,
                                   round=await self._public_id(round_id))
            return VoteCard(round_id, None, text, title, lang)
        statement = next(c for c in counts if c.id == chosen)
        body = await self._statement_text(round_id, statement, lang)
        header = translate_plural("vote.progress", len(voted), lang,
                                  round=await self._public_id(round_id))
        labels = {s: translate(f"vote.{s}", lang) for s in STANCES}
        return VoteCard(round_id, chosen, f"{header}\n\n{body}", title, lang, labels)

    async def _statement_text(self, round_id: int, statement: StatementCount,
                              lang: str) -> str:
        if statement.kind == "section":
            section = next(s for s in await self.db(self.store.round_sections, round_id)
                           if s.statement_id == statement.id)
            rnd = await self.db(self.store.get_round, round_id)
            language = rnd.language if rnd is not None else lang
            title = section.titles.get(language) or next(iter(section.titles.values()))
            body = section.bodies.get(language) or next(iter(section.bodies.values()))
            return one_message(f"**{title}**\n\n{body}", CARD_TEXT_LIMIT)
        quoted = "\n".join(f"> {line}" for line in (statement.text or "").splitlines())
        return one_message(f"{translate('vote.reply', lang)}\n{quoted}", CARD_TEXT_LIMIT)

    async def _extremities(self, round_id: int) -> dict[int, float]:
        """Each voted statement's extremity on the round's opinion map, reused for
        :data:`MAP_TTL`; computed off the event loop (PCA)."""
        now = self.clock.now()
        cached = self._maps.get(round_id)
        if cached is not None and now - cached[0] < MAP_TTL:
            return cached[1]
        triples = await self.db(self.store.vote_triples, round_id)
        by_name = await asyncio.to_thread(extremities, triples.votes, triples.statement_ids)
        # Chat statements are named by their id (Polis ids only name imported statements,
        # which have no Vote button).
        result = {int(name): e for name, e in by_name.items() if name.isdigit()}
        self._maps[round_id] = (now, result)
        return result


def _votable(c: StatementCount) -> bool:
    """A statement someone can vote on: a live section, or a live reply with text that is
    not moderated out."""
    if c.deleted_at is not None or not c.moderated:
        return False
    return c.kind == "section" or (c.kind == "reply" and bool(c.text))
