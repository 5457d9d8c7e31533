"""A running pair: the local Discord and the real discord.py bot of planbot connected to it.

``start_bot`` returns a :class:`Harness` once the bot is READY and its start-up reconciliation
is done; ``settle`` waits until the bot has read and handled everything the sandbox sent (a
gateway heartbeat request answered, then no handler in flight): no sleeps.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select

from bot.core import Core
from integrations.discord import PlanbotDiscord
from integrations.sandbox.discord import DiscordSandbox
from storage.models import Participant, Section, Stance, Statement

WAIT = 10.0
"""Upper bound, in seconds, on any wait for the bot (a hung bot fails instead of hanging)."""


@dataclass
class Harness:
    sandbox: DiscordSandbox
    core: Core
    bot: PlanbotDiscord
    task: asyncio.Task

    def person(self, name: str) -> str:
        return self.sandbox.people[name].id

    @property
    def channel_id(self) -> str:
        return self.sandbox.channel.id

    async def settle(self) -> None:
        """Wait until every dispatched event has been handled by the bot."""
        self.assert_alive()
        await asyncio.wait_for(self.sandbox.gateway.barrier(), WAIT)
        await asyncio.wait_for(self.bot.wait_until_idle(), WAIT)
        self.assert_alive()

    def assert_alive(self) -> None:
        """Fail if the client task ended (a gateway parser error ends ``client.start``)."""
        if self.task.done():
            raise AssertionError(f"discord client died: {self.task.exception()!r}")

    async def run(self, who: str, action: str, **options: str):
        answer = await self.sandbox.user_runs_command(self.person(who), self.channel_id, action, **options)
        await self.settle()
        return answer

    def round_id(self) -> int | None:
        return self.core.store.round_for_channel("discord", self.channel_id, open_only=False)

    def posted_sections(self, round_id: int) -> dict[str, list[tuple[str, str, str | None, int]]]:
        """section key -> [(channel id, message id, thread id, part)] as the store recorded them."""
        keys = {s.statement_id: s.section_key for s in self.core.store.round_sections(round_id)}
        found: dict[str, list] = {}
        for m in self.core.store.round_messages(round_id, "discord"):
            if m.kind == "section":
                found.setdefault(keys[m.statement_id], []).append(
                    (m.channel_id, m.message_id, m.thread_id, m.part))
        return found

    def first_parts(self, round_id: int) -> dict[str, str]:
        """section key -> id of its first message (= its thread id)."""
        return {key: rows[0][1] for key, rows in self.posted_sections(round_id).items()}

    def _names(self) -> dict[str, str]:
        return {self.core.pseudonyms.key("discord", u.id): name for name, u in self.sandbox.people.items()}

    def stances(self) -> set[tuple[str, str, str]]:
        """Current stances: (person, section key or 'reply:<text>', stance)."""
        names = self._names()
        with self.core.store.engine.connect() as conn:
            rows = conn.execute(
                select(Participant.key_hash, Statement.kind, Section.key, Statement.text, Stance.stance)
                .join(Participant, Participant.id == Stance.participant_id)
                .join(Statement, Statement.id == Stance.statement_id)
                .outerjoin(Section, Section.id == Statement.section_id)
                .where(Stance.is_current.is_(True), Statement.deleted_at.is_(None))
            ).all()
        return {
            (names[k], key if kind == "section" else f"reply:{text}", stance)
            for k, kind, key, text, stance in rows
        }

    def replies(self) -> set[tuple[str, str | None, bool, bool]]:
        """Replies: (author, text, text withheld, deleted)."""
        names = self._names()
        with self.core.store.engine.connect() as conn:
            rows = conn.execute(
                select(Participant.key_hash, Statement.text, Statement.text_withheld, Statement.deleted_at)
                .join(Participant, Participant.id == Statement.author_id)
                .where(Statement.kind == "reply")
            ).all()
        return {(names[k], text, bool(w), deleted is not None) for k, text, w, deleted in rows}


async def start_bot(sandbox: DiscordSandbox, core: Core, *, message_content: bool = True,
                    guild_ids: frozenset[str] | None = None) -> Harness:
    """Start a PlanbotDiscord on ``sandbox`` (already pointed at) and wait for its first
    reconciliation; its commands are synced to ``guild_ids`` (default the sandbox's guild)."""
    bot = PlanbotDiscord(
        core,
        message_content=message_content,
        guild_ids=guild_ids or frozenset({sandbox.guild.id}),
        reidentify_delay=0,
        guild_ready_timeout=0.05,
    )
    task = asyncio.create_task(bot.start(sandbox.token))
    harness = Harness(sandbox, core, bot, task)
    waiter = asyncio.ensure_future(bot.wait_until_reconciled(1))
    await asyncio.wait({task, waiter}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if not waiter.done():
        waiter.cancel()
        harness.assert_alive()
        raise AssertionError("bot not ready in time")
    return harness


async def stop_bot(harness: Harness) -> None:
    harness.assert_alive()
    await harness.bot.close()
    await asyncio.wait_for(harness.task, WAIT)
