"""The in-memory world of the local Discord: guilds, channels, roles, members, messages.

REST answers and gateway dispatches are both built from these objects, so they agree. Payload
shapes follow Discord's API reference (discord.com/developers/docs/resources/*), trimmed to what
discord.py 2.7's parsers read (see docs/platform-facts.md for the smallest accepted payloads).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000
"""Discord snowflakes count milliseconds from 2015-01-01 (docs: reference#snowflakes)."""

MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
EVERYDAY_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 6) | (1 << 16) | (1 << 38)
"""View channel, send messages, add reactions, read history, send in threads."""
PLANBOT_PERMISSIONS = EVERYDAY_PERMISSIONS | (1 << 14) | (1 << 15) | (1 << 35)
"""What planbot's invite link grants its role: the everyday ones plus embed links, attach
files and create public threads (integrations/discord/README.md)."""

TEXT_CHANNEL = 0
PUBLIC_THREAD = 11

DEFAULT_MESSAGE = 0
REPLY_MESSAGE = 19
THREAD_STARTER_MESSAGE = 21
EPHEMERAL_FLAG = 1 << 6
HAS_THREAD_FLAG = 1 << 5


class Snowflakes:
    """Increasing snowflake ids whose timestamp part is ``start`` (discord.py reads it back)."""

    def __init__(self, start: datetime) -> None:
        base = int(start.timestamp() * 1000) - DISCORD_EPOCH_MS
        self._ids = itertools.count(base << 22)

    def next(self) -> str:
        """The next id, as Discord sends ids: a decimal string."""
        return str(next(self._ids))


@dataclass
class User:
    id: str
    username: str
    bot: bool = False
    locale: str = "fr"

    def payload(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "global_name": self.username,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class Role:
    id: str
    name: str
    permissions: int = 0
    position: int = 0

    def payload(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": True,
            "flags": 0,
        }


@dataclass
class Channel:
    id: str
    guild_id: str
    name: str
    type: int = TEXT_CHANNEL
    position: int = 0
    parent_id: str | None = None
    owner_id: str | None = None
    archived: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    permission_overwrites: list[dict] = field(default_factory=list)
    """Overwrite objects (docs: resources/channel#overwrite-object): id, type, allow, deny."""

    def payload(self) -> dict:
        data = {
            "id": self.id,
            "guild_id": self.guild_id,
            "name": self.name,
            "type": self.type,
            "position": self.position,
            "permission_overwrites": self.permission_overwrites,
            "nsfw": False,
            "parent_id": self.parent_id,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if self.type == PUBLIC_THREAD:
            data.update(
                owner_id=self.owner_id,
                message_count=0,
                member_count=1,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": 10080,
                    "archive_timestamp": self.created_at.isoformat(),
                    "locked": False,
                    "create_timestamp": self.created_at.isoformat(),
                },
            )
        return data


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
    reference_id: str | None = None
    thread_id: str | None = None
    # emoji key ("👍" or "name:id") -> (emoji payload, user ids in reaction order)
    reactions: dict[str, tuple[dict, list[str]]] = field(default_factory=dict)

    def payload(self, *, me: str, withhold_content: bool = False) -> dict:
        """The message as REST and MESSAGE_CREATE/UPDATE carry it.

        ``withhold_content`` blanks content, embeds and attachments as Discord does for an app
        without the message-content intent (docs: "Message Content Intent"), except for the
        app's own messages.
        """
        hidden = withhold_content and self.author.id != me
        data = {
            "id": self.id,
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
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
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
            "reactions": [
                {
                    "emoji": emoji,
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": me in users,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, users in self.reactions.values()
                if users
            ],
        }
        if self.reference_id is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": self.reference_id,
                "channel_id": self.channel_id,
                "guild_id": self.guild_id,
            }
        return data


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # user id -> role ids

    def permissions_of(self, user_id: str) -> int:
        """Guild-level permissions: @everyone's plus every role's (docs: topics/permissions)."""
        if user_id == self.owner_id:
            return ADMINISTRATOR | MANAGE_GUILD | EVERYDAY_PERMISSIONS
        perms = self.roles[self.id].permissions
        for role_id in self.members.get(user_id, []):
            perms |= self.roles[role_id].permissions
        return perms


def emoji_payload(emoji: str) -> tuple[str, dict]:
    """``(key, payload)`` for a Unicode emoji or a custom one written ``name:id``."""
    name, _, custom_id = emoji.partition(":")
    if custom_id:
        return f"{name}:{custom_id}", {"id": custom_id, "name": name, "animated": False}
    return emoji, {"id": None, "name": emoji}


class World:
    """Everything the local Discord knows, mutated by REST calls and simulated people.

    Ids are strings. ``now`` is called for every timestamp, so a test may pass a controlled
    clock. Raises ``KeyError`` for unknown ids (the REST layer turns it into a 404).
    """

    def __init__(self, *, now=lambda: datetime.now(UTC)) -> None:
        self.now = now
        self.ids = Snowflakes(now())
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
        guild = Guild(self.ids.next(), name, owner.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", EVERYDAY_PERMISSIONS)
        self.guilds[guild.id] = guild
        self.join(guild, owner)
        self.join(guild, self.bot)
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = Role(self.ids.next(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def join(self, guild: Guild, user: User, roles: tuple[Role, ...] = ()) -> None:
        guild.members[user.id] = [r.id for r in roles]

    def add_channel(self, guild: Guild, name: str) -> Channel:
        channel = Channel(self.ids.next(), guild.id, name, position=len(guild.channels))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def post(
        self,
        channel_id: str,
        author: User,
        content: str,
        *,
        embeds: list[dict] | None = None,
        attachments: list[dict] | None = None,
        reference_id: str | None = None,
        type_: int | None = None,
    ) -> Message:
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
            reference_id=reference_id,
        )
        self.messages[message.id] = message
        return message

    def start_thread(self, message: Message, name: str, owner: User) -> Channel:
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
        )
        self.channels[thread.id] = thread
        message.thread_id = thread.id
        message.flags |= HAS_THREAD_FLAG
        # Discord shows the starter message inside the thread as type 21 (THREAD_STARTER_MESSAGE).
        self.post(thread.id, owner, "", reference_id=message.id, type_=THREAD_STARTER_MESSAGE)
        return thread

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
        }
        if with_user:
            data["user"] = user.payload()
        return data

    def guild_payload(self, guild: Guild) -> dict:
        """GUILD_CREATE's data: the guild with its roles, channels, active threads, members."""
        channels = [c for c in guild.channels.values() if c.type == TEXT_CHANNEL]
        threads = [
            c
            for c in self.channels.values()
            if c.guild_id == guild.id and c.type == PUBLIC_THREAD and not c.archived
        ]
        return {
            "id": guild.id,
            "name": guild.name,
            "owner_id": guild.owner_id,
            "icon": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [r.payload() for r in guild.roles.values()],
            "channels": [c.payload() for c in channels],
            "threads": [t.payload() for t in threads],
            "members": [self.member_payload(guild, self.bot)],
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
            "joined_at": self.now().isoformat(),
            "voice_states": [],
            "presences": [],
        }
