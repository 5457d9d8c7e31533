"""``/my-stances`` on Discord (issue 14): the caller's stances in an ephemeral message, with
buttons to change or withdraw each.

The answer is deferred at once (Discord's 3-second deadline), then followed up ephemerally
(flags 64: seen by the caller alone) with one page of stances and, per stance, an action row
of buttons ``planbot:mine:<statement>:<stance|withdraw>:<page>``; a last row holds the
buttons to the other pages, ``planbot:mine-page:<round>:<page>``. A message holds at most 5
action rows of at most 5 buttons (docs: components/reference, "Action Row"; the openapi
``ActionRowComponentForMessageRequest``), so a page shows :data:`PAGE_SIZE` stances. A click
defers an update of that ephemeral message (type 6) and edits it into the new list. Clicks
are read from raw ``INTERACTION_CREATE``, as the Vote button's are
(:mod:`integrations.discord.voting`).
"""

from __future__ import annotations

import discord

from bot.core import Core
from bot.errors import PlanbotError
from bot.i18n import language_of
from bot.my_stances import WITHDRAW, StanceList
from bot.textsplit import one_message
from integrations.discord.voting import NO_MENTIONS, private_vote, sent

CHANGE_PREFIX = "planbot:mine:"
PAGE_PREFIX = "planbot:mine-page:"
PAGE_SIZE = 4
"""Stances per page: one action row each, and a fifth row for the other pages."""
MESSAGE_LIMIT = 2000
"""Characters of a message's content (openapi ``IncomingWebhookInteractionRequest``)."""
_STYLES = {"agree": discord.ButtonStyle.success, "disagree": discord.ButtonStyle.danger,
           "pass": discord.ButtonStyle.secondary, WITHDRAW: discord.ButtonStyle.secondary}


def list_view(mine: StanceList) -> discord.ui.View:
    """The buttons of one page: a row per stance (its number on each label, the number of
    the list's line), then the page buttons."""
    view = discord.ui.View(timeout=None)
    for row, entry in enumerate(mine.entries):
        number = mine.page * PAGE_SIZE + row + 1
        for action, label in entry.actions.items():
            view.add_item(discord.ui.Button(
                label=f"{number} · {label}", style=_STYLES[action], row=row,
                custom_id=f"{CHANGE_PREFIX}{entry.statement_id}:{action}:{mine.page}"))
    for page, label in mine.nav.items():
        view.add_item(discord.ui.Button(
            label=label, style=discord.ButtonStyle.primary, row=len(mine.entries),
            custom_id=f"{PAGE_PREFIX}{mine.round_id}:{page}"))
    return view


class StanceButtons:
    """Answers ``/my-stances`` and its buttons through ``core.my_stances``."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def command(self, interaction: discord.Interaction) -> None:
        """``/my-stances``: the first page of the caller's stances, ephemeral."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = language_of(str(interaction.locale))
        try:
            await self.core.catch_up()  # the stances acknowledged just before
            mine = await self.core.my_stances.show("discord", str(interaction.channel_id),
                                                   str(interaction.user.id), lang, PAGE_SIZE)
        except PlanbotError as err:
            await interaction.followup.send(err.message(lang), ephemeral=True,
                                            allowed_mentions=NO_MENTIONS)
            return
        view = list_view(mine)
        await interaction.followup.send(one_message(mine.text, MESSAGE_LIMIT), view=view,
                                        ephemeral=True, allowed_mentions=NO_MENTIONS)
        sent(view)

    async def on_interaction(self, interaction: discord.Interaction) -> bool:
        """Answer a click on a change, withdraw or page button; False for anything else."""
        if interaction.type is not discord.InteractionType.component:
            return False
        custom_id = str(dict(interaction.data or {}).get("custom_id", ""))
        if custom_id.startswith(CHANGE_PREFIX):
            statement, action, page = (*custom_id.removeprefix(CHANGE_PREFIX).split(":"),
                                       "", "")[:3]
            if statement.isdigit() and page.isdigit() and action:
                await self._change(interaction, int(statement), action, int(page))
                return True
        elif custom_id.startswith(PAGE_PREFIX):
            round_id, _, page = custom_id.removeprefix(PAGE_PREFIX).partition(":")
            if round_id.isdigit() and page.isdigit():
                await self._page(interaction, int(round_id), int(page))
                return True
        return False

    async def _change(self, interaction: discord.Interaction, statement_id: int, action: str,
                      page: int) -> None:
        await interaction.response.defer()  # an update of the ephemeral list, within 3 s
        lang = language_of(str(interaction.locale))
        event = private_vote(interaction, statement_id, None if action == WITHDRAW else action)
        try:
            mine = await self.core.my_stances.change(event, lang, page, PAGE_SIZE)
        except PlanbotError as err:
            await interaction.edit_original_response(content=err.message(lang), view=None)
            return
        await self._show(interaction, mine)

    async def _page(self, interaction: discord.Interaction, round_id: int, page: int) -> None:
        await interaction.response.defer()
        lang = language_of(str(interaction.locale))
        try:
            mine = await self.core.my_stances.page("discord", str(interaction.user.id),
                                                   round_id, page, lang, PAGE_SIZE)
        except PlanbotError as err:
            await interaction.edit_original_response(content=err.message(lang), view=None)
            return
        await self._show(interaction, mine)

    async def _show(self, interaction: discord.Interaction, mine: StanceList) -> None:
        view = list_view(mine)
        await interaction.edit_original_response(content=one_message(mine.text, MESSAGE_LIMIT),
                                                 view=view)
        sent(view)
