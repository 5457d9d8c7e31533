"""Slash commands: ``/round open|close|status``, ``/digest``, ``/plans``, localised fr + en.

Every command defers at once (ephemeral, "thinking"), so Discord's 3-second deadline is met
however long the core takes (opening a round may wait on rate limits), then follows up with
the core's ``CommandReply`` (docs: interactions/receiving-and-responding#responding-to-an-
interaction). Who may run what is decided by the core, from the facts given here: the member's
role ids and whether they hold Manage Server.

Names and descriptions are English by default and French through :class:`PlanbotTranslator`
(Discord's per-locale ``name_localizations``/``description_localizations``, docs:
interactions/application-commands#localization). They live here until the core's catalogues
carry command texts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.events import Actor, CommandInvoked
from bot.i18n import language_of
from integrations.discord.platform import NO_MENTIONS

if TYPE_CHECKING:
    from integrations.discord.client import PlanbotDiscord

_log = logging.getLogger(__name__)

FRENCH = {
    # names (lowercase, no spaces: Discord's rule for command and option names)
    "round": "tour",
    "open": "ouvrir",
    "close": "fermer",
    "status": "état",
    "digest": "synthèse",
    "plans": "plans",
    "plan": "plan",
    "sections": "sections",
    "closes": "clôture",
    "channel": "salon",
    "language": "langue",
    # descriptions
    "Discussion rounds over a plan": "Tours de discussion sur un plan",
    "Open a round: post each section with its thread and stance reactions": (
        "Ouvrir un tour : publier chaque section avec son fil et ses réactions d'avis"
    ),
    "Close a round": "Fermer un tour",
    "Where a round stands": "Où en est un tour",
    "Post a digest of the round now": "Publier maintenant la synthèse du tour",
    "List the plans that can be discussed": "Lister les plans à discuter",
    "Plan name (see /plans)": "Nom du plan (voir /plans)",
    "Section keys, comma-separated (default: all)": "Clés des sections, séparées par des virgules (défaut : toutes)",
    "Closing date (2026-12-24) or duration (7d, 36h)": "Date de clôture (2026-12-24) ou durée (7d, 36h)",
    "Channel to post in (default: this one)": "Salon où publier (défaut : celui-ci)",
    "Language of the round (default: the plan's first)": "Langue du tour (défaut : la première du plan)",
    "Round number (default: the round posted here)": "Numéro du tour (défaut : le tour publié ici)",
}

ERROR_TEXT = {
    "fr": "Cette commande n'a pas pu être exécutée. Réessayez ; si cela persiste, prévenez l'équipe.",
    "en": "That command could not be run. Try again; if it keeps failing, tell the team.",
}
BAD_INPUT_TEXT = {
    "fr": "Option invalide : {detail}",
    "en": "Invalid option: {detail}",
}
NO_CONTENT_TEXT = {
    "fr": "⚠️ planbot ne reçoit pas le texte des messages (intent « message content » désactivé) : "
    "les réponses sont enregistrées comme masquées.",
    "en": "⚠️ planbot cannot read message text (the message-content intent is off): replies are "
    "stored as withheld.",
}


class PlanbotTranslator(app_commands.Translator):
    """French localisations of command names and descriptions; English is the default text."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if locale is discord.Locale.french:
            return FRENCH.get(string.message)
        if locale in (discord.Locale.american_english, discord.Locale.british_english):
            return string.message
        return None


class PlanbotTree(app_commands.CommandTree):
    """A command tree whose error handler answers the user instead of only logging.

    User mistakes that discord.py catches (bad option values, failed checks) get an
    ephemeral explanation and a WARNING; anything else an apology and an ERROR with the trace
    (python-discord/bot ``error_handler.py`` pattern).
    """

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        lang = language_of(str(interaction.locale))
        if isinstance(error, (app_commands.TransformerError, app_commands.CheckFailure)):
            _log.warning("refused /%s: %s", _command_path(interaction), error)
            text = BAD_INPUT_TEXT[lang].format(detail=error)
        else:
            _log.error("command /%s failed", _command_path(interaction), exc_info=error)
            text = ERROR_TEXT[lang]
        await answer(interaction, text)


async def answer(interaction: discord.Interaction, text: str) -> None:
    """Answer ephemerally whether or not the interaction was already deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _command_path(interaction: discord.Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "?"


class PlanbotCommands(commands.Cog):
    """The slash commands, bound to the bot whose core runs them."""

    round = app_commands.Group(name=_("round"), description=_("Discussion rounds over a plan"), guild_only=True)

    def __init__(self, bot: PlanbotDiscord) -> None:
        self.bot = bot

    async def _run(self, interaction: discord.Interaction, action: str, **args: str | None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user = interaction.user
        is_member = isinstance(user, discord.Member)
        cmd = CommandInvoked(
            platform="discord",
            workspace_id=str(interaction.guild_id),
            channel_id=str(interaction.channel_id),
            occurred_at=interaction.created_at,
            actor=Actor(str(user.id), user.display_name, user.bot),
            action=action,
            args={k: v for k, v in args.items() if v},
            locale=str(interaction.locale),
            roles=frozenset(str(r.id) for r in user.roles if not r.is_default()) if is_member else frozenset(),
            is_admin=is_member and user.guild_permissions.manage_guild,
        )
        reply = await self.bot.core.run_command(cmd, self.bot.platform)
        text = reply.text
        if not self.bot.intents.message_content:
            text = f"{text}\n\n{NO_CONTENT_TEXT[language_of(cmd.locale)]}"
        await interaction.followup.send(text, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS)

    @round.command(
        name=_("open"), description=_("Open a round: post each section with its thread and stance reactions")
    )
    @app_commands.describe(
        plan=_("Plan name (see /plans)"),
        sections=_("Section keys, comma-separated (default: all)"),
        closes=_("Closing date (2026-12-24) or duration (7d, 36h)"),
        channel=_("Channel to post in (default: this one)"),
        language=_("Language of the round (default: the plan's first)"),
    )
    @app_commands.rename(
        plan=_("plan"), sections=_("sections"), closes=_("closes"), channel=_("channel"), language=_("language")
    )
    async def open_round(
        self,
        interaction: discord.Interaction,
        plan: str,
        sections: str | None = None,
        closes: str | None = None,
        channel: discord.TextChannel | None = None,
        language: Literal["fr", "en"] | None = None,
    ) -> None:
        await self._run(
            interaction,
            "open",
            plan=plan,
            sections=sections,
            closes=closes,
            channel=str(channel.id) if channel else None,
            language=language,
        )

    @round.command(name=_("close"), description=_("Close a round"))
    @app_commands.describe(round=_("Round number (default: the round posted here)"))
    @app_commands.rename(round=_("round"))
    async def close_round(self, interaction: discord.Interaction, round: int | None = None) -> None:
        await self._run(interaction, "close", round=str(round) if round else None)

    @round.command(name=_("status"), description=_("Where a round stands"))
    @app_commands.describe(round=_("Round number (default: the round posted here)"))
    @app_commands.rename(round=_("round"))
    async def round_status(self, interaction: discord.Interaction, round: int | None = None) -> None:
        await self._run(interaction, "status", round=str(round) if round else None)

    @app_commands.command(name=_("digest"), description=_("Post a digest of the round now"))
    @app_commands.describe(round=_("Round number (default: the round posted here)"))
    @app_commands.rename(round=_("round"))
    @app_commands.guild_only()
    async def digest(self, interaction: discord.Interaction, round: int | None = None) -> None:
        await self._run(interaction, "digest", round=str(round) if round else None)

    @app_commands.command(name=_("plans"), description=_("List the plans that can be discussed"))
    @app_commands.guild_only()
    async def plans(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, "plans")
