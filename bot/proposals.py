"""Anonymous proposals (issue 14): the propose form and what its submission does.

``/propose`` (``/proposer``; Slack ``/planbot propose``) opens a form (Discord: a modal;
Slack: a modal through ``views.open``) to choose a section of the channel's open round and
write a statement of at most ``PROPOSAL_MAX_CHARS`` characters. The adapters build the form
from the :class:`ProposalForm` given here and hand its submission back as a
:class:`bot.events.ProposalSubmitted` to :meth:`Proposals.submit`, which checks it and gives
it to the core's intake: the statement is stored once (its key is the form's, so a double
submit is one proposal), its author pseudonymised and counted as agreeing (Polis), and the
relay posts it in the section's thread on every channel of the round without the author's
name (``bot.relay``). A bad submission raises a :class:`bot.errors.PlanbotError` the adapter
shows to the author alone, in their language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.apply import clean_text
from bot.config import Settings
from bot.errors import BadArgument, NotFound
from bot.events import InboundEvent, ProposalSubmitted
from bot.i18n import translate
from bot.intake import RunInDb
from bot.voting import Voting
from storage.store import Store

FORM_SECTIONS = 25
"""Sections a form offers: Discord's string select holds 25 options
(``StringSelectComponentForModalRequest.options``, specs/discord/openapi.json); Slack's
static select 100."""
OPTION_LABEL = 75
"""Characters of a section's title in the form: Slack's option text holds 75
(https://api.slack.com/reference/block-kit/composition-objects#option), Discord's 100."""


@dataclass(frozen=True, slots=True)
class ProposalForm:
    """The propose form for one round, in ``lang``: ``sections`` are (section statement id,
    title) in plan order, at most :data:`FORM_SECTIONS`, titles cut to
    :data:`OPTION_LABEL`; ``preselected`` is the section whose thread the command was run
    in, if any; ``max_chars`` the longest text accepted; ``labels`` the texts of the form
    (``title``, ``section``, ``text``, ``placeholder``, ``submit``, ``close``)."""

    round_id: int
    sections: list[tuple[int, str]]
    max_chars: int
    lang: str
    labels: dict[str, str]
    preselected: int | None = None


class Proposals:
    """Forms and submissions. ``handle`` is the core's event intake (``Core.handle``);
    ``voting`` tells which round a channel (or a section's thread) belongs to."""

    def __init__(self, store: Store, settings: Settings, db: RunInDb, voting: Voting,
                 handle: Callable[[InboundEvent], Awaitable[bool]]) -> None:
        self.store = store
        self.settings = settings
        self.db = db
        self.voting = voting
        self.handle = handle

    async def form(self, platform: str, channel_id: str, lang: str) -> ProposalForm:
        """The form for the open round of ``channel_id`` (a channel of the round, or a
        section's thread on Discord, whose section is then preselected). Raises
        ``NotFound`` (no round here) or ``Conflict`` (its round is closed)."""
        round_id = await self.voting.round_here(platform, channel_id)
        thread = await self.db(self.store.find_thread, platform, channel_id)
        rnd = await self.db(self.store.get_round, round_id)
        language = rnd.language if rnd is not None else lang
        sections = [(s.statement_id, _title(s.titles, language)[:OPTION_LABEL])
                    for s in await self.db(self.store.round_sections, round_id)]
        labels = {name: translate(f"proposal.form_{name}", lang,
                                  max=self.settings.proposal_max_chars)
                  for name in ("title", "section", "text", "placeholder", "submit", "close")}
        here = thread.statement_id if thread is not None and thread.round_id == round_id \
            else None
        return ProposalForm(round_id, sections[:FORM_SECTIONS],
                            self.settings.proposal_max_chars, lang, labels, here)

    async def submit(self, event: ProposalSubmitted, lang: str) -> str:
        """Check a submitted form and record it (a second delivery of the same form changes
        nothing); returns the answer for its author alone, in ``lang``. The round is the
        open round of the channel the form was opened in, whatever ``event.round_id`` says.
        Raises ``BadArgument`` (empty, or longer than ``PROPOSAL_MAX_CHARS``), ``NotFound``
        (no round in this channel, or a section that is not one of its round) or
        ``Conflict`` (the round is closed)."""
        text = clean_text(event.text).strip()
        if not text:
            raise BadArgument("proposal.empty")
        limit = self.settings.proposal_max_chars
        if len(text) > limit:
            raise BadArgument("proposal.too_long", n=len(text), max=limit)
        round_id = await self.voting.round_here(event.platform, event.channel_id)
        sections = {s.statement_id: s for s in await self.db(self.store.round_sections,
                                                              round_id)}
        section = sections.get(event.section_id)
        if section is None:
            raise NotFound("proposal.no_section")
        await self.handle(ProposalSubmitted(
            platform=event.platform, workspace_id=event.workspace_id,
            channel_id=event.channel_id, occurred_at=event.occurred_at,
            event_key=event.event_key, actor=event.actor, round_id=round_id,
            section_id=section.statement_id, text=text,
            author_agrees=self.settings.proposal_author_agrees))
        rnd = await self.db(self.store.get_round, round_id)
        language = rnd.language if rnd is not None else lang
        return translate("proposal.thanks", lang, section=_title(section.titles, language))


def _title(titles: dict[str, str], language: str) -> str:
    return titles.get(language) or next(iter(titles.values()), "")
