"""Slash commands: ``/round open|invite|close|status``, ``/digest``, ``/plans``, ``/vote``,
``/propose``, localised fr + en.

Every command defers at once (ephemeral, "thinking"), so Discord's 3-second deadline is met
however long the core takes (opening a round may wait on rate limits), then follows up with
the core's ``CommandReply`` (docs: interactions/receiving-and-responding#responding-to-an-
interaction). Who may run what is decided by the core, from the facts given here: the member's
role ids and whether they hold Manage Server.

Names, descriptions and answers come from the core's catalogues (``discord.*`` ids). Names and
descriptions are English by default and localised through :class:`PlanbotTranslator`
(Discord's per-locale ``name_localizations``/``description_localizations``, docs:
interactions/application-commands#localization).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.events import Actor, CommandInvoked
from bot.i18n import language_of, translate
from integrations.discord.delivery import deliver
from integrations.discord.platform import NO_MENTIONS

if TYPE_CHECKING:
    from integrations.discord.client import PlanbotDiscord

_log = logging.getLogger(__name__)


# Discord locales (interactions/application-commands#localization) served from our catalogues
CATALOGUE_OF = {
    discord.Locale.french: "fr",
    discord.Locale.american_english: "en",
    discord.Locale.british_english: "en",
}


def _(msgid: str) -> app_commands.locale_str:
    """A command name or description: its English catalogue text, which Discord shows by
    default, carrying ``msgid`` for :class:`PlanbotTranslator`. Read when the cog class is
    defined, since discord.py validates names then."""
    return app_commands.locale_str(translate(msgid, "en"), msgid=msgid)


class PlanbotTranslator(app_commands.Translator):
    """Command names and descriptions from the catalogues for Discord's French and English
    locales; other locales get the English default (``None``: no localisation)."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        lang = CATALOGUE_OF.get(locale)
        msgid = string.extras.get("msgid")
        if lang is None or msgid is None:
            return None
        return translate(msgid, lang)


class PlanbotTree(app_commands.CommandTree):
    """A command tree whose error handler answers the user instead of only logging.

    User mistakes that discord.py catches (bad option values, failed checks) get an
    ephemeral explanation and a WARNING; anything else an apology and an ERROR with the trace
    (python-discord/bot ``error_handler.py`` pattern).
    """

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        lang = language_of(str(interaction.locale))
        original = getattr(error, "original", None)
        if isinstance(error, (app_commands.TransformerError, app_commands.CheckFailure)):
            _log.warning("refused /%s: %s", _command_path(interaction), error)
            text = translate("discord.bad_input", lang, detail=error)
        elif isinstance(original, discord.Forbidden):
            # Missing permissions are the server's set-up, not planbot's failure: say what
            # to grant; the command can then be run again (nothing is posted twice).
            _log.warning("/%s: missing permission: %s", _command_path(interaction), original)
            text = translate("discord.forbidden", lang)
        else:
            _log.error("command /%s failed", _command_path(interaction), exc_info=error)
            text = translate("discord.failed", lang)
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

    round = app_commands.Group(name=_("discord.name.round"), description=_("discord.about.round"), guild_only=True)

    def __init__(self, bot: PlanbotDiscord) -> None:
        self.bot = bot

    async def _run(self, interaction: discord.Interaction, action: str, **args: str | None) -> None:
        # Counted as work in flight, so a shutdown waits for a command half-way through
        # posting a round instead of cutting it off.
        with self.bot._working():
            await self._answer(interaction, action, args)

    async def _answer(self, interaction: discord.Interaction, action: str,
                      args: dict[str, str | None]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user = interaction.user
        member = user if isinstance(user, discord.Member) else None
        cmd = CommandInvoked(
            platform="discord",
            workspace_id=str(interaction.guild_id),
            channel_id=str(interaction.channel_id),
            occurred_at=interaction.created_at,
            actor=Actor(str(user.id), user.display_name, user.bot),
            action=action,
            args={k: v for k, v in args.items() if v is not None},
            locale=str(interaction.locale),
            roles=frozenset(str(r.id) for r in member.roles if not r.is_default())
            if member is not None else frozenset(),
            is_admin=member is not None and member.guild_permissions.manage_guild,
        )
        reply = await self.bot.core.run_command(cmd, self.bot.platform)
        text = reply.text
        if not self.bot.intents.message_content:
            text = f"{text}\n\n{translate('discord.no_content', cmd.locale)}"
        # An answer may quote what the user typed (up to 6,000 characters per option): it
        # goes in parts, and by another way if Discord's 15 minutes have passed.
        await deliver(interaction, reply, text, language_of(cmd.locale))

    @round.command(
        name=_("discord.name.open"), description=_("discord.about.open")
    )
    @app_commands.describe(
        plan=_("discord.about.opt_plan"),
        sections=_("discord.about.opt_sections"),
        closes=_("discord.about.opt_closes"),
        channel=_("discord.about.opt_channel"),
        language=_("discord.about.opt_language"),
        join=_("discord.about.opt_join"),
        stances=_("discord.about.opt_stances"),
        moderation=_("discord.about.opt_moderation"),
    )
    @app_commands.rename(
        plan=_("discord.name.plan"),
        sections=_("discord.name.sections"),
        closes=_("discord.name.closes"),
        channel=_("discord.name.channel"),
        language=_("discord.name.language"),
        join=_("discord.name.join"),
        stances=_("discord.name.stances"),
        moderation=_("discord.name.moderation"),
    )
    async def open_round(
        self,
        interaction: discord.Interaction,
        plan: str,
        sections: str | None = None,
        closes: str | None = None,
        channel: discord.TextChannel | None = None,
        language: Literal["fr", "en"] | None = None,
        join: str | None = None,
        stances: Literal["reactions", "private", "both"] | None = None,
        moderation: Literal["open", "strict"] | None = None,
    ) -> None:
        await self._run(
            interaction,
            "open",
            plan=plan,
            sections=sections,
            closes=closes,
            channel=str(channel.id) if channel else None,
            language=language,
            join=join,
            stances=stances,
            moderation=moderation,
        )

    @round.command(name=_("discord.name.invite"), description=_("discord.about.invite"))
    @app_commands.describe(round=_("discord.about.opt_round"))
    @app_commands.rename(round=_("discord.name.round"))
    async def invite(self, interaction: discord.Interaction, round: str | None = None) -> None:
        await self._run(interaction, "invite", round=round)

    @round.command(name=_("discord.name.close"), description=_("discord.about.close"))
    @app_commands.describe(round=_("discord.about.opt_round"))
    @app_commands.rename(round=_("discord.name.round"))
    async def close_round(self, interaction: discord.Interaction, round: str | None = None) -> None:
        await self._run(interaction, "close", round=round)

    @round.command(name=_("discord.name.status"), description=_("discord.about.status"))
    @app_commands.describe(round=_("discord.about.opt_round"))
    @app_commands.rename(round=_("discord.name.round"))
    async def round_status(self, interaction: discord.Interaction, round: str | None = None) -> None:
        await self._run(interaction, "status", round=round)

    @app_commands.command(name=_("discord.name.digest"), description=_("discord.about.digest"))
    @app_commands.describe(round=_("discord.about.opt_round"))
    @app_commands.rename(round=_("discord.name.round"))
    @app_commands.guild_only()
    async def digest(self, interaction: discord.Interaction, round: str | None = None) -> None:
        await self._run(interaction, "digest", round=round)

    @app_commands.command(name=_("discord.name.vote"), description=_("discord.about.vote"))
    @app_commands.guild_only()
    async def vote(self, interaction: discord.Interaction) -> None:
        with self.bot._working():
            await self.bot.votes.command(interaction)

    @app_commands.command(name=_("discord.name.propose"), description=_("discord.about.propose"))
    @app_commands.guild_only()
    async def propose(self, interaction: discord.Interaction) -> None:
        with self.bot._working():
            await self.bot.proposals.command(interaction)

    @app_commands.command(name=_("discord.name.my_stances"),
                          description=_("discord.about.my_stances"))
    @app_commands.guild_only()
    async def my_stances(self, interaction: discord.Interaction) -> None:
        with self.bot._working():
            await self.bot.mine.command(interaction)

    @app_commands.command(name=_("discord.name.moderate"),
                          description=_("discord.about.moderate"))
    @app_commands.describe(mode=_("discord.about.opt_mode"), round=_("discord.about.opt_round"))
    @app_commands.rename(mode=_("discord.name.mode"), round=_("discord.name.round"))
    @app_commands.guild_only()
    async def moderate(self, interaction: discord.Interaction,
                       mode: Literal["open", "strict"] | None = None,
                       round: str | None = None) -> None:
        args = {"mode": mode, "round": round}
        with self.bot._working():
            await self.bot.moderation.command(
                interaction, {k: v for k, v in args.items() if v is not None})

    @app_commands.command(name=_("discord.name.plans"), description=_("discord.about.plans"))
    @app_commands.guild_only()
    async def plans(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, "plans")

    @app_commands.command(name=_("discord.name.my_data"), description=_("discord.about.my_data"))
    @app_commands.guild_only()
    async def my_data(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, "my-data")

    @app_commands.command(name=_("discord.name.forget_me"),
                          description=_("discord.about.forget_me"))
    @app_commands.describe(confirm=_("discord.about.opt_confirm"))
    @app_commands.rename(confirm=_("discord.name.confirm"))
    @app_commands.guild_only()
    async def forget_me(self, interaction: discord.Interaction, confirm: str | None = None) -> None:
        await self._run(interaction, "forget-me", confirm=confirm)
