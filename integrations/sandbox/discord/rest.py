"""The local Discord REST API: the routes planbot's bot calls, over the shared :class:`World`.

Routes and payloads follow Discord's API reference (resources/message, resources/channel,
interactions/receiving-and-responding, resources/application-commands) and its OpenAPI
description (github.com/discord/discord-api-spec; the suite checks every answer against it,
tests/integrations/conformance.py). Every request is recorded with its answer; an unknown
route answers 404 and is recorded with ``known=False``. Every answer carries the
``X-RateLimit-*`` headers (:mod:`.ratelimits`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from integrations.sandbox.discord.interactions import Interactions
from integrations.sandbox.discord.messages import JSON_BODY, Messages
from integrations.sandbox.discord.ratelimits import rate_limit_headers, too_many
from integrations.sandbox.discord.reactions import Reactions
from integrations.sandbox.discord.responses import (
    INVALID_FORM_BODY,
    UNKNOWN_CHANNEL,
    UNKNOWN_MEMBER,
    UNKNOWN_USER,
    DiscordError,
    json_response,
)
from integrations.sandbox.discord.world import VIEW_CHANNEL

if TYPE_CHECKING:
    from integrations.sandbox.discord.sandbox import DiscordSandbox

_log = logging.getLogger(__name__)

API = "/api/v10"


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the bot made and its answer: ``path`` without the ``/api/v10``
    prefix, ``response`` the parsed JSON answer (None when empty), ``headers`` its headers."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    known: bool
    at: datetime
    response: Any = None
    headers: dict[str, str] | None = None
    template: str | None = None


class Rest:
    """REST handlers bound to a sandbox (its world, gateway, record, limits and faults)."""

    def __init__(self, sandbox: DiscordSandbox) -> None:
        self.sb = sandbox
        self.world = sandbox.world
        self.messages = Messages(sandbox)
        self.reactions = Reactions(sandbox)
        self.interactions = Interactions(sandbox)

    def routes(self) -> list[web.RouteDef]:
        p, m, i, r = API, self.messages, self.interactions, self.reactions
        msg = p + "/channels/{channel_id}/messages/{message_id}"
        hook = p + "/webhooks/{app_id}/{token}"
        return [
            web.get(p + "/users/@me", self.me),
            web.get(p + "/users/{user_id}", self.user),
            web.post(p + "/users/@me/channels", self.open_dm),
            web.get(p + "/oauth2/applications/@me", self.application),
            web.get(p + "/gateway/bot", self.gateway_bot),
            web.put(p + "/applications/{app_id}/commands", self.sync_commands),
            web.put(p + "/applications/{app_id}/guilds/{guild_id}/commands", self.sync_commands),
            web.get(p + "/applications/{app_id}/commands", self.list_commands),
            web.get(p + "/applications/{app_id}/guilds/{guild_id}/commands", self.list_commands),
            web.get(p + "/guilds/{guild_id}/members/{user_id}", self.member),
            web.get(p + "/channels/{channel_id}", self.get_channel),
            web.patch(p + "/channels/{channel_id}", m.edit_channel),
            web.post(p + "/channels/{channel_id}/threads", m.forum_post),
            web.post(p + "/channels/{channel_id}/messages", m.create_message),
            web.get(p + "/channels/{channel_id}/messages", m.history),
            web.get(msg, m.get_message),
            web.patch(msg, m.edit_message),
            web.delete(msg, m.delete_message),
            web.post(msg + "/threads", m.start_thread),
            web.put(msg + "/reactions/{emoji}/@me", r.add_own_reaction),
            web.delete(msg + "/reactions/{emoji}/@me", r.remove_own_reaction),
            web.get(msg + "/reactions/{emoji}", r.reaction_users),
            web.post(p + "/interactions/{interaction_id}/{token}/callback", i.callback),
            web.post(hook, i.followup),
            web.patch(hook + "/messages/@original", i.edit_original),
            web.patch(hook + "/messages/{message_id}", i.edit_followup),
        ]

    # -- middleware: clock, record, authenticate, limits and faults ------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if not request.path.startswith(API + "/") and request.match_info.http_exception is None:
            return await handler(request)  # the gateway websocket
        body = await _read_body(request)
        path = request.path.removeprefix(API)
        known = request.match_info.http_exception is None
        template = None
        if known:
            template = request.match_info.route.resource.canonical.removeprefix(API)
        await self.sb.catch_up()
        response = await self._answer(request, handler, body, path, template)
        self.sb.requests.append(
            RecordedRequest(request.method, path, dict(request.query), body, response.status,
                            known, self.world.now(), _parsed(response), dict(response.headers),
                            template)
        )
        return response

    async def _answer(self, request: web.Request, handler, body: Any, path: str,
                      template: str | None) -> web.Response:
        if template is None:
            return json_response({"message": "404: Not Found", "code": 0}, status=404)
        headers, wait = self.sb.buckets.take(request.method, template, path)
        fault = next((f for f in self.sb.faults if f.take(request.method, path)), None)
        if fault is not None and fault.status == 429:
            wait = fault.retry_after
        if wait is not None:
            limited = rate_limit_headers(self.sb.buckets.limit, 0, wait,
                                         headers["X-RateLimit-Bucket"], self.sb.buckets.epoch())
            data, all_headers = too_many(wait, limited)
            return json_response(data, status=429, headers=all_headers)
        try:
            if fault is not None:
                raise DiscordError(fault.status, fault.message, fault.code)
            if not self._authorised(request, path):
                raise DiscordError(401, "401: Unauthorized", 0)
            request[JSON_BODY] = body
            response = await handler(request)
        except DiscordError as exc:
            response = exc.response()
        except KeyError as exc:
            response = DiscordError(404, f"Unknown {exc.args[0]}", UNKNOWN_CHANNEL).response()
        response.headers.update(headers)
        return response

    def _authorised(self, request: web.Request, path: str) -> bool:
        # Interaction callbacks and webhook follow-ups are authorised by their token instead.
        if path.startswith(("/interactions/", "/webhooks/")):
            return True
        return request.headers.get("Authorization") == f"Bot {self.sb.token}"

    # -- identity ------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        return json_response({**self.world.bot.payload(), "mfa_enabled": False, "locale": "en-US",
                              "verified": True})

    async def open_dm(self, request: web.Request) -> web.Response:
        """Create DM (docs: resources/user#create-dm): the channel is opened whatever the
        user's settings; whether they accept the message is decided when it is sent."""
        user = self.world.users.get(str(request[JSON_BODY].get("recipient_id")))
        if user is None:
            raise DiscordError(400, "Invalid Form Body", INVALID_FORM_BODY)
        return json_response(self.world.open_dm(user).payload(user))

    async def user(self, request: web.Request) -> web.Response:
        user = self.world.users.get(request.match_info["user_id"])
        if user is None:
            raise DiscordError(404, "Unknown User", UNKNOWN_USER)
        return json_response(user.payload())

    async def member(self, request: web.Request) -> web.Response:
        """A member of the guild; one who left (or a deleted account) is 404 10007."""
        guild = self.world.guilds[request.match_info["guild_id"]]
        user = self.world.users.get(request.match_info["user_id"])
        if user is None or user.id not in guild.members:
            raise DiscordError(404, "Unknown Member", UNKNOWN_MEMBER)
        return json_response(self.world.member_payload(guild, user))

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
                "flags_new": "0",
                "type": None,
                "summary": "",
                "team": None,
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "approximate_guild_count": len(self.world.guilds),
                "approximate_user_install_count": 0,
                "approximate_user_authorization_count": 0,
                "explicit_content_filter": 0,
                "eligible_oauth2_scopes": ["bot", "applications.commands"],
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
                "description": "",
                "default_member_permissions": None,
                "contexts": None,
                **{k: v for k, v in payload.items() if v is not None},
                "integration_types": payload.get("integration_types") or [0],
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

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.world.channels.get(request.match_info["channel_id"])
        if channel is None:
            raise DiscordError(404, "Unknown Channel", UNKNOWN_CHANNEL)
        self.messages.require(channel, VIEW_CHANNEL)
        return json_response(channel.payload())


def _parsed(response: web.StreamResponse) -> Any:
    raw = getattr(response, "body", None)
    if not raw or response.content_type != "application/json":
        return None
    return json.loads(raw)


async def _read_body(request: web.Request) -> Any:
    """JSON body, or the ``payload_json`` part of a multipart body with the files under
    ``_files`` as (filename, bytes, content type)."""
    if request.content_type == "application/json":
        return await request.json()
    if request.content_type.startswith("multipart/"):
        payload: dict = {}
        files: list[tuple[str | None, bytes, str | None]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)  # Discord's form has no nested multipart
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                content = await part.read()
                files.append((part.filename, bytes(content), part.headers.get("Content-Type")))
        payload["_files"] = files
        return payload
    return None
