"""The ``/planbot`` slash command on Slack: acknowledged at once, then run by a lazy listener
that looks up the user's locale and user groups, runs the command in the core and answers
through ``respond`` (ephemeral unless the core says otherwise). Slack wants the ack within 3 s
(https://api.slack.com/interactivity/slash-commands#responding_basic_receipt); an ack may carry
a message shown at once, which an open uses to say "opening…" before its sections, which rate
limits may hold for minutes, are out. Its result follows through the ``response_url``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.core import Core
from bot.events import Actor, CommandInvoked
from bot.i18n import language_of, translate
from integrations.slack.commands import UsageError, parse_command, usage_text
from integrations.slack.directory import Directory
from integrations.slack.moderation import ModerationModals
from integrations.slack.mrkdwn import escape, markdown_to_mrkdwn
from integrations.slack.my_stances import StanceModals
from integrations.slack.platform import SlackPlatform
from integrations.slack.proposals import ProposalModals
from integrations.slack.translate import PLATFORM
from integrations.slack.voting import VoteModals

_log = logging.getLogger(__name__)

_CHANNEL_PROBLEMS = ("not_in_channel", "channel_not_found", "is_archived")


class SlashCommand:
    """Runs ``/planbot`` in ``core`` against ``platform``; ``track`` keeps each run as
    background work, so that a shutdown waits for a command half-way through posting a
    round instead of cutting it off."""

    def __init__(self, core: Core, platform: SlackPlatform, directory: Directory, *,
                 clock: Clock, default_language: str,
                 track: Callable[[asyncio.Task[Any]], object], votes: VoteModals,
                 mine: StanceModals, moderation: ModerationModals,
                 proposals: ProposalModals) -> None:
        self.core, self.platform, self.directory = core, platform, directory
        self.votes, self.mine, self.moderation = votes, mine, moderation
        self.proposals = proposals
        self.clock, self.default_language = clock, default_language
        self._track = track

    async def ack(self, ack: Callable[..., Awaitable[None]], body: dict) -> None:
        """Acknowledge: an open is answered "opening…" (ephemeral) at once, in the user's
        language if already known (no look-up may delay the ack), else the default one;
        anything else with an empty ack."""
        try:
            parsed = parse_command(body.get("text") or "")
        except UsageError:
            parsed = None
        if parsed is None or parsed.action != "open":
            await ack()
            return
        lang = language_of(self.directory.known_locale(body.get("user_id", "")),
                           self.default_language)
        plan = parsed.args.get("plan")
        # ``join=CODE`` alone: the plan comes with the invitation, known once it is checked.
        text = translate("round.opening_now", lang, plan=escape(plan)) if plan \
            else translate("round.joining_now", lang)
        await ack(text=text, response_type="ephemeral")

    async def run(self, body: dict, respond: Callable[..., Awaitable[Any]],
                  client: AsyncWebClient) -> None:
        task = asyncio.current_task()
        assert task is not None  # bolt runs listeners as tasks
        self._track(task)
        user_id = body.get("user_id", "")
        locale = await self.directory.locale_of(user_id)
        lang = language_of(locale, self.default_language)
        try:
            parsed = parse_command(body.get("text") or "")
        except UsageError as err:
            await respond(text=usage_text(lang, err), response_type="ephemeral")
            return
        if parsed.action == "help":
            await respond(text=usage_text(lang), response_type="ephemeral")
            return
        if parsed.action in ("vote", "my-stances", "propose"):  # a modal for this person alone
            openers: dict[str, Callable[[dict, str], Awaitable[str | None]]] = {
                "vote": self.votes.command, "my-stances": self.mine.command,
                "propose": self.proposals.command}
            problem = await openers[parsed.action](body, lang)
            if problem is not None:
                await respond(text=markdown_to_mrkdwn(problem), response_type="ephemeral")
            return
        if parsed.action == "moderate":  # the card in a modal, for the facilitator alone
            refusal = await self.moderation.command(body, parsed.args)
            if refusal is not None:
                await respond(text=markdown_to_mrkdwn(refusal), response_type="ephemeral")
            return
        if await self._elsewhere(parsed.args.get("channel"), body):
            await respond(text=translate("error.channel_elsewhere", lang),
                          response_type="ephemeral")
            return
        cmd = CommandInvoked(
            platform=PLATFORM, workspace_id=body.get("team_id", ""),
            channel_id=body.get("channel_id", ""), occurred_at=self.clock.now(),
            actor=Actor(user_id=user_id, display_name=body.get("user_name")),
            action=parsed.action, args=parsed.args, locale=locale,
            roles=await self.directory.groups_of(user_id))
        try:
            reply = await self.core.run_command(cmd, self.platform)
        except Exception as err:  # noqa: BLE001 - any failure still gets the user an answer
            if isinstance(err, SlackApiError) and err.response.get("error") in _CHANNEL_PROBLEMS:
                _log.warning("/planbot %s: %s", parsed.action, err.response.get("error"))
                await respond(text=translate("slack.invite", lang), response_type="ephemeral")
            else:
                _log.exception("/planbot %s failed", parsed.action)
                await respond(text=translate("slack.failed", lang), response_type="ephemeral")
            return
        for text in [markdown_to_mrkdwn(reply.text), *_carried(reply.files, lang)]:
            sent = await respond(text=text,
                                 response_type="ephemeral" if reply.ephemeral else "in_channel")
            if getattr(sent, "status_code", 200) != 200:
                # A response_url takes 5 answers within 30 minutes; an open held longer by
                # rate limits is answered by the app itself, to the facilitator alone.
                _log.warning("response_url refused (HTTP %s): answered with chat.postEphemeral",
                             sent.status_code)
                await client.chat_postEphemeral(channel=body.get("channel_id", ""),
                                                     user=user_id, text=text)

    async def _elsewhere(self, channel: str | None, body: dict) -> bool:
        """Whether ``channel=`` names a channel of another workspace of the organisation: a
        round belongs to the workspace it is opened in, so its sections (and the replies
        under them) stay there; another workspace joins with an invitation."""
        if not channel or channel == body.get("channel_id"):
            return False
        teams = await self.directory.channel_teams(channel)
        return teams is not None and body.get("team_id", "") not in teams


FILE_TEXT_LIMIT = 39_000
"""Characters of a file carried in one ephemeral message: Slack cuts a message's text at
40,000 (https://api.slack.com/methods/chat.postMessage#truncating)."""


def _carried(files: dict[str, bytes], lang: str) -> list[str]:
    """Files (UTF-8 text: the caller's own data as JSON) as ephemeral messages: Slack has no
    ephemeral file, and a file shared in a channel would be seen by everyone there. Each is
    a code block in parts within Slack's limit, cut before escaping so that no entity is
    split; Slack's ``response_url`` takes five answers, so at most four messages follow the
    answer: when a file needs more, three parts are sent and the fourth says it was cut and
    how to get the whole file (from the operator, ``planbot privacy export``)."""
    texts = []
    for name, data in files.items():
        texts += [f"`{name}`\n```{part}```" for part in _escaped_parts(data.decode("utf-8"))]
    if len(texts) > 4:
        return [*texts[:3], translate("privacy.export_cut", lang)]
    return texts


def _escaped_parts(body: str) -> list[str]:
    """``body`` escaped for mrkdwn, in parts of at most :data:`FILE_TEXT_LIMIT` characters,
    each the escape of a whole piece of ``body`` (an entity is never split)."""
    parts, at = [], 0
    while at < len(body):
        size = FILE_TEXT_LIMIT
        while len(part := escape(body[at:at + size])) > FILE_TEXT_LIMIT:
            # Escapes lengthen the text at most fivefold: shrink in proportion, never to 0.
            size = max(1, size * FILE_TEXT_LIMIT // len(part) - 1)
        parts.append(part)
        at += size
    return parts
