"""What simulated people do on the local Slack: react, post, reply (with files, or as another
app), edit, delete, run slash commands; and the admins' changes (custom emoji, archived
channels, deactivated users). Mixed into :class:`LocalSlack`; each method returns once Slack's
delivery of the resulting event is over (see :mod:`.server`)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import TYPE_CHECKING

from integrations.sandbox.slack.webapi import (
    bot_profile,
    message_changed,
    message_deleted,
    parent_changed,
    reaction_event,
)

if TYPE_CHECKING:
    from integrations.sandbox.slack.delivery import AckResult, Delivery
    from integrations.sandbox.slack.http import Faults
    from integrations.sandbox.slack.interactive import Interactive
    from integrations.sandbox.slack.webapi import WebApi
    from integrations.sandbox.slack.workspace import Message, Workspace


def _message_event(msg: Message) -> dict:
    return {**msg.to_api(), "channel": msg.channel, "event_ts": msg.ts, "channel_type": "channel"}


class SlackPeople:
    """People's and admins' actions; needs ``workspace``, ``api``, ``delivery``,
    ``interactive``, ``requests``, ``url``, ``app_id``, ``send_event`` and friends from
    :class:`LocalSlack`."""

    workspace: Workspace
    api: WebApi
    delivery: Delivery
    interactive: Interactive
    requests: list
    app_id: str
    clock: Callable[[], float]
    faults: Faults

    @property
    def url(self) -> str:
        raise NotImplementedError  # LocalSlack.url

    async def send_event(self, event: dict) -> AckResult:
        raise NotImplementedError  # LocalSlack.send_event

    async def user_reacts(self, user_id: str, channel_id: str, message_id: str,
                          emoji: str) -> AckResult | None:
        """``user_id`` adds reaction ``emoji`` (a short name, e.g. ``+1::skin-tone-3``).

        Reacting twice changes nothing and sends nothing, as on Slack.
        """
        msg = self.workspace.message(channel_id, message_id)
        name = emoji.strip(":")
        users = msg.reactions.setdefault(name, [])
        if user_id in users:
            return None
        users.append(user_id)
        return await self.send_event(reaction_event("reaction_added", user_id, msg, name,
                                                    self.workspace.next_ts()))

    async def user_unreacts(self, user_id: str, channel_id: str, message_id: str,
                            emoji: str) -> AckResult | None:
        """``user_id`` removes their reaction ``emoji``; nothing happens if they had none."""
        msg = self.workspace.message(channel_id, message_id)
        name = emoji.strip(":")
        users = msg.reactions.get(name, [])
        if user_id not in users:
            return None
        users.remove(user_id)
        if not users:
            del msg.reactions[name]
        return await self.send_event(reaction_event("reaction_removed", user_id, msg, name,
                                                    self.workspace.next_ts()))

    async def moderator_clears_reactions(self, channel_id: str, message_id: str,
                                         emoji: str | None = None) -> None:
        """Remove every reaction (or only ``emoji``): Slack reports each as ``reaction_removed``."""
        msg = self.workspace.message(channel_id, message_id)
        for name in [emoji.strip(":")] if emoji else list(msg.reactions):
            for user_id in list(msg.reactions.get(name, [])):
                await self.user_unreacts(user_id, channel_id, message_id, name)

    async def user_posts(self, user_id: str, channel_id: str, text: str) -> str:
        """A top-level message in the channel; returns its ``ts``."""
        msg = self.workspace.post(channel_id, user_id, text)
        await self.send_event(_message_event(msg))
        return msg.ts

    async def user_replies(self, user_id: str, channel_id: str, thread_id: str, text: str, *,
                           broadcast: bool = False, reply_to: str | None = None,
                           bot_id: str | None = None,
                           files: dict[str, bytes] | None = None) -> str:
        """A reply in the thread rooted at ``thread_id``; ``broadcast`` also sends it to the
        channel (subtype ``thread_broadcast``). ``bot_id`` makes it another app's message
        (subtype ``bot_message`` with ``bot_profile``). ``files`` (name -> bytes) share files
        with it (subtype ``file_share``; ``text=""`` for an image-only reply). ``reply_to``
        exists for parity with the local Discord: Slack threads are flat. Slack then sends
        the parent's ``message_changed`` (reply count, latest reply). Returns the reply's ``ts``."""
        shared = [self._file(name, data, user_id) for name, data in (files or {}).items()]
        msg = self.workspace.post(channel_id, user_id, text, thread_ts=thread_id,
                                  reply_broadcast=broadcast, bot_id=bot_id, files=shared or None)
        if broadcast:
            msg.subtype = "thread_broadcast"
        elif bot_id:
            msg.subtype = "bot_message"
        elif shared:
            msg.subtype = "file_share"
        if bot_id:
            msg.bot_profile = bot_profile(bot_id, "A0OTHERAPP", self.workspace.users[user_id].name,
                                          self.workspace.team_id)
        event = _message_event(msg)
        if broadcast:
            event["root"] = self.workspace.message(channel_id, thread_id).to_api()
        await self.send_event(event)
        await self.send_event(parent_changed(self.workspace, msg))
        return msg.ts

    def _file(self, name: str, data: bytes, user_id: str) -> dict:
        """A file object (https://api.slack.com/types/file), trimmed."""
        file_id = f"F{len(self.api.uploads) + 1:09d}"
        self.api.uploads[file_id] = {"id": file_id, "name": name, "data": data}
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return {"id": file_id, "name": name, "title": name, "mimetype": kind, "size": len(data),
                "user": user_id, "filetype": name.rpartition(".")[2],
                "url_private": f"{self.url}/files/{file_id}/{name}"}

    def add_custom_emoji(self, name: str) -> None:
        """A custom emoji of the workspace (reactions.add accepts its name)."""
        self.workspace.custom_emoji.add(name)

    def rename_custom_emoji(self, old: str, new: str) -> None:
        """An admin renames a custom emoji; reactions already there show the new name."""
        self.workspace.rename_emoji(old, new)

    def archive_channel(self, channel_id: str) -> None:
        """Archive a channel: posting, editing and reacting there answer ``is_archived``."""
        self.workspace.archived.add(channel_id)

    def restrict_posting(self, channel_id: str) -> None:
        """An admin lets only admins post in the channel: conversations.info says
        ``is_read_only``, a top-level post answers ``restricted_action`` (thread replies
        stay allowed)."""
        self.workspace.read_only.add(channel_id)

    def deactivate_user(self, user_id: str) -> None:
        """Deactivate an account: users.info then says ``deleted: true``."""
        self.workspace.users[user_id].deleted = True

    def fail_channel(self, channel_id: str, error: str) -> None:
        """Every call naming ``channel_id`` answers ``error`` for good (e.g. ``is_archived``)."""
        self.faults.channel_failures[channel_id] = error

    async def user_edits(self, user_id: str, channel_id: str, message_id: str, text: str) -> None:
        """Edit a message: ``message_changed`` with the new message nested."""
        msg = self.workspace.message(channel_id, message_id)
        previous = msg.to_api()
        msg.text = text
        msg.edited = {"user": user_id, "ts": self.workspace.next_ts()}
        await self.send_event(message_changed(msg, previous, self.workspace.next_ts()))

    async def unfurl_links(self, channel_id: str, message_id: str) -> None:
        """Slack unfurls a link: ``message_changed`` with attachments and the same text."""
        msg = self.workspace.message(channel_id, message_id)
        previous = msg.to_api()
        msg.attachments = [{"id": 1, "title": "A link", "from_url": "https://example.org/"}]
        await self.send_event(message_changed(msg, previous, self.workspace.next_ts()))

    async def user_deletes(self, user_id: str, channel_id: str, message_id: str) -> None:
        """Delete a message: ``message_deleted``, or for a parent with replies a tombstone
        (``message_changed`` whose message has subtype ``tombstone``)."""
        previous = self.workspace.message(channel_id, message_id).to_api()
        msg, tombstone = self.workspace.remove(channel_id, message_id)
        event_ts = self.workspace.next_ts()
        if tombstone:
            await self.send_event(message_changed(msg, previous, event_ts))
            return
        await self.send_event(message_deleted(channel_id, message_id, previous, event_ts))
