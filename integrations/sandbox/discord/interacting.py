"""Simulated people's interactions on the local Discord: slash commands, button clicks and
modal submits, delivered as INTERACTION_CREATE (docs: interactions/receiving-and-responding).
Mixed into :class:`DiscordSandbox`; :mod:`.interactions` serves the bot's answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrations.sandbox.discord.interactions import (
    APPLICATION_COMMAND,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionRecord,
)
from integrations.sandbox.discord.messages import check_components
from integrations.sandbox.discord.world import (
    EPHEMERAL_FLAG,
    MANAGE_GUILD,
    Message,
    numbered,
)

if TYPE_CHECKING:
    from integrations.sandbox.discord.gateway import Gateway
    from integrations.sandbox.discord.world import World

ANSWER_TIMEOUT = 10.0
"""Seconds :meth:`Interacting.user_runs_command` and the other interactions wait for an answer."""

_OPTION_STRING, _OPTION_INTEGER, _OPTION_BOOLEAN, _OPTION_CHANNEL = 3, 4, 5, 7
_SUB_COMMAND, _SUB_COMMAND_GROUP = 1, 2
_TEXT_INPUT, _LABEL, _ACTION_ROW, _STRING_SELECT = 4, 18, 1, 3


@dataclass(frozen=True)
class CommandAnswer:
    """The bot's answer to an interaction: the first message it sent back (``text`` empty
    for an update or a modal), and the record of everything it answered."""

    text: str
    ephemeral: bool
    record: InteractionRecord


class Interacting:
    """Commands, clicks and modal submits; needs ``world``, ``gateway``, ``commands``,
    ``interactions`` and ``_find`` from the sandbox."""

    world: World
    gateway: Gateway
    commands: dict[str | None, list[dict]]
    interactions: dict[str, InteractionRecord]
    ephemeral: dict[str, tuple[InteractionRecord, dict]]

    def _find(self, channel_id: str, message_id: str) -> Message:
        raise NotImplementedError  # People._find

    async def user_runs_command(
        self, user_id: str, channel_id: str, action: str, *, locale: str | None = None, **options: str
    ) -> CommandAnswer:
        """Run the synced slash command whose leaf name is ``action`` (``open`` finds
        ``/round open``) with ``options``; returns the bot's first answer.

        Raises ``LookupError`` if no synced command has that name, ``TimeoutError`` if the bot
        does not answer within :data:`ANSWER_TIMEOUT` seconds.
        """
        guild = self.world.guilds[self.world.channels[channel_id].guild_id]
        command, path, schema = self._command_named(action, guild.id)
        resolved: dict = {}
        leaf = [self._option(name, value, schema, resolved) for name, value in options.items()]
        for depth, sub in reversed(list(enumerate(path))):
            kind = _SUB_COMMAND if depth == len(path) - 1 else _SUB_COMMAND_GROUP
            leaf = [{"name": sub, "type": kind, "options": leaf}]
        data = {"id": command["id"], "name": command["name"], "type": 1, "options": leaf}
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._interact(APPLICATION_COMMAND, user_id, channel_id, data, locale=locale)

    async def user_clicks(self, user_id: str, channel_id: str, message_id: str, custom_id: str) -> CommandAnswer:
        """Click the button ``custom_id`` of a message: a MESSAGE_COMPONENT interaction
        (type 3, ``data.component_type`` 2) carrying the message. Raises ``LookupError`` if
        the message has no such button."""
        message = self._find(channel_id, message_id)
        if not any(c.get("custom_id") == custom_id and c.get("type") == 2 for c in _walk(message.components)):
            raise LookupError(f"no button {custom_id!r} on message {message_id}")
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(MESSAGE_COMPONENT, user_id, message.channel_id, data, message=message)

    async def user_clicks_ephemeral(self, user_id: str, message_id: str,
                                    custom_id: str) -> CommandAnswer:
        """Click the button ``custom_id`` of an ephemeral answer the bot sent ``user_id``: a
        MESSAGE_COMPONENT interaction carrying that message (flags 64). Raises
        ``PermissionError`` for anyone else (only its recipient sees it) and ``LookupError``
        if it has no such button."""
        record, message = self.ephemeral[message_id]
        if record.user_id != user_id:
            raise PermissionError("an ephemeral message is seen by its recipient only")
        if not any(c.get("custom_id") == custom_id and c.get("type") == 2
                   for c in _walk(message.get("components") or [])):
            raise LookupError(f"no button {custom_id!r} on message {message_id}")
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(MESSAGE_COMPONENT, user_id, record.channel_id, data,
                                    ephemeral=message)

    async def user_submits_modal(self, user_id: str, opened_by: InteractionRecord,
                                 values: dict[str, str]) -> CommandAnswer:
        """Submit the modal the bot opened in answer to ``opened_by`` with ``values``
        (a text input's or a string select's custom_id -> its text, or the value of the
        option chosen): a MODAL_SUBMIT interaction (type 5) whose ``data.components``
        mirror the modal's layout (action rows or labels); raises as :func:`_submitted`."""
        modal = opened_by.modal
        if modal is None:
            raise LookupError("the bot opened no modal for this interaction")
        components = [_submitted(row, values) for row in modal.get("components", [])]
        data = {"custom_id": modal["custom_id"], "components": components}
        message = self.world.messages.get(opened_by.message_id or "")
        return await self._interact(MODAL_SUBMIT, user_id, opened_by.channel_id, data, message=message)

    async def update_component_message(self, record: InteractionRecord, data: dict,
                                       message: Message | None = None) -> dict:
        """An UPDATE_MESSAGE answer (or an edit after a deferred update): the clicked
        message takes the new content/embeds/components; MESSAGE_UPDATE. An ephemeral
        message is edited where it lives, and no one else is told. Raises 400 for
        components Discord would refuse (:func:`.messages.check_components`)."""
        check_components(data.get("components"))
        if message is None and record.message_id in self.ephemeral:
            _, shown = self.ephemeral[record.message_id]
            for key in ("content", "embeds"):
                if key in data:
                    shown[key] = data[key] or ("" if key == "content" else [])
            if "components" in data:
                shown["components"] = numbered(data["components"])
            shown["edited_timestamp"] = self.world.now().isoformat()
            return shown
        message = message or self.world.messages[record.message_id or ""]
        for key in ("content", "embeds"):
            if key in data:
                setattr(message, key, data[key] or ("" if key == "content" else []))
        if "components" in data:
            message.components = numbered(data["components"])
        message.edited_at = self.world.now()
        await self.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return message.payload(me=self.world.bot.id)

    async def _interact(self, kind: int, user_id: str, channel_id: str, data: dict, *,
                        message: Message | None = None, locale: str | None = None,
                        ephemeral: dict | None = None) -> CommandAnswer:
        user = self.world.users[user_id]
        channel = self.world.channels[channel_id]
        guild = self.world.guilds[channel.guild_id]
        interaction_id = self.world.ids.next()
        clicked = message.id if message else (ephemeral["id"] if ephemeral else None)
        record = InteractionRecord(interaction_id, f"tok-{interaction_id}", self.world.now(), kind,
                                   channel.id, clicked, user_id=user_id)
        self.interactions[interaction_id] = record
        member = self.world.member_payload(guild, user)
        member["permissions"] = str(guild.permissions_in(user_id, channel))
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": self.world.application_id,
            "type": kind,
            "data": data,
            "guild_id": guild.id,
            "channel_id": channel.id,
            "channel": channel.payload(),
            "member": member,
            "token": record.token,
            "version": 1,
            "locale": locale or user.locale,
            "guild_locale": "fr",
            "app_permissions": str(guild.permissions_in(self.world.bot.id, channel)),
            "attachment_size_limit": 10 * 1024 * 1024,
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild.id},
            "context": 0,
        }
        if message is not None:
            payload["message"] = message.payload(me=self.world.bot.id)
        elif ephemeral is not None:
            payload["message"] = ephemeral
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        await asyncio.wait_for(record.answered.wait(), ANSWER_TIMEOUT)
        _, body = (record.followups or record.callbacks)[0]
        inner = body if record.followups else (body.get("data") or {})
        return CommandAnswer(
            inner.get("content") or "", bool(int(inner.get("flags", 0)) & EPHEMERAL_FLAG), record
        )

    def _command_named(self, action: str, guild_id: str) -> tuple[dict, list[str], list[dict]]:
        """(top-level command, sub-command path, leaf option schema) for ``action``."""
        for command in self.commands.get(guild_id, []) + self.commands.get(None, []):
            for path, schema in _leaves(command):
                if (path[-1] if path else command["name"]) == action:
                    return command, path, schema
        raise LookupError(f"no synced command named {action!r}")

    def _option(self, name: str, value: str, schema: list[dict], resolved: dict) -> dict:
        spec = next((o for o in schema if o["name"] == name), None)
        if spec is None:
            raise LookupError(f"the command has no option {name!r}")
        kind = spec["type"]
        if kind == _OPTION_INTEGER:
            return {"name": name, "type": kind, "value": int(value)}
        if kind == _OPTION_BOOLEAN:
            return {"name": name, "type": kind, "value": value in ("true", "1", True)}
        if kind == _OPTION_CHANNEL:
            channel = self.world.channels[value]
            entry = {**channel.payload(), "permissions": str(MANAGE_GUILD | 0x400 | 0x800)}
            resolved.setdefault("channels", {})[channel.id] = entry
        return {"name": name, "type": kind, "value": value}


def _walk(components: list[dict]) -> Iterator[dict]:
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])
        if component.get("component"):
            yield from _walk([component["component"]])


def _submitted(row: dict, values: dict[str, str]) -> dict:
    """One top-level modal component as a submit carries it: an action row of text inputs,
    or a label holding a text input or a string select (docs:
    interactions/receiving-and-responding, modal submit; a select answers its chosen
    ``values``). Raises what Discord's client refuses to send: ``ValueError`` for a required
    field left empty or a text over its ``max_length``, ``LookupError`` for an option the
    select does not offer."""
    def answer(c: dict) -> dict:
        given = values.get(c["custom_id"], "")
        if not given and c.get("required", True):
            raise ValueError(f"Discord requires {c['custom_id']!r} before submitting")
        if c.get("type") == _STRING_SELECT:
            offered = {o["value"] for o in c.get("options", [])}
            if given and given not in offered:
                raise LookupError(f"the select {c['custom_id']!r} offers no option {given!r}")
            return {"type": _STRING_SELECT, "custom_id": c["custom_id"], "values": [given] if given else []}
        if c.get("max_length") and len(given) > c["max_length"]:
            raise ValueError(f"Discord allows at most {c['max_length']} characters in {c['custom_id']!r}")
        return {"type": _TEXT_INPUT, "custom_id": c["custom_id"], "value": given}

    if row.get("type") == _LABEL:
        return {"type": _LABEL, "component": answer(row["component"])}
    return {"type": _ACTION_ROW, "components": [answer(c) for c in row.get("components", [])
                                                if c.get("type") == _TEXT_INPUT]}


def _leaves(command: dict) -> Iterator[tuple[list[str], list[dict]]]:
    """Every runnable path of a command: ([], options) or ([sub], options), ([group, sub], ...)."""
    options = command.get("options") or []
    subs = [o for o in options if o["type"] in (_SUB_COMMAND, _SUB_COMMAND_GROUP)]
    if not subs:
        yield [], options
        return
    for sub in subs:
        if sub["type"] == _SUB_COMMAND:
            yield [sub["name"]], sub.get("options") or []
        else:
            for inner in sub.get("options") or []:
                yield [sub["name"], inner["name"]], inner.get("options") or []


