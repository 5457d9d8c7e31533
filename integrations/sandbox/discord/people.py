"""What simulated people do on the local Discord: react, reply, edit, delete, leave, run
commands, click buttons and submit modals. Mixed into :class:`DiscordSandbox`.

Each method changes the world first, then dispatches what Discord's gateway sends (docs:
events/gateway-events), so REST reads made afterwards agree with the events.
"""

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
from integrations.sandbox.discord.world import (
    EPHEMERAL_FLAG,
    FORUM_CHANNEL,
    MANAGE_GUILD,
    PUBLIC_THREAD,
    Channel,
    Message,
    emoji_payload,
    is_known_unicode_emoji,
    numbered,
)

if TYPE_CHECKING:
    from integrations.sandbox.discord.gateway import Gateway
    from integrations.sandbox.discord.world import Guild, World

MAX_DISTINCT_REACTIONS = 20
"""Distinct emoji on one message (docs: resources/message#create-reaction, error 30010)."""

ANSWER_TIMEOUT = 10.0
"""Seconds :meth:`People.user_runs_command` and the other interactions wait for an answer."""

_OPTION_STRING, _OPTION_INTEGER, _OPTION_BOOLEAN, _OPTION_CHANNEL = 3, 4, 5, 7
_SUB_COMMAND, _SUB_COMMAND_GROUP = 1, 2
_TEXT_INPUT, _LABEL, _ACTION_ROW = 4, 18, 1


@dataclass(frozen=True)
class CommandAnswer:
    """The bot's answer to an interaction: the first message it sent back (``text`` empty
    for an update or a modal), and the record of everything it answered."""

    text: str
    ephemeral: bool
    record: InteractionRecord


class People:
    """Simulated people's actions; needs ``world``, ``gateway``, ``guild``, ``commands``,
    ``interactions`` and ``thread_updated`` / ``message_deleted`` from the sandbox."""

    world: World
    gateway: Gateway
    guild: Guild
    commands: dict[str | None, list[dict]]
    interactions: dict[str, InteractionRecord]

    async def thread_updated(self, thread: Channel) -> None: ...
    async def message_deleted(self, message: Message) -> None: ...

    # -- reactions -----------------------------------------------------------------------

    async def apply_reaction(self, user_id: str, message: Message, emoji: str, *, burst: bool = False) -> None:
        """Add a reaction (a super-reaction with ``burst``) and dispatch
        MESSAGE_REACTION_ADD (``burst``, ``type`` 1 or 0). Raises ``PermissionError`` for a
        21st distinct emoji (Discord: 20 per message, error 30010)."""
        key, payload = emoji_payload(emoji)
        present = {k for k, (_, users) in message.reactions.items() if users}
        present |= {k for k, users in message.burst.items() if users}
        if key not in present and len(present) >= MAX_DISTINCT_REACTIONS:
            raise PermissionError("Maximum number of reactions reached (20)")
        users = message.burst.setdefault(key, []) if burst else message.reactions.setdefault(key, (payload, []))[1]
        if user_id in users:
            return
        users.append(user_id)
        guild = self.world.guilds[message.guild_id]
        user = self.world.users[user_id]
        await self.gateway.dispatch(
            "MESSAGE_REACTION_ADD",
            {
                "user_id": user_id,
                "channel_id": message.channel_id,
                "message_id": message.id,
                "guild_id": guild.id,
                "emoji": payload,
                "member": self.world.member_payload(guild, user),
                "message_author_id": message.author.id,
                "burst": burst,
                "burst_colors": ["#5865F2"] if burst else [],
                "type": 1 if burst else 0,
            },
        )

    async def remove_reaction(self, user_id: str, message: Message, emoji: str, *, burst: bool = False) -> None:
        """Remove a reaction (nothing happens, and nothing is sent, if it is not there)."""
        key, payload = emoji_payload(emoji)
        users = message.burst.get(key, []) if burst else message.reactions.get(key, (payload, []))[1]
        if user_id not in users:
            return
        users.remove(user_id)
        await self.gateway.dispatch(
            "MESSAGE_REACTION_REMOVE",
            {
                "user_id": user_id,
                "channel_id": message.channel_id,
                "message_id": message.id,
                "guild_id": message.guild_id,
                "emoji": payload,
                "burst": burst,
                "type": 1 if burst else 0,
            },
        )

    def _find(self, channel_id: str, message_id: str) -> Message:
        """The message ``message_id`` in ``channel_id`` or in one of its threads."""
        message = self.world.messages[message_id]
        where = self.world.channels[message.channel_id]
        if channel_id not in (where.id, where.parent_id):
            raise KeyError(f"message {message_id} is not in channel {channel_id}")
        return message

    async def user_reacts(self, user_id: str, channel_id: str, message_id: str, emoji: str, *,
                          burst: bool = False) -> None:
        """``emoji``: a Unicode emoji in Discord's form, or ``name:id`` for a custom one (a
        member may use another guild's emoji). ``burst`` makes it a super-reaction. Raises
        ``PermissionError`` in an archived thread, which Discord's client does not allow, and
        ``ValueError`` for a Unicode emoji Discord does not list (its picker cannot send it)."""
        message = self._find(channel_id, message_id)
        if self.world.channels[message.channel_id].archived:
            raise PermissionError("the thread is archived")
        if ":" not in emoji and not is_known_unicode_emoji(emoji):
            raise ValueError(f"Discord lists no emoji {emoji!r}")
        await self.apply_reaction(user_id, message, emoji, burst=burst)

    async def user_unreacts(self, user_id: str, channel_id: str, message_id: str, emoji: str, *,
                            burst: bool = False) -> None:
        """Remove a reaction; removing one never added dispatches nothing, as on Discord."""
        await self.remove_reaction(user_id, self._find(channel_id, message_id), emoji, burst=burst)

    async def moderator_clears_reactions(self, channel_id: str, message_id: str, emoji: str | None = None) -> None:
        message = self._find(channel_id, message_id)
        base = {"channel_id": message.channel_id, "message_id": message.id, "guild_id": message.guild_id}
        if emoji is None:
            message.reactions.clear()
            message.burst.clear()
            await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_ALL", base)
        else:
            key, payload = emoji_payload(emoji)
            message.reactions.pop(key, None)
            message.burst.pop(key, None)
            await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", {**base, "emoji": payload})

    # -- messages ------------------------------------------------------------------------

    async def user_replies(
        self,
        user_id: str,
        channel_id: str,
        thread_id: str,
        text: str,
        *,
        broadcast: bool = False,
        reply_to: str | None = None,
        files: dict[str, bytes] | None = None,
    ) -> str:
        """Post ``text`` in thread ``thread_id`` of ``channel_id``; returns the message id.

        ``files`` (name -> bytes) become attachments; with ``text=""`` the reply is
        image-only (or file-only). ``broadcast`` exists for parity with Slack and has no
        Discord equivalent. A reply in an archived unlocked thread unarchives it first
        (THREAD_UPDATE); a locked one raises ``PermissionError``.
        """
        thread = self.world.channels[thread_id]
        if thread.type != PUBLIC_THREAD or thread.parent_id != channel_id:
            raise KeyError(f"thread {thread_id} is not a thread of {channel_id}")
        if thread.locked:
            raise PermissionError("the thread is locked")
        if thread.archived:
            self.world.set_archived(thread, False)
            await self.thread_updated(thread)
        attachments = [self.world.attachment(name, data) for name, data in (files or {}).items()]
        message = self.world.post(thread_id, self.world.users[user_id], text, reference_id=reply_to,
                                  attachments=attachments)
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message.id

    async def user_creates_post(self, user_id: str, forum_id: str, title: str, text: str) -> str:
        """A forum post: THREAD_CREATE then the starter MESSAGE_CREATE (same id); returns it."""
        forum = self.world.channels[forum_id]
        if forum.type != FORUM_CHANNEL:
            raise KeyError(f"channel {forum_id} is not a forum")
        thread, message = self.world.start_forum_post(forum, title, self.world.users[user_id], text)
        await self.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return thread.id

    async def user_edits(self, user_id: str, channel_id: str, message_id: str, text: str | None) -> None:
        """Edit a message; ``text=None`` is an edit without a content change (e.g. an
        attachment removed): MESSAGE_UPDATE with a new ``edited_timestamp``, same content."""
        message = self._find(channel_id, message_id)
        if message.author.id != user_id:
            raise PermissionError("only the author edits a message")
        if self.world.channels[message.channel_id].archived:
            raise PermissionError("the thread is archived")
        if text is not None:
            message.content = text
        message.edited_at = self.world.now()
        await self.gateway.dispatch_message("MESSAGE_UPDATE", message)

    async def link_preview_appears(self, channel_id: str, message_id: str) -> None:
        """Discord attaches a link preview: MESSAGE_UPDATE with an embed, not an edit
        (``edited_timestamp`` stays null)."""
        message = self._find(channel_id, message_id)
        message.embeds.append({"type": "link", "title": "Aperçu", "url": "https://example.org/"})
        await self.gateway.dispatch_message("MESSAGE_UPDATE", message)

    async def user_deletes(self, user_id: str, channel_id: str, message_id: str) -> None:
        await self.message_deleted(self._find(channel_id, message_id))

    async def moderator_bulk_deletes(self, channel_id: str, message_ids: list[str]) -> None:
        """A purge: the messages (all in one channel or thread) go in one MESSAGE_DELETE_BULK."""
        messages = [self._find(channel_id, mid) for mid in message_ids]
        where = {m.channel_id for m in messages}
        if len(where) != 1:
            raise ValueError("a bulk delete covers one channel")
        for m in messages:
            del self.world.messages[m.id]
        await self.gateway.dispatch(
            "MESSAGE_DELETE_BULK",
            {"ids": [m.id for m in messages], "channel_id": where.pop(), "guild_id": messages[0].guild_id},
        )

    # -- members -------------------------------------------------------------------------

    async def member_leaves(self, user_id: str) -> None:
        """The member leaves the guild: their messages and reactions stay; GET member
        answers 404 10007. GUILD_MEMBER_REMOVE goes only to bots with the members intent."""
        user = self.world.users[user_id]
        self.guild.members.pop(user_id, None)
        await self.gateway.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": self.guild.id, "user": user.payload()})

    async def account_deleted(self, user_id: str) -> None:
        """The person deletes their Discord account: they leave every guild and their user
        object becomes "Deleted User" (same id; messages and reactions stay)."""
        await self.member_leaves(user_id)
        self.world.users[user_id].deleted = True

    # -- interactions --------------------------------------------------------------------

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

    async def user_submits_modal(self, user_id: str, opened_by: InteractionRecord,
                                 values: dict[str, str]) -> CommandAnswer:
        """Submit the modal the bot opened in answer to ``opened_by`` with ``values``
        (text input custom_id -> value): a MODAL_SUBMIT interaction (type 5) whose
        ``data.components`` mirror the modal's layout (action rows or labels)."""
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
        message takes the new content/embeds/components; MESSAGE_UPDATE."""
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
                        message: Message | None = None, locale: str | None = None) -> CommandAnswer:
        user = self.world.users[user_id]
        channel = self.world.channels[channel_id]
        guild = self.world.guilds[channel.guild_id]
        interaction_id = self.world.ids.next()
        record = InteractionRecord(interaction_id, f"tok-{interaction_id}", self.world.now(), kind,
                                   channel.id, message.id if message else None)
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
    or a label holding one (docs: interactions/receiving-and-responding, modal submit)."""
    def text_input(c: dict) -> dict:
        return {"type": _TEXT_INPUT, "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")}

    if row.get("type") == _LABEL:
        return {"type": _LABEL, "component": text_input(row["component"])}
    return {"type": _ACTION_ROW, "components": [text_input(c) for c in row.get("components", [])
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


