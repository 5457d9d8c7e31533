"""``/moderate`` on Discord (issue 14): the facilitator's ephemeral moderation card.

``/moderate`` defers an ephemeral answer at once (Discord's 3-second deadline), then follows
up with the card: the round's pending and latest replies, each on its own action row with
its buttons ``planbot:moderate:<statement>:<accept|reject>`` (message components, docs
interactions/message-components: at most 5 action rows). A click defers an update of that
ephemeral card (type 6) and edits it into the card as it is after the decision. Only the
facilitator who ran the command sees the card; whether the caller may moderate is the
core's decision, from the member's roles and Manage Server permission, at each click too.

Clicks are read from raw ``INTERACTION_CREATE`` as the vote buttons are
(:mod:`integrations.discord.voting`), so a card still works after a restart.
"""

from __future__ import annotations

import discord

from bot.core import Core
from bot.events import Actor, CommandInvoked
from bot.moderation import ModerationCard
from bot.textsplit import one_message
from integrations.discord.platform import MESSAGE_LIMIT, NO_MENTIONS
from integrations.discord.voting import sent

MODERATE_PREFIX = "planbot:moderate:"
_STYLES = {"accept": discord.ButtonStyle.success, "reject": discord.ButtonStyle.danger}


def card_view(card: ModerationCard) -> discord.ui.View:
    """One action row per reply, holding its Accept and/or Reject buttons."""
    view = discord.ui.View(timeout=None)
    for row, entry in enumerate(card.entries):
        for button in entry.buttons:
            view.add_item(discord.ui.Button(
                label=button.label, style=_STYLES[button.decision], row=row,
                custom_id=f"{MODERATE_PREFIX}{button.statement_id}:{button.decision}"))
    return view


def invoked(interaction: discord.Interaction, args: dict[str, str]) -> CommandInvoked:
    """The facts the core needs about who acts: member roles, Manage Server, locale, and
    the interaction's id as the key of what they decide."""
    user = interaction.user
    member = user if isinstance(user, discord.Member) else None
    return CommandInvoked(
        platform="discord", workspace_id=str(interaction.guild_id),
        channel_id=str(interaction.channel_id), occurred_at=interaction.created_at,
        event_key=f"discord:interaction:{interaction.id}",
        actor=Actor(str(user.id), user.display_name, user.bot), action="moderate", args=args,
        locale=str(interaction.locale),
        roles=frozenset(str(r.id) for r in member.roles if not r.is_default())
        if member is not None else frozenset(),
        is_admin=member is not None and member.guild_permissions.manage_guild)


class ModerationButtons:
    """Answers ``/moderate`` and clicks on its Accept / Reject buttons through
    ``core.moderation``."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def command(self, interaction: discord.Interaction, args: dict[str, str]) -> None:
        """``/moderate [mode] [round]``: the card, ephemeral."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        card = await self.core.moderation.show(invoked(interaction, args))
        view = card_view(card)
        await interaction.followup.send(one_message(card.text, MESSAGE_LIMIT), view=view,
                                        ephemeral=True, allowed_mentions=NO_MENTIONS)
        sent(view)

    async def on_interaction(self, interaction: discord.Interaction) -> bool:
        """Answer a click on an Accept or Reject button; False for any other interaction."""
        if interaction.type is not discord.InteractionType.component:
            return False
        custom_id = str(dict(interaction.data or {}).get("custom_id", ""))
        statement, _, decision = custom_id.removeprefix(MODERATE_PREFIX).partition(":")
        if not custom_id.startswith(MODERATE_PREFIX) or not statement.isdigit():
            return False
        await interaction.response.defer()  # an update of the ephemeral card, within 3 s
        card = await self.core.moderation.decide(invoked(interaction, {}), int(statement),
                                                 decision)
        view = card_view(card)
        await interaction.edit_original_response(content=one_message(card.text, MESSAGE_LIMIT),
                                                 view=view)
        sent(view)
        return True
