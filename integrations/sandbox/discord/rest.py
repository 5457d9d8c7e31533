"""The local Discord REST API: the routes planbot's bot calls, over the shared :class:`World`.

Routes and payloads follow Discord's API reference (resources/message, resources/channel,
interactions/receiving-and-responding, resources/application-commands). Every request is
recorded; an unknown route answers 404 and is recorded with ``known=False``. JSON answers carry
``Content-Type: application/json`` exactly, since discord.py does not parse ``; charset=utf-8``
as JSON (docs/platform-facts.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from integrations.sandbox.discord.world import (
    EPHEMERAL_FLAG,
    Message,
    emoji_payload,
)

if TYPE_CHECKING:
    from integrations.sandbox.discord.sandbox import DiscordSandbox

_log = logging.getLogger(__name__)

API = "/api/v10"
# The parsed JSON body, stored on the request by the recording middleware.
JSON_BODY = web.RequestKey("json_body", object)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the bot made: ``path`` without the ``/api/v10`` prefix."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    known: bool
    at: datetime


@dataclass
class RateLimitFault:
    """Answer the next ``count`` requests matching ``method`` and ``path_regex`` with 429."""

    method: str
    path_regex: str
    retry_after: float
    count: int = 1


@dataclass
class InteractionRecord:
    """What the bot answered to one interaction: callbacks then follow-ups, in order."""

    id: str
    token: str
    created_at: datetime
    callbacks: list[tuple[datetime, dict]] = field(default_factory=list)
    followups: list[tuple[datetime, dict]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with the exact ``application/json`` content type discord.py expects."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def _error(status: int, message: str, code: int = 0) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


class Rest:
    """REST handlers bound to a sandbox (its world, gateway, record and faults)."""

    def __init__(self, sandbox: DiscordSandbox) -> None:
        self.sb = sandbox
        self.world = sandbox.world

    def routes(self) -> list[web.RouteDef]:
        p = API
        msg = p + "/channels/{channel_id}/messages/{message_id}"
        return [
            web.get(p + "/users/@me", self.me),
            web.get(p + "/oauth2/applications/@me", self.application),
            web.get(p + "/gateway/bot", self.gateway_bot),
            web.put(p + "/applications/{app_id}/commands", self.sync_commands),
            web.put(p + "/applications/{app_id}/guilds/{guild_id}/commands", self.sync_commands),
            web.get(p + "/applications/{app_id}/commands", self.list_commands),
            web.get(p + "/applications/{app_id}/guilds/{guild_id}/commands", self.list_commands),
            web.get(p + "/channels/{channel_id}", self.get_channel),
            web.post(p + "/channels/{channel_id}/messages", self.create_message),
            web.get(p + "/channels/{channel_id}/messages", self.history),
            web.get(msg, self.get_message),
            web.patch(msg, self.edit_message),
            web.delete(msg, self.delete_message),
            web.post(msg + "/threads", self.start_thread),
            web.put(msg + "/reactions/{emoji}/@me", self.add_own_reaction),
            web.delete(msg + "/reactions/{emoji}/@me", self.remove_own_reaction),
            web.get(msg + "/reactions/{emoji}", self.reaction_users),
            web.post(p + "/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post(p + "/webhooks/{app_id}/{token}", self.followup),
            # Editing the original answer is recorded like a follow-up.
            web.patch(p + "/webhooks/{app_id}/{token}/messages/@original", self.followup),
        ]

    # -- middleware: record, authenticate, inject faults ---------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if not request.path.startswith(API + "/") and request.match_info.http_exception is None:
            return await handler(request)  # the gateway websocket
        body = await _read_body(request)
        path = request.path.removeprefix(API)
        known = request.match_info.http_exception is None
        response: web.StreamResponse
        fault = self._take_fault(request.method, path) if known else None
        if not known:
            response = _error(404, "404: Not Found")
        elif fault is not None:
            response = json_response(
                {"message": "You are being rate limited.", "retry_after": fault, "global": False},
                status=429,
                headers={"Via": "1.1 google", "Retry-After": str(fault), "X-RateLimit-Scope": "user"},
            )
        elif not self._authorised(request, path):
            response = _error(401, "401: Unauthorized")
        else:
            request[JSON_BODY] = body
            try:
                response = await handler(request)
            except KeyError as exc:
                response = _error(404, f"Unknown {exc.args[0]}", 10008)
        self.sb.requests.append(
            RecordedRequest(
                request.method,
                path,
                dict(request.query),
                body,
                response.status,
                known,
                self.world.now(),
            )
        )
        return response

    def _authorised(self, request: web.Request, path: str) -> bool:
        # Interaction callbacks and webhook follow-ups are authorised by their token instead.
        if path.startswith(("/interactions/", "/webhooks/")):
            return True
        return request.headers.get("Authorization") == f"Bot {self.sb.token}"

    def _take_fault(self, method: str, path: str) -> float | None:
        for fault in self.sb.rate_limits:
            if fault.count > 0 and fault.method == method and re.fullmatch(fault.path_regex, path):
                fault.count -= 1
                return fault.retry_after
        return None

    # -- identity ------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        return json_response(self.world.bot.payload())

    async def application(self, request: web.Request) -> web.Response:
        bot = self.world.bot
        return json_response(
            {
                "id": self.world.application_id,
                "name": bot.username,
                "description": "planbot (local)",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": bot.payload(),
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "team": None,
            }
        )

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.sb.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def sync_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info.get("guild_id")
        commands = []
        for payload in request[JSON_BODY]:
            command = {
                **payload,
                "id": self.world.ids.next(),
                "application_id": self.world.application_id,
                "version": self.world.ids.next(),
                "type": payload.get("type", 1),
            }
            if guild_id:
                command["guild_id"] = guild_id
            commands.append(command)
        self.sb.commands[guild_id] = commands
        return json_response(commands)

    async def list_commands(self, request: web.Request) -> web.Response:
        return json_response(self.sb.commands.get(request.match_info.get("guild_id"), []))

    # -- channels and messages -----------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self.world.channels[request.match_info["channel_id"]].payload())

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.world.channels[request.match_info["channel_id"]]
        if channel.archived:
            return _error(400, "Thread is archived", 50083)
        data = request[JSON_BODY]
        error = _check_message(data)
        if error:
            return _error(400, error, 50035)
        message = self.world.post(
            channel.id,
            self.world.bot,
            data.get("content") or "",
            embeds=data.get("embeds") or [],
            attachments=data.get("_files", []),
            reference_id=(data.get("message_reference") or {}).get("message_id"),
        )
        self.sb.sent_allowed_mentions[message.id] = data.get("allowed_mentions")
        await self.sb.gateway.dispatch_message("MESSAGE_CREATE", message)
        return json_response(message.payload(me=self.world.bot.id))

    async def history(self, request: web.Request) -> web.Response:
        """Messages newest first; ``after`` gives the ``limit`` oldest after it (docs)."""
        channel = self.world.channels[request.match_info["channel_id"]]
        q = request.query
        limit = min(int(q.get("limit", 50)), 100)
        found = self.world.history(channel.id)
        if "after" in q:
            found = [m for m in found if int(m.id) > int(q["after"])][:limit]
        else:
            if "before" in q:
                found = [m for m in found if int(m.id) < int(q["before"])]
            found = found[-limit:]
        return json_response([self._visible(m) for m in reversed(found)])

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._visible(self._message(request)))

    async def edit_message(self, request: web.Request) -> web.Response:
        """The bot edits its own message: ``content`` replaced, MESSAGE_UPDATE dispatched."""
        message = self._message(request)
        if message.author.id != self.world.bot.id:
            return _error(403, "Cannot edit a message authored by another user", 50005)
        data = request[JSON_BODY]
        error = _check_message(data)
        if error:
            return error
        message.content = data.get("content", message.content)
        message.edited_at = self.world.now()
        await self.sb.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return json_response(self._visible(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        """The bot deletes a message (its own, or any with Manage Messages): MESSAGE_DELETE."""
        message = self._message(request)
        del self.world.messages[message.id]
        await self.sb.gateway.dispatch(
            "MESSAGE_DELETE",
            {"id": message.id, "channel_id": message.channel_id, "guild_id": message.guild_id})
        return web.Response(status=204)

    def _visible(self, message: Message) -> dict:
        return message.payload(
            me=self.world.bot.id, withhold_content=not self.sb.message_content_enabled
        )

    def _message(self, request: web.Request) -> Message:
        message = self.world.messages[request.match_info["message_id"]]
        if message.channel_id != request.match_info["channel_id"]:
            raise KeyError("message")
        return message

    async def start_thread(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.thread_id is not None:
            return _error(400, "A thread has already been created for this message", 160004)
        data = request[JSON_BODY]
        thread = self.world.start_thread(message, data["name"][:100], self.world.bot)
        payload = {**thread.payload(), "newly_created": True}
        await self.sb.gateway.dispatch("THREAD_CREATE", payload)
        return json_response(thread.payload())

    # -- reactions -----------------------------------------------------------------------

    async def add_own_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if self.world.channels[message.channel_id].archived:
            return _error(400, "Thread is archived", 50083)
        try:
            await self.sb.apply_reaction(self.world.bot.id, message, request.match_info["emoji"])
        except PermissionError as exc:
            return _error(400, str(exc), 30010)
        return web.Response(status=204)

    async def remove_own_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        await self.sb.remove_reaction(self.world.bot.id, message, request.match_info["emoji"])
        return web.Response(status=204)

    async def reaction_users(self, request: web.Request) -> web.Response:
        message = self._message(request)
        key, _ = emoji_payload(request.match_info["emoji"])
        _, users = message.reactions.get(key, ({}, []))
        q = request.query
        after = int(q.get("after", 0))
        limit = min(int(q.get("limit", 25)), 100)
        ids = sorted((u for u in users if int(u) > after), key=int)[:limit]
        return json_response([self.world.users[u].payload() for u in ids])

    # -- interactions --------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        record = self.sb.interactions.get(request.match_info["interaction_id"])
        if record is None or record.token != request.match_info["token"]:
            return _error(404, "Unknown interaction", 10062)
        if record.callbacks:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        data = request[JSON_BODY]
        record.callbacks.append((self.world.now(), data))
        kind = data["type"]
        inner = data.get("data") or {}
        ephemeral = bool(int(inner.get("flags", 0)) & EPHEMERAL_FLAG)
        resource: dict = {"type": kind}
        if kind == 4:
            resource["message"] = self._interaction_message(record, inner)
            record.answered.set()
        return json_response(
            {
                "interaction": {
                    "id": record.id,
                    "type": 2,
                    "response_message_id": None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": resource,
            }
        )

    async def followup(self, request: web.Request) -> web.Response:
        record = self.sb.interaction_by_token(request.match_info["token"])
        if record is None or not record.callbacks:
            return _error(404, "Unknown Webhook", 10015)
        data = request[JSON_BODY]
        record.followups.append((self.world.now(), data))
        record.answered.set()
        return json_response(self._interaction_message(record, data))

    def _interaction_message(self, record: InteractionRecord, data: dict) -> dict:
        bot = self.world.bot
        channel_id = self.sb.interaction_channels[record.id]
        return {
            "id": self.world.ids.next(),
            "channel_id": channel_id,
            "author": bot.payload(),
            "content": data.get("content") or "",
            "timestamp": self.world.now().isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": data.get("embeds") or [],
            "pinned": False,
            "type": 20,
            "flags": int(data.get("flags", 0)),
            "webhook_id": self.world.application_id,
            "application_id": self.world.application_id,
        }


def _check_message(data: dict) -> str | None:
    """Discord's own validation of a message body (docs: resources/message#create-message)."""
    content = data.get("content") or ""
    embeds = data.get("embeds") or []
    if not content and not embeds and not data.get("_files"):
        return "Cannot send an empty message"
    if len(content) > 2000:
        return "content: Must be 2000 or fewer in length."
    if len(embeds) > 10:
        return "embeds: Must be 10 or fewer in length."
    for embed in embeds:
        if len(embed.get("description") or "") > 4096:
            return "embeds.description: Must be 4096 or fewer in length."
        total = sum(len(embed.get(k) or "") for k in ("title", "description"))
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
        total += len((embed.get("footer") or {}).get("text", ""))
        if total > 6000:
            return "embeds: Embed size exceeds maximum size of 6000"
    return None


async def _read_body(request: web.Request) -> Any:
    """JSON body, or the ``payload_json`` part of a multipart body with files listed."""
    if request.content_type == "application/json":
        return await request.json()
    if request.content_type.startswith("multipart/"):
        payload: dict = {}
        files = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                content = await part.read()
                files.append(
                    {
                        "id": str(len(files)),
                        "filename": part.filename,
                        "size": len(content),
                        "url": f"local://{part.filename}",
                        "proxy_url": f"local://{part.filename}",
                    }
                )
        payload["_files"] = files
        return payload
    return None
