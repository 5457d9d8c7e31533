"""``/planbot propose`` on Slack: the modal, and its submission (issue 14).

The command opens a modal for the person alone with ``views.open`` and the command's
``trigger_id`` (valid 3 s: https://api.slack.com/surfaces/modals): an ``input`` block with a
``static_select`` of the round's sections and one with a multiline ``plain_text_input``
limited to ``PROPOSAL_MAX_CHARS`` (https://api.slack.com/reference/block-kit/block-elements).
The channel rides in ``private_metadata``, since a ``view_submission`` names none. The
submission (``view.state.values``) is checked and recorded before the acknowledgement, which
answers within Slack's 3 s: bad input with ``response_action: errors`` under the field at
fault (the modal stays open with what was written), a proposal with ``response_action:
update`` to a thank-you view (https://api.slack.com/surfaces/modals#updating_response).
The view's id is the key: the same modal submitted twice is one proposal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BadArgument, PlanbotError
from bot.events import Actor, ProposalSubmitted
from bot.i18n import language_of, translate
from bot.platform import ChannelRef, PostedMessage, ProposalPost
from bot.proposals import ProposalForm
from bot.textsplit import one_message
from integrations.slack.blocks import SECTION_TEXT_LIMIT, section_block
from integrations.slack.mrkdwn import escape, markdown_to_mrkdwn
from integrations.slack.translate import PLATFORM
from integrations.slack.voting import ModalAnswers, vote_block

PROPOSE_CALLBACK = "planbot_propose"
SECTION_BLOCK, SECTION_ACTION = "planbot_section", "section"
TEXT_BLOCK, TEXT_ACTION = "planbot_text", "text"
MODAL_TITLE_LIMIT = 24
"""Characters of a modal's title and of its buttons (https://api.slack.com/reference/surfaces/views)."""
LABEL_LIMIT = 2000
PLACEHOLDER_LIMIT = 150
"""Characters of an input block's label and of a placeholder (Block Kit reference)."""


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": text[:limit]}


def proposal_view(form: ProposalForm, channel_id: str) -> dict:
    """The modal for ``form``, opened from ``channel_id``."""
    options = [{"text": _plain(title or str(sid), 75), "value": str(sid)}
               for sid, title in form.sections]
    select: dict[str, Any] = {"type": "static_select", "action_id": SECTION_ACTION,
                              "options": options}
    chosen = next((o for o in options if o["value"] == str(form.preselected)), None)
    if chosen is not None:
        select["initial_option"] = chosen
    text_input = {"type": "plain_text_input", "action_id": TEXT_ACTION, "multiline": True,
                  "max_length": form.max_chars,
                  "placeholder": _plain(form.labels["placeholder"], PLACEHOLDER_LIMIT)}
    return {
        "type": "modal", "callback_id": PROPOSE_CALLBACK, "private_metadata": channel_id,
        "title": _plain(form.labels["title"], MODAL_TITLE_LIMIT),
        "submit": _plain(form.labels["submit"], MODAL_TITLE_LIMIT),
        "close": _plain(form.labels["close"], MODAL_TITLE_LIMIT),
        "blocks": [
            {"type": "input", "block_id": SECTION_BLOCK, "element": select,
             "label": _plain(form.labels["section"], LABEL_LIMIT)},
            {"type": "input", "block_id": TEXT_BLOCK, "element": text_input,
             "label": _plain(form.labels["text"], LABEL_LIMIT)},
        ],
    }


def submitted_values(view: dict[str, Any]) -> tuple[str, str]:
    """(section statement id, text) from a submission's ``view.state.values``: a static
    select's ``selected_option.value`` and a text input's ``value``; "" when absent."""
    values = (view.get("state") or {}).get("values") or {}
    select = (values.get(SECTION_BLOCK) or {}).get(SECTION_ACTION) or {}
    text = (values.get(TEXT_BLOCK) or {}).get(TEXT_ACTION) or {}
    return (str((select.get("selected_option") or {}).get("value") or ""),
            str(text.get("value") or ""))


class ProposalPosting:
    """What :class:`integrations.slack.platform.SlackPlatform` posts for a proposal
    (``ChatPlatform.post_proposal``) with its ``_client`` and its ``_seed`` (the seed
    reactions by their Slack names)."""

    _client: AsyncWebClient
    _seed: Callable[[str, str, ProposalPost], Awaitable[None]]

    async def post_proposal(self, channel: ChannelRef, thread_id: str,
                            proposal: ProposalPost) -> PostedMessage:
        """An anonymous proposal in the section's thread: its text in a section block (cut
        to 3,000 characters before escaping, and after: escapes lengthen it), its Vote
        button, then the seed reactions. Raises ``SlackApiError``."""
        body = markdown_to_mrkdwn(one_message(proposal.text, SECTION_TEXT_LIMIT))
        blocks = [section_block(body[:SECTION_TEXT_LIMIT])]
        if proposal.vote_on is not None:
            blocks.append(vote_block(proposal.vote_on.statement_id, proposal.vote_on.language))
        resp = await self._client.chat_postMessage(
            channel=channel.channel_id, thread_ts=thread_id, text=body, blocks=blocks,
            unfurl_links=False, unfurl_media=False)
        await self._seed(channel.channel_id, resp["ts"], proposal)
        return PostedMessage(channel, resp["ts"], thread_id, 0)


class ProposalModals(ModalAnswers):
    """``/planbot propose`` and its modal's submissions through ``core.proposals``."""

    async def command(self, body: dict[str, Any], lang: str) -> str | None:
        """``/planbot propose``: the form in a modal; returns an error to answer instead
        (no round here, its round closed), None once the modal is open."""
        channel_id = body.get("channel_id", "")
        try:
            form = await self.core.proposals.form(PLATFORM, channel_id, lang)
        except PlanbotError as err:
            return err.message(lang)
        await self.client.views_open(trigger_id=body.get("trigger_id", ""),
                                     view=proposal_view(form, channel_id))
        return None

    async def submit(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        """A submission: recorded once, then acknowledged with the thank-you view, or with
        the errors to show under the fields (module docstring)."""
        self._tracked()
        user = body.get("user") or {}
        view = body.get("view") or {}
        if not view.get("id"):
            await ack()  # not a view Slack opened: nothing to key it by
            return
        lang = language_of(await self.directory.locale_of(user.get("id", "")),
                           self.default_language)
        section, text = submitted_values(view)
        event = ProposalSubmitted(
            platform=PLATFORM, workspace_id=(body.get("team") or {}).get("id", ""),
            channel_id=str(view.get("private_metadata") or ""),
            occurred_at=self.core.clock.now(), event_key=f"slack:view:{view.get('id', '')}",
            actor=Actor(user.get("id", ""), user.get("name")), round_id=0,
            section_id=int(section) if section.isdigit() else 0, text=text)
        try:
            thanks = await self.core.proposals.submit(event, lang)
        except PlanbotError as err:
            field = TEXT_BLOCK if isinstance(err, BadArgument) else SECTION_BLOCK
            await ack(response_action="errors", errors={field: err.message(lang)})
            return
        await ack(response_action="update", view={
            "type": "modal", "title": view.get("title") or _plain("planbot", MODAL_TITLE_LIMIT),
            "close": _plain(translate("vote.close", lang), MODAL_TITLE_LIMIT),
            "blocks": [section_block(escape(thanks))]})
