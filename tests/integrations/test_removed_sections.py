"""A section message deleted on the platform (issue 11): the digest shows the section as
removed there, and its tallies stay as they were, live and after reconciliation. The real
discord.py and slack-bolt against the local servers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.digests.build import Period, build_digest
from bot.digests.render_md import render_markdown
from bot.plans import import_plan
from tests.helpers import invitation
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

ANA = "UANA"
SENTENCE = "Chaque quartier aura sa borne et son lien vers le plan détaillé. "


@pytest.fixture
async def both(tmp_path):
    async with two_platforms(tmp_path, [(SLACK_FACILITATOR, "ufacil", None),
                                        (ANA, "uana", None)]) as (core, harness, slack, app):
        yield core, harness, slack, app


def digest_text(core, round_id: int) -> str:
    now = core.clock.now()
    return render_markdown(build_digest(core.store, round_id,
                                        Period(now - timedelta(days=7), now + timedelta(days=1))))


def section_block(text: str, title: str) -> str:
    """The digest's block for the section titled ``title`` (up to the next heading)."""
    start = text.index(f". {title}\n")
    end = text.find("\n### ", start)
    return text[start:end if end >= 0 else None]


async def test_a_deleted_section_is_shown_removed_with_its_tallies_frozen(both, tmp_path):
    """A two-part section (its text over Discord's 2,000 characters) whose first message a
    moderator deletes on Discord, and a section whose message is deleted on Slack: the
    digest says so under each, and reconciliation (which used to read the remaining part's
    reactions as the whole section's, withdrawing every stance) leaves the tallies alone."""
    core, h, slack, app = both
    plan = tmp_path / "fleuve.fr.md"
    plan.write_text("# Fleuve\n\n## Le grand texte {#fleuve}\n\n" + SENTENCE * 40 +
                    "\n\n## Le petit texte {#ruisseau}\n\nCourt.\n", encoding="utf-8")
    import_plan(core.store, [plan], core.clock.now())
    await h.run("alice", "open", plan="fleuve")
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="fleuve",
                                  join=invitation(core))
    await slack.settle()
    round_id = h.round_id()
    parts = h.posted_sections(round_id)
    assert len(parts["fleuve"]) == 2  # the first part carries the reactions
    big, small = parts["fleuve"][0][1], parts["ruisseau"][0][1]
    slack_small = next(m.ts for m in slack.messages(SLACK_CHANNEL)
                       if m.bot_id and "Le petit texte" in m.text)
    await h.sandbox.user_reacts(h.person("alice"), h.channel_id, big, "👍")
    await h.sandbox.user_reacts(h.person("bob"), h.channel_id, small, "👎")
    await slack.user_reacts(ANA, SLACK_CHANNEL, slack_small, "+1")
    await h.settle()
    await slack.settle()

    await h.sandbox.user_deletes(h.person("alice"), h.channel_id, big)  # alice moderates
    await slack.user_deletes(SLACK_FACILITATOR, SLACK_CHANNEL, slack_small)
    await h.settle()
    await slack.settle()
    discord_report = await core.reconcile(h.bot.platform)
    slack_report = await app.reconcile()

    assert (discord_report.reactions_removed, slack_report.reactions_removed) == (0, 0)
    counts = {c.section_key: (c.agree, c.disagree) for c in core.store.statement_counts(round_id)
              if c.kind == "section"}
    assert counts == {"fleuve": (1, 0), "ruisseau": (1, 1)}
    text = digest_text(core, round_id)
    assert "supprimé sur Discord : ses décomptes y sont figés" in section_block(text, "Le grand texte")
    assert "supprimé sur Slack : ses décomptes" in section_block(text, "Le petit texte")
    assert "👍 1 (100" in section_block(text, "Le grand texte")
