"""Opening a round on the real platforms (issue 11), with discord.py and slack-bolt against
the local servers: what a section looks like, what the facilitator is told, what happens
when a channel refuses."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.plans import import_plan
from integrations.slack.translate import slack_time
from storage.models import Statement
from tests.integrations.discord.harness import WAIT
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

ANA = "UANA"
SENTENCE = "Chaque quartier aura sa borne 🇨🇦 et son lien https://example.org/quartiers/plan#coût. "
LONG_TITLE = "Un premier paragraphe fleuve"


@pytest.fixture
async def both(tmp_path):
    async with two_platforms(tmp_path, [(SLACK_FACILITATOR, "ufacil", None),
                                        (ANA, "uana", None)]) as (core, harness, slack, app):
        yield core, harness, slack, app


def long_plan(core, tmp_path, first_paragraph: str) -> None:
    plan = tmp_path / "fleuve.fr.md"
    plan.write_text(f"# Fleuve\n\n## {LONG_TITLE} {{#fleuve}}\n\n{first_paragraph}\n\n"
                    "Un second paragraphe, court.\n", encoding="utf-8")
    import_plan(core.store, [plan], core.clock.now())


async def test_a_section_is_posted_with_its_title_and_first_paragraph_together(both, tmp_path):
    """A first paragraph too long to fit beside the title is cut at a sentence, not left for
    a second part: the first part, which carries the thread and the stance reactions, is
    never the bare title."""
    core, h, slack, _app = both
    long_plan(core, tmp_path, SENTENCE * 45)  # about 3,800 characters: over both limits
    await h.run("alice", "open", plan="fleuve")
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="fleuve")
    await slack.settle()

    parts = h.posted_sections(h.round_id())["fleuve"]
    first = h.sandbox.world.messages[parts[0][1]]
    assert first.content.startswith(f"## {LONG_TITLE}\n\n{SENTENCE.strip()}")
    assert len(first.content) <= 2000 and first.thread_id == first.id and first.reactions
    block = next(m for m in slack.messages(SLACK_CHANNEL) if m.bot_id).blocks[0]["text"]["text"]
    assert block.startswith(f"*{LONG_TITLE}*\n\n{SENTENCE.strip()}")
    assert len(block) <= 3000


def edited_at(core, text: str):
    with core.store.engine.connect() as conn:
        return conn.execute(select(Statement.edited_at).where(Statement.text == text)).scalar_one()


async def test_an_edit_found_by_reconciliation_is_dated_by_the_platform(both):
    """An edit made while planbot was away is dated by Discord's ``edited_timestamp`` and
    Slack's ``edited.ts``, not by the time reconciliation ran (the core's clock is a month
    behind the local servers' here, so the two cannot be confused)."""
    core, h, slack, app = both
    await h.run("alice", "open", plan="sample", sections="broadband")
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections="broadband")
    await slack.settle()
    discord_bb = h.first_parts(h.round_id())["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    on_discord = await h.sandbox.user_replies(h.person("bob"), h.channel_id, discord_bb, "Avant")
    on_slack = await slack.user_replies(ANA, SLACK_CHANNEL, slack_bb, "Before")
    await h.settle()
    await slack.settle()

    async with h.sandbox.bot_offline(resumable=False):
        await h.sandbox.user_edits(h.person("bob"), discord_bb, on_discord, "Après")
    await asyncio.wait_for(h.bot.wait_until_reconciled(2), WAIT)
    await h.settle()
    slack.delivery.lose_next(4)  # the first attempt and its three retries: never delivered
    await slack.user_edits(ANA, SLACK_CHANNEL, on_slack, "After")
    await slack.settle()
    assert (await app.reconcile()).replies_edited == 1

    assert edited_at(core, "Après") == h.sandbox.world.messages[on_discord].edited_at
    edited = slack.workspace.message(SLACK_CHANNEL, on_slack).edited
    assert edited_at(core, "After") == slack_time(edited["ts"])
    assert core.clock.now() < edited_at(core, "After")
