"""``planbot demo``: the whole flow on a local Discord and a local Slack, with no account.

What runs is the real thing: the discord.py bot and the slack-bolt app of planbot, the core,
a fresh SQLite store and the scheduler. Only the people are simulated, over the platforms'
own protocols (``integrations.sandbox``): a facilitator opens a round of the bundled sample
plan with the slash command on each platform, and the participants of a bundled Polis
conversation (``bot/data/polis/<name>``, CC BY 4.0), split between the platforms, replay it:

* each Polis statement (moderated in) becomes a reply by its author, in the thread of a
  section (statement i goes to section i mod n), on the author's platform;
* so that everyone can vote on every statement, as in Polis, planbot's own copy of each reply
  is posted in the same section's thread on the other platform and recorded as the same
  statement (a reaction there counts for it);
* each participant's final Polis vote becomes a reaction (👍/👎/🤷, Slack ``+1``/``-1``/
  ``shrug``) on the statement's message on their platform;
* each participant also reacts to the sections whose threads they voted in, with their net
  lean there (more agrees: 👍, more disagrees: 👎, even: 🤷), so sections carry stances too.

Then the clock (a ``ManualClock``) is moved to the next run of the weekly digest job and the
job function runs: the digest is posted in both channels and written to the output folder as
``digest.md``, ``digest.html``, ``digest.png`` and ``digest.json`` (plus ``replay.json``:
which store statement each Polis comment became). The demo checks that the digest's counts
equal the conversation's final votes and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from bot import scheduling
from bot.app import no_voice_warning
from bot.clock import ManualClock
from bot.config import Settings
from bot.core import Planbot
from bot.digests.model import Digest
from bot.i18n import translate, translate_plural
from bot.plans import import_plan, sample_plan_paths
from bot.polis import read_conversation
from bot.publish import DigestPublisher, Rendered
from bot.scheduling import DigestScheduler, make_scheduler
from storage.db import create_store_engine, upgrade
from storage.store import Store

_log = logging.getLogger(__name__)

POLIS = Path(__file__).with_name("data") / "polis"
PLATFORMS = ("discord", "slack")
SERVICE = "demo"
WAIT = 30.0
"""Upper bound (seconds) on any wait for the bots; a hung demo fails instead of hanging."""
CONCURRENCY = 64
"""Simulated people acting at once on the local Slack (each waits for its event's ack)."""
EMOJI = {"discord": {"agree": "👍", "disagree": "👎", "pass": "🤷"},
         "slack": {"agree": "+1", "disagree": "-1", "pass": "shrug"}}
SLACK_CHANNEL, SLACK_FACILITATOR = "C0PLANBOT", "UFACILITATOR"


def run_demo(settings: Settings, *, conversation: str = "brexit-consensus",
             platforms: list[str] | None = None, out: Path | None = None,
             console: Console | None = None) -> int:
    """Run the demo; returns 0 when the digest was posted and its counts check out, 1 if the
    counts differ, 2 for a bad flag (unknown conversation or platform)."""
    # Lines are not wrapped at 80 columns when the output is piped (CI, logs).
    console = console or Console(soft_wrap=True)
    chosen = [p.lower() for p in platforms or PLATFORMS]
    folder = POLIS / conversation
    if not (folder / "votes.csv").is_file():
        known = ", ".join(sorted(p.name for p in POLIS.iterdir() if (p / "votes.csv").is_file()))
        console.print(f"[red]{_(settings, 'demo.unknown_conversation', name=conversation, known=known)}[/]")
        return 2
    if not chosen or any(p not in PLATFORMS for p in chosen):
        console.print(f"[red]{_(settings, 'demo.bad_platforms', value=','.join(chosen))}[/]")
        return 2
    out = Path(out) if out else settings.data_dir / "demo" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    quiet = settings.log_level == "INFO"
    level = logging.getLogger().level
    if quiet:  # the progress display says what happens; library chatter would hide it
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("discord.client").addFilter(no_voice_warning)
    try:
        report = asyncio.run(Demo(settings, folder, chosen, out, console).run())
    finally:
        if quiet:
            logging.getLogger().setLevel(level)
            logging.getLogger("discord.client").removeFilter(no_voice_warning)
    print_summary(console, report, out, settings.language)
    return 0 if report.counts_match else 1


@dataclass
class Report:
    """What the demo did and what the digest says."""

    conversation: str
    rendered: Rendered | None = None
    people: Counter = field(default_factory=Counter)
    stances: Counter = field(default_factory=Counter)
    replies: Counter = field(default_factory=Counter)
    votes: int = 0
    counts_match: bool = False
    seconds: float = 0.0
    fire_time: datetime | None = None
    posted: Counter = field(default_factory=Counter)
    """Digest messages posted per platform."""


class Demo:
    """One run: local servers, bots, store and scheduler up; replay; digest; tear down."""

    def __init__(self, settings: Settings, folder: Path, platforms: list[str], out: Path,
                 console: Console) -> None:
        self.folder, self.platforms, self.out, self.console = folder, platforms, out, console
        self.conv = read_conversation(folder)
        self.clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        self._start_time = self.clock.now()
        self.settings = settings
        self.report = Report(folder.name)
        self.sides: dict[str, _Side] = {}

    async def run(self) -> Report:
        started = time.perf_counter()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=self.console, transient=False) as progress:
            self.progress = progress
            async with contextlib.AsyncExitStack() as stack:
                await self._start(stack)
                round_id = await self._open_round()
                fire = self._fire_time(round_id)
                await self._replay(fire)
                await self._weekly_digest(round_id, fire)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _step(self, msgid: str, total: int | None = 1) -> int:
        return self.progress.add_task(_(self.settings, msgid), total=total)

    # -- set-up --------------------------------------------------------------------------

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        task = self._step("demo.step.start", 3)
        db = self.out / "planbot.db"
        if db.exists():
            db.unlink()
        engine = create_store_engine(f"sqlite:///{db.resolve()}")
        stack.callback(engine.dispose)
        upgrade(engine)
        store = Store(engine)
        import_plan(store, sample_plan_paths(), self.clock.now())
        self.progress.advance(task)
        if "discord" in self.platforms:
            self.sides["discord"] = await _DiscordSide.start(stack)
        if "slack" in self.platforms:
            self.sides["slack"] = await _SlackSide.start(stack, self.clock)
        facilitator = {name: frozenset({side.facilitator_group})
                       for name, side in self.sides.items()}
        settings = replace(self.settings, data_dir=self.out,
                           database_url=f"sqlite:///{db.resolve()}",
                           discord_facilitator_role_ids=facilitator.get("discord", frozenset()),
                           slack_facilitator_ids=facilitator.get("slack", frozenset()))
        self.core = Planbot(store, settings, self.clock)
        stack.callback(self.core.close)
        self.publisher = DigestPublisher(self.core)
        self.core.digest_publisher = self.publisher
        self.scheduler = DigestScheduler(self.publisher, make_scheduler(settings), SERVICE)
        await self.scheduler.start()
        stack.callback(self.scheduler.shutdown)
        self.progress.advance(task)
        for side in self.sides.values():
            await side.connect(self.core, stack)
            self.publisher.platforms[side.name] = side.platform
        self.progress.advance(task)

    async def _open_round(self) -> int:
        task = self._step("demo.step.open", len(self.sides))
        for side in self.sides.values():
            await side.open_round(self.settings.language)
            self.progress.advance(task)
        round_id = self.core.store.round_for_channel(
            next(iter(self.sides.values())).name, next(iter(self.sides.values())).channel_id,
            open_only=True)
        for side in self.sides.values():
            side.load_sections(self.core.store, round_id)
        await self.scheduler.sync()
        return round_id

    # -- replay --------------------------------------------------------------------------

    async def _replay(self, fire: datetime) -> None:
        """Replay statements and votes in Polis' order, in windows spread over the round's
        week (the clock moves from one to the next). In each window: its statements as
        replies (then planbot's copies on the other platform), then its votes and the
        section stances of people whose last vote in that section fell in it, many at once;
        every platform is settled before the next window."""
        conv = self.conv
        names = list(self.sides)
        home = {p: names[i % len(names)] for i, p in enumerate(conv.participants)}
        statements = [s for s in conv.statements if s["moderated"]]
        shown = {s["external_id"] for s in statements}
        votes = sorted((v for v in conv.votes if v[1] in shown), key=lambda v: v[3])
        for side in self.sides.values():
            await side.add_people([p for p in conv.participants if home[p] == side.name])
        n_sections = len(next(iter(self.sides.values())).sections)
        section_of = {s["external_id"]: i % n_sections for i, s in enumerate(statements)}
        windows = _windows(statements, votes)
        leans = _section_leans(windows, section_of)

        replies_task = self._step("demo.step.replies", len(statements))
        votes_task = self._step("demo.step.votes", len(votes))
        sections_task = self._step("demo.step.sections",
                                   sum(len(v) for v in leans.values()))
        self.where: dict[str, dict[str, str]] = defaultdict(dict)  # comment -> platform -> id
        self.statement_id: dict[str, int] = {}
        for window in sorted(windows):
            self.clock.set(_window_time(window, self._start_time, fire))
            posted, cast = windows[window]
            for s in posted:
                author = s["author"] if s["author"] in home else conv.participants[0]
                side = self.sides[home[author]]
                self.where[s["external_id"]][side.name] = await side.reply(
                    author, section_of[s["external_id"]], s["text"])
                self.report.replies[side.name] += 1
                self.progress.advance(replies_task)
            for side in self.sides.values():
                await side.settle()
            await self._find_copies(posted, section_of)
            votes_by_side: dict[str, list] = defaultdict(list)
            for participant, comment, stance, _at in cast:
                name = home[participant]
                votes_by_side[name].append((participant, self.where[comment][name], stance))
            sections_by_side: dict[str, list] = defaultdict(list)
            for participant, section, stance in leans.get(window, []):
                side = self.sides[home[participant]]
                sections_by_side[side.name].append((participant, side.sections[section], stance))
            await asyncio.gather(*(
                self.sides[name].react_all(
                    items, lambda task=task: self.progress.advance(task))
                for by_side, task in ((votes_by_side, votes_task),
                                      (sections_by_side, sections_task))
                for name, items in by_side.items()))
            for by_side in (votes_by_side, sections_by_side):
                for name, items in by_side.items():
                    self.report.stances[name] += len(items)
        self.report.votes = len(votes)
        self.report.people = Counter({name: sum(1 for p in home.values() if p == name)
                                      for name in self.sides})
        self._expected = (self.statement_id, votes)

    async def _find_copies(self, posted: list[dict], section_of: dict[str, int]) -> None:
        """planbot copies each new reply to the other platform's section thread (the core's
        relay); find the statement recorded for each reply and its copy's message id, which
        the other platform's people react to."""
        await self.core.settle_relays()
        for side in self.sides.values():
            await side.settle()
        for s in posted:
            comment = s["external_id"]
            origin = next(iter(self.where[comment]))
            target = await self.core.db(
                self.core.store.find_message, origin,
                self.sides[origin].reply_channel(section_of[comment]), self.where[comment][origin])
            if target is None:
                raise RuntimeError(f"planbot did not record statement {comment}")
            self.statement_id[comment] = target.statement_id
            for platform, _channel, message_id in await self.core.db(
                    self.core.store.statement_messages, target.statement_id):
                self.where[comment].setdefault(platform, message_id)
            missing = set(self.sides) - set(self.where[comment])
            if missing:
                raise RuntimeError(f"planbot did not copy statement {comment} to {missing}")

    # -- the weekly digest -----------------------------------------------------------------

    def _fire_time(self, round_id: int) -> datetime:
        """The weekly job's next run, as APScheduler has it; the one after if it is under two
        days away, so the replay has a few simulated days to spread over."""
        job = self.scheduler.scheduler.get_job(f"digest:{round_id}")
        fire = job.next_run_time
        if fire - self.clock.now() < timedelta(days=2):
            fire = job.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return fire

    async def _weekly_digest(self, round_id: int, fire: datetime) -> None:
        task = self._step("demo.step.digest", 2)
        self.clock.set(fire)
        self.report.fire_time = fire
        result = await scheduling.weekly_digest(SERVICE, round_id)
        if result is None or result.rendered is None:
            raise RuntimeError("the weekly digest job posted nothing")
        self.progress.advance(task)
        rendered = result.rendered
        self.report.rendered = rendered
        self.report.posted = Counter(m.channel.platform for m in result.posted)
        (self.out / "digest.md").write_text(rendered.markdown, encoding="utf-8")
        (self.out / "digest.html").write_text(rendered.html, encoding="utf-8")
        for name, png in rendered.files().items():
            (self.out / name).write_bytes(png)
        (self.out / "digest.json").write_text(
            json.dumps(rendered.digest.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
        statement_id, votes = self._expected
        (self.out / "replay.json").write_text(json.dumps({
            "conversation": self.folder.name,
            "statements": {c: str(sid) for c, sid in statement_id.items()},
            "people": dict(self.report.people), "replies": dict(self.report.replies),
            "stances": dict(self.report.stances), "votes": len(votes),
            "digest_messages": dict(self.report.posted)}, indent=2),
            encoding="utf-8")
        self.report.counts_match = counts_match(rendered.digest, statement_id, votes)
        self.progress.advance(task)


WINDOWS = 24
"""Time windows the replay is cut into (each: replies, then votes, then settle)."""


def _windows(statements: list[dict], votes: list[tuple]) -> dict[int, tuple[list, list]]:
    """Statements and votes cut into WINDOWS windows of equal size in Polis' order (a
    statement before the votes on it), so the replay shows participation growing over the
    week whatever the conversation's own pace was. Window -> (statements, votes)."""
    events = sorted([(s["created_at"], 0, i) for i, s in enumerate(statements)]
                    + [(v[3], 1, i) for i, v in enumerate(votes)])
    windows: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for rank, (_at, kind, i) in enumerate(events):
        window = rank * WINDOWS // len(events)
        if kind == 0:
            windows[window][0].append(statements[i])
        else:
            windows[window][1].append(votes[i])
    return windows


def _section_leans(windows: dict[int, tuple[list, list]],
                   section_of: dict[str, int]) -> dict[int, list[tuple[str, int, str]]]:
    """Window -> [(participant, section index, stance)]: each participant's net lean on the
    statements in a section's thread (more agrees: agree; more disagrees: disagree; even:
    pass), placed in the window of their last vote there."""
    net: Counter = Counter()
    last: dict[tuple[str, int], int] = {}
    for window in sorted(windows):
        for participant, comment, stance, _at in windows[window][1]:
            key = (participant, section_of[comment])
            net[key] += {"agree": 1, "disagree": -1}.get(stance, 0)
            last[key] = window
    placed: dict[int, list] = defaultdict(list)
    for (participant, section), window in last.items():
        n = net[(participant, section)]
        stance = "agree" if n > 0 else "disagree" if n < 0 else "pass"
        placed[window].append((participant, section, stance))
    return placed


def _window_time(window: int, start: datetime, fire: datetime) -> datetime:
    """The simulated time of a window: spread over [start + 1 min, fire - 1 h]."""
    first, last = start + timedelta(minutes=1), fire - timedelta(hours=1)
    return first + (last - first) * (window / WINDOWS)


def counts_match(digest: Digest, statement_id: dict[str, int], votes: list) -> bool:
    """True when every replayed statement's agree/disagree/pass counts in the digest equal
    the conversation's final votes on it."""
    expected: dict[str, Counter] = defaultdict(Counter)
    for _p, comment, stance, _at in votes:
        expected[str(statement_id[comment])][stance] += 1
    by_id = {s.id: s.split for s in digest.statements}
    return all(
        sid in by_id and (by_id[sid].agree, by_id[sid].disagree, by_id[sid].passed)
        == (expected[sid]["agree"], expected[sid]["disagree"], expected[sid]["pass"])
        for sid in (str(v) for v in statement_id.values()))


# ---- the two platforms, driven alike ---------------------------------------------------


class _Side:
    """One local platform with planbot's bot on it, and the simulated people's hands."""

    name: str
    channel_id: str
    facilitator_group: str
    platform: object
    sections: list[str]
    people: dict[str, str]

    async def settle(self) -> None: ...

    async def react_all(self, items: list[tuple[str, str, str]], advance) -> None:
        """(participant, message id, stance) each as a reaction, many at once, then wait
        until the bot has handled them all."""
        gate = asyncio.Semaphore(CONCURRENCY)
        emoji = EMOJI[self.name]

        async def one(participant: str, message_id: str, stance: str) -> None:
            async with gate:
                await self.hands.user_reacts(self.people[participant], self.channel_id,
                                             message_id, emoji[stance])
            advance()

        await asyncio.gather(*(one(*item) for item in items))
        await self.settle()

    def load_sections(self, store: Store, round_id: int) -> None:
        """The section messages (first parts, which are also the thread ids) in plan order."""
        rows = [r for r in store.round_messages(round_id, self.name)
                if r[6] == "section" and r[5] == 0 and r[2] == self.channel_id]
        order = {s.statement_id: s.position for s in store.round_sections(round_id)}
        self.sections = [r[3] for r in sorted(rows, key=lambda r: order[r[0]])]

    async def reply(self, participant: str, section: int, text: str) -> str:
        return await self.hands.user_replies(self.people[participant], self.channel_id,
                                             self.sections[section], text)


class _DiscordSide(_Side):
    name = "discord"

    @classmethod
    async def start(cls, stack: contextlib.AsyncExitStack) -> _DiscordSide:
        from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at

        side = cls()
        side.hands = await stack.enter_async_context(DiscordSandbox())
        stack.enter_context(discord_py_pointed_at(side.hands))
        side.channel_id = side.hands.channel.id
        side.facilitator_group = side.hands.facilitator_role.id
        side.people = {}
        return side

    async def connect(self, core: Planbot, stack: contextlib.AsyncExitStack) -> None:
        from integrations.discord import PlanbotDiscord

        self.bot = PlanbotDiscord(core, guild_ids=frozenset({self.hands.guild.id}),
                                  reidentify_delay=0, guild_ready_timeout=0.05)
        self.platform = self.bot.platform
        self.task = asyncio.ensure_future(self.bot.start(self.hands.token))
        stack.push_async_callback(self._stop)
        ready = asyncio.ensure_future(self.bot.wait_reconciled(1))
        await asyncio.wait({self.task, ready}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            raise RuntimeError(f"the Discord bot did not start: {self._failure()}")

    def _failure(self) -> str:
        return repr(self.task.exception()) if self.task.done() else "timed out"

    async def _stop(self) -> None:
        await self.bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, WAIT)

    async def open_round(self, language: str) -> None:
        await self.hands.user_runs_command(self.hands.people["alice"].id, self.channel_id,
                                           "open", plan="sample", language=language)
        await self.settle()

    async def add_people(self, participants: list[str]) -> None:
        for p in participants:
            user = self.hands.world.add_user(f"polis-{p}", locale="en-US")
            self.hands.world.join(self.hands.guild, user)
            self.people[p] = user.id

    def reply_channel(self, section: int) -> str:
        return self.sections[section]  # a Discord reply lives in the thread, a channel


    async def settle(self) -> None:
        if self.task.done():
            raise RuntimeError(f"the Discord bot stopped: {self._failure()}")
        await asyncio.wait_for(self.hands.gateway.barrier(), WAIT)
        await asyncio.wait_for(self.bot.wait_idle(), WAIT)


class _SlackSide(_Side):
    name = "slack"

    @classmethod
    async def start(cls, stack: contextlib.AsyncExitStack, clock: ManualClock) -> _SlackSide:
        from integrations.sandbox.slack import LocalSlack

        side = cls()
        # Message ``ts`` follow the demo's clock (Socket Mode has no signatures to age).
        side.hands = LocalSlack(clock=lambda: clock.now().timestamp())
        await side.hands.start()
        stack.push_async_callback(side.hands.stop)
        side.hands.add_user(SLACK_FACILITATOR, "facilitator", locale="fr-CA")
        side.hands.add_channel(SLACK_CHANNEL, "plan")
        side.channel_id = SLACK_CHANNEL
        side.facilitator_group = SLACK_FACILITATOR
        side.people = {}
        return side

    async def connect(self, core: Planbot, stack: contextlib.AsyncExitStack) -> None:
        from integrations.slack import SlackBot, make_web_client

        self.bot = SlackBot(core, make_web_client(self.hands.bot_token,
                                                  base_url=self.hands.base_url),
                            app_token=self.hands.app_token,
                            signing_secret=self.hands.signing_secret, clock=core.clock)
        self.platform = self.bot.platform
        await self.bot.start_socket_mode()
        stack.push_async_callback(self.bot.stop)
        await self.hands.wait_connected(timeout=WAIT)
        await self.bot.wait_reconciled(1, timeout=WAIT)

    async def open_round(self, language: str) -> None:
        await self.hands.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                           plan="sample", language=language)
        await self.settle()

    async def add_people(self, participants: list[str]) -> None:
        for p in participants:
            user_id = f"UP{p}"
            self.hands.add_user(user_id, f"polis-{p}", locale="en-US")
            self.people[p] = user_id

    def reply_channel(self, section: int) -> str:
        return SLACK_CHANNEL


    async def settle(self) -> None:
        # Every people method returns once its event is acknowledged, and the bot acks after
        # storing; what remains are events caused by the bot's own posts.
        await self.hands.settle(timeout=WAIT)


# ---- the summary ---------------------------------------------------------------------------


def print_summary(console: Console, report: Report, out: Path, lang: str) -> None:
    """Where the outputs are, what was replayed per platform, and the digest's headlines,
    in ``lang``."""
    t = partial(translate, lang=lang)
    tn = partial(translate_plural, lang=lang)
    d = report.rendered.digest if report.rendered else None
    console.print()
    console.print(f"[bold]{t('demo.title', name=report.conversation, seconds=f'{report.seconds:.1f}')}[/]")
    for name in sorted(report.people):
        console.print("  " + t("demo.platform_line", platform=name.capitalize(),
                                people=tn("count.participants", report.people[name]),
                                stances=tn("count.stances", report.stances[name]),
                                replies=tn("count.replies", report.replies[name])))
    if d is None:
        return
    console.print("  " + t("demo.digest_line", round=d.round.id,
                            when=f"{report.fire_time:%Y-%m-%d %H:%M %Z}",
                            participants=tn("count.participants", d.participation.people),
                            stances=tn("count.stances", d.participation.stances),
                            replies=tn("count.replies", d.participation.replies)))
    for name in sorted(report.posted):
        console.print("  " + tn("demo.posted_line", report.posted[name],
                                 platform=name.capitalize()))
    mark = f"[green]✓ {t('demo.equal')}[/]" if report.counts_match \
        else f"[red]✗ {t('demo.differ')}[/]"
    console.print(f"  {t('demo.counts', votes=report.votes)} {mark}")
    if d.groups:
        console.print("  " + t("demo.groups", k=len(d.groups)))
        for msgid, items in (("demo.common_ground", d.common_ground),
                             ("demo.divides", d.divides)):
            for item in items[:2]:
                console.print("  " + t(msgid, text=_short(item.statement.text)))
    console.print()
    console.print(t("demo.outputs"))
    for name in ("digest.md", "digest.html", *report.rendered.files(), "digest.json"):
        console.print(f"  {out / name}")


def _(settings: Settings, msgid: str, **params: object) -> str:
    return translate(msgid, settings.language, **params)


def _short(text: str | None, limit: int = 100) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
