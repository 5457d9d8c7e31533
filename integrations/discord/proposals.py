"""``/propose`` on Discord: the modal, and its submission (issue 14).

The command answers with a modal (interaction callback type 9, which must be the first
answer, within 3 s: docs interactions/receiving-and-responding#responding-to-an-interaction)
whose custom id is ``planbot:propose:<the command's interaction id>``: two labels (type 18),
a string select of the round's sections and a paragraph text input limited to
``PROPOSAL_MAX_CHARS`` (``ModalInteractionCallbackRequestData``, specs/discord/openapi.json).
Its submission arrives as a MODAL_SUBMIT interaction (type 5) with the modal's custom id, so
the same modal submitted twice carries the same key: one proposal. It is read raw from
``INTERACTION_CREATE`` like the vote buttons (a restart loses nothing), deferred ephemerally
at once, and answered to its author alone.
"""

from __future__ import annotations

import discord

from bot.core import Core
from bot.errors import PlanbotError
from bot.events import Actor, ProposalSubmitted
from bot.i18n import language_of, translate
from bot.platform import ChannelRef, PostedMessage, ProposalPost
from bot.proposals import ProposalForm
from bot.textsplit import one_message
from integrations.discord.voting import NO_MENTIONS, vote_button
from integrations.discord.voting import sent as forget

PROPOSE_PREFIX = "planbot:propose:"
SECTION_FIELD = "planbot_section"
TEXT_FIELD = "planbot_text"
MESSAGE_LIMIT = 2000
TITLE_LIMIT = 45
"""Characters of a modal's title and of a label (``ModalInteractionCallbackRequestData``)."""
_LABEL, _SELECT, _TEXT_INPUT = 18, 3, 4


def proposal_modal(form: ProposalForm, key: str) -> discord.ui.Modal:
    """The modal for ``form``; ``key`` (the command's interaction id) makes its custom id."""
    modal = discord.ui.Modal(title=form.labels["title"][:TITLE_LIMIT],
                             custom_id=f"{PROPOSE_PREFIX}{key}", timeout=None)
    options = [discord.SelectOption(label=title or str(sid), value=str(sid),
                                    default=sid == form.preselected)
               for sid, title in form.sections]
    modal.add_item(discord.ui.Label(
        text=form.labels["section"][:TITLE_LIMIT],
        component=discord.ui.Select(custom_id=SECTION_FIELD, options=options,
                                    min_values=1, max_values=1, required=True)))
    modal.add_item(discord.ui.Label(
        text=form.labels["text"][:TITLE_LIMIT],
        component=discord.ui.TextInput(custom_id=TEXT_FIELD,
                                       style=discord.TextStyle.paragraph,
                                       placeholder=form.labels["placeholder"][:100],
                                       max_length=form.max_chars, required=True)))
    return modal


def submitted_values(components: list[dict]) -> dict[str, str]:
    """The values of a MODAL_SUBMIT's ``data.components`` by custom id: a text input's
    ``value``, a select's first chosen value; action rows and labels are looked into
    (docs: interactions/receiving-and-responding, component interaction response)."""
    values: dict[str, str] = {}
    for component in components:
        inner = [component["component"]] if component.get("type") == _LABEL \
            and component.get("component") else component.get("components") or []
        for field in inner:
            if field.get("type") == _TEXT_INPUT:
                values[str(field.get("custom_id"))] = str(field.get("value") or "")
            elif field.get("type") == _SELECT:
                chosen = field.get("values") or [""]
                values[str(field.get("custom_id"))] = str(chosen[0])
    return values


class ProposalPosting:
    """What :class:`integrations.discord.platform.DiscordPlatform` posts for a proposal
    (``ChatPlatform.post_proposal``); ``client`` is its logged-in discord.py client."""

    client: discord.Client

    async def post_proposal(self, channel: ChannelRef, thread_id: str,
                            proposal: ProposalPost) -> PostedMessage:
        """An anonymous proposal in the section's thread (which is its replies' channel on
        Discord), with its Vote button and seed reactions, as a section's first part has
        them."""
        target = self.client.get_partial_messageable(int(thread_id),
                                                     guild_id=int(channel.workspace_id))
        text = one_message(proposal.text, MESSAGE_LIMIT)
        if proposal.vote_on is None:
            message = await target.send(text, allowed_mentions=NO_MENTIONS)
        else:
            view = vote_button(proposal.vote_on.statement_id, proposal.vote_on.language)
            message = await target.send(text, allowed_mentions=NO_MENTIONS, view=view)
            forget(view)
        for emoji in proposal.seed_emoji:
            await message.add_reaction(emoji)
        return PostedMessage(ChannelRef(channel.platform, channel.workspace_id, thread_id),
                             str(message.id), thread_id, 0)


class ProposalModals:
    """``/propose`` and its modal's submissions, through ``core.proposals``."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def command(self, interaction: discord.Interaction) -> None:
        """``/propose``: the modal, or the reason there is none (ephemeral)."""
        lang = language_of(str(interaction.locale))
        try:
            form = await self.core.proposals.form("discord", str(interaction.channel_id), lang)
        except PlanbotError as err:
            await interaction.response.send_message(err.message(lang), ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return
        modal = proposal_modal(form, str(interaction.id))
        await interaction.response.send_modal(modal)
        modal.stop()  # the submission is read raw (module docstring)

    async def on_interaction(self, interaction: discord.Interaction) -> bool:
        """Answer a submission of the propose modal; False for any other interaction."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return False
        data: dict = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(PROPOSE_PREFIX):
            return False
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = language_of(str(interaction.locale))
        values = submitted_values(list(data.get("components") or []))
        section = values.get(SECTION_FIELD, "")
        text = values.get(TEXT_FIELD, "")
        user = interaction.user
        event = ProposalSubmitted(
            platform="discord", workspace_id=str(interaction.guild_id),
            channel_id=str(interaction.channel_id), occurred_at=interaction.created_at,
            event_key=f"discord:propose:{custom_id.removeprefix(PROPOSE_PREFIX)}",
            actor=Actor(str(user.id), user.display_name, user.bot), round_id=0,
            section_id=int(section) if section.isdigit() else 0, text=text)
        try:
            answer = await self.core.proposals.submit(event, lang)
        except PlanbotError as err:
            # The modal is gone: the text comes back, so that nothing written is lost.
            answer = err.message(lang)
            if text.strip():
                answer = f"{answer}\n\n{translate('proposal.your_text', lang)}\n```\n" \
                         f"{text.replace('```', 'ʼʼʼ')}\n```"
        await interaction.followup.send(one_message(answer, MESSAGE_LIMIT), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)
        return True
