"""The in-memory world of the local Discord: guilds, channels, roles, members, messages.

REST answers and gateway dispatches are both built from these objects, so they agree. Payload
shapes follow Discord's API reference (discord.com/developers/docs/resources/*), trimmed to what
discord.py 2.7's parsers read (see docs/platform-facts.md for the smallest accepted payloads).
"""

from __future__ import annotations

import itertools
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import regex

DISCORD_EPOCH_MS = 1_420_070_400_000
"""Discord snowflakes count milliseconds from 2015-01-01 (docs: reference#snowflakes)."""

# Permission bits (docs: topics/permissions#permissions-bitwise-permission-flags).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
EVERYDAY_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | ADD_REACTIONS | READ_MESSAGE_HISTORY
                        | SEND_MESSAGES_IN_THREADS | EMBED_LINKS | ATTACH_FILES
                        | CREATE_PUBLIC_THREADS)
"""What @everyone may do in the local guild."""
BOT_PERMISSIONS = EVERYDAY_PERMISSIONS | MANAGE_THREADS | MANAGE_MESSAGES
"""The bot's own role: what planbot's invite link asks for (integrations/discord/README.md)."""

TEXT_CHANNEL = 0
DM_CHANNEL = 1
PUBLIC_THREAD = 11
FORUM_CHANNEL = 15
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
"""Minutes of inactivity before a thread is archived (docs: resources/channel, thread metadata)."""

DEFAULT_MESSAGE = 0
REPLY_MESSAGE = 19
THREAD_STARTER_MESSAGE = 21
EPHEMERAL_FLAG = 1 << 6
HAS_THREAD_FLAG = 1 << 5


class Snowflakes:
    """Increasing snowflake ids whose timestamp part is the creation time read from ``now``.

    Layout (docs: reference#snowflakes): milliseconds since the Discord epoch << 22, then
    worker, process and a 12-bit increment. discord.py reads the creation time back
    (``discord.utils.snowflake_time``). Ids stay strictly increasing if the clock stands still.
    """

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._last = 0

    def next(self) -> str:
        """The next id, as Discord sends ids: a decimal string."""
        ms = int(self._now().timestamp() * 1000) - DISCORD_EPOCH_MS
        self._last = max(ms << 22, self._last + 1)
        return str(self._last)


def snowflake_time(snowflake: str) -> datetime:
    """The creation time encoded in ``snowflake`` (UTC, millisecond precision)."""
    return datetime.fromtimestamp(((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


@dataclass
class User:
    id: str
    username: str
    bot: bool = False
    locale: str = "fr"
    deleted: bool = False
    accepts_dms: bool = True

    def payload(self) -> dict:
        """The user object; a deleted account keeps its id and loses its name and avatar
        (Discord shows "Deleted User", username ``deleted_user_<hex>``)."""
        return {
            "id": self.id,
            "username": f"deleted_user_{int(self.id):x}"[:32] if self.deleted else self.username,
            "global_name": "Deleted User" if self.deleted else self.username,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "primary_guild": None,
        }


@dataclass
class Role:
    id: str
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False

    def payload(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": self.managed,
            "mentionable": True,
            "flags": 0,
        }


@dataclass
class Channel:
    """A text channel, a forum (type 15), a public thread (type 11) or the bot's DM with one
    user (type 1: ``guild_id`` empty, ``recipient_id`` the user).

    ``overwrites``: target id -> (allow bits, deny bits, 0 for a role or 1 for a member). Thread fields follow the
    thread metadata object (docs: resources/channel#thread-metadata-object); ``last_activity``
    is when the thread last had activity (a message, an unarchive, a duration change).
    """

    id: str
    guild_id: str
    name: str
    type: int = TEXT_CHANNEL
    position: int = 0
    parent_id: str | None = None
    owner_id: str | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 4320
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    archive_timestamp: datetime | None = None
    last_activity: datetime | None = None
    overwrites: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    message_count: int = 0
    recipient_id: str | None = None

    def payload(self, recipient: User | None = None) -> dict:
        """The channel object; a DM's carries its ``recipient`` (docs: resources/channel)."""
        if self.type == DM_CHANNEL:
            return {"id": self.id, "type": DM_CHANNEL, "last_message_id": None, "flags": 0,
                    "recipients": [recipient.payload()] if recipient else []}
        data = {
            "id": self.id,
            "guild_id": self.guild_id,
            "name": self.name,
            "type": self.type,
            "position": self.position,
            "permission_overwrites": [
                {"id": target, "type": kind, "allow": str(allow), "deny": str(deny)}
                for target, (allow, deny, kind) in self.overwrites.items()
            ],
            "nsfw": False,
            "parent_id": self.parent_id,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if self.type == FORUM_CHANNEL:
            data.update(available_tags=[], default_reaction_emoji=None, default_sort_order=None,
                        default_forum_layout=0, default_auto_archive_duration=4320, topic=None)
        if self.type == PUBLIC_THREAD:
            data.pop("permission_overwrites")
            data.update(
                owner_id=self.owner_id,
                message_count=self.message_count,
                member_count=1,
                total_message_sent=self.message_count,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": (self.archive_timestamp or self.created_at).isoformat(),
                    "locked": self.locked,
                    "create_timestamp": self.created_at.isoformat(),
                },
            )
        return data

    def archives_at(self) -> datetime | None:
        """When an active thread archives itself for inactivity (None if not a live thread)."""
        if self.type != PUBLIC_THREAD or self.archived:
            return None
        return (self.last_activity or self.created_at) + timedelta(minutes=self.auto_archive_duration)


@dataclass
class Message:
    id: str
    channel_id: str
    guild_id: str
    author: User
    content: str
    created_at: datetime
    type: int = DEFAULT_MESSAGE
    flags: int = 0
    edited_at: datetime | None = None
    embeds: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    components: list[dict] = field(default_factory=list)
    reference_id: str | None = None
    thread_id: str | None = None
    # emoji key ("👍" or "name:id") -> (emoji payload, user ids of normal reactions, in order)
    reactions: dict[str, tuple[dict, list[str]]] = field(default_factory=dict)
    # emoji key -> user ids of super-reactions (burst), in order
    burst: dict[str, list[str]] = field(default_factory=dict)

    def payload(self, *, me: str, withhold_content: bool = False) -> dict:
        """The message as REST and MESSAGE_CREATE/UPDATE carry it.

        ``withhold_content`` blanks content, embeds, attachments and components as Discord
        does for an app without the message-content intent (docs: "Message Content Intent"),
        except for the app's own messages.
        """
        hidden = withhold_content and self.author.id != me
        data = {
            "id": self.id,
            "channel_id": self.channel_id,
            "author": self.author.payload(),
            "content": "" if hidden else self.content,
            "timestamp": self.created_at.isoformat(),
            "edited_timestamp": self.edited_at.isoformat() if self.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [] if hidden else self.attachments,
            "embeds": [] if hidden else self.embeds,
            "components": [] if hidden else self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        reactions = self.reaction_payloads(me)
        if reactions:
            data["reactions"] = reactions
        if self.reference_id is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": self.reference_id,
                "channel_id": self.channel_id,
                "guild_id": self.guild_id,
            }
        return data

    def reaction_payloads(self, me: str) -> list[dict]:
        """Reaction objects (docs: resources/message#reaction-object): ``count`` adds normal
        and super-reactions, ``count_details`` splits them."""
        out = []
        for key in dict.fromkeys([*self.reactions, *self.burst]):
            emoji, normal = self.reactions.get(key, ({}, []))
            burst = self.burst.get(key, [])
            if not normal and not burst:
                continue
            if not emoji:
                emoji = emoji_payload(key)[1]
            out.append({
                "emoji": emoji,
                "count": len(normal) + len(burst),
                "count_details": {"burst": len(burst), "normal": len(normal)},
                "me": me in normal,
                "me_burst": me in burst,
                "burst_colors": ["#5865F2"] if burst else [],
            })
        return out


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # user id -> role ids
    emojis: dict[str, str] = field(default_factory=dict)  # custom emoji id -> name

    def permissions_of(self, user_id: str) -> int:
        """Guild-level permissions: @everyone's plus every role's (docs: topics/permissions)."""
        if user_id == self.owner_id:
            return ADMINISTRATOR | MANAGE_GUILD | BOT_PERMISSIONS
        perms = self.roles[self.id].permissions
        for role_id in self.members.get(user_id, []):
            perms |= self.roles[role_id].permissions
        return perms

    def permissions_in(self, user_id: str, channel: Channel) -> int:
        """Permissions in ``channel`` after its overwrites, in Discord's order: @everyone,
        then the member's roles together, then the member (docs: topics/permissions,
        "Permission Overwrites"). A thread uses its parent's."""
        perms = self.permissions_of(user_id)
        if perms & ADMINISTRATOR:
            return perms | BOT_PERMISSIONS
        ow = channel.overwrites
        allow, deny, _ = ow.get(self.id, (0, 0, 0))
        perms = (perms & ~deny) | allow
        allow = deny = 0
        for role_id in self.members.get(user_id, []):
            a, d, _ = ow.get(role_id, (0, 0, 0))
            allow, deny = allow | a, deny | d
        perms = (perms & ~deny) | allow
        allow, deny, _ = ow.get(user_id, (0, 0, 0))
        return (perms & ~deny) | allow


def emoji_payload(emoji: str) -> tuple[str, dict]:
    """``(key, payload)`` for a Unicode emoji or a custom one written ``name:id``."""
    name, _, custom_id = emoji.partition(":")
    if custom_id:
        return f"{name}:{custom_id}", {"id": custom_id, "name": name, "animated": False}
    return emoji, {"id": None, "name": emoji}


_EMOJI_ELEMENT = (
    r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    r"|\p{Emoji_Presentation}(?<![#*0-9])"
    r"|(?![#*0-9])[\p{Emoji}--\p{Emoji_Presentation}--\p{Emoji_Component}]\uFE0F"
    r"|[#*0-9]\uFE0F\u20E3"
    r"|\p{Regional_Indicator}\p{Regional_Indicator})"
    r"[\U000E0020-\U000E007F]*"
)
_UNICODE_EMOJI = regex.compile(rf"^{_EMOJI_ELEMENT}(?:\u200D{_EMOJI_ELEMENT})*$", regex.V1)


def is_known_unicode_emoji(text: str) -> bool:
    """Whether Discord lists ``text`` as an emoji, in exactly this form.

    Discord knows emoji in their fully-qualified Unicode form (https://unicode.org/Public/emoji/latest/emoji-test.txt):
    a character shown as emoji by default (👍 U+1F44D, 🤷) is written without the variation
    selector U+FE0F, a character shown as text by default (❤ U+2764) needs it, keycaps are
    ``digit FE0F 20E3``, flags two regional indicators, and ZWJ sequences join such elements.
    So ``"👍\ufe0f"`` and a bare ``"❤"`` are unknown (10014), ``"❤️"`` and ``"🤷‍♀️"`` are known.
    """
    return bool(_UNICODE_EMOJI.match(text))


class World:
    """Everything the local Discord knows, mutated by REST calls and simulated people.

    Ids are strings; their timestamps are the creation times read from ``now`` (UTC datetimes),
    so a test may pass a controlled clock. Raises ``KeyError`` for unknown ids (the REST layer
    turns it into a 404).
    """

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.now = now
        self.ids = Snowflakes(now)
        self.users: dict[str, User] = {}
        self.guilds: dict[str, Guild] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, Message] = {}
        self.bot = self.add_user("planbot", bot=True)
        self.application_id = self.ids.next()

    def add_user(self, username: str, *, bot: bool = False, locale: str = "fr") -> User:
        user = User(self.ids.next(), username, bot=bot, locale=locale)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: User) -> Guild:
        """A guild with @everyone (:data:`EVERYDAY_PERMISSIONS`), the bot's managed role
        (:data:`BOT_PERMISSIONS`), its owner and the bot as members."""
        guild = Guild(self.ids.next(), name, owner.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", EVERYDAY_PERMISSIONS)
        self.guilds[guild.id] = guild
        bot_role = self.add_role(guild, self.bot.username, BOT_PERMISSIONS)
        bot_role.managed = True
        self.join(guild, owner)
        self.join(guild, self.bot, (bot_role,))
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = Role(self.ids.next(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def join(self, guild: Guild, user: User, roles: tuple[Role, ...] = ()) -> None:
        guild.members[user.id] = [r.id for r in roles]

    def add_channel(self, guild: Guild, name: str, *, kind: int = TEXT_CHANNEL) -> Channel:
        """A text channel, or a forum with ``kind=FORUM_CHANNEL``."""
        channel = Channel(self.ids.next(), guild.id, name, type=kind,
                          position=len(guild.channels), created_at=self.now())
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def open_dm(self, user: User) -> Channel:
        """The bot's DM channel with ``user``, the same one on every call (docs:
        resources/user#create-dm)."""
        found = next((c for c in self.channels.values() if c.recipient_id == user.id), None)
        if found is None:
            found = Channel(self.ids.next(), "", "", type=DM_CHANNEL, created_at=self.now(),
                            recipient_id=user.id)
            self.channels[found.id] = found
        return found

    def add_emoji(self, guild: Guild, name: str) -> str:
        """A custom emoji of ``guild``; returns its id."""
        emoji_id = self.ids.next()
        guild.emojis[emoji_id] = name
        return emoji_id

    def attachment(self, filename: str, data: bytes, content_type: str | None = None) -> dict:
        """An attachment object (docs: resources/message#attachment-object) for a stored file."""
        kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        attachment_id = self.ids.next()
        url = f"https://cdn.discordapp.com/attachments/0/{attachment_id}/{filename}"
        found = {"id": attachment_id, "filename": filename, "size": len(data), "url": url,
                 "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                 "content_type": kind}
        if kind.startswith("image/"):
            found.update(width=64, height=64)
        return found

    def post(
        self,
        channel_id: str,
        author: User,
        content: str,
        *,
        embeds: list[dict] | None = None,
        attachments: list[dict] | None = None,
        components: list[dict] | None = None,
        reference_id: str | None = None,
        type_: int | None = None,
    ) -> Message:
        """Store a message; in a thread it counts as activity (docs: topics/threads)."""
        channel = self.channels[channel_id]
        if type_ is None:
            type_ = REPLY_MESSAGE if reference_id else DEFAULT_MESSAGE
        message = Message(
            self.ids.next(),
            channel_id,
            channel.guild_id,
            author,
            content,
            self.now(),
            type=type_,
            embeds=embeds or [],
            attachments=attachments or [],
            components=numbered(components),
            reference_id=reference_id,
        )
        self.messages[message.id] = message
        if channel.type == PUBLIC_THREAD and type_ != THREAD_STARTER_MESSAGE:
            channel.last_activity = message.created_at
            channel.message_count += 1
        return message

    def start_thread(self, message: Message, name: str, owner: User,
                     auto_archive_duration: int | None = None) -> Channel:
        """A public thread from ``message``: same id as the message (docs/platform-facts.md)."""
        parent = self.channels[message.channel_id]
        thread = Channel(
            message.id,
            parent.guild_id,
            name,
            type=PUBLIC_THREAD,
            parent_id=parent.id,
            owner_id=owner.id,
            created_at=self.now(),
            auto_archive_duration=auto_archive_duration or 4320,
        )
        self.channels[thread.id] = thread
        message.thread_id = thread.id
        message.flags |= HAS_THREAD_FLAG
        # Discord shows the starter message inside the thread as type 21 (THREAD_STARTER_MESSAGE).
        self.post(thread.id, owner, "", reference_id=message.id, type_=THREAD_STARTER_MESSAGE)
        return thread

    def start_forum_post(self, forum: Channel, name: str, owner: User, content: str, *,
                         attachments: list[dict] | None = None,
                         auto_archive_duration: int | None = None) -> tuple[Channel, Message]:
        """A forum post: a thread of ``forum`` whose starter message lives inside it and has
        the thread's id (docs: topics/threads, "Forums")."""
        thread = Channel(self.ids.next(), forum.guild_id, name, type=PUBLIC_THREAD,
                         parent_id=forum.id, owner_id=owner.id, created_at=self.now(),
                         auto_archive_duration=auto_archive_duration or 4320)
        self.channels[thread.id] = thread
        message = Message(thread.id, thread.id, forum.guild_id, owner, content, self.now(),
                          attachments=attachments or [])
        self.messages[message.id] = message
        return thread, message

    def due_archives(self) -> list[Channel]:
        """Archive every thread inactive for its ``auto_archive_duration``; returns them."""
        now = self.now()
        archived = []
        for channel in self.channels.values():
            due = channel.archives_at()
            if due is not None and due <= now:
                channel.archived, channel.archive_timestamp = True, due
                archived.append(channel)
        return archived

    def set_archived(self, thread: Channel, archived: bool) -> None:
        """Archive or unarchive ``thread``; unarchiving counts as activity."""
        thread.archived = archived
        thread.archive_timestamp = self.now()
        if not archived:
            thread.last_activity = thread.archive_timestamp

    def history(self, channel_id: str) -> list[Message]:
        """Messages of a channel or thread, oldest first."""
        found = [m for m in self.messages.values() if m.channel_id == channel_id]
        return sorted(found, key=lambda m: int(m.id))

    def member_payload(self, guild: Guild, user: User, *, with_user: bool = True) -> dict:
        data = {
            "roles": list(guild.members.get(user.id, [])),
            "joined_at": self.now().isoformat(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "pending": False,
        }
        if with_user:
            data["user"] = user.payload()
        return data


def numbered(components: list[dict] | None) -> list[dict]:
    """Components as Discord stores them: each without an ``id`` gets the next number, in
    layout order from 1 (docs: components/reference, "id ... auto populated")."""
    counter = itertools.count(1)

    def walk(items: list[dict]) -> list[dict]:
        out = []
        for item in items:
            copy = {**item, "id": item.get("id") or next(counter)}
            if "components" in item:
                copy["components"] = walk(item["components"])
            if "component" in item:
                copy["component"] = walk([item["component"]])[0]
            out.append(copy)
        return out

    return walk(components or [])


def emoji_object(emoji_id: str, name: str) -> dict:
    """A guild's custom emoji object (docs: resources/emoji#emoji-object)."""
    return {"id": emoji_id, "name": name, "roles": [], "require_colons": True,
            "managed": False, "animated": False, "available": True}


def guild_payload(world: World, guild: Guild) -> dict:
    """GUILD_CREATE's data: the guild with its roles, channels, active threads, members."""
    channels = [c for c in guild.channels.values() if c.type in (TEXT_CHANNEL, FORUM_CHANNEL)]
    threads = [
        c
        for c in world.channels.values()
        if c.guild_id == guild.id and c.type == PUBLIC_THREAD and not c.archived
    ]
    return {
        "id": guild.id,
        "name": guild.name,
        "owner_id": guild.owner_id,
        "icon": None,
        "features": [],
        "emojis": [emoji_object(i, n) for i, n in guild.emojis.items()],
        "stickers": [],
        "roles": [r.payload() for r in guild.roles.values()],
        "channels": [c.payload() for c in channels],
        "threads": [t.payload() for t in threads],
        "members": [world.member_payload(guild, world.bot)],
        "member_count": len(guild.members),
        "large": False,
        "unavailable": False,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "preferred_locale": "fr",
        "joined_at": world.now().isoformat(),
        "voice_states": [],
        "presences": [],
    }
