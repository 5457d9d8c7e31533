"""Anonymous proposals (issue 14), end to end on both platforms: the real discord.py bot and
slack-bolt app against the local servers around one core.

A proposal made through Discord's modal (or Slack's) is posted by planbot in the section's
thread on both platforms without its author's name or id, with the Vote button and the seed
reactions; it is voted on by reaction and privately and counted in the digest with its
author agreeing; the author's my-data holds it and forget-me erases it; a modal submitted
twice makes one proposal; bad input is answered to its author alone, in their language.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.digests.build import Period, build_digest
from storage.models import Statement
from tests.helpers import START, invitation
from tests.integrations.conformance import discord_problems, slack_problems
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

pytestmark = pytest.mark.e2e

ANA, BEN = "UANA", "UBEN"
SECTIONS = "broadband,digital-skills"
PROPOSAL = "Gratuit pour les aînés PROPOSAL-1"


@pytest.fixture
async def both(tmp_path):
    users = [(SLACK_FACILITATOR, "ufacil", None), (ANA, "uana", "en-US"), (BEN, "uben", None)]
    async with two_platforms(tmp_path, users, clock=ManualClock(START)) as (core, h, slack, app):
        slack.app = app
        yield core, h, slack
    assert h.sandbox.unknown_requests() == [], "routes Discord does not have"
    assert discord_problems(h.sandbox.requests) == [], "answers Discord would not give"
    assert slack_problems(slack.requests) == [], "answers Slack would not give"


async def open_both(core, h, slack, **options):
    """The round opened on Discord (with ``options``), joined from Slack; (round id, section
    statement ids by key, Discord broadband id, Slack broadband ts)."""
    await h.run("alice", "open", plan="sample", sections=SECTIONS, **options)
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, join=invitation(core))
    await settle(core, h, slack)
    rid = h.round_id()
    ids = {s.section_key: s.statement_id for s in core.store.round_sections(rid)}
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id and "Internet" in m.text)
    return rid, ids, h.first_parts(rid)["broadband"], slack_bb


async def settle(core, h, slack) -> None:
    for _ in range(2):
        await h.settle()
        await slack.settle()
        await slack.app.wait_until_idle()
        await core.settle_relays()


def proposals(core) -> list:
    with core.store.engine.connect() as c:
        return c.execute(select(Statement.id, Statement.text, Statement.deleted_at)
                         .where(Statement.source == "proposal")).all()


def components(items: list[dict]) -> list[dict]:
    found = []
    for c in items:
        found.append(c)
        found += components(c.get("components") or [])
        if c.get("component"):
            found += components([c["component"]])
    return found


async def test_a_proposal_from_discord_is_posted_anonymously_voted_and_counted(both):
    core, h, slack = both
    rid, ids, discord_bb, slack_bb = await open_both(core, h, slack)
    bob = h.person("bob")

    opened = await h.sandbox.user_runs_command(bob, h.channel_id, "propose")
    modal = opened.record.modal
    fields = {c.get("custom_id"): c for c in components(modal["components"])}
    options = [o["value"] for o in fields["planbot_section"]["options"]]
    assert options == [str(ids["broadband"]), str(ids["digital-skills"])]
    assert fields["planbot_text"]["max_length"] == 500
    assert not any(o.get("default") for o in fields["planbot_section"]["options"])
    # Run in a section's thread, the form preselects that section.
    in_thread = await h.sandbox.user_runs_command(bob, discord_bb, "propose")
    thread_fields = {c.get("custom_id"): c for c in components(in_thread.record.modal["components"])}
    assert [o["value"] for o in thread_fields["planbot_section"]["options"] if o.get("default")] \
        == [str(ids["broadband"])]
    answer = await h.sandbox.user_submits_modal(
        bob, opened.record, {"planbot_section": str(ids["broadband"]), "planbot_text": PROPOSAL})
    again = await h.sandbox.user_submits_modal(  # a double submit
        bob, opened.record, {"planbot_section": str(ids["broadband"]), "planbot_text": PROPOSAL})
    await settle(core, h, slack)

    assert answer.ephemeral and again.ephemeral
    assert "without your name" in answer.text  # bob's Discord speaks English
    ((pid, text, _),) = proposals(core)  # one proposal, however many submits
    assert text == PROPOSAL
    # Posted by planbot in the broadband thread on both platforms, without bob.
    (on_discord,) = [m for m in h.sandbox.thread_messages(discord_bb) if PROPOSAL in m.content]
    (on_slack,) = [m for m in slack.thread_messages(slack_bb, SLACK_CHANNEL) if PROPOSAL in m.text]
    assert on_discord.author.bot and on_slack.bot_id
    assert on_discord.content.startswith("**Proposition anonyme**")  # the round's language
    assert "Proposition anonyme" in on_slack.text
    user = h.sandbox.people["bob"]
    shown = [on_discord.content, repr(on_discord.components), on_slack.text, repr(on_slack.blocks)]
    assert not any(mark in s for s in shown for mark in (bob, user.username, "bob", "Bob"))
    assert [c["custom_id"] for c in components(on_discord.components) if c.get("type") == 2] == [
        f"planbot:vote:{pid}"]
    assert set(on_discord.reactions) == {"👍", "👎", "🤷"}
    assert set(on_slack.reactions) == {"+1", "-1", "shrug"}
    assert any(e.get("action_id") == "planbot_vote" and e.get("value") == str(pid)
               for b in on_slack.blocks for e in b.get("elements") or [])

    # Voted on by reaction on both platforms and privately through its Vote button.
    await h.sandbox.user_reacts(h.person("chloe"), h.channel_id, on_discord.id, "👎")
    await slack.user_reacts(ANA, SLACK_CHANNEL, on_slack.ts, "+1")
    await settle(core, h, slack)
    await slack.interactive.user_clicks(BEN, SLACK_CHANNEL, on_slack.ts, "planbot_vote")
    await settle(core, h, slack)
    view_id = sorted(slack.interactive.views)[-1]
    assert PROPOSAL in slack.interactive.views[view_id]["blocks"][0]["text"]["text"]
    await slack.interactive.user_clicks_in_view(BEN, view_id, "planbot_stance_agree")
    await settle(core, h, slack)

    digest = build_digest(core.store, rid, Period(START, START + timedelta(days=60)))
    broadband = next(s for s in digest.sections if s.key == "broadband")
    (counted,) = [r for r in broadband.replies if r.text == PROPOSAL]
    assert (counted.split.agree, counted.split.disagree) == (3, 1)  # bob (author), ana, ben
    assert counted.in_analysis

    # The author's own data holds it; erasing them removes it everywhere.
    mine = await h.sandbox.user_runs_command(bob, h.channel_id, "my-data")
    ((_, body, _),) = mine.record.followups[0][1]["_files"]
    data = json.loads(body)
    assert [(r["text"], r["anonymous_proposal"]) for r in data["replies"]] == [(PROPOSAL, True)]
    assert [(s["stance"], s["via"]) for s in data["stances"]] == [("agree", "private")]
    ask = await h.sandbox.user_runs_command(bob, h.channel_id, "forget-me")
    code = re.search(r"confirm(?:ation)?:(\d{6})", ask.text).group(1)
    await h.sandbox.user_runs_command(bob, h.channel_id, "forget-me", confirm=code)
    await settle(core, h, slack)
    assert [t for _, t, _ in proposals(core)] == [None]
    assert not any(PROPOSAL in m.content for m in h.sandbox.thread_messages(discord_bb))
    assert not any(PROPOSAL in m.text for m in slack.thread_messages(slack_bb, SLACK_CHANNEL))
    later = build_digest(core.store, rid, Period(START, START + timedelta(days=60)))
    assert all(r.text != PROPOSAL for s in later.sections for r in s.replies)


async def test_a_proposal_from_slack_and_its_bad_input(both):
    core, h, slack = both
    rid, ids, _, _ = await open_both(core, h, slack)

    with pytest.raises(asyncio.TimeoutError):  # a modal opens; nothing is said in the channel
        await slack.run_slash_command(ANA, SLACK_CHANNEL, "proposer", timeout=0.5)
    await settle(core, h, slack)
    (view_id,) = [v for v, u in slack.interactive.view_users.items() if u == ANA]
    view = slack.interactive.views[view_id]
    assert view["title"]["text"] == "Anonymous proposal"  # ana's Slack speaks English
    section_key = ("planbot_section", "section")
    text_key = ("planbot_text", "text")
    with pytest.raises(ValueError):  # Slack's client refuses more than max_length
        await slack.interactive.user_submits_view(ANA, view_id, {
            section_key: str(ids["digital-skills"]), text_key: "x" * 501})

    empty = await slack.interactive.user_submits_view(ANA, view_id, {
        section_key: str(ids["digital-skills"]), text_key: "   "})
    assert empty.body == {"response_action": "errors",
                          "errors": {"planbot_text": "Your proposal is empty: write the statement you propose."}}
    done = await slack.interactive.user_submits_view(ANA, view_id, {
        section_key: str(ids["digital-skills"]), text_key: "Des ateliers le soir"})
    await settle(core, h, slack)
    assert done.body["response_action"] == "update"
    assert "without your name" in done.body["view"]["blocks"][0]["text"]["text"]
    ((_, text, _),) = proposals(core)
    assert text == "Des ateliers le soir"
    discord_ds = h.first_parts(rid)["digital-skills"]
    posted = [m.content for m in h.sandbox.thread_messages(discord_ds) if m.author.bot]
    assert any("Des ateliers le soir" in t and "uana" not in t and ANA not in t for t in posted)

    # No round in this channel: answered to the caller alone, in their language.
    other = await h.sandbox.add_channel("ailleurs")
    nowhere = await h.sandbox.user_runs_command(h.person("chloe"), other.id, "propose")
    assert nowhere.ephemeral and nowhere.record.modal is None
    assert "Aucun tour" in nowhere.text
    # The round closes while a form is open: the submission is refused, the text given back.
    opened = await h.sandbox.user_runs_command(h.person("dan"), h.channel_id, "propose")
    await h.run("alice", "close")
    late = await h.sandbox.user_submits_modal(h.person("dan"), opened.record, {
        "planbot_section": str(ids["broadband"]), "planbot_text": "Trop tard"})
    assert late.ephemeral and "already closed" in late.text and "Trop tard" in late.text
    assert len(proposals(core)) == 1
    with core.store.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Statement)
                         .where(Statement.text == "Trop tard")).scalar() == 0


async def test_strict_moderation_holds_a_proposal_until_a_facilitator_accepts_it(both):
    core, h, slack = both
    rid, ids, discord_bb, slack_bb = await open_both(core, h, slack, moderation="strict")
    bob = h.person("bob")
    opened = await h.sandbox.user_runs_command(bob, h.channel_id, "propose")
    await h.sandbox.user_submits_modal(
        bob, opened.record, {"planbot_section": str(ids["broadband"]), "planbot_text": PROPOSAL})
    await settle(core, h, slack)

    # Waiting: posted nowhere, counted nowhere.
    assert not any(PROPOSAL in m.content for m in h.sandbox.thread_messages(discord_bb))
    assert slack.thread_messages(slack_bb, SLACK_CHANNEL) == []
    assert all(c.text != PROPOSAL for c in core.store.statement_counts(rid))

    answer = await h.run("alice", "moderate")
    card_id = answer.record.original_id
    _, card = h.sandbox.ephemeral[card_id]
    assert PROPOSAL in card["content"] and "bob" not in card["content"]  # the moderator neither
    accept = next(c["custom_id"] for c in components(card["components"])
                  if c.get("custom_id", "").endswith(":accept"))
    await h.sandbox.user_clicks_ephemeral(h.person("alice"), card_id, accept)
    await settle(core, h, slack)

    (on_discord,) = [m for m in h.sandbox.thread_messages(discord_bb) if PROPOSAL in m.content]
    (on_slack,) = [m for m in slack.thread_messages(slack_bb, SLACK_CHANNEL) if PROPOSAL in m.text]
    assert "bob" not in on_discord.content and "Proposition anonyme" in on_slack.text
    (counted,) = [c for c in core.store.statement_counts(rid) if c.text == PROPOSAL]
    assert counted.agree == 1  # its author
