"""Web API methods of the local Slack, over the in-memory :class:`Workspace`.

Each method takes the call's parameters (query, form and JSON merged, values as sent) and
returns the JSON body of a successful answer, or raises :class:`SlackApiFailure`. Response
shapes and error codes follow the method pages under https://api.slack.com/methods/.
Changes that Slack reports to apps as events are passed to ``emit`` (an Events API ``event``
dict), which the server delivers without waiting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from integrations.sandbox.slack.workspace import Message, SlackApiFailure, Workspace

SECTION_TEXT_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
TEXT_LIMIT = 40_000
"""Characters of ``text`` beyond which chat.postMessage answers ``msg_too_long``
(https://api.slack.com/methods/chat.postMessage, "Truncating content")."""
STANDARD_EMOJI = frozenset({
    "+1", "-1", "thumbsup", "thumbsdown", "shrug", "man-shrugging", "woman-shrugging",
    "person_shrugging", "white_check_mark", "heavy_check_mark", "x", "tada", "eyes", "heart",
    "joy", "smile", "slightly_smiling_face", "thinking_face", "pray", "clap", "fire", "rocket",
    "raised_hands", "ok_hand", "wave", "100", "star", "bulb", "warning", "question",
    "exclamation", "sob", "cry", "rage", "muscle", "point_up", "memo", "speech_balloon",
})
"""Standard emoji names the local Slack knows: a subset of Slack's (those planbot and its
tests use, and common ones); any other name that is not a custom emoji is ``invalid_name``."""
SKIN_TONE = re.compile(r"::skin-tone-[2-6]$")
DISTINCT_REACTIONS = 50
"""Distinct reactions on one message before ``too_many_reactions`` (the sandbox's figure)."""


def validate_blocks(blocks: Any) -> list[dict] | None:
    """Parse and check ``blocks`` against Block Kit limits; raises ``invalid_blocks``.

    Limits: https://api.slack.com/reference/block-kit/blocks (50 blocks per message, section
    text 3,000 characters).
    """
    if blocks is None:
        return None
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not isinstance(blocks, list) or len(blocks) > BLOCKS_PER_MESSAGE:
        raise SlackApiFailure("invalid_blocks")
    for block in blocks:
        text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        if len(text) > SECTION_TEXT_LIMIT:
            raise SlackApiFailure("invalid_blocks")
    return blocks


def _truthy(value: Any) -> bool:
    return value in (True, "true", "1", 1)


class WebApi:
    """The methods the app may call, as the bot user ``bot_user_id`` / ``bot_id``."""

    def __init__(self, workspace: Workspace, *, bot_user_id: str, bot_id: str, app_id: str,
                 emit: Callable[[dict], None], socket_url: Callable[[], str],
                 upload_url: Callable[[str], str]) -> None:
        self.ws = workspace
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._emit = emit
        self._socket_url = socket_url
        self._upload_url = upload_url
        self.uploads: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []

    def methods(self) -> dict[str, Callable[[dict], dict]]:
        """Method name -> handler."""
        return {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "reactions.add": self.reactions_add,
            "reactions.get": self.reactions_get,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.info": self.conversations_info,
            "users.info": self.users_info,
            "usergroups.list": self.usergroups_list,
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
        }

    def auth_test(self, p: dict) -> dict:
        return {"url": "https://local.slack.test/", "team": "planbot", "user": "planbot",
                "team_id": self.ws.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def apps_connections_open(self, p: dict) -> dict:
        return {"url": self._socket_url()}

    def chat_post_message(self, p: dict) -> dict:
        channel = p.get("channel") or ""
        self.ws.channel_messages(channel)
        if channel in self.ws.archived:
            raise SlackApiFailure("is_archived")
        if self.bot_user_id not in self.ws.members.get(channel, ()):
            raise SlackApiFailure("not_in_channel")
        if channel in self.ws.read_only and not p.get("thread_ts"):
            raise SlackApiFailure("restricted_action")
        blocks = validate_blocks(p.get("blocks"))
        if not p.get("text") and not blocks:
            raise SlackApiFailure("no_text")
        if len(p.get("text") or "") > TEXT_LIMIT:
            raise SlackApiFailure("msg_too_long")
        broadcast = _truthy(p.get("reply_broadcast"))
        msg = self.ws.post(channel, self.bot_user_id, p.get("text") or "", blocks=blocks,
                           thread_ts=p.get("thread_ts"), bot_id=self.bot_id,
                           reply_broadcast=broadcast)
        if broadcast:
            msg.subtype = "thread_broadcast"
        msg.app_id, msg.bot_profile = self.app_id, self.bot_profile()
        self._emit({**msg.to_api(), "channel": channel, "event_ts": msg.ts,
                    "channel_type": "channel"})
        if msg.is_reply:
            self._emit(parent_changed(self.ws, msg))
        return {"channel": channel, "ts": msg.ts, "message": msg.to_api()}

    def bot_profile(self) -> dict:
        """The app's ``bot_profile`` (https://api.slack.com/types/bot... as messages carry it)."""
        return bot_profile(self.bot_id, self.app_id, "planbot", self.ws.team_id)

    def chat_update(self, p: dict) -> dict:
        msg = self.ws.message(p.get("channel") or "", p.get("ts") or "")
        if msg.channel in self.ws.archived:
            raise SlackApiFailure("is_archived")
        if msg.user != self.bot_user_id:
            raise SlackApiFailure("cant_update_message")
        previous = msg.to_api()
        msg.text = p.get("text") or msg.text
        msg.blocks = validate_blocks(p.get("blocks")) or msg.blocks
        msg.edited = {"user": self.bot_user_id, "ts": self.ws.next_ts()}
        self._emit(message_changed(msg, previous, self.ws.next_ts()))
        return {"channel": msg.channel, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def chat_delete(self, p: dict) -> dict:
        """The app deletes its own message: a ``message_deleted`` event follows."""
        msg = self.ws.message(p.get("channel") or "", p.get("ts") or "")
        if msg.user != self.bot_user_id:
            raise SlackApiFailure("cant_delete_message")
        previous = msg.to_api()
        self.ws.remove(msg.channel, msg.ts)
        self._emit(message_deleted(msg.channel, msg.ts, previous, self.ws.next_ts()))
        return {"channel": msg.channel, "ts": msg.ts}

    def chat_post_ephemeral(self, p: dict) -> dict:
        self.ws.channel_messages(p.get("channel") or "")
        if p.get("user") not in self.ws.users:
            raise SlackApiFailure("user_not_in_channel")
        self.ephemerals.append(dict(p))
        return {"message_ts": self.ws.next_ts()}

    def reactions_add(self, p: dict) -> dict:
        msg = self.ws.message(p.get("channel") or "", p.get("timestamp") or "")
        name = (p.get("name") or "").strip(":")
        base = SKIN_TONE.sub("", name)
        if base not in STANDARD_EMOJI and base not in self.ws.custom_emoji:
            raise SlackApiFailure("invalid_name")
        if msg.channel in self.ws.archived:
            raise SlackApiFailure("is_archived")
        if name not in msg.reactions and len(msg.reactions) >= DISTINCT_REACTIONS:
            raise SlackApiFailure("too_many_reactions")
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise SlackApiFailure("already_reacted")
        users.append(self.bot_user_id)
        self._emit(reaction_event("reaction_added", self.bot_user_id, msg, name,
                                  self.ws.next_ts()))
        return {}

    def reactions_get(self, p: dict) -> dict:
        msg = self.ws.message(p.get("channel") or "", p.get("timestamp") or "")
        return {"type": "message", "channel": msg.channel, "message": msg.to_api()}

    def conversations_replies(self, p: dict) -> dict:
        channel = p.get("channel") or ""
        thread = self.ws.thread(channel, p.get("ts") or "")
        parent, replies = thread[0], _window(thread[1:], p)
        page, next_cursor = _page(replies, p)
        return {"messages": [parent.to_api(), *(m.to_api() for m in page)],
                "has_more": bool(next_cursor),
                "response_metadata": {"next_cursor": next_cursor}}

    def conversations_history(self, p: dict) -> dict:
        messages = list(reversed(_window(self.ws.top_level(p.get("channel") or ""), p)))
        page, next_cursor = _page(messages, p)
        return {"messages": [m.to_api() for m in page], "has_more": bool(next_cursor),
                "pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0,
                "response_metadata": {"next_cursor": next_cursor}}

    def conversations_info(self, p: dict) -> dict:
        """A channel as https://api.slack.com/methods/conversations.info gives it (trimmed),
        with ``shared_team_ids``: the workspaces of the organisation it is in."""
        channel = p.get("channel") or ""
        if channel not in self.ws.channels:
            raise SlackApiFailure("channel_not_found")
        team = self.ws.channel_teams.get(channel, self.ws.team_id)
        return {"channel": {"id": channel, "name": self.ws.channels[channel], "is_channel": True,
                            "is_archived": channel in self.ws.archived,
                            "is_read_only": channel in self.ws.read_only, "is_private": False,
                            "shared_team_ids": [team],
                            "is_member": self.bot_user_id in self.ws.members.get(channel, ())}}

    def users_info(self, p: dict) -> dict:
        user = self.ws.users.get(p.get("user") or "")
        if user is None:
            raise SlackApiFailure("user_not_found")
        return {"user": user.to_api()}

    def usergroups_list(self, p: dict) -> dict:
        include = _truthy(p.get("include_users"))
        groups = [
            {**_usergroup(g, self.ws.team_id), **({"users": g["users"]} if include else {})}
            for g in self.ws.usergroups.values()
        ]
        return {"usergroups": groups}

    def files_get_upload_url(self, p: dict) -> dict:
        file_id = f"F{len(self.uploads) + 1:09d}"
        self.uploads[file_id] = {"id": file_id, "name": p.get("filename"), "data": None}
        return {"upload_url": self._upload_url(file_id), "file_id": file_id}

    def files_complete_upload(self, p: dict) -> dict:
        files = p.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        shared = []
        for f in files or []:
            upload = self.uploads.get(f.get("id", ""))
            if upload is None or upload["data"] is None:
                raise SlackApiFailure("file_not_found")
            upload["title"] = f.get("title")
            shared.append({"id": upload["id"], "name": upload["name"], "title": f.get("title")})
        channel = p.get("channel_id")
        if channel:
            self.ws.post(channel, self.bot_user_id, p.get("initial_comment") or "",
                         thread_ts=p.get("thread_ts"), bot_id=self.bot_id, files=shared)
        return {"files": shared}


def _usergroup(group: dict, team_id: str) -> dict:
    """A user group object (https://api.slack.com/types/usergroup)."""
    return {"id": group["id"], "team_id": team_id, "is_usergroup": True, "is_subteam": True,
            "name": group["handle"], "description": "", "handle": group["handle"],
            "is_external": False, "date_create": 0, "date_update": 0, "date_delete": 0,
            "auto_type": None, "auto_provision": False, "enterprise_subteam_id": "",
            "created_by": "USLACKBOT", "updated_by": "USLACKBOT", "deleted_by": None,
            "prefs": {"channels": [], "groups": []}, "user_count": len(group["users"])}


def bot_profile(bot_id: str, app_id: str, name: str, team_id: str) -> dict:
    """A ``bot_profile`` object as messages of apps carry it."""
    icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_48.png"
    return {"id": bot_id, "deleted": False, "name": name, "updated": 0, "app_id": app_id,
            "icons": {"image_36": icon, "image_48": icon, "image_72": icon}, "team_id": team_id}


def parent_changed(ws: Workspace, reply: Message) -> dict:
    """The ``message_changed`` of a thread's parent that follows each reply: its
    ``reply_count``, ``reply_users``, ``latest_reply`` changed; it is not a reply."""
    parent = ws.message(reply.channel, reply.thread_ts or "")
    previous = parent.to_api()
    previous["reply_count"] = len(parent.replies) - 1
    return message_changed(parent, previous, ws.next_ts())


def reaction_event(kind: str, user_id: str, msg: Message, name: str, event_ts: str) -> dict:
    """A ``reaction_added`` / ``reaction_removed`` event on ``msg``."""
    return {"type": kind, "user": user_id, "reaction": name, "item_user": msg.user,
            "item": {"type": "message", "channel": msg.channel, "ts": msg.ts},
            "event_ts": event_ts}


def message_changed(msg: Message, previous: dict, event_ts: str) -> dict:
    """A ``message`` event of subtype ``message_changed``: the new message is nested."""
    return {"type": "message", "subtype": "message_changed", "hidden": True,
            "channel": msg.channel, "ts": event_ts, "event_ts": event_ts,
            "message": msg.to_api(), "previous_message": previous, "channel_type": "channel"}


def message_deleted(channel: str, ts: str, previous: dict, event_ts: str) -> dict:
    """A ``message`` event of subtype ``message_deleted``."""
    return {"type": "message", "subtype": "message_deleted", "hidden": True,
            "channel": channel, "ts": event_ts, "event_ts": event_ts, "deleted_ts": ts,
            "previous_message": previous, "channel_type": "channel"}


def _window(messages: list[Message], p: dict) -> list[Message]:
    """Keep messages within ``oldest``/``latest`` (exclusive unless ``inclusive``)."""
    inclusive = _truthy(p.get("inclusive"))
    oldest, latest = p.get("oldest"), p.get("latest")

    def ok(m: Message) -> bool:
        t = float(m.ts)
        after_oldest = oldest is None or t > float(oldest) or (inclusive and t == float(oldest))
        before_latest = latest is None or t < float(latest) or (inclusive and t == float(latest))
        return after_oldest and before_latest

    return [m for m in messages if ok(m)]


def _page(items: list, p: dict) -> tuple[list, str]:
    """Cursor pagination: the cursor is the offset of the next page, as a string."""
    start = int(p.get("cursor") or 0)
    limit = int(p.get("limit") or 100)
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else "")
