"""A slash command's answer, delivered even when it comes after the interaction token expired.

A deferred interaction's token serves follow-ups for 15 minutes (docs: interactions/receiving-
and-responding, "Interaction tokens are valid for 15 minutes"); after that Discord answers
401 50027 Invalid Webhook Token. An open held longer by rate limits would lose its result
(which sections went out, which failed and why). Its remaining parts then go:

- for a private (ephemeral) answer, to the facilitator in a direct message: only they see
  it, as with the ephemeral answer; a channel message would show it to everyone there, and
  Discord has no ephemeral message outside an interaction. If the facilitator does not
  accept direct messages (403 50007), the answer cannot be given privately: a WARNING is
  logged, nothing is posted in the channel;
- for a public answer, in the channel the command was run in, where it would have been
  shown anyway.

Neither mentions anyone (``allowed_mentions`` none). Expiry is read from Discord's answer, not
from a clock of ours: the local Discord models it from its own clock.
"""

from __future__ import annotations

import io
import logging

import discord

from bot.commands import CommandReply
from bot.i18n import translate
from bot.textsplit import split_text
from integrations.discord.platform import MESSAGE_LIMIT, NO_MENTIONS

_log = logging.getLogger(__name__)

INVALID_WEBHOOK_TOKEN = 50027
"""Discord's code for an expired interaction token (docs: topics/opcodes-and-status-codes)."""


async def deliver(interaction: discord.Interaction, reply: CommandReply, text: str,
                  lang: str) -> None:
    """Send ``text`` (the answer, any length) as follow-ups in parts within Discord's
    2,000-character limit, ``reply.files`` with the first part; once the token has expired,
    the remaining parts go by :func:`_late`. Raises ``discord.HTTPException`` for any other
    refusal."""
    parts = split_text(text, MESSAGE_LIMIT)
    for i, part in enumerate(parts):
        try:
            await interaction.followup.send(part, ephemeral=reply.ephemeral, files=_files(reply, i),
                                            allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            if err.code != INVALID_WEBHOOK_TOKEN:
                raise
            await _late(interaction, reply, parts[i:], first=i, lang=lang)
            return


def _files(reply: CommandReply, index: int) -> list[discord.File]:
    """The answer's files (the caller's own data), carried by its first part only."""
    if index:
        return []
    return [discord.File(io.BytesIO(data), filename=name) for name, data in reply.files.items()]


async def _late(interaction: discord.Interaction, reply: CommandReply, parts: list[str], *,
                first: int, lang: str) -> None:
    """The parts the expired token could not carry, numbered from ``first``, preceded by a
    note saying which command they answer and why they come this way."""
    command = interaction.command.qualified_name if interaction.command else "?"
    note = translate("discord.late_answer", lang, command=command,
                     channel=f"<#{interaction.channel_id}>")
    target: discord.abc.Messageable
    if reply.ephemeral:
        target = interaction.user
    else:
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            _log.warning("/%s answered after its token expired; no channel to post in", command)
            return
        target = channel
    try:
        await target.send(note, allowed_mentions=NO_MENTIONS)
        for i, part in enumerate(parts, start=first):
            await target.send(part, files=_files(reply, i), allowed_mentions=NO_MENTIONS)
    except discord.Forbidden as err:
        _log.warning("/%s answered after its token expired; the answer could not be sent "
                     "(%s %s)", command, err.status, err.code)
        return
    _log.info("/%s answered after its token expired: sent %s", command,
              "by direct message" if reply.ephemeral else "in the channel")
