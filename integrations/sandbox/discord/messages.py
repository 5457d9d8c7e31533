"""REST handlers of the local Discord for channels, messages, reactions and threads.

Rules follow Discord's docs (resources/channel, resources/message, topics/threads,
topics/permissions): the bot needs View Channel (else 403 50001), then Send Messages (Send
Messages in Threads in a thread), Attach Files for files, Add Reactions for a new reaction,
Read Message History for history, Create Public Threads, Manage Threads to lock (else 403
50013). An archived thread refuses edits and reactions (400 50083); a message posted in an
archived unlocked thread unarchives it; a locked thread refuses messages from members without
Manage Threads, and archived and locked it refuses them all (50083). A forum takes posts
(``POST /channels/{forum}/threads``), not messages (400 50008). An emoji Discord does not list
answers 400 10014 (see :func:`~integrations.sandbox.discord.world.is_known_unicode_emoji`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from integrations.sandbox.discord.responses import (
    CANNOT_EDIT_OTHERS,
    CANNOT_MESSAGE_USER,
    INVALID_FORM_BODY,
    NOT_TEXT_CHANNEL,
    THREAD_ALREADY_CREATED,
    UNKNOWN_MESSAGE,
    DiscordError,
    json_response,
    missing_access,
    missing_permissions,
    thread_archived,
)
from integrations.sandbox.discord.world import (
    ARCHIVE_DURATIONS,
    ATTACH_FILES,
    CREATE_PUBLIC_THREADS,
    DM_CHANNEL,
    FORUM_CHANNEL,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Channel,
    Message,
    numbered,
)

if TYPE_CHECKING:
    from integrations.sandbox.discord.sandbox import DiscordSandbox

JSON_BODY: web.RequestKey[Any] = web.RequestKey("json_body", object)
"""The parsed JSON body (files listed under ``_files`` as (name, bytes, type)), set by the
recording middleware."""

MAX_DISTINCT_REACTIONS = 20
"""Distinct emoji on one message (docs: resources/message#create-reaction, error 30010)."""

class Access:
    """Permission checks and lookups shared by the route classes."""

    def __init__(self, sandbox: DiscordSandbox) -> None:
        self.sb = sandbox
        self.world = sandbox.world

    # -- permissions and lookups ---------------------------------------------------------

    def require(self, channel: Channel, *needed: int) -> None:
        """Raise 403 50001 if the bot cannot see ``channel``, 50013 if it lacks ``needed``."""
        where = self.world.channels[channel.parent_id] if channel.type == PUBLIC_THREAD else channel
        guild = self.world.guilds[channel.guild_id]
        perms = guild.permissions_in(self.world.bot.id, where)
        if not perms & VIEW_CHANNEL:
            raise missing_access()
        for bit in needed:
            if not perms & bit:
                raise missing_permissions()

    def _has(self, channel: Channel, bit: int) -> bool:
        try:
            self.require(channel, bit)
        except DiscordError:
            return False
        return True

    def channel(self, request: web.Request) -> Channel:
        return self.world.channels[request.match_info["channel_id"]]

    def message(self, request: web.Request) -> Message:
        message = self.world.messages.get(request.match_info["message_id"])
        if message is None or message.channel_id != request.match_info["channel_id"]:
            raise DiscordError(404, "Unknown Message", UNKNOWN_MESSAGE)
        return message

    def visible(self, message: Message) -> dict:
        return message.payload(me=self.world.bot.id, withhold_content=not self.sb.message_content_enabled)


class Messages(Access):
    """Channel, message and thread routes over a sandbox's world."""

    # -- messages ------------------------------------------------------------------------

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        data = request[JSON_BODY]
        files = data.get("_files", [])
        if channel.type == DM_CHANNEL:
            return self._direct_message(channel, data, files)
        if channel.type == FORUM_CHANNEL:
            self.require(channel)
            raise DiscordError(400, "Cannot send messages in a non-text channel", NOT_TEXT_CHANNEL)
        in_thread = channel.type == PUBLIC_THREAD
        self.require(channel, SEND_MESSAGES_IN_THREADS if in_thread else SEND_MESSAGES,
                     *((ATTACH_FILES,) if files else ()))
        if in_thread:
            await self._before_thread_post(channel)
        _check_message(data, files)
        message = self.world.post(
            channel.id,
            self.world.bot,
            data.get("content") or "",
            embeds=_embeds(data.get("embeds")),
            attachments=[self.world.attachment(*f) for f in files],
            components=data.get("components") or [],
            reference_id=(data.get("message_reference") or {}).get("message_id"),
        )
        self.sb.sent_allowed_mentions[message.id] = data.get("allowed_mentions")
        await self.sb.gateway.dispatch_message("MESSAGE_CREATE", message)
        return json_response(message.payload(me=self.world.bot.id))

    def _direct_message(self, channel: Channel, data: dict, files: list) -> web.Response:
        """A message in the bot's DM with a user: refused (403 50007) when the user shares
        no guild with the bot or has closed DMs from guild members (docs:
        topics/opcodes-and-status-codes, 50007). Not dispatched: planbot does not ask for
        the DIRECT_MESSAGES intent."""
        user = self.world.users[channel.recipient_id or ""]
        shared = any(user.id in g.members and self.world.bot.id in g.members
                     for g in self.world.guilds.values())
        if not (shared and user.accepts_dms) or user.bot:
            raise DiscordError(403, "Cannot send messages to this user", CANNOT_MESSAGE_USER)
        _check_message(data, files)
        message = self.world.post(channel.id, self.world.bot, data.get("content") or "",
                                  attachments=[self.world.attachment(*f) for f in files])
        self.sb.sent_allowed_mentions[message.id] = data.get("allowed_mentions")
        return json_response(message.payload(me=self.world.bot.id))

    async def _before_thread_post(self, thread: Channel) -> None:
        manage = self._has(thread, MANAGE_THREADS)
        if thread.archived and thread.locked:
            raise thread_archived()
        if thread.locked and not manage:
            raise missing_permissions()
        if thread.archived:  # a message unarchives an unlocked thread (docs: topics/threads)
            self.world.set_archived(thread, False)
            await self.sb.thread_updated(thread)

    async def history(self, request: web.Request) -> web.Response:
        """Messages newest first; ``after`` gives the ``limit`` oldest after it (docs)."""
        channel = self.channel(request)
        self.require(channel, READ_MESSAGE_HISTORY)
        q = request.query
        limit = min(int(q.get("limit", 50)), 100)
        found = self.world.history(channel.id)
        if "after" in q:
            found = [m for m in found if int(m.id) > int(q["after"])][:limit]
        else:
            if "before" in q:
                found = [m for m in found if int(m.id) < int(q["before"])]
            found = found[-limit:]
        return json_response([self.visible(m) for m in reversed(found)])

    async def get_message(self, request: web.Request) -> web.Response:
        self.require(self.channel(request), READ_MESSAGE_HISTORY)
        return json_response(self.visible(self.message(request)))

    async def edit_message(self, request: web.Request) -> web.Response:
        """The bot edits its own message: fields sent replace the old ones (a field left out
        is kept), ``edited_timestamp`` is set, MESSAGE_UPDATE dispatched."""
        message = self.message(request)
        channel = self.channel(request)
        self.require(channel)
        if message.author.id != self.world.bot.id:
            raise DiscordError(403, "Cannot edit a message authored by another user", CANNOT_EDIT_OTHERS)
        if channel.type == PUBLIC_THREAD and channel.archived:
            raise thread_archived()
        data = request[JSON_BODY]
        content = data.get("content", message.content)
        embeds = data.get("embeds", message.embeds)
        _check_message({"content": content, "embeds": embeds}, message.attachments)
        message.content, message.embeds = content or "", _embeds(embeds)
        if "components" in data:
            check_components(data["components"])
            message.components = numbered(data["components"])
        message.edited_at = self.world.now()
        await self.sb.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return json_response(self.visible(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        """The bot deletes a message (its own, or any with Manage Messages): MESSAGE_DELETE."""
        message = self.message(request)
        channel = self.channel(request)
        self.require(channel, *(() if message.author.id == self.world.bot.id else (MANAGE_MESSAGES,)))
        await self.sb.message_deleted(message)
        return web.Response(status=204)

    # -- threads -------------------------------------------------------------------------

    async def start_thread(self, request: web.Request) -> web.Response:
        message = self.message(request)
        self.require(self.channel(request), CREATE_PUBLIC_THREADS)
        if message.thread_id is not None:
            raise DiscordError(400, "A thread has already been created for this message", THREAD_ALREADY_CREATED)
        data = request[JSON_BODY]
        thread = self.world.start_thread(message, data["name"][:100], self.world.bot,
                                         _duration(data.get("auto_archive_duration")))
        await self.sb.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return json_response(thread.payload(), status=201)

    async def forum_post(self, request: web.Request) -> web.Response:
        """``POST /channels/{forum}/threads``: a forum post, its starter message inside it."""
        forum = self.channel(request)
        data = request[JSON_BODY]
        if forum.type != FORUM_CHANNEL:
            raise DiscordError(400, "Threads without a message are not modelled", INVALID_FORM_BODY)
        files = data.get("_files", [])
        self.require(forum, SEND_MESSAGES, *((ATTACH_FILES,) if files else ()))
        body = data.get("message") or {}
        _check_message(body, files)
        thread, message = self.world.start_forum_post(
            forum, data["name"][:100], self.world.bot, body.get("content") or "",
            attachments=[self.world.attachment(*f) for f in files],
            auto_archive_duration=_duration(data.get("auto_archive_duration")))
        await self.sb.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        await self.sb.gateway.dispatch_message("MESSAGE_CREATE", message)
        return json_response({**thread.payload(), "message": message.payload(me=self.world.bot.id)},
                             status=201)

    async def edit_channel(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{thread}``: ``archived``, ``locked``, ``auto_archive_duration``,
        ``name`` (docs: topics/threads, "Editing & Deleting Threads"): the thread's creator or
        Manage Threads may archive, unarchive (a locked one too) and rename; locking needs
        Manage Threads. THREAD_UPDATE is dispatched."""
        thread = self.channel(request)
        data = request[JSON_BODY] or {}
        if thread.type != PUBLIC_THREAD:
            raise DiscordError(403, "Only threads are edited here", 50013)
        manage = self._has(thread, MANAGE_THREADS)
        self.require(thread)
        owner = thread.owner_id == self.world.bot.id
        if ("locked" in data and not manage) or not (manage or owner):
            raise missing_permissions()
        if thread.archived and data.get("archived", True) and set(data) - {"archived", "locked"}:
            raise thread_archived()
        if "auto_archive_duration" in data:
            thread.auto_archive_duration = _duration(data["auto_archive_duration"])
            thread.last_activity = self.world.now()
        thread.name = data.get("name", thread.name)
        thread.locked = bool(data.get("locked", thread.locked))
        if "archived" in data and bool(data["archived"]) != thread.archived:
            self.world.set_archived(thread, bool(data["archived"]))
        await self.sb.thread_updated(thread)
        return json_response(thread.payload())


def _embeds(embeds: list[dict] | None) -> list[dict]:
    """Embeds as Discord stores them: a sent embed is of type ``rich`` unless it says."""
    return [{"type": "rich", **e} for e in embeds or []]


def _duration(value: object) -> int | None:
    if value is None:
        return None
    if int(value) not in ARCHIVE_DURATIONS:  # type: ignore[call-overload]
        raise DiscordError(400, "auto_archive_duration: Value must be one of (60, 1440, 4320, 10080).",
                           INVALID_FORM_BODY)
    return int(value)  # type: ignore[call-overload]


LEGACY_ROWS, ROW_ITEMS, CUSTOM_ID_LIMIT, LABEL_LIMIT = 5, 5, 100, 80
"""A message without the ``IS_COMPONENTS_V2`` flag holds at most 5 action rows (docs:
components/reference, "Action Row"), each of 1 to 5 components; a button's ``custom_id`` has
1 to 100 characters and its label at most 80 (openapi ``ActionRowComponentForMessageRequest``,
``ButtonComponentForMessageRequest``)."""
COMPONENTS_V2_FLAG = 1 << 15


def check_components(components: list[dict] | None, flags: int = 0) -> None:
    """Discord's validation of a message's components (legacy layout: action rows of
    buttons); raises 400 50035. Custom ids must be unique within the message."""
    rows = components or []
    if not flags & COMPONENTS_V2_FLAG and len(rows) > LEGACY_ROWS:
        raise DiscordError(400, f"components: Must be {LEGACY_ROWS} or fewer in length.",
                           INVALID_FORM_BODY)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        items = row.get("components") or []
        if row.get("type") == 1 and not 1 <= len(items) <= ROW_ITEMS:
            raise DiscordError(400, f"components.{i}.components: Must be between 1 and "
                                    f"{ROW_ITEMS} in length.", INVALID_FORM_BODY)
        for item in items:
            custom_id = item.get("custom_id")
            if item.get("type") == 2 and item.get("style") != 5 and not custom_id:
                raise DiscordError(400, "components: a button needs a custom_id",
                                   INVALID_FORM_BODY)
            if custom_id is not None and (len(custom_id) > CUSTOM_ID_LIMIT or custom_id in seen):
                raise DiscordError(400, "components: custom_id too long or not unique",
                                   INVALID_FORM_BODY)
            seen.add(custom_id or "")
            if len(item.get("label") or "") > LABEL_LIMIT:
                raise DiscordError(400, f"components.{i}: label must be {LABEL_LIMIT} or "
                                        "fewer in length.", INVALID_FORM_BODY)


def _check_message(data: dict, files: list) -> None:
    """Discord's own validation of a message body (docs: resources/message#create-message);
    raises 400 50035 (or 50006 for an empty message)."""
    check_components(data.get("components"), int(data.get("flags") or 0))
    content = data.get("content") or ""
    embeds = data.get("embeds") or []
    if not content and not embeds and not files and not data.get("components"):
        raise DiscordError(400, "Cannot send an empty message", 50006)
    if len(content) > 2000:
        raise DiscordError(400, "content: Must be 2000 or fewer in length.", INVALID_FORM_BODY)
    if len(embeds) > 10:
        raise DiscordError(400, "embeds: Must be 10 or fewer in length.", INVALID_FORM_BODY)
    for embed in embeds:
        if len(embed.get("description") or "") > 4096:
            raise DiscordError(400, "embeds.description: Must be 4096 or fewer in length.", INVALID_FORM_BODY)
        total = sum(len(embed.get(k) or "") for k in ("title", "description"))
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
        total += len((embed.get("footer") or {}).get("text", ""))
        if total > 6000:
            raise DiscordError(400, "embeds: Embed size exceeds maximum size of 6000", INVALID_FORM_BODY)
