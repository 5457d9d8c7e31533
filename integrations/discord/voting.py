"""The Vote button and private voting cards on Discord (issue 14).

A section message (and a copy of a reply) carries a Vote button (custom id
``planbot:vote:<statement>``, a message component: docs interactions/message-components).
Clicking it defers an ephemeral answer at once (Discord's 3-second deadline), then follows up
with the participant's card: the statement and three buttons ``planbot:stance:<statement>:
<agree|disagree|pass>``. A click on one of those defers an update of that ephemeral card
(type 6) and edits it into the next card. Ephemeral messages are seen by their recipient
only, and nothing is posted, edited or reacted to where others can see it.

The buttons are read from raw ``INTERACTION_CREATE`` (``on_interaction``), not through
discord.py views, so a click is understood after a restart as well; the views made to send
them are stopped at once, so discord.py does not keep one per message.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

import discord

from bot.core import Core
from bot.errors import PlanbotError
from bot.events import Actor, PrivateVote
from bot.i18n import language_of, translate
from bot.voting import VoteCard

_log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
VOTE_PREFIX = "planbot:vote:"
STANCE_PREFIX = "planbot:stance:"
_STYLES = {"agree": discord.ButtonStyle.success, "disagree": discord.ButtonStyle.danger,
           "pass": discord.ButtonStyle.secondary}


def vote_button(statement_id: int, lang: str) -> discord.ui.View:
    """A view holding the Vote button of ``statement_id``, labelled in ``lang``; stop it once
    sent (:func:`sent`)."""
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label=translate("vote.button", lang),
                                    style=discord.ButtonStyle.primary,
                                    custom_id=f"{VOTE_PREFIX}{statement_id}"))
    return view


def card_view(card: VoteCard) -> discord.ui.View:
    """Agree / Disagree / Pass for the card's statement; an empty view when nothing is left
    (it removes the buttons of the card it replaces)."""
    view = discord.ui.View(timeout=None)
    if card.statement_id is not None:
        for stance, label in card.labels.items():
            view.add_item(discord.ui.Button(
                label=label, style=_STYLES[stance],
                custom_id=f"{STANCE_PREFIX}{card.statement_id}:{stance}"))
    return view


def sent(view: discord.ui.View) -> None:
    """Forget a view once its message is out: clicks are read raw (module docstring)."""
    view.stop()


class VoteButtons:
    """Answers clicks on planbot's vote buttons through ``core.voting``."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def on_interaction(self, interaction: discord.Interaction) -> bool:
        """Answer a click on a Vote or stance button; False for any other interaction."""
        if interaction.type is not discord.InteractionType.component:
            return False
        data: dict[str, object] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if custom_id.startswith(VOTE_PREFIX):
            statement = custom_id.removeprefix(VOTE_PREFIX)
            if statement.isdigit():
                await self._open(interaction, int(statement))
                return True
        elif custom_id.startswith(STANCE_PREFIX):
            statement, _, stance = custom_id.removeprefix(STANCE_PREFIX).partition(":")
            if statement.isdigit() and stance:
                await self._vote(interaction, int(statement), stance)
                return True
        return False

    async def _open(self, interaction: discord.Interaction, statement_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = language_of(str(interaction.locale))
        await _send_card(interaction, lang, self.core.voting.open(
            "discord", str(interaction.user.id), statement_id, lang))

    async def _vote(self, interaction: discord.Interaction, statement_id: int,
                    stance: str) -> None:
        await interaction.response.defer()  # an update of the ephemeral card, within 3 s
        lang = language_of(str(interaction.locale))
        try:
            card = await self.core.voting.vote(private_vote(interaction, statement_id, stance),
                                               lang)
        except PlanbotError as err:
            await interaction.edit_original_response(content=err.message(lang), view=None)
            return
        view = card_view(card)
        await interaction.edit_original_response(content=card.text, view=view)
        sent(view)

    async def command(self, interaction: discord.Interaction) -> None:
        """``/vote``: the first card of the channel's round, ephemeral."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = language_of(str(interaction.locale))
        await _send_card(interaction, lang, self.core.voting.start(
            "discord", str(interaction.channel_id), str(interaction.user.id), lang))


async def _send_card(interaction: discord.Interaction, lang: str,
                     card: Coroutine[Any, Any, VoteCard]) -> None:
    """Follow a deferred ephemeral answer up with the card ``card`` gives, or with the
    ``PlanbotError`` it raises, worded in ``lang``."""
    try:
        found = await card
    except PlanbotError as err:
        await interaction.followup.send(err.message(lang), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)
        return
    view = card_view(found)
    await interaction.followup.send(found.text, view=view, ephemeral=True,
                                    allowed_mentions=NO_MENTIONS)
    sent(view)


def private_vote(interaction: discord.Interaction, statement_id: int,
                 stance: str | None) -> PrivateVote:
    """The stance a button click gives (``None``: withdrawn), keyed by the interaction's id
    so that a click delivered twice is one stance."""
    user = interaction.user
    return PrivateVote(
        platform="discord", workspace_id=str(interaction.guild_id),
        channel_id=str(interaction.channel_id), occurred_at=interaction.created_at,
        event_key=f"discord:interaction:{interaction.id}",
        actor=Actor(str(user.id), user.display_name, user.bot),
        statement_id=statement_id, stance=stance)
