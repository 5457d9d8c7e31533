"""``/planbot my-stances`` on Slack (issue 14): the caller's stances in a modal, with
buttons to change or withdraw each.

The command opens a modal for the caller alone (``views.open`` with the command's
``trigger_id``, https://api.slack.com/surfaces/modals): one page of stances, each a
``section`` block followed by an ``actions`` block ``planbot_mine_<statement>`` of buttons
``planbot_mine_<stance|withdraw>`` whose ``value`` is ``<statement>:<page>`` (an
``action_id`` need only be unique within its block:
https://api.slack.com/reference/block-kit/block-elements#button); a last ``actions`` block
holds the buttons to the other pages, ``planbot_mine_page_<page>`` valued
``<round>:<page>``. A click is acknowledged at once, handled, and the modal replaced by the
new list (``views.update``). A modal holds at most 100 blocks: a page shows
:data:`PAGE_SIZE` stances.
"""

from __future__ import annotations

import re
from typing import Any

from bot.errors import PlanbotError
from bot.events import Actor, PrivateVote
from bot.i18n import language_of, translate
from bot.my_stances import WITHDRAW, StanceList
from integrations.slack.blocks import section_block
from integrations.slack.mrkdwn import markdown_to_mrkdwn
from integrations.slack.translate import PLATFORM
from integrations.slack.voting import MODAL_TITLE_LIMIT, ModalAnswers

CHANGE_ACTION = re.compile(r"^planbot_mine_(agree|disagree|pass|withdraw)$")
PAGE_ACTION = re.compile(r"^planbot_mine_page_\d+$")
PAGE_SIZE = 10
"""Stances per page: two blocks each, well within a modal's 100."""
SECTION_TEXT_LIMIT = 3000
"""Characters of a section block's text (https://api.slack.com/reference/block-kit/blocks#section)."""
_STYLES = {"agree": "primary", "disagree": "danger"}


def list_view(mine: StanceList) -> dict:
    """The modal showing one page of ``mine``."""
    blocks: list[dict] = [section_block(markdown_to_mrkdwn(mine.heading)[:SECTION_TEXT_LIMIT])]
    for number, entry in enumerate(mine.entries, mine.page * PAGE_SIZE + 1):
        blocks.append(section_block(
            markdown_to_mrkdwn(f"{number}. {entry.line}")[:SECTION_TEXT_LIMIT]))
        if entry.actions:
            blocks.append({"type": "actions", "block_id": f"planbot_mine_{entry.statement_id}",
                           "elements": [_button(f"planbot_mine_{action}", label,
                                                f"{entry.statement_id}:{mine.page}",
                                                _STYLES.get(action))
                                        for action, label in entry.actions.items()]})
    if mine.nav:
        blocks.append({"type": "actions", "block_id": "planbot_mine_pages", "elements": [
            _button(f"planbot_mine_page_{page}", label, f"{mine.round_id}:{page}", None)
            for page, label in mine.nav.items()]})
    return {"type": "modal", "callback_id": "planbot_my_stances",
            "title": {"type": "plain_text", "text": mine.title[:MODAL_TITLE_LIMIT]},
            "close": {"type": "plain_text", "text": translate("vote.close", mine.lang)},
            "blocks": blocks}


def _button(action_id: str, label: str, value: str, style: str | None) -> dict:
    button = {"type": "button", "action_id": action_id, "value": value,
              "text": {"type": "plain_text", "text": label}}
    if style is not None:
        button["style"] = style
    return button


def _error_view(message: str, lang: str) -> dict:
    return {"type": "modal", "callback_id": "planbot_my_stances",
            "title": {"type": "plain_text",
                      "text": translate("mine.title", lang)[:MODAL_TITLE_LIMIT]},
            "close": {"type": "plain_text", "text": translate("vote.close", lang)},
            "blocks": [section_block(markdown_to_mrkdwn(message))]}


class StanceModals(ModalAnswers):
    """Answers ``/planbot my-stances`` and its buttons through ``core.my_stances``."""

    async def command(self, body: dict[str, Any], lang: str) -> str | None:
        """``/planbot my-stances``: the first page in a modal; returns an error to answer
        instead (no round here...), None once the modal is open."""
        try:
            await self.core.catch_up()  # the stances acknowledged just before
            mine = await self.core.my_stances.show(PLATFORM, body.get("channel_id", ""),
                                                   body.get("user_id", ""), lang, PAGE_SIZE)
        except PlanbotError as err:
            return err.message(lang)
        await self.client.views_open(trigger_id=body.get("trigger_id", ""), view=list_view(mine))
        return None

    async def click(self, body: dict[str, Any]) -> None:
        """A change, withdraw or page button in the modal: handled (a change or withdrawal
        exactly once), then the modal shows the list again."""
        self._tracked()
        action = (body.get("actions") or [{}])[0]
        user = body.get("user", {})
        view_id = (body.get("view") or {}).get("id")
        first, _, page = str(action.get("value", "")).partition(":")
        if not (view_id and first.isdigit() and page.isdigit()):
            return
        lang = language_of(await self.directory.locale_of(user.get("id", "")),
                           self.default_language)
        try:
            mine = await self._handle(body, action, int(first), int(page), lang)
        except PlanbotError as err:
            await self.client.views_update(view_id=view_id,
                                           view=_error_view(err.message(lang), lang))
            return
        if mine is not None:
            await self.client.views_update(view_id=view_id, view=list_view(mine))

    async def _handle(self, body: dict[str, Any], action: dict[str, Any], first: int,
                      page: int, lang: str) -> StanceList | None:
        user = body.get("user", {})
        if PAGE_ACTION.match(action.get("action_id", "")):
            return await self.core.my_stances.page(PLATFORM, user.get("id", ""), first, page,
                                                   lang, PAGE_SIZE)
        match = CHANGE_ACTION.match(action.get("action_id", ""))
        if match is None:
            return None
        event = PrivateVote(
            platform=PLATFORM, workspace_id=(body.get("team") or {}).get("id", ""),
            channel_id="", occurred_at=self.core.clock.now(),
            event_key=f"slack:action:{user.get('id', '')}:{action.get('action_ts', '')}",
            actor=Actor(user.get("id", ""), user.get("name")), statement_id=first,
            stance=None if match.group(1) == WITHDRAW else match.group(1))
        return await self.core.my_stances.change(event, lang, page, PAGE_SIZE)
