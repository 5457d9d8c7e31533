"""The in-memory Slack workspace the local server serves: users, bots, channels, messages.

Shapes follow Slack's Web API objects (https://api.slack.com/types): a message is identified
by its channel and its ``ts`` (``"<seconds>.<microseconds:06d>"``), a reply carries the
parent's ``ts`` as ``thread_ts``, reactions are ``{"name", "users", "count"}`` lists.
Nothing here does I/O; :mod:`integrations.sandbox.slack.server` turns changes into events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class SlackApiFailure(Exception):
    """A Web API call that Slack answers with ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class User:
    """A workspace member (or a bot user): ``locale`` as users.info reports it (``fr-FR``).
    ``team_id`` is set for a member of another workspace of the same organisation (an
    org-wide install on Enterprise Grid): their slash commands carry that workspace's id."""

    id: str
    name: str
    locale: str = "fr-FR"
    is_bot: bool = False
    bot_id: str | None = None
    deleted: bool = False
    team_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The ``user`` object of users.info (with ``include_locale``)."""
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.name,
            "is_bot": self.is_bot,
            "deleted": self.deleted,
            "is_app_user": False,
            "updated": 0,
            "locale": self.locale,
            "profile": {"display_name": self.name, "real_name": self.name, "bot_id": self.bot_id},
        }


@dataclass
class Message:
    """One message; ``reactions`` maps a reaction name to the users holding it, in order."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    reply_broadcast: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    attachments: list[dict] | None = None
    files: list[dict] | None = None
    edited: dict[str, str] | None = None
    replies: list[str] = field(default_factory=list)
    app_id: str | None = None
    bot_profile: dict | None = None

    reply_users: list[str] = field(default_factory=list)

    @property
    def is_reply(self) -> bool:
        """True for a message inside a thread (not the thread's parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self) -> dict[str, Any]:
        """The message object as conversations.history/replies and events carry it."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.subtype == "tombstone":
            out.update(subtype="tombstone", hidden=True, user="USLACKBOT")
        else:
            out["user"] = self.user
            if self.subtype:
                out["subtype"] = self.subtype
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.app_id:
            out["app_id"] = self.app_id
        if self.bot_profile:
            out["bot_profile"] = self.bot_profile
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.replies:
            out["reply_count"] = len(self.replies)
            out["reply_users_count"] = len(set(self.reply_users))
            out["reply_users"] = sorted(set(self.reply_users))
            out["latest_reply"] = self.replies[-1]
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.attachments:
            out["attachments"] = self.attachments
        if self.files:
            out["files"] = self.files
        if self.edited:
            out["edited"] = self.edited
        return out


class Workspace:
    """One team: users (bots included), user groups, channels and their messages.

    ``clock`` returns seconds since the epoch; message ``ts`` values come from it and are made
    strictly increasing (Slack guarantees unique ``ts`` per channel).
    """

    def __init__(self, team_id: str, *, clock: Callable[[], float] = time.time) -> None:
        self.team_id = team_id
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, str] = {}
        self.channel_teams: dict[str, str] = {}
        """A channel's workspace when it is another one of the organisation."""
        self.members: dict[str, set[str]] = {}
        self.archived: set[str] = set()
        self.read_only: set[str] = set()
        """Channels where posting is restricted (only admins post; the app neither)."""
        self.custom_emoji: set[str] = set()
        self._messages: dict[str, dict[str, Message]] = {}
        self._clock = clock
        self._last_micros = 0

    def add_user(self, user: User) -> User:
        """Register ``user`` (a member or a bot user)."""
        self.users[user.id] = user
        return user

    def add_channel(self, channel_id: str, name: str, team_id: str | None = None) -> None:
        """Create a public channel, in the workspace ``team_id`` of the organisation
        (default this one)."""
        self.channels[channel_id] = name
        if team_id is not None:
            self.channel_teams[channel_id] = team_id
        self._messages.setdefault(channel_id, {})

    def rename_emoji(self, old: str, new: str) -> None:
        """Rename a custom emoji: reactions with it now carry the new name (Slack keys emoji
        by name); raises ``KeyError`` if there is no such custom emoji."""
        self.custom_emoji.remove(old)
        self.custom_emoji.add(new)
        for messages in self._messages.values():
            for msg in messages.values():
                if old in msg.reactions:
                    msg.reactions[new] = msg.reactions.pop(old)

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str]) -> None:
        """Create a user group (``@handle``) holding ``user_ids``."""
        self.usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(user_ids)}

    def next_ts(self) -> str:
        """A fresh ``ts``, strictly greater than every earlier one."""
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def channel_messages(self, channel_id: str) -> dict[str, Message]:
        """Messages of a channel by ``ts``; raises ``channel_not_found``."""
        try:
            return self._messages[channel_id]
        except KeyError:
            raise SlackApiFailure("channel_not_found") from None

    def message(self, channel_id: str, ts: str) -> Message:
        """One message; raises ``message_not_found``."""
        try:
            return self.channel_messages(channel_id)[ts]
        except KeyError:
            raise SlackApiFailure("message_not_found") from None

    def post(self, channel_id: str, user_id: str, text: str, **fields: Any) -> Message:
        """Store a new message; a reply is linked to its parent (``thread_not_found`` if none)."""
        messages = self.channel_messages(channel_id)
        thread_ts = fields.get("thread_ts")
        parent = None
        if thread_ts is not None:
            parent = messages.get(thread_ts)
            if parent is None:
                raise SlackApiFailure("thread_not_found")
            if parent.thread_ts is None:
                parent.thread_ts = parent.ts
        msg = Message(channel=channel_id, ts=self.next_ts(), user=user_id, text=text, **fields)
        messages[msg.ts] = msg
        if parent is not None:
            parent.replies.append(msg.ts)
            parent.reply_users.append(user_id)
        return msg

    def remove(self, channel_id: str, ts: str) -> tuple[Message, bool]:
        """Delete a message; returns it and whether it became a tombstone.

        A thread parent that still has replies stays as a tombstone (Slack keeps the thread);
        any other message disappears, and a reply leaves its parent's reply list.
        """
        msg = self.message(channel_id, ts)
        messages = self.channel_messages(channel_id)
        if msg.replies:
            msg.subtype, msg.text, msg.blocks = "tombstone", "This message was deleted.", None
            msg.reactions.clear()
            return msg, True
        del messages[ts]
        if msg.is_reply and msg.thread_ts in messages:
            parent = messages[msg.thread_ts]
            parent.replies.remove(ts)
            if msg.user in parent.reply_users:
                parent.reply_users.remove(msg.user)
            if parent.subtype == "tombstone" and not parent.replies:
                del messages[parent.ts]
        return msg, False

    def top_level(self, channel_id: str) -> list[Message]:
        """What conversations.history lists: parents and broadcast replies, oldest first."""
        return [
            m for m in self.channel_messages(channel_id).values()
            if not m.is_reply or m.reply_broadcast
        ]

    def thread(self, channel_id: str, thread_ts: str) -> list[Message]:
        """A thread's parent then its replies, oldest first (conversations.replies)."""
        messages = self.channel_messages(channel_id)
        parent = self.message(channel_id, thread_ts)
        return [parent, *(messages[ts] for ts in parent.replies)]
