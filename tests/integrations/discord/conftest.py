"""Fixtures: a local Discord, a core on a fresh store, and the real discord.py bot between."""

from __future__ import annotations

import pytest

from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at
from tests.helpers import make_core
from tests.integrations.conformance import discord_problems
from tests.integrations.discord.harness import start_bot, stop_bot


@pytest.fixture
async def sandbox():
    async with DiscordSandbox() as local:
        with discord_py_pointed_at(local):
            yield local
        assert local.unknown_requests() == [], "the bot called routes Discord does not have"
        assert discord_problems(local.requests) == [], "answers Discord would not give"


@pytest.fixture
def core(tmp_path, sandbox):
    core = make_core(tmp_path, facilitator_ids=frozenset({sandbox.facilitator_role.id}))
    yield core
    core.close()


@pytest.fixture
async def discord_bot(sandbox, core):
    harness = await start_bot(sandbox, core)
    yield harness
    await stop_bot(harness)
