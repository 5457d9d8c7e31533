"""The Vote button and private voting cards on Slack (issue 14).

A section message (and a copy of a reply) ends with an ``actions`` block holding a Vote
button (``action_id`` ``planbot_vote``, ``value`` the statement id; Block Kit,
https://api.slack.com/reference/block-kit/block-elements#button). A click is acknowledged at
once and opens a modal for that person only (``views.open`` with the click's ``trigger_id``,
valid 3 s: https://api.slack.com/surfaces/modals): the statement and Agree / Disagree / Pass
buttons (``planbot_stance_<stance>``). A click there is acknowledged, recorded, and the modal
is replaced by the next card (``views.update``). ``/planbot vote`` opens the same modal with
the command's ``trigger_id``. Modals are seen by their user alone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.errors import PlanbotError
from bot.events import Actor, PrivateVote
from bot.i18n import language_of, translate
from bot.voting import VoteCard
from integrations.slack.blocks import section_block
from integrations.slack.directory import Directory
from integrations.slack.mrkdwn import markdown_to_mrkdwn
from integrations.slack.translate import PLATFORM

_log = logging.getLogger(__name__)
VOTE_ACTION = "planbot_vote"
STANCE_ACTION = re.compile(r"^planbot_stance_(agree|disagree|pass)$")
MODAL_TITLE_LIMIT = 24
"""Characters of a modal's title (https://api.slack.com/reference/surfaces/views)."""
_STYLES = {"agree": "primary", "disagree": "danger"}


def vote_block(statement_id: int, lang: str) -> dict:
    """The ``actions`` block holding the Vote button of ``statement_id``."""
    return {"type": "actions", "block_id": f"planbot_vote_{statement_id}", "elements": [{
        "type": "button", "action_id": VOTE_ACTION, "value": str(statement_id),
        "text": {"type": "plain_text", "text": translate("vote.button", lang)}}]}


def card_view(card: VoteCard) -> dict:
    """The modal showing ``card``: its text, and its stance buttons unless nothing is left."""
    blocks: list[dict] = [section_block(markdown_to_mrkdwn(card.text)[:3000])]
    if card.statement_id is not None:
        elements = []
        for stance, label in card.labels.items():
            button = {"type": "button", "action_id": f"planbot_stance_{stance}",
                      "value": str(card.statement_id),
                      "text": {"type": "plain_text", "text": label}}
            if stance in _STYLES:
                button["style"] = _STYLES[stance]
            elements.append(button)
        blocks.append({"type": "actions", "block_id": "planbot_stances", "elements": elements})
    return {"type": "modal", "callback_id": "planbot_vote",
            "title": {"type": "plain_text", "text": card.title[:MODAL_TITLE_LIMIT]},
            "close": {"type": "plain_text", "text": translate("vote.close", card.lang)},
            "blocks": blocks}


class ModalAnswers:
    """What the app's modal listeners (votes, my-stances, proposals) share: the core, the
    Web API client, the ``directory`` giving each user's language, and ``track``, which
    counts a running listener as background work so that a shutdown waits for it."""

    def __init__(self, core: Core, client: AsyncWebClient, directory: Directory,
                 default_language: str, *,
                 track: Callable[[asyncio.Task[Any]], object]) -> None:
        self.core, self.client, self.directory = core, client, directory
        self.default_language = default_language
        self._track = track

    def _tracked(self) -> None:
        """Count the running listener as background work (a shutdown waits for it)."""
        task = asyncio.current_task()
        if task is not None:
            self._track(task)

    async def ack(self, ack: Callable[..., Awaitable[None]]) -> None:
        await ack()


class VoteModals(ModalAnswers):
    """Answers the Vote and stance buttons through ``core.voting``."""

    async def _lang(self, user_id: str) -> str:
        return language_of(await self.directory.locale_of(user_id), self.default_language)

    async def open(self, body: dict[str, Any]) -> None:
        """A Vote button: the card of the button's statement, in a new modal."""
        self._tracked()
        user_id = body.get("user", {}).get("id", "")
        value = (body.get("actions") or [{}])[0].get("value", "")
        lang = await self._lang(user_id)
        if not value.isdigit():
            return
        try:
            card = await self.core.voting.open(PLATFORM, user_id, int(value), lang)
        except PlanbotError as err:
            card = VoteCard(0, None, err.message(lang), translate("vote.title", lang), lang)
        await self.client.views_open(trigger_id=body.get("trigger_id", ""),
                                     view=card_view(card))

    async def command(self, body: dict[str, Any], lang: str) -> str | None:
        """``/planbot vote``: the channel round's first card in a modal; returns an error to
        answer instead (no round here...), None once the modal is open."""
        try:
            card = await self.core.voting.start(PLATFORM, body.get("channel_id", ""),
                                                body.get("user_id", ""), lang)
        except PlanbotError as err:
            return err.message(lang)
        await self.client.views_open(trigger_id=body.get("trigger_id", ""),
                                     view=card_view(card))
        return None

    async def vote(self, body: dict[str, Any]) -> None:
        """A stance button in the modal: recorded once, then the modal shows the next card."""
        self._tracked()
        action = (body.get("actions") or [{}])[0]
        match = STANCE_ACTION.match(action.get("action_id", ""))
        value = action.get("value", "")
        user = body.get("user", {})
        view = body.get("view") or {}
        if match is None or not value.isdigit() or not view.get("id"):
            return
        lang = await self._lang(user.get("id", ""))
        event = PrivateVote(
            platform=PLATFORM, workspace_id=(body.get("team") or {}).get("id", ""),
            channel_id="", occurred_at=self.core.clock.now(),
            event_key=f"slack:action:{user.get('id', '')}:{action.get('action_ts', '')}",
            actor=Actor(user.get("id", ""), user.get("name")),
            statement_id=int(value), stance=match.group(1))
        try:
            card = await self.core.voting.vote(event, lang)
        except PlanbotError as err:
            card = VoteCard(0, None, err.message(lang), translate("vote.title", lang), lang)
        await self.client.views_update(view_id=view["id"],
                                       view=card_view(card))
