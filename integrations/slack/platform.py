"""Slack's implementation of :class:`bot.platform.ChatPlatform`, over ``AsyncWebClient``.

Methods used: ``chat.postMessage``, ``reactions.add``, ``reactions.get`` (``full``),
``conversations.replies`` (``oldest``, cursor pagination), ``files.uploadV2`` steps and
``auth.test`` (https://api.slack.com/methods). The client should come from
:func:`integrations.slack.client.make_web_client`, whose only retry handler is the rate-limit
one: a 429 means Slack did nothing, so waiting ``Retry-After`` and sending again never posts
twice, whereas retrying after a connection error could.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.events import Emoji, ReplyPosted
from bot.platform import (
    ChannelRef,
    DigestPost,
    OnPosted,
    PostedMessage,
    ProposalPost,
    ReactionState,
    SectionPost,
    VoteOn,
)
from bot.stances import SLACK_ALIASES
from bot.textsplit import one_message
from integrations.slack.blocks import BLOCKS_PER_MESSAGE, SECTION_TEXT_LIMIT, section_messages
from integrations.slack.checks import missing_permissions
from integrations.slack.directory import Directory
from integrations.slack.mrkdwn import markdown_to_mrkdwn
from integrations.slack.proposals import ProposalPosting
from integrations.slack.translate import reply_from_history
from integrations.slack.voting import vote_block

_log = logging.getLogger(__name__)

_VARIATION = ("\ufe0f", "\ufe0e")


def short_name(emoji: str) -> str | None:
    """The Slack short name for a seed emoji: ``👍`` -> ``+1``; a name given as ``:shrug:`` or
    ``shrug`` is kept. ``None`` for a Unicode emoji with no known name."""
    if emoji.isascii():
        return emoji.strip(":") or None
    bare = "".join(ch for ch in emoji if ch not in _VARIATION)
    for name, char in SLACK_ALIASES.items():
        if char == bare:
            return name
    return None


class SlackPlatform(ProposalPosting):
    """Posts and reads on one workspace with ``client`` (a bot token ``xoxb-``);
    ``directory`` tells other apps' users apart (default: one of its own on ``client``)."""

    name = "slack"

    def __init__(self, client: AsyncWebClient, directory: Directory | None = None) -> None:
        self._client = client
        self.directory = directory or Directory(client)
        self._bot_user_id: str | None = None

    async def bot_user_id(self) -> str:
        """The app's bot user id (``auth.test``, asked once)."""
        if self._bot_user_id is None:
            self._bot_user_id = (await self._client.auth_test())["user_id"]
        return self._bot_user_id

    async def post_section(self, channel: ChannelRef, section: SectionPost,
                           on_posted: OnPosted | None = None) -> list[PostedMessage]:
        """Post the section's messages in order (``on_posted`` awaited with them), then seed
        reactions on the first one.

        Returns one :class:`PostedMessage` per message; all share the first message's ``ts``
        as ``thread_id``, since replies go in that thread. Raises ``SlackApiError``.
        """
        posted: list[PostedMessage] = []
        # One block is kept free on the first message for the Vote button.
        payloads = section_messages(section, blocks_per_message=BLOCKS_PER_MESSAGE - 1)
        if section.stance_mode != "reactions":
            payloads[0]["blocks"].append(vote_block(section.statement_id, section.language))
        for part, payload in enumerate(payloads):
            resp = await self._client.chat_postMessage(
                channel=channel.channel_id, unfurl_links=False, unfurl_media=False, **payload)
            root = posted[0].message_id if posted else resp["ts"]
            posted.append(PostedMessage(channel, resp["ts"], root, part))
            if on_posted is not None:
                await on_posted(posted[-1:])  # each part recorded as soon as it is out
        await self._seed(channel.channel_id, posted[0].message_id, section)
        return posted

    async def finish_section(self, channel: ChannelRef, message_id: str,
                             section: SectionPost) -> None:
        """Add the seed reactions the section may lack (a Slack thread needs no creating)."""
        await self._seed(channel.channel_id, message_id, section)

    async def _seed(self, channel_id: str, ts: str, post: SectionPost | ProposalPost) -> None:
        for emoji in post.seed_emoji:
            name = short_name(emoji)
            if name is None:
                _log.warning("no Slack name for seed emoji %r; not seeded", emoji)
                continue
            await self._react(channel_id, ts, name)

    async def _react(self, channel_id: str, ts: str, name: str) -> None:
        try:
            await self._client.reactions_add(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise

    async def post_notice(self, channel: ChannelRef, text: str) -> list[PostedMessage]:
        """``text`` as escaped ``mrkdwn`` in one message (a notice is far below Slack's
        40,000 characters). Raises ``SlackApiError``."""
        resp = await self._client.chat_postMessage(
            channel=channel.channel_id, text=markdown_to_mrkdwn(text),
            unfurl_links=False, unfurl_media=False)
        return [PostedMessage(channel, resp["ts"], None, 0)]

    async def post_copy(self, channel: ChannelRef, thread_id: str, text: str,
                        vote_on: VoteOn | None = None) -> PostedMessage:
        """A reply from elsewhere, copied into the section's thread as escaped ``mrkdwn``
        (cut to one section block's 3,000 characters). No Vote button: ``chat.update``
        of the copy's text (following the author's edits) would have to rebuild its blocks;
        ``/planbot vote`` reaches the reply. Raises ``SlackApiError``."""
        # Cut before escaping, so no entity (&amp;) is cut in half; a message's text may
        # hold 40,000 characters, room enough for the escapes to grow.
        body = markdown_to_mrkdwn(one_message(text, SECTION_TEXT_LIMIT))
        resp = await self._client.chat_postMessage(
            channel=channel.channel_id, thread_ts=thread_id, text=body,
            unfurl_links=False, unfurl_media=False)
        return PostedMessage(channel, resp["ts"], thread_id, 0)

    async def edit_copy(self, channel: ChannelRef, message_id: str, text: str) -> None:
        """``chat.update`` on the app's copy. Raises ``SlackApiError``."""
        await self._client.chat_update(
            channel=channel.channel_id, ts=message_id,
            text=markdown_to_mrkdwn(one_message(text, SECTION_TEXT_LIMIT)))

    async def delete_copy(self, channel: ChannelRef, message_id: str) -> None:
        """``chat.delete`` on the app's copy; ``message_not_found`` is fine. Raises
        ``SlackApiError`` otherwise."""
        try:
            await self._client.chat_delete(channel=channel.channel_id, ts=message_id)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise

    async def close_thread(self, channel: ChannelRef, thread_id: str, note: str) -> str:
        """Post ``note`` in the section's thread; Slack has no way to close a thread, so
        later replies are told apart by the store (marked late): the thread stays ``open``.
        Raises ``SlackApiError``."""
        await self._client.chat_postMessage(
            channel=channel.channel_id, thread_ts=thread_id, text=markdown_to_mrkdwn(note),
            unfurl_links=False, unfurl_media=False)
        return "open"

    async def post_digest(self, channel: ChannelRef, digest: DigestPost) -> list[PostedMessage]:
        """Post each part (``{"text", "blocks"?}``) in order; files go in the first part's
        thread. Raises ``SlackApiError``."""
        posted: list[PostedMessage] = []
        for part, payload in enumerate(digest.parts):
            resp = await self._client.chat_postMessage(
                channel=channel.channel_id, text=payload.get("text", ""),
                blocks=payload.get("blocks"), unfurl_links=False, unfurl_media=False)
            root = posted[0].message_id if posted else resp["ts"]
            posted.append(PostedMessage(channel, resp["ts"], root, part))
        if digest.files and posted:
            await self._client.files_upload_v2(
                channel=channel.channel_id, thread_ts=posted[0].message_id,
                file_uploads=[{"file": data, "filename": name, "title": name}
                              for name, data in digest.files.items()])
        return posted

    async def fetch_reactions(self, channel: ChannelRef, message_id: str) -> list[ReactionState]:
        """Reactions on one message (``reactions.get`` with ``full``), bot users (the app's
        own and other apps', :meth:`Directory.is_bot`) reported apart in ``bot_user_ids``.
        Raises ``SlackApiError`` (``message_not_found``)."""
        bot = await self.bot_user_id()
        resp = await self._client.reactions_get(channel=channel.channel_id, timestamp=message_id,
                                                full=True)
        states = []
        for reaction in (resp.get("message") or {}).get("reactions") or []:
            users = reaction.get("users") or []
            bots = {u for u in users if u == bot or await self.directory.is_bot(u)}
            states.append(ReactionState(
                emoji=Emoji(reaction["name"]),
                user_ids=tuple(u for u in users if u not in bots),
                bot_user_ids=tuple(u for u in users if u in bots),
                by_me=bot in users,
            ))
        return states

    async def missing_permissions(self, channel: ChannelRef, lang: str) -> tuple[str, ...]:
        """See :func:`integrations.slack.checks.missing_permissions`."""
        return await missing_permissions(self._client, channel.channel_id, lang)

    def describe_failure(self, error: Exception) -> str | None:
        """Slack's error code (``msg_too_long``, ``not_in_channel``,
        https://api.slack.com/methods/chat.postMessage#errors), else the HTTP status; a
        network failure by its kind; ``None`` for anything else."""
        if isinstance(error, SlackApiError):
            return str(error.response.get("error") or f"HTTP {error.response.status_code}")
        if isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
            return type(error).__name__
        return None

    async def fetch_replies(self, channel: ChannelRef, thread_id: str,
                            after_message_id: str | None) -> list[ReplyPosted]:
        """Replies in the thread after ``after_message_id`` (exclusive), oldest first, as
        backfill events; bots' messages and the parent are left out. Raises ``SlackApiError``."""
        bot = await self.bot_user_id()
        replies: list[ReplyPosted] = []
        cursor = None
        while True:
            resp = await self._client.conversations_replies(
                channel=channel.channel_id, ts=thread_id, limit=200, cursor=cursor,
                oldest=after_message_id or None)
            for message in resp.get("messages") or []:
                reply = reply_from_history(message, workspace_id=channel.workspace_id,
                                           channel_id=channel.channel_id, bot_user_id=bot)
                if reply is not None:
                    replies.append(reply)
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return replies
