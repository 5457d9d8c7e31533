"""Build, claim, render and post digests; the one path behind the weekly job, the final
digest, ``/digest now`` and the demo.

A digest covers [start, end): ``start`` is the end of the round's last scheduled digest read
from the store (or the round's opening), so a run that catches up after downtime covers the
whole gap. Before anything is posted the period is claimed in the store (unique key round,
kind, period end, :meth:`storage.store.Store.claim_digest`): when two processes race for the
same period only the one whose insert wins posts. Every posted message id is recorded with the
digest, and its content and Markdown/HTML renderings are stored with it. A digest that reached
no channel (every post failed) gives its claim back: it is not recorded as posted, and the
next digest of its kind covers its period.

Everything a digest says is read from one consistent snapshot of the store
(:meth:`storage.store.Store.snapshot`), so that its totals agree with each other while other
processes keep writing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.config import Settings
from bot.digests.build import MIN_GROUP, MIN_VOTES, Period, build_digest
from bot.digests.model import Digest
from bot.digests.render_discord import discord_parts
from bot.digests.render_md import render_markdown
from bot.digests.render_slack import slack_messages
from bot.findings import analyse_round
from bot.i18n import translate
from bot.intake import RunInDb
from bot.observe import Observer, Unobserved
from bot.platform import ChannelRef, ChatPlatform, DigestPost, PostedMessage
from storage.records import PostedIn
from storage.store import Store

if TYPE_CHECKING:
    from bot.digests.chart import Activity
    from storage.activity import VoteColumns

_log = logging.getLogger(__name__)
CHART_FILE = "digest.png"
MAP_FILE = "opinion-map.png"

PARTS: dict[str, Callable[[str], list[dict[str, Any]]]] = {"discord": discord_parts, "slack": slack_messages}
"""Platform name -> Markdown to that platform's ordered message payloads."""


@dataclass(frozen=True)
class Rendered:
    """One digest in every form: the typed data and its Markdown, HTML, PNG chart and PNG
    opinion map (None without opinion groups)."""

    digest: Digest
    markdown: str
    html: str
    chart: bytes
    opinion_map: bytes | None = None

    def files(self) -> dict[str, bytes]:
        """File name -> PNG bytes: the chart, and the opinion map when there is one."""
        found = {CHART_FILE: self.chart}
        if self.opinion_map:
            found[MAP_FILE] = self.opinion_map
        return found

    def post_for(self, platform: str) -> DigestPost:
        """The ``DigestPost`` for ``platform`` (``discord`` or ``slack``), chart and map
        attached. Raises ``KeyError`` for a platform with no renderer."""
        return DigestPost(parts=PARTS[platform](self.markdown), files=self.files())


@dataclass
class PublishResult:
    """``digest_id`` is None when the period was already claimed (nothing was posted)."""

    digest_id: int | None
    rendered: Rendered | None = None
    posted: list[PostedMessage] = field(default_factory=list)


ON_DEMAND_COOLDOWN = timedelta(minutes=1)
"""A second ``/digest`` in the same channel this soon is a double click, not a request."""
CLAIM_STALE_AFTER = timedelta(minutes=15)
"""A claimed digest still unposted after this long was left by a process that died."""


class DigestPublisher:
    """Posts digests of rounds on the connected platforms: ``platforms`` is the core's
    registry (name -> ``ChatPlatform``, filled as each adapter connects). ``db`` runs store
    calls on the core's database thread.

    Calling the publisher is the contract of :class:`bot.commands.PublishDigest`:
    ``await publisher(round_id, kind, platform, channel)`` posts an on-demand digest in that
    channel.
    """

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb,
                 platforms: Mapping[str, ChatPlatform], observer: Observer | None = None) -> None:
        self.store = store
        self.observer: Observer = observer or Unobserved()
        self.settings = settings
        self.clock = clock
        self.db = db
        self.platforms = platforms
        self._channel_locks: dict[tuple[int, ChannelRef], asyncio.Lock] = {}

    async def period_start(self, round_id: int) -> datetime | None:
        """End of the last scheduled digest, else the round's opening; None if no round."""
        store = self.store
        last = await self.db(store.last_digest_end, round_id)
        if last is not None:
            return last
        rnd = await self.db(store.get_round, round_id)
        return rnd.opened_at if rnd else None

    async def render(self, round_id: int, period: Period, lang: str | None = None,
                     final: bool = False) -> Rendered:
        """Build the digest from the store (with the analysis) and render every form.

        Store reads run on the database thread; drawing and templating on a worker thread.
        Raises ``bot.errors.NotFound`` for an unknown round.
        """
        digest, activity = await self.db(read_digest, self.store, round_id, period, lang,
                                         self.settings.timezone, final=final,
                                         min_votes=self.settings.digest_min_votes,
                                         min_group=self.settings.digest_min_group)
        return await asyncio.to_thread(_render_all, digest, activity, lang,
                                       self.settings.timezone)

    async def publish(self, round_id: int, kind: str, *, end: datetime | None = None,
                      channels: list[tuple[ChatPlatform, ChannelRef]] | None = None) -> PublishResult:
        """Claim, build, render and post the ``kind`` digest (``weekly``, ``final``,
        ``on_demand``) of a round for [last digest end, ``end`` (default now)).

        Posts in ``channels`` (default every channel of the round whose platform is
        connected), records every posted message id with the digest, then stores its
        content. Returns ``PublishResult(None)`` when the period was already claimed or no
        channel is connected (nothing claimed then). A channel whose post fails is logged
        and skipped; the others are still posted.
        """
        store = self.store
        # The store keeps UTC; a trigger's fire time comes in the configured zone.
        end = (end or self.clock.now()).astimezone(UTC)
        start = await self.period_start(round_id)
        if start is None:
            _log.warning("no round %s; no %s digest", round_id, kind)
            return PublishResult(None)
        start = min(start, end)
        if channels is None:
            channels = await self._round_channels(round_id)
        if not channels:
            # Claiming would use up the period with nothing posted; the next run covers it.
            _log.warning("no connected channel for the %s digest of round %s", kind, round_id)
            return PublishResult(None)
        digest_id = await self.db(store.claim_digest, round_id, kind, start, end,
                                          self.clock.now(), stale_after=CLAIM_STALE_AFTER)
        if digest_id is None:
            _log.info("%s digest of round %s up to %s already claimed", kind, round_id,
                      end.isoformat())
            return PublishResult(None)
        # A claim taken over from a process that died keeps its period and skips the
        # channels that process had already posted in.
        progress = await self.db(store.digest_progress, digest_id)
        channels = [(p, c) for p, c in channels
                    if PostedIn(p.name, c.channel_id) not in progress.posted]
        rendered = await self.render(round_id, Period(progress.period_start, end),
                                     final=kind == "final")
        if kind == "final":
            rnd = await self.db(store.get_round, round_id)
            notice = translate("digest.final_notice", rendered.digest.round.language,
                               round=rnd.public_id if rnd else "")
            rendered = replace(rendered, markdown=f"{notice}\n\n{rendered.markdown}")
        posted: list[PostedMessage] = []
        for platform, channel in channels:
            try:
                messages = await platform.post_digest(channel, rendered.post_for(platform.name))
            except Exception:  # noqa: BLE001 - any platform failure; other channels still get it
                _log.exception("posting the %s digest of round %s in %s failed", kind,
                               round_id, channel)
                continue
            await self.db(store.record_messages, None, [
                (m.channel.platform, m.channel.workspace_id, m.channel.channel_id,
                 m.message_id, m.thread_id, m.part) for m in messages], digest_id=digest_id)
            posted.extend(messages)
            self.observer.digest_posted(platform.name, self.clock.now())
        if not posted and not progress.posted:
            await self.db(store.release_digest, digest_id)
            _log.warning("the %s digest of round %s reached no channel; its period is left "
                         "to the next one", kind, round_id)
            return PublishResult(None, rendered)
        await self.db(store.finish_digest, digest_id, rendered.digest.to_json(),
                              {"md": rendered.markdown, "html": rendered.html})
        _log.info("posted %s digest %s of round %s (%d message(s))", kind, digest_id,
                  round_id, len(posted))
        return PublishResult(digest_id, rendered, posted)

    async def __call__(self, round_id: int, kind: str, platform: ChatPlatform | None = None,
                       channel: ChannelRef | None = None) -> PublishResult:
        """The core's hook: a ``kind`` digest in ``channel`` only (``/digest``), or in every
        channel of the round when ``channel`` is None (the final digest of a facilitator's
        close, which ends at the closing time, like the scheduled one: they claim the same
        period, so a round gets one final digest).

        ``/digest`` clicked again in the same channel within ``ON_DEMAND_COOLDOWN`` posts
        nothing (``PublishResult(None)``)."""
        if channel is None:
            rnd = await self.db(self.store.get_round, round_id)
            return await self.publish(round_id, kind, end=rnd.closed_at if rnd else None)
        if platform is None:
            raise ValueError("a digest posted in one channel needs that channel's platform")
        lock = self._channel_locks.setdefault((round_id, channel), asyncio.Lock())
        async with lock:
            since = self.clock.now() - ON_DEMAND_COOLDOWN
            if await self.db(self.store.digest_posted_since, round_id,
                                     channel.platform, channel.channel_id, since):
                return PublishResult(None)
            return await self.publish(round_id, kind, channels=[(platform, channel)])

    async def remind(self, round_id: int) -> list[PostedMessage]:
        """Post the closing reminder in every channel of an open round (nothing otherwise)."""
        rnd = await self.db(self.store.get_round, round_id)
        if rnd is None or rnd.status != "open" or rnd.closes_at is None:
            return []
        closes = rnd.closes_at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M")
        text = translate("round.reminder", rnd.language, round=rnd.public_id, name=rnd.name,
                         closes=closes)
        posted: list[PostedMessage] = []
        for platform, channel in await self._round_channels(round_id):
            try:
                posted += await platform.post_digest(
                    channel, DigestPost(parts=PARTS[platform.name](text)))
            except Exception:  # noqa: BLE001 - as in publish: one channel's failure only
                _log.exception("posting the reminder of round %s in %s failed", round_id, channel)
        return posted

    async def _round_channels(self, round_id: int) -> list[tuple[ChatPlatform, ChannelRef]]:
        rnd = await self.db(self.store.get_round, round_id)
        found = []
        for platform_name, workspace_id, channel_id in rnd.channels if rnd else []:
            platform = self.platforms.get(platform_name)
            if platform is None or platform_name not in PARTS:
                _log.warning("round %s has a channel on %s, which is not connected",
                             round_id, platform_name)
                continue
            found.append((platform, ChannelRef(platform_name, workspace_id, channel_id)))
        return found


def build_with_analysis(store: Store, round_id: int, period: Period, lang: str | None, *,
                        final: bool = False, min_votes: int = MIN_VOTES,
                        min_group: int = MIN_GROUP, votes: VoteColumns | None = None) -> Digest:
    """The digest of a round and period, with its opinion-group analysis (as of the period's
    end): the one builder behind the weekly job, ``/digest`` and ``planbot digest``.
    ``votes``: the round's votes when already read (``bot.findings.analyse_round``)."""
    return build_digest(store, round_id, period,
                        analysis=analyse_round(store, round_id, period.end, votes),
                        language=lang, final=final, min_votes=min_votes, min_group=min_group)


def render_all(store: Store, round_id: int, period: Period, lang: str | None, tz: tzinfo, *,
               final: bool = False, min_votes: int = MIN_VOTES,
               min_group: int = MIN_GROUP, votes: VoteColumns | None = None) -> Rendered:
    """Build and render a digest in every form, synchronously (the CLI's path)."""
    digest, activity = read_digest(store, round_id, period, lang, tz, final=final,
                                   min_votes=min_votes, min_group=min_group, votes=votes)
    return _render_all(digest, activity, lang, tz)


def read_digest(store: Store, round_id: int, period: Period, lang: str | None, tz: tzinfo, *,
                final: bool = False, min_votes: int = MIN_VOTES, min_group: int = MIN_GROUP,
                votes: VoteColumns | None = None) -> tuple[Digest, Activity]:
    """The digest (:func:`build_with_analysis`) and its chart's counts (:func:`read_activity`),
    every figure read from one snapshot of the store. ``votes``: the round's votes when
    already read (``bot.service.cli.votes_meanwhile``), taken as they are. Raises
    ``bot.errors.NotFound`` for an unknown round."""
    with store.snapshot() as snapshot:
        digest = build_with_analysis(snapshot, round_id, period, lang, final=final,
                                     min_votes=min_votes, min_group=min_group, votes=votes)
        return digest, read_activity(snapshot, round_id, period.end, tz)


def read_activity(store: Store, round_id: int, end: datetime, tz: tzinfo) -> Activity:
    """The participation chart's counts, aggregated in SQL (no stance row is loaded): the
    stances' time range, the chart's bin edges up to ``end``, the counts at each edge."""
    from bot.digests.chart import Activity, time_bins

    span = store.stance_time_range(round_id)
    if span is None:
        return Activity(None, None, [], {})
    first, last = span
    edges = time_bins(first, max(last, end), tz)
    return Activity(first, last, edges, store.stance_counts_at(round_id, edges))


def _render_all(digest: Digest, activity: Activity, lang: str | None,
                tz: tzinfo) -> Rendered:
    # matplotlib: only when a chart is drawn
    from bot.digests.chart import render_chart
    from bot.digests.opinion_map import render_map
    from bot.digests.render_html import render_html  # Jinja: only when a page is made

    chart = render_chart(digest, activity, lang, tz)
    opinion_map = render_map(digest, lang)
    return Rendered(digest, render_markdown(digest, lang),
                    render_html(digest, chart, lang, opinion_map), chart, opinion_map)
