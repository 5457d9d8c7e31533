"""``/planbot moderate`` on Slack (issue 14): the facilitator's moderation card in a modal.

The command opens a modal (``views.open`` with the command's ``trigger_id``, valid 3 s:
https://api.slack.com/surfaces/modals), seen by the facilitator alone: a section block for
the round, then for each reply a section block and an ``actions`` block with its Accept /
Reject buttons (Block Kit buttons, action ids ``planbot_moderate_<accept|reject>_<statement>``,
unique within the view as Slack requires:
https://api.slack.com/reference/block-kit/block-elements#button). A click is acknowledged at
once, decided by the core (once per click: its key is the user and the action's
``action_ts``), and the modal is replaced by the card as it is then (``views.update``).
Whether the caller may moderate is the core's decision, from their user groups.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.core import Core
from bot.events import Actor, CommandInvoked
from bot.i18n import translate
from bot.moderation import ModerationCard
from integrations.slack.blocks import section_block
from integrations.slack.directory import Directory
from integrations.slack.mrkdwn import markdown_to_mrkdwn
from integrations.slack.translate import PLATFORM
from integrations.slack.voting import MODAL_TITLE_LIMIT

MODERATE_ACTION = re.compile(r"^planbot_moderate_(accept|reject)_(\d+)$")
SECTION_TEXT_LIMIT = 3000
"""Characters of a section block's text (https://api.slack.com/reference/block-kit/blocks#section)."""
_STYLES = {"accept": "primary", "reject": "danger"}


def card_view(card: ModerationCard, close: str) -> dict:
    """The modal showing ``card``: the heading, then each reply and its buttons."""
    blocks: list[dict] = [section_block(markdown_to_mrkdwn(card.header)[:SECTION_TEXT_LIMIT])]
    for entry in card.entries:
        blocks.append(section_block(markdown_to_mrkdwn(entry.text)[:SECTION_TEXT_LIMIT]))
        if entry.buttons:
            blocks.append({"type": "actions", "block_id": f"planbot_moderate_{entry.statement_id}",
                           "elements": [{
                               "type": "button", "style": _STYLES[b.decision],
                               "action_id": f"planbot_moderate_{b.decision}_{b.statement_id}",
                               "value": str(b.statement_id),
                               "text": {"type": "plain_text", "text": b.label}}
                               for b in entry.buttons]})
    return {"type": "modal", "callback_id": "planbot_moderate",
            "title": {"type": "plain_text", "text": card.title[:MODAL_TITLE_LIMIT]},
            "close": {"type": "plain_text", "text": close}, "blocks": blocks}


class ModerationModals:
    """Opens moderation cards and answers their buttons through ``core.moderation``;
    ``directory`` gives each user's language and user groups."""

    def __init__(self, core: Core, client: AsyncWebClient, directory: Directory, clock: Clock,
                 *, track: Callable[[asyncio.Task[Any]], object]) -> None:
        self.core, self.client, self.directory, self.clock = core, client, directory, clock
        self._track = track

    async def ack(self, ack: Callable[..., Awaitable[None]]) -> None:
        await ack()

    async def _invoked(self, user_id: str, team_id: str, channel_id: str, key: str,
                       args: dict[str, str], name: str | None) -> CommandInvoked:
        return CommandInvoked(
            platform=PLATFORM, workspace_id=team_id, channel_id=channel_id,
            occurred_at=self.clock.now(), event_key=key,
            actor=Actor(user_id=user_id, display_name=name), action="moderate", args=args,
            locale=await self.directory.locale_of(user_id),
            roles=await self.directory.groups_of(user_id))

    async def command(self, body: dict[str, Any], args: dict[str, str]) -> str | None:
        """``/planbot moderate [mode=…] [round=…]``: the card in a modal; returns instead
        the answer to give when there is no card to show (no round here, not allowed...)."""
        user_id = body.get("user_id", "")
        cmd = await self._invoked(user_id, body.get("team_id", ""), body.get("channel_id", ""),
                                  f"slack:command:{body.get('trigger_id', '')}", args,
                                  body.get("user_name"))
        card = await self.core.moderation.show(cmd)
        if card.round_id is None:
            return card.header
        await self.client.views_open(trigger_id=body.get("trigger_id", ""),
                                     view=card_view(card, translate("vote.close", card.lang)))
        return None

    async def decide(self, body: dict[str, Any]) -> None:
        """An Accept or Reject button in the modal: decided once, then the modal shows the
        card as it is now."""
        task = asyncio.current_task()
        if task is not None:
            self._track(task)
        action = (body.get("actions") or [{}])[0]
        match = MODERATE_ACTION.match(action.get("action_id", ""))
        view = body.get("view") or {}
        if match is None or not view.get("id"):
            return
        user = body.get("user", {})
        user_id = user.get("id", "")
        cmd = await self._invoked(user_id, (body.get("team") or {}).get("id", ""), "",
                                  f"slack:action:{user_id}:{action.get('action_ts', '')}", {},
                                  user.get("name"))
        card = await self.core.moderation.decide(cmd, int(match.group(2)), match.group(1))
        await self.client.views_update(view_id=view["id"],
                                       view=card_view(card, translate("vote.close", card.lang)))
