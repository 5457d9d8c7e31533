"""planbot's Discord bot: a discord.py ``commands.Bot`` around an injected core.

Modelled on discord.py's ``examples/advanced_startup.py`` (dependencies through the
constructor, wiring in ``setup_hook``) and ``examples/reaction_roles.py`` (raw reaction events,
so nothing depends on the message cache). Each raw gateway event is translated
(:mod:`integrations.discord.translate`) and handed to ``Core.handle``; the core decides.

After every fresh session (start-up, or a reconnect that could not be resumed) ``on_ready``
fires and the bot runs ``Core.reconcile`` to pick up what happened while it was away. A
resumed session needs none: Discord replays the missed events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import discord
from discord.ext import commands

from bot.core import Core
from bot.errors import SetupError
from bot.events import InboundEvent
from integrations.discord import translate
from integrations.discord.commands import (
    PlanbotCommands,
    PlanbotTranslator,
    PlanbotTree,
)
from integrations.discord.moderation import ModerationButtons
from integrations.discord.my_stances import StanceButtons
from integrations.discord.platform import NO_MENTIONS, DiscordPlatform
from integrations.discord.proposals import ProposalModals
from integrations.discord.voting import VoteButtons

_log = logging.getLogger(__name__)
BOT_CACHE_SIZE = 100_000
"""Users whose bot flag is kept before the cache starts afresh."""

NO_CONTENT_BANNER = (
    "\n*** planbot: the MESSAGE CONTENT intent is not available. Reply texts will be stored as "
    "WITHHELD, not read. Enable 'Message Content Intent' for this application in the Discord "
    "developer portal (Bot > Privileged Gateway Intents) and restart. ***"
)


def planbot_intents(*, message_content: bool) -> discord.Intents:
    """Guilds, guild messages, guild reactions and (privileged) message content; nothing else."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.guild_reactions = True
    intents.message_content = message_content
    return intents


class PlanbotDiscord(commands.Bot):
    """The Discord side of planbot.

    ``core`` is the :class:`bot.core.Core`. ``guild_ids``: sync the slash commands to these guilds
    (instant) instead of globally. ``reidentify_delay`` replaces discord.py's fixed 5 s pause
    before a non-initial IDENTIFY (the public ``before_identify_hook``). Other keyword options
    go to ``commands.Bot`` (e.g. ``guild_ready_timeout``).

    :meth:`wait_until_idle` and :meth:`wait_until_reconciled` let tests and the demo wait for the bot
    instead of sleeping.
    """

    def __init__(
        self,
        core: Core,
        *,
        message_content: bool = True,
        guild_ids: frozenset[str] = frozenset(),
        sync_commands: bool = True,
        reidentify_delay: float = 5.0,
        **options,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=planbot_intents(message_content=message_content),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=PlanbotTree,
            **options,
        )
        self.core = core
        self.platform = DiscordPlatform(self)
        self.votes = VoteButtons(core)
        self.proposals = ProposalModals(core)
        self.moderation = ModerationButtons(core)
        self.mine = StanceButtons(core)
        self._guild_ids = guild_ids
        self._sync_commands = sync_commands
        self._reidentify_delay = reidentify_delay
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.reconciliations = 0
        self._reconciled = asyncio.Condition()
        self._bots: dict[int, bool] = {}

    async def setup_hook(self) -> None:
        await self.tree.set_translator(PlanbotTranslator())
        await self.add_cog(PlanbotCommands(self))
        if not self._sync_commands:
            return
        if self._guild_ids:
            for guild_id in sorted(self._guild_ids):
                guild = discord.Object(int(guild_id))
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self._reidentify_delay)

    # -- waiting -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _working(self):
        """Count in-flight handlers; entered synchronously at the start of each handler."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def wait_until_idle(self) -> None:
        """Return once no event handler or reconciliation is running."""
        await self._idle.wait()

    async def wait_until_reconciled(self, count: int = 1) -> None:
        """Return once ``count`` reconciliations have finished since start."""
        async with self._reconciled:
            await self._reconciled.wait_for(lambda: self.reconciliations >= count)

    async def _handle(self, event: InboundEvent | None) -> None:
        if event is not None:
            await self.core.handle(event)

    def _me(self) -> int:
        return self.user.id if self.user else 0

    async def is_bot_user(self, user_id: int) -> bool:
        """Whether ``user_id`` is a bot (or planbot itself), for payloads that do not say:
        MESSAGE_REACTION_REMOVE carries no member (docs: topics/gateway-events
        #message-reaction-remove). Read from discord.py's user cache, else ``GET
        /users/{id}`` once; an account never changes kind, so answers are kept. A failed
        look-up answers ``False`` uncached (a person's removal must not be lost)."""
        if user_id == self._me():
            return True
        known = self._bots.get(user_id)
        if known is not None:
            return known
        user = self.get_user(user_id)
        if user is None:
            try:
                user = await self.fetch_user(user_id)
            except discord.HTTPException as err:
                _log.warning("could not tell whether a user is a bot: %s", err.status)
                return False
        self._remember(user_id, bot=user.bot)
        return user.bot

    def _remember(self, user_id: int, *, bot: bool) -> None:
        if len(self._bots) > BOT_CACHE_SIZE:
            self._bots.clear()
        self._bots[user_id] = bot

    # -- lifecycle -----------------------------------------------------------------------

    async def on_ready(self) -> None:
        with self._working():
            if not self.intents.message_content:
                _log.warning(NO_CONTENT_BANNER)
            _log.info("connected as %s; reconciling open rounds", self.user)
            report = await self.core.reconcile(self.platform)
            _log.info("reconciliation: %s", report)
            async with self._reconciled:
                self.reconciliations += 1
                self._reconciled.notify_all()

    # -- raw gateway events --------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Clicks on planbot's vote, /my-stances and moderation buttons and submissions of
        its propose modal (slash commands go through the command tree)."""
        with self._working():
            if not await self.votes.on_interaction(interaction) \
                    and not await self.mine.on_interaction(interaction) \
                    and not await self.moderation.on_interaction(interaction):
                await self.proposals.on_interaction(interaction)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        with self._working():
            if payload.user_id == self._me():
                return
            if payload.member is not None:  # the payload says: no look-up at removal
                self._remember(payload.user_id, bot=payload.member.bot)
            await self._handle(translate.reaction_added(payload, me=self._me(), now=self.core.clock.now()))

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        with self._working():
            if await self.is_bot_user(payload.user_id):
                return
            await self._handle(translate.reaction_removed(payload, me=self._me(), now=self.core.clock.now()))

    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        with self._working():
            await self._handle(translate.reactions_cleared(payload, now=self.core.clock.now()))

    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        with self._working():
            await self._handle(translate.reactions_cleared(payload, now=self.core.clock.now()))

    async def on_message(self, message: discord.Message) -> None:
        with self._working():
            if message.author.id == self._me() or isinstance(message.channel, discord.TextChannel):
                return  # our own posts, and messages outside threads, are never replies
            event = translate.reply_posted(
                message, me=self._me(), content_intent=self.intents.message_content
            )
            await self._handle(event)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        with self._working():
            if payload.message.author.id == self._me():
                return
            await self._handle(translate.reply_edited(payload, content_intent=self.intents.message_content))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        with self._working():
            await self._handle(translate.reply_deleted(payload, now=self.core.clock.now()))

    async def on_raw_thread_update(self, payload: discord.RawThreadUpdateEvent) -> None:
        with self._working():
            await self._handle(translate.thread_state_changed(payload, now=self.core.clock.now()))

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        with self._working():
            for event in translate.replies_bulk_deleted(payload, now=self.core.clock.now()):
                await self._handle(event)


async def run_discord(make_bot: Callable[..., PlanbotDiscord], token: str) -> None:
    """Run the bot until it is closed; without the message-content intent if Discord refuses it.

    ``make_bot(message_content=...)`` builds a fresh bot (a discord.py client is not restarted
    after a failed start). Discord closes the gateway with 4014 when a privileged intent is
    not enabled for the application (docs: topics/opcodes-and-status-codes); planbot then
    carries on without message text, says so loudly, and stores replies as withheld.
    Raises ``bot.errors.SetupError`` naming ``DISCORD_TOKEN`` when Discord refuses the token
    (``GET /users/@me`` answers 401), which no retry can fix.
    """
    try:
        async with make_bot(message_content=True) as bot:
            await bot.start(token)
    except discord.LoginFailure as err:
        raise SetupError("run.token_rejected", key="DISCORD_TOKEN",
                         error="401 Unauthorized") from err
    except discord.PrivilegedIntentsRequired:
        _log.warning(NO_CONTENT_BANNER)
        async with make_bot(message_content=False) as bot:
            await bot.start(token)
