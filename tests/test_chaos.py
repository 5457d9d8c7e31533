"""Chaos: a burst of mixed events on both platforms (reactions added and
removed, replies, edits, deletions, Slack retries of earlier deliveries) against
``planbot run`` processes, while a process is SIGKILLed at random moments and restarted and
the store is made unavailable for a while (its write lock held). At the end, after a last
start-up reconciliation, the store holds exactly what the local servers show: each person's
stance on each section, and every live reply with its latest text; nothing lost, nothing
twice.

The same burst runs on SQLite with one process and on PostgreSQL with two processes sharing
the store (each holding a Slack Socket Mode connection, the first also Discord's gateway).
The random choices come from a seeded generator: a failure names its seed
(``PLANBOT_CHAOS_SEED``).

``PLANBOT_CHAOS_EVENTS`` sets the burst's size: 250 by default, so that both tests together
take well under a minute on a quiet machine within ``make test`` (1,000 events took 169 s on
SQLite and 211 s on PostgreSQL), while the burst still SIGKILLs and restarts a process three
times and holds the store's lock for 12 events; raise it for a longer soak, e.g.
``PLANBOT_CHAOS_EVENTS=5000 .venv/bin/pytest tests/test_chaos.py``.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime

import pytest
from psycopg.errors import DeadlockDetected
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.exc import OperationalError

from bot.identity import Pseudonymizer
from bot.plans import import_plan, sample_plan_paths
from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.slack import LocalSlack
from storage.models import Participant, PlatformMessage, Stance, Statement
from tests.helpers import invitation_code, is_notice, make_store
from tests.test_run import SECRET, PlanbotProcess, base_env

SECTIONS = "broadband,digital-skills"
EVENTS = int(os.environ.get("PLANBOT_CHAOS_EVENTS", "250"))
"""Events in the burst, both platforms together."""
SEED = int(os.environ.get("PLANBOT_CHAOS_SEED", "12"))
DISCORD_EMOJI = {"agree": "👍", "disagree": "👎", "pass": "🤷"}
SLACK_EMOJI = {"agree": "+1", "disagree": "-1", "pass": "shrug"}
SLACK_FACILITATOR, SLACK_CHANNEL = "UFACIL", "C0CHAOS"
WAIT = 60.0


class World:
    """What the burst did, as the platforms show it: who holds which stance on which
    section, and which replies are live with what text (both keyed by platform)."""

    def __init__(self) -> None:
        self.stances: dict[tuple[str, str, str], str] = {}  # (platform, message, user)
        self.replies: dict[tuple[str, str], tuple[str, str, str]] = {}  # -> (user, thread, text)


class Burst:
    """The random burst: each step picks a platform, a person and an action."""

    def __init__(self, rng: random.Random, discord: DiscordSandbox, slack: LocalSlack,
                 sections: dict[str, list[str]], people: dict[str, list[str]]) -> None:
        self.rng, self.discord, self.slack = rng, discord, slack
        self.sections, self.people = sections, people
        self.world = World()
        self.retries = 0
        self.replied = 0

    async def step(self, n: int) -> None:
        platform = self.rng.choice(("discord", "slack"))
        user = self.rng.choice(self.people[platform])
        roll = self.rng.random()
        mine = [k for k, v in self.world.replies.items() if k[0] == platform and v[0] == user]
        if platform == "slack" and roll < 0.08 and self.slack.events:
            self.retries += 1
            await self.slack.redeliver(self.rng.choice(self.slack.events), 1)
        elif roll < 0.6:
            await self.react(platform, user, self.rng.choice(self.sections[platform]))
        elif roll < 0.8 or not mine:
            await self.reply(platform, user, n)
        elif roll < 0.9:
            await self.edit(platform, mine[self.rng.randrange(len(mine))], n)
        else:
            await self.delete(platform, mine[self.rng.randrange(len(mine))])

    async def react(self, platform: str, user: str, message: str) -> None:
        held = self.world.stances.get((platform, message, user))
        if held is not None:  # one stance emoji at a time: take it back first
            if platform == "discord":
                await self.discord.user_unreacts(user, self.discord.channel.id, message,
                                                 DISCORD_EMOJI[held])
            else:
                await self.slack.user_unreacts(user, SLACK_CHANNEL, message, SLACK_EMOJI[held])
            del self.world.stances[(platform, message, user)]
            if self.rng.random() < 0.5:
                return
        stance = self.rng.choice(list(DISCORD_EMOJI))
        if platform == "discord":
            await self.discord.user_reacts(user, self.discord.channel.id, message,
                                           DISCORD_EMOJI[stance])
        else:
            await self.slack.user_reacts(user, SLACK_CHANNEL, message, SLACK_EMOJI[stance])
        self.world.stances[(platform, message, user)] = stance

    async def reply(self, platform: str, user: str, n: int) -> None:
        thread = self.rng.choice(self.sections[platform])
        words = f"reply {n} by {user}"
        if platform == "discord":
            mid = await self.discord.user_replies(user, self.discord.channel.id, thread, words)
        else:
            mid = await self.slack.user_replies(user, SLACK_CHANNEL, thread, words)
        self.world.replies[(platform, mid)] = (user, thread, words)
        self.replied += 1

    async def edit(self, platform: str, key: tuple[str, str], n: int) -> None:
        user, thread, _ = self.world.replies[key]
        words = f"edited {n} by {user}"
        if platform == "discord":
            await self.discord.user_edits(user, self.discord.channel.id, key[1], words)
        else:
            await self.slack.user_edits(user, SLACK_CHANNEL, key[1], words)
        self.world.replies[key] = (user, thread, words)

    async def delete(self, platform: str, key: tuple[str, str]) -> None:
        user = self.world.replies.pop(key)[0]
        if platform == "discord":
            await self.discord.user_deletes(user, self.discord.channel.id, key[1])
        else:
            await self.slack.user_deletes(user, SLACK_CHANNEL, key[1])


def stored(url: str) -> tuple[dict[tuple[str, str, str], str], dict[tuple[str, str], str],
                              int]:
    """The store's side: current stances as ((platform, message, participant key), stance),
    live replies as ((platform, message id), text), and how many reply rows repeat a
    message (a reply stored twice)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        # One statement per section, posted on each platform: a person's stance is on the
        # section message of their own platform.
        sections = {(sid, platform): (platform, mid) for sid, platform, mid in conn.execute(
            select(PlatformMessage.statement_id, PlatformMessage.platform,
                   PlatformMessage.message_id)
            .join(Statement, Statement.id == PlatformMessage.statement_id)
            .where(Statement.kind == "section", PlatformMessage.part == 0,
                   PlatformMessage.is_copy.is_(False)))}
        stances = {(*sections[sid, platform], key): stance
                   for sid, platform, key, stance in conn.execute(
                       select(Stance.statement_id, Participant.platform, Participant.key_hash,
                              Stance.stance)
                       .join(Participant, Participant.id == Stance.participant_id)
                       .where(Stance.is_current.is_(True)))
                   if (sid, platform) in sections}
        rows = conn.execute(select(PlatformMessage.platform, PlatformMessage.message_id,
                                   Statement.text, Statement.deleted_at)
                            .join(PlatformMessage, PlatformMessage.statement_id == Statement.id)
                            .where(Statement.kind == "reply", PlatformMessage.part == 0,
                                   PlatformMessage.is_copy.is_(False))).all()
    engine.dispose()
    live = {(p, mid): body for p, mid, body, deleted in rows if deleted is None}
    return stances, live, len(rows) - len({(p, mid) for p, mid, _, _ in rows})


def log_tail(proc: PlanbotProcess) -> str:
    """The end of a process's log, HTTP request lines left out: why it failed."""
    return "\n".join(ln for ln in proc.lines if "HTTP Request" not in ln)[-6000:]


async def patiently(proc: PlanbotProcess, line: str, tries: int = 8) -> None:
    """Wait for a log line up to ``tries`` times :func:`PlanbotProcess.wait_log`'s bound: a
    reconciliation after the burst copies every reply it finds uncopied, one post at a time."""
    for _ in range(tries - 1):
        try:
            await proc.wait_log(line)
            return
        except TimeoutError:
            continue
    try:
        await proc.wait_log(line)
    except TimeoutError:
        raise AssertionError(log_tail(proc)) from None


DEADLOCK_TRIES = 10


class Outage:
    """The store made unavailable: SQLite's write lock held by another connection, or on
    PostgreSQL an exclusive lock on the tables every event writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        self._conn: Connection | None = None

    def begin(self) -> None:
        conn = self._conn = self._engine.connect()
        if self._engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        for _attempt in range(DEADLOCK_TRIES):
            try:
                # The tables are locked one by one: an inbox batch holding one of them while
                # it waits for another is a deadlock, and PostgreSQL may end either side.
                conn.execute(text("LOCK TABLE stances, statements, processed_events "
                                  "IN ACCESS EXCLUSIVE MODE"))
                return
            except OperationalError as err:
                conn.rollback()
                if not isinstance(err.orig, DeadlockDetected):
                    raise
        raise AssertionError("the outage lost every deadlock")

    def end(self) -> None:
        if self._conn is not None:
            self._conn.rollback()
            self._conn.close()
            self._conn = None

    def dispose(self) -> None:
        self.end()
        self._engine.dispose()


async def run_chaos(tmp_path, url: str, processes: int) -> None:
    rng = random.Random(SEED)
    store = make_store(url)
    import_plan(store, sample_plan_paths(), datetime.now(UTC))
    store.engine.dispose()
    async with DiscordSandbox() as discord, LocalSlack() as slack:
        slack.add_user(SLACK_FACILITATOR, "ufacil", locale="en-US")
        slack.add_channel(SLACK_CHANNEL, "chaos")
        people: dict[str, list[str]] = {"discord": [], "slack": []}
        for i in range(30):
            user = discord.world.add_user(f"d{i}", locale="en-US")
            discord.world.join(discord.guild, user)
            people["discord"].append(user.id)
            slack.add_user(f"U{i:04d}", f"s{i}", locale="en-US")
            people["slack"].append(f"U{i:04d}")
        env = {**base_env(tmp_path), "DATABASE_URL": url,
               "DISCORD_TOKEN": discord.token, "DISCORD_API_BASE": discord.api_base,
               "DISCORD_GATEWAY_URL": discord.gateway_url,
               "DISCORD_GUILD_IDS": discord.guild.id,
               "DISCORD_FACILITATOR_ROLE_IDS": discord.facilitator_role.id,
               "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token,
               "SLACK_API_BASE": slack.base_url, "SLACK_FACILITATOR_IDS": SLACK_FACILITATOR,
               "LOG_LEVEL": "INFO"}
        slack_only = {k: v for k, v in env.items() if not k.startswith("DISCORD_")}
        envs = [env] + [slack_only] * (processes - 1)
        running: list[PlanbotProcess] = []
        finished: list[PlanbotProcess] = []
        outage = Outage(url)

        async def start(i: int, *, wait: bool = True) -> PlanbotProcess:
            proc = await PlanbotProcess().start(["run"], envs[i], tmp_path)
            if wait:  # not during the burst: the store may be locked, the burst goes on
                await proc.wait_log("planbot running")
            return proc

        try:
            for i in range(processes):
                running.append(await start(i))
            await slack.wait_connected(processes, timeout=WAIT)
            await running[0].wait_log("reconciliation:")
            alice = discord.people["alice"].id
            await discord.user_runs_command(alice, discord.channel.id, "open", plan="sample",
                                            sections=SECTIONS)
            invited = await discord.user_runs_command(alice, discord.channel.id, "invite")
            await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                          plan="sample", sections=SECTIONS,
                                          join=invitation_code(invited.text))
            await slack.settle(timeout=WAIT)
            sections = {
                "discord": [m.id for m in discord.messages(discord.channel.id)
                            if m.author.id == discord.world.bot.id and m.thread_id],
                "slack": [m.ts for m in slack.messages(SLACK_CHANNEL)
                          if m.bot_id and not is_notice(m.text)]}
            assert len(sections["discord"]) == len(sections["slack"]) == 2
            burst = Burst(rng, discord, slack, sections, people)
            kills = sorted(rng.sample(range(EVENTS // 10, EVENTS - EVENTS // 10), 3))
            lock_at = rng.randrange(EVENTS // 4, EVENTS // 2)
            for n in range(EVENTS):
                if n in kills:
                    victim = rng.randrange(processes)
                    running[victim].proc.kill()
                    await running[victim].wait()
                    finished.append(running[victim])
                    running[victim] = await start(victim, wait=False)
                if n == lock_at:
                    outage.begin()
                if n == lock_at + EVENTS // 20:
                    outage.end()
                await burst.step(n)
            outage.end()
            await slack.settle(timeout=WAIT)
            for proc in running:  # a clean stop, then one last start-up reconciliation
                await proc.wait_log("planbot running")
                assert await proc.stop() == 0, log_tail(proc)
                finished.append(proc)
            last = await PlanbotProcess().start(["run"], env, tmp_path)
            finished.append(last)
            await patiently(last, "reconciled slack")
            await patiently(last, "reconciled discord")
            assert await last.stop() == 0, log_tail(last)
        finally:
            outage.dispose()
            for proc in running + finished:
                await proc.kill()

    keys = Pseudonymizer(SECRET)
    expected = {(p, mid, keys.key(p, user)): stance
                for (p, mid, user), stance in burst.world.stances.items()}
    stances, live, doubled = stored(url)
    assert stances == expected, f"seed {SEED}"
    assert live == {k: v[2] for k, v in burst.world.replies.items()}, f"seed {SEED}"
    assert doubled == 0, f"seed {SEED}: a reply stored twice"
    assert burst.retries > 0 and burst.replied > 0


async def test_chaos_on_sqlite_with_one_process(tmp_path):
    await run_chaos(tmp_path, f"sqlite:///{tmp_path / 'planbot.db'}", processes=1)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_chaos_on_postgresql_with_two_processes(tmp_path, database_url):
    await run_chaos(tmp_path, database_url, processes=2)

