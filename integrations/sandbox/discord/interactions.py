"""Interaction answers on the local Discord: callbacks, follow-ups, edits, and their deadlines.

Docs: interactions/receiving-and-responding. The first answer (callback) must come within 3 s
of the interaction (else 404 10062 Unknown interaction); the token then serves follow-ups and
edits for 15 minutes (else 401 50027 Invalid Webhook Token). Both deadlines are read from the
sandbox clock. After a deferred answer (type 5), the first follow-up edits the deferred
("thinking…") message and keeps its ephemerality; later follow-ups are new messages. Callback
types: 4 message, 5 deferred message, 6 deferred update and 7 update (components only), 9 modal
(not in answer to a modal submit). Answers are kept on the :class:`InteractionRecord`, not in
the channel's history.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from integrations.sandbox.discord.messages import JSON_BODY, check_components
from integrations.sandbox.discord.responses import (
    ALREADY_ACKNOWLEDGED,
    INVALID_FORM_BODY,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    DiscordError,
    json_response,
)
from integrations.sandbox.discord.world import EPHEMERAL_FLAG, numbered

if TYPE_CHECKING:
    from integrations.sandbox.discord.sandbox import DiscordSandbox

FIRST_ANSWER = timedelta(seconds=3)
TOKEN_LIFETIME = timedelta(minutes=15)
LOADING_FLAG = 1 << 7
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 4, 5, 6, 7, 9


@dataclass
class InteractionRecord:
    """One interaction and what the bot answered: callbacks then follow-ups (request bodies,
    in order), ``messages`` the answer messages by id (the original first), ``modal`` the
    modal the bot opened, if any. ``message_id`` is the clicked message of a component."""

    id: str
    token: str
    created_at: datetime
    kind: int = APPLICATION_COMMAND
    channel_id: str = ""
    message_id: str | None = None
    user_id: str = ""
    callbacks: list[tuple[datetime, dict]] = field(default_factory=list)
    followups: list[tuple[datetime, dict]] = field(default_factory=list)
    messages: dict[str, dict] = field(default_factory=dict)
    original_id: str | None = None
    modal: dict | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class Interactions:
    """The callback and webhook routes of interactions."""

    def __init__(self, sandbox: DiscordSandbox) -> None:
        self.sb = sandbox
        self.world = sandbox.world

    def _by_token(self, request: web.Request) -> InteractionRecord:
        record = self.sb.interaction_by_token(request.match_info["token"])
        if record is None or request.match_info["app_id"] != self.world.application_id:
            raise DiscordError(404, "Unknown Webhook", UNKNOWN_WEBHOOK)
        if self.world.now() - record.created_at > TOKEN_LIFETIME:
            raise DiscordError(401, "Invalid Webhook Token", INVALID_WEBHOOK_TOKEN)
        if not record.callbacks:
            raise DiscordError(404, "Unknown Webhook", UNKNOWN_WEBHOOK)
        return record

    async def callback(self, request: web.Request) -> web.Response:
        record = self.sb.interactions.get(request.match_info["interaction_id"])
        if (record is None or record.token != request.match_info["token"]
                or self.world.now() - record.created_at > FIRST_ANSWER):
            raise DiscordError(404, "Unknown interaction", UNKNOWN_INTERACTION)
        if record.callbacks:
            raise DiscordError(400, "Interaction has already been acknowledged.", ALREADY_ACKNOWLEDGED)
        data = request[JSON_BODY]
        kind = data["type"]
        inner = data.get("data") or {}
        allowed = {MESSAGE, DEFERRED_MESSAGE}
        if record.kind != APPLICATION_COMMAND:
            allowed |= {DEFERRED_UPDATE, UPDATE_MESSAGE}
        if record.kind != MODAL_SUBMIT:
            allowed.add(MODAL)
        if kind not in allowed:
            raise DiscordError(400, "Interaction response type not allowed here", INVALID_FORM_BODY)
        record.callbacks.append((self.world.now(), data))
        # The answer describes the resource only for a message sent or updated (OpenAPI:
        # InteractionCallbackResponse); a defer's "thinking" message is not returned.
        answer: dict = {}
        if kind in (MESSAGE, DEFERRED_MESSAGE):
            flags = int(inner.get("flags", 0)) | (LOADING_FLAG if kind == DEFERRED_MESSAGE else 0)
            message = self._new_message(record, {**inner, "flags": flags})
            record.original_id = message["id"]
            if kind == MESSAGE:
                answer["resource"] = {"type": kind, "message": message}
        elif kind == UPDATE_MESSAGE:
            message = await self.sb.update_component_message(record, inner)
            answer["resource"] = {"type": kind, "message": message}
        elif kind == MODAL:
            problem = modal_problem(inner)
            if problem is not None:
                raise DiscordError(400, f"Invalid Form Body ({problem})", INVALID_FORM_BODY)
            record.modal = inner
        if kind in (MESSAGE, UPDATE_MESSAGE, MODAL):  # after a defer, the answer comes later
            record.answered.set()
        original = record.messages.get(record.original_id or "")
        interaction = {"id": record.id, "type": record.kind,
                       "response_message_loading": kind == DEFERRED_MESSAGE,
                       "response_message_ephemeral": bool(original and original["flags"] & EPHEMERAL_FLAG)}
        if record.original_id is not None:
            interaction["response_message_id"] = record.original_id
        return json_response({"interaction": interaction, **answer})

    async def followup(self, request: web.Request) -> web.Response:
        """A follow-up; the first one after a defer edits the deferred message."""
        record = self._by_token(request)
        data = request[JSON_BODY]
        record.followups.append((self.world.now(), data))
        record.answered.set()
        original = record.messages.get(record.original_id or "")
        if original is not None and original["flags"] & LOADING_FLAG:
            flags = original["flags"] & ~LOADING_FLAG  # keeps the defer's ephemerality
            return json_response(self._edit(original, {**data, "flags": flags}))
        return json_response(self._new_message(record, data))

    async def edit_original(self, request: web.Request) -> web.Response:
        """``PATCH .../messages/@original`` (recorded like a follow-up)."""
        record = self._by_token(request)
        data = request[JSON_BODY]
        record.followups.append((self.world.now(), data))
        record.answered.set()
        if record.original_id is None and record.message_id is not None:
            # After a deferred update: the clicked message (in a channel, or ephemeral).
            return json_response(await self.sb.update_component_message(record, data))
        original = record.messages.get(record.original_id or "")
        if original is None:
            raise DiscordError(404, "Unknown Message", UNKNOWN_MESSAGE)
        flags = original["flags"] & ~LOADING_FLAG
        return json_response(self._edit(original, {**data, "flags": flags}))

    async def edit_followup(self, request: web.Request) -> web.Response:
        record = self._by_token(request)
        message = record.messages.get(request.match_info["message_id"])
        if message is None:
            raise DiscordError(404, "Unknown Message", UNKNOWN_MESSAGE)
        return json_response(self._edit(message, {**request[JSON_BODY], "flags": message["flags"]}))

    def _edit(self, message: dict, data: dict) -> dict:
        check_components(data.get("components"), int(data.get("flags") or 0))
        for key in ("content", "embeds"):
            if key in data:
                message[key] = data[key] or ([] if key != "content" else "")
        if "components" in data:
            message["components"] = numbered(data["components"])
        message["flags"] = int(data.get("flags", message["flags"]))
        message["edited_timestamp"] = self.world.now().isoformat()
        return message

    def _new_message(self, record: InteractionRecord, data: dict) -> dict:
        check_components(data.get("components"), int(data.get("flags") or 0))
        bot = self.world.bot
        message = {
            "id": self.world.ids.next(),
            "channel_id": record.channel_id,
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
            "components": numbered(data.get("components")),
            "pinned": False,
            "type": 20 if record.kind == APPLICATION_COMMAND else 0,
            "flags": int(data.get("flags", 0)),
            "webhook_id": self.world.application_id,
            "application_id": self.world.application_id,
        }
        record.messages[message["id"]] = message
        if int(data.get("flags", 0)) & EPHEMERAL_FLAG:
            self.sb.ephemeral[str(message["id"])] = (record, message)
        return message


_LABEL, _STRING_SELECT, _TEXT_INPUT, _ACTION_ROW, _TEXT_DISPLAY = 18, 3, 4, 1, 10


def modal_problem(modal: dict) -> str | None:
    """What Discord refuses in a modal (``ModalInteractionCallbackRequestData`` and the
    component schemas of specs/discord/openapi.json): custom id 1-100 characters, title
    1-45, 1-40 components (action rows of text inputs, labels, text displays); a label's
    text 1-45 holding one component; a select's 1-25 options of labels and values up to
    100; a text input's ``max_length`` 1-4000 and placeholder up to 100. None when valid."""
    if not 1 <= len(modal.get("custom_id") or "") <= 100:
        return "custom_id"
    if not 1 <= len(modal.get("title") or "") <= 45:
        return "title"
    components = modal.get("components") or []
    if not 1 <= len(components) <= 40:
        return "components"
    for row in components:
        kind = row.get("type")
        if kind == _LABEL:
            if not 1 <= len(row.get("label") or "") <= 45 or not row.get("component"):
                return "label"
            fields = [row["component"]]
        elif kind == _ACTION_ROW:
            fields = row.get("components") or []
            if not fields or any(f.get("type") != _TEXT_INPUT for f in fields):
                return "action row"
        elif kind == _TEXT_DISPLAY:
            continue
        else:
            return f"component type {kind}"
        for element in fields:
            problem = _field_problem(element)
            if problem is not None:
                return problem
    return None


def _field_problem(element: dict) -> str | None:
    if not 1 <= len(element.get("custom_id") or "") <= 100:
        return "custom_id"
    if element.get("type") == _STRING_SELECT:
        options = element.get("options") or []
        if not 1 <= len(options) <= 25 or any(
                not 1 <= len(o.get("label") or "") <= 100
                or not 1 <= len(o.get("value") or "") <= 100 for o in options):
            return "options"
    elif element.get("type") == _TEXT_INPUT:
        if not 1 <= int(element.get("max_length") or 4000) <= 4000:
            return "max_length"
        if len(element.get("placeholder") or "") > 100:
            return "placeholder"
    return None
