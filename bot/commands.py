"""Facilitator commands, the same for Discord and Slack: one table of actions.

The adapters turn a slash command into a neutral :class:`bot.events.CommandInvoked` and await
:meth:`Commands.run`; :data:`ACTIONS` says, for each action, which handler answers it and
whether only a facilitator may run it. Every user error becomes a reply in the user's
language (``bot/locales``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.errors import BadArgument, Conflict, NotAllowed, NotFound, PlanbotError, SetupError
from bot.events import CommandInvoked
from bot.i18n import language_of, translate, translate_plural
from bot.intake import RunInDb
from bot.platform import ChannelRef, ChatPlatform
from bot.privacy import Privacy, personal_data_json
from bot.rounds import Opened, Rounds
from storage.records import Place, RoundData
from storage.store import Store

if TYPE_CHECKING:
    from bot.publish import PublishResult

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandReply:
    """What to answer the user: ``text`` in their language; ``ephemeral`` = only they see it."""

    text: str
    ephemeral: bool = True
    files: dict[str, bytes] = field(default_factory=dict)
    """Files to send with the answer, by name (``/my-data``'s JSON)."""


class PublishDigest(Protocol):
    """The digest publisher as commands call it (:class:`bot.publish.DigestPublisher`):
    ``(round_id, "on_demand", platform, channel)`` posts in that channel,
    ``(round_id, "final")`` in every channel of the round."""

    def __call__(self, round_id: int, kind: str, platform: ChatPlatform | None = None,
                 channel: ChannelRef | None = None) -> Awaitable[PublishResult]: ...


Handler = Callable[["Commands", CommandInvoked, ChatPlatform, str], Awaitable[CommandReply]]


@dataclass(frozen=True, slots=True)
class Action:
    """One action: the handler that answers it (``handler(commands, cmd, platform, lang)``)
    and whether only a facilitator may run it."""

    handler: Handler
    facilitator: bool


NOT_FACILITATOR = {"discord": "error.not_facilitator_discord",
                   "slack": "error.not_facilitator_slack"}
"""The refusal of a facilitator command, by platform: it says who decides who the
facilitators are (whoever runs planbot, by the setting it names), so a participant knows whom
to ask."""


class Commands:
    """Runs facilitator commands. ``db`` runs store calls on the database thread,
    ``rounds`` opens and closes rounds, ``publish_digest`` posts digests, ``privacy`` serves
    a participant's own data (``/my-data``, ``/forget-me``)."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb,
                 rounds: Rounds, publish_digest: PublishDigest, privacy: Privacy) -> None:
        self.privacy = privacy
        self.store = store
        self.settings = settings
        self.clock = clock
        self.db = db
        self.rounds = rounds
        self.publish_digest = publish_digest

    def is_facilitator(self, cmd: CommandInvoked) -> bool:
        """Manage Server, a configured role or user group, or a configured user id."""
        allowed = self.settings.facilitator_ids
        return cmd.is_admin or cmd.actor.user_id in allowed or bool(cmd.roles & allowed)

    async def run(self, cmd: CommandInvoked, platform: ChatPlatform) -> CommandReply:
        """Run a command; every user error becomes a reply in the user's language.

        The adapter must acknowledge the interaction before awaiting this: opening a round
        posts every section and may wait on rate limits.
        """
        lang = language_of(cmd.locale, self.settings.language)
        try:
            action = ACTIONS.get(cmd.action)
            if action is None:
                raise BadArgument("error.unknown_action", action=cmd.action)
            # PostgreSQL refuses NUL in text: say so, rather than fail in the store.
            nul = next((key for key, value in cmd.args.items() if "\x00" in value), None)
            if nul is not None:
                raise BadArgument("error.nul_character", option=nul)
            if action.facilitator and not self.is_facilitator(cmd):
                raise NotAllowed(NOT_FACILITATOR[cmd.platform])
            return await action.handler(self, cmd, platform, lang)
        except PlanbotError as err:
            return CommandReply(err.message(lang))

    async def help(self, cmd: CommandInvoked, platform: ChatPlatform, lang: str) -> CommandReply:
        return CommandReply(translate("help.text", lang))

    async def plans(self, cmd: CommandInvoked, platform: ChatPlatform,
                    lang: str) -> CommandReply:
        plans = await self.db(self.store.list_plans)
        if not plans:
            return CommandReply(translate("plans.none", lang))
        lines = [translate("plans.header", lang)] + [
            f"• `{p.slug}` (v{p.version}) — {p.titles.get(lang) or next(iter(p.titles.values()))}"
            for p in plans]
        return CommandReply("\n".join(lines))

    async def open(self, cmd: CommandInvoked, platform: ChatPlatform, lang: str) -> CommandReply:
        plan = cmd.args.get("plan", "").strip()
        join = cmd.args.get("join", "").strip() or None
        if not plan and join is None:
            raise BadArgument("error.plan_required")
        channel = ChannelRef(cmd.platform, cmd.workspace_id,
                             cmd.args.get("channel") or cmd.channel_id)
        sections = None
        if "sections" in cmd.args:
            sections = [k.strip() for k in cmd.args["sections"].split(",") if k.strip()]
            if not sections:
                raise BadArgument("error.no_sections_given")
        # Checked first: a channel refusing the sections would otherwise leave a round
        # open with nothing posted, and the facilitator would learn why one refusal at a time.
        missing = await platform.missing_permissions(channel, lang)
        if missing:
            _log.warning("open refused: %d permission(s) missing on %s", len(missing),
                         cmd.platform)
            raise SetupError("error.missing_permissions", permissions=", ".join(missing))
        opened = await self.rounds.open(
            plan=plan or None, channel=channel, platform=platform, sections=sections,
            closes=cmd.args.get("closes"), language=cmd.args.get("language") or None,
            join=join, stance_mode=cmd.args.get("stances") or None,
            moderation=cmd.args.get("moderation") or None)
        rnd = await self.db(self.store.get_round, opened.round_id)
        return CommandReply("\n".join(_opened_lines(opened, rnd.public_id if rnd else "", lang)))

    async def invite(self, cmd: CommandInvoked, platform: ChatPlatform,
                     lang: str) -> CommandReply:
        """A code another place uses once to join the round (``bot/invitations.py``); only a
        facilitator of the place where the round was opened may make one."""
        rnd = await self._round_arg(cmd, open_only=True, home_only=True)
        code, expires = await self.rounds.invitations.create(rnd.id)
        return CommandReply(translate(
            "round.invitation", lang, round=rnd.public_id, code=code,
            expires=expires.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M")))

    async def close(self, cmd: CommandInvoked, platform: ChatPlatform,
                    lang: str) -> CommandReply:
        rnd = await self._round_arg(cmd, open_only=True, home_only=True)
        if not await self.rounds.close(rnd.id):
            raise Conflict("error.round_closed", round=rnd.public_id)
        await self.publish_digest(rnd.id, "final")
        return CommandReply(translate("round.closed", lang, round=rnd.public_id))

    async def status(self, cmd: CommandInvoked, platform: ChatPlatform,
                     lang: str) -> CommandReply:
        rnd = await self._round_arg(cmd, open_only=False)
        counts = await self.db(self.store.statement_counts, rnd.id)
        people = await self.db(self.store.participation, rnd.id)
        closes = rnd.closes_at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M") \
            if rnd.closes_at else "—"
        held = await self.db(self.store.held_back_count, rnd.id)
        # Facilitators see what the per-person copy limit kept out of the other channels.
        held_note = "\n" + translate(
            "round.held_back", lang, replies=translate_plural("count.replies", held, lang),
            limit=self.settings.copy_limit,
            window=int(self.settings.copy_window.total_seconds() // 60)) if held else ""
        # And the replies strict moderation holds until they decide (/moderate).
        queue = await self.db(self.store.moderation_queue, rnd.id, 0)
        if queue is not None and queue.pending:
            held_note += "\n" + translate_plural("moderation.waiting", queue.pending, lang)
        return CommandReply(translate(
            "round.status", lang, round=rnd.public_id, name=rnd.name,
            status=translate(f"round.state_{rnd.status}", lang), closes=closes,
            sections=translate_plural("count.sections", sum(
                1 for c in counts if c.kind == "section"), lang),
            replies=translate_plural("count.replies", sum(
                1 for c in counts if c.kind == "reply" and c.deleted_at is None), lang),
            stances=translate_plural("count.stances", sum(
                c.agree + c.disagree + c.passes for c in counts), lang),
            participants=translate_plural("count.participants", people.total, lang))
            + held_note)

    async def digest(self, cmd: CommandInvoked, platform: ChatPlatform,
                     lang: str) -> CommandReply:
        rnd = await self._round_arg(cmd, open_only=False)
        channel = ChannelRef(cmd.platform, cmd.workspace_id, cmd.channel_id)
        result = await self.publish_digest(rnd.id, "on_demand", platform, channel)
        if result.digest_id is None:
            return CommandReply(translate("digest.just_posted", lang, round=rnd.public_id))
        return CommandReply(translate("digest.posted", lang, round=rnd.public_id))

    async def named_round(self, cmd: CommandInvoked) -> RoundData:
        """The round ``cmd`` names (``round=``) or its channel's, open or closed, found as for
        every facilitator command (``/moderate`` too); see :meth:`_round_arg`."""
        return await self._round_arg(cmd, open_only=False)

    async def _round_arg(self, cmd: CommandInvoked, *, open_only: bool,
                         home_only: bool = False) -> RoundData:
        """The round named by ``round=`` (its public id, ``#`` optional), else the channel's
        round, if it belongs to the caller's place (guild, workspace). A round of another
        place is answered exactly as a round that does not exist (``NotFound``), so its
        existence cannot be learnt; ``home_only``: a place that joined the round may not do
        this (``NotAllowed``: the round was opened elsewhere). Raises ``NotFound``,
        ``NotAllowed``, or ``Conflict`` (closed, when ``open_only``)."""
        place = Place(cmd.platform, cmd.workspace_id)
        raw = cmd.args.get("round", "").strip().lstrip("#")
        if raw:
            rnd = await self.db(self.store.round_by_public_id, raw.lower()) \
                if len(raw) <= 64 else None
            if rnd is None or place not in rnd.places:
                raise NotFound("error.no_round", round=raw)
        else:
            rnd = await self._channel_round(cmd, place)
        if open_only and rnd.status != "open":
            raise Conflict("error.round_closed", round=rnd.public_id)
        if home_only and rnd.home != place:
            raise NotAllowed("error.not_round_home", round=rnd.public_id)
        return rnd

    async def _channel_round(self, cmd: CommandInvoked, place: Place) -> RoundData:
        """The newest round posted in the command's channel (an open one first)."""
        for open_only in (True, False):
            round_id = await self.db(self.store.round_for_channel, cmd.platform,
                                     cmd.channel_id, open_only=open_only)
            rnd = await self.db(self.store.get_round, round_id) if round_id else None
            if rnd is not None and place in rnd.places:
                return rnd
        raise NotFound("error.no_round_here")


def _opened_lines(opened: Opened, shown: str, lang: str) -> list[str]:
    """The facilitator's answer to an open of the round whose public id is ``shown``: whether
    it joined a round open elsewhere, what was posted (or that all was there already), and
    which sections failed and why."""
    posting, lines = opened.posting, []
    if opened.elsewhere:
        lines.append(translate("round.joined", lang, round=shown,
                               where=", ".join(p.capitalize() for p in opened.elsewhere)))
    if posting.posted or posting.failed:
        lines.append(translate_plural("round.opened", posting.posted, lang, round=shown))
    else:
        lines.append(translate_plural("round.already_posted", posting.already, lang,
                                      round=shown))
    if posting.failed:
        lines.append(translate("round.failed_sections", lang, sections="; ".join(
            f"`{f.key}` ({f.reason})" for f in posting.failed)))
    return lines


async def my_data(commands: Commands, cmd: CommandInvoked, platform: ChatPlatform,
                  lang: str) -> CommandReply:
    """``/my-data``: what planbot holds about the caller, as a JSON file and a short summary,
    only to them (Law 25, s. 27)."""
    user_id = cmd.actor.user_id
    data = await commands.privacy.export(cmd.platform, user_id, "chat")
    files = {"planbot-my-data.json": personal_data_json(data, cmd.platform, user_id)}
    if data is None:
        return CommandReply(translate("privacy.nothing_held", lang), files=files)
    copies = sum(1 for r in data.replies for m in r.messages if m.is_copy)
    text = translate("privacy.summary", lang,
                     name=data.display_name or "—",
                     rounds=translate_plural("count.rounds", len(data.rounds), lang),
                     stances=translate_plural("count.stances", len(data.stances), lang),
                     replies=translate_plural("count.replies", len(data.replies), lang),
                     copies=translate_plural("count.copies", copies, lang),
                     edits=translate_plural("count.edits", sum(len(r.edits) for r in data.replies),
                                            lang),
                     retention=commands.settings.retention_period.days)
    if data.decisions:
        text += "\n" + translate_plural("privacy.decisions_held", len(data.decisions), lang)
    return CommandReply(text, files=files)


async def forget_me(commands: Commands, cmd: CommandInvoked, platform: ChatPlatform,
                    lang: str) -> CommandReply:
    """``/forget-me``: without a code, say what erasing does and give a confirmation code;
    with the right code (``confirm``), erase the caller (Law 25, s. 28). Raises
    ``BadArgument`` for a wrong or expired code."""
    privacy, user_id = commands.privacy, cmd.actor.user_id
    code = cmd.args.get("confirm", "").strip()
    if not code:
        return CommandReply(translate(f"privacy.confirm_{cmd.platform}", lang,
                                      code=privacy.confirm_code(cmd.platform, user_id)))
    if not privacy.code_is_valid(cmd.platform, user_id, code):
        raise BadArgument("privacy.bad_code", code=code)
    report = await privacy.erase(cmd.platform, user_id, "chat")
    if not report.found:
        return CommandReply(translate("privacy.nothing_held", lang))
    text = translate("privacy.erased", lang,
                     replies=translate_plural("count.replies", report.replies, lang),
                     stances=translate_plural("count.stances", report.stances, lang),
                     copies=translate_plural("count.copies", report.copies_deleted, lang))
    if report.decisions:
        text += "\n" + translate_plural("privacy.decisions_unlinked", report.decisions, lang)
    if report.pending:
        text += "\n" + translate_plural("privacy.pending_discarded", report.pending, lang)
    if report.copies_left:
        text += "\n" + translate_plural("privacy.copies_left", len(report.copies_left), lang,
                                         platforms=", ".join(sorted(
                                             {c.platform for c in report.copies_left})))
    return CommandReply(text)


ACTIONS: dict[str, Action] = {
    "my-data": Action(my_data, facilitator=False),
    "forget-me": Action(forget_me, facilitator=False),
    "open": Action(Commands.open, facilitator=True),
    "close": Action(Commands.close, facilitator=True),
    "invite": Action(Commands.invite, facilitator=True),
    "status": Action(Commands.status, facilitator=True),
    "digest": Action(Commands.digest, facilitator=True),
    "plans": Action(Commands.plans, facilitator=False),
    "help": Action(Commands.help, facilitator=False),
}
"""Every action of ``/round``, ``/digest``, ``/plans`` (Discord) and ``/planbot`` (Slack)."""
