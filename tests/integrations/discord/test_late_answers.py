"""Issue 11: a command answered after Discord's interaction token expired (15 minutes) still
reaches the facilitator, privately; the real discord.py against the local Discord, whose
clock jumps 16 minutes once the sections start going out (as rate limits may hold an open)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at
from tests.helpers import make_core
from tests.integrations.conformance import discord_problems
from tests.integrations.discord.harness import Harness, start_bot, stop_bot
from tests.integrations.discord.test_end_to_end import TWO
from tests.integrations.sandbox.client import Clock

WAIT = 10.0


@asynccontextmanager
async def slow_open(tmp_path) -> AsyncIterator[Harness]:
    """A bot on a local Discord whose clock moves 16 minutes on once a section is posted."""
    clock, seen = Clock(), dict[str, DiscordSandbox]()

    def now():
        local = seen.get("discord")
        posting = local is not None and any(
            r.method == "POST" and r.template == "/channels/{channel_id}/messages"
            for r in local.requests)
        return clock() + (timedelta(minutes=16) if posting else timedelta())

    async with DiscordSandbox(now=now) as sandbox:
        seen["discord"] = sandbox
        with discord_py_pointed_at(sandbox):
            core = make_core(tmp_path, facilitator_ids=frozenset({sandbox.facilitator_role.id}))
            h = await start_bot(sandbox, core)
            try:
                yield h
            finally:
                await stop_bot(h)
                core.close()
        assert sandbox.unknown_requests() == []
        assert discord_problems(sandbox.requests) == []


async def open_outliving_its_token(h: Harness) -> None:
    """Run ``/round open`` as alice and wait until the bot has done all it will do."""
    sb = h.sandbox
    running = asyncio.ensure_future(
        sb.user_runs_command(h.person("alice"), h.channel_id, "open", plan="sample", sections=TWO))

    async def deferred() -> None:
        while not any(r.callbacks for r in sb.interactions.values()):
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(deferred(), WAIT)
        await h.settle()  # the command is work in flight until its answer is out
    finally:
        running.cancel()


async def test_an_open_outliving_its_token_is_answered_by_direct_message(tmp_path):
    async with slow_open(tmp_path) as h:
        sb = h.sandbox
        await open_outliving_its_token(h)

        (record,) = sb.interactions.values()
        assert record.followups == []  # the expired token carried nothing
        expired = [r for r in sb.requests if r.template == "/webhooks/{app_id}/{token}"]
        assert [(r.status, r.response["code"]) for r in expired] == [(401, 50027)]
        note, result = sb.direct_messages(h.person("alice"))
        assert note.content.startswith("Voici la réponse à votre /round open dans <#")
        assert result.content.startswith("Tour n°") and "2 sections publiées" in result.content
        assert h.round_id() is not None
        # Nothing of it in the channel, where everyone would see it.
        channel = [m.content for m in sb.messages(h.channel_id)]
        assert result.content not in channel and note.content not in channel
        assert all(sb.sent_allowed_mentions[m.id] == {"parse": []}
                   for m in (note, result))


async def test_closed_direct_messages_keep_the_late_answer_out_of_the_channel(tmp_path, caplog):
    async with slow_open(tmp_path) as h:
        sb = h.sandbox
        sb.people["alice"].accepts_dms = False
        before = [m.content for m in sb.messages(h.channel_id)]
        with caplog.at_level(logging.WARNING, "integrations.discord.delivery"):
            await open_outliving_its_token(h)

        assert sb.direct_messages(h.person("alice")) == []
        refused = sb.requests_to("POST", "/channels/")
        assert [(r.status, r.response["code"]) for r in refused if r.status >= 400] == \
            [(403, 50007)]
        posted = [m for m in sb.messages(h.channel_id) if m.content not in before]
        assert posted and not any("sections publiées" in m.content or "Voici" in m.content
                                  for m in posted)
        assert "could not be sent (403 50007)" in caplog.text
