"""Moderation by facilitators (issue 14), end to end: the real discord.py bot and the real
slack-bolt app on their local servers around one core. Strict moderation holds a reply back
(no copy on the other platform, not counted, not in the digest) until a facilitator accepts
it; a rejected reply's copies are deleted and it leaves the digest and the analysis, which
says it was moderated out; only facilitators may moderate, and each decision is logged once."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from bot.digests.build import Period, build_digest
from bot.digests.render_md import render_markdown
from tests.helpers import START
from tests.integrations.conformance import discord_problems, slack_problems
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

ANA, BEN = "UANA", "UBEN"
SECTIONS = "broadband,digital-skills"
LATER = Period(START, START + timedelta(days=60))


@pytest.fixture
async def both(tmp_path):
    users = [(SLACK_FACILITATOR, "ufacil", None), (ANA, "uana", "en-US"), (BEN, "uben", None)]
    async with two_platforms(tmp_path, users) as (core, harness, slack_local, app):
        yield core, harness, slack_local, app
    assert harness.sandbox.unknown_requests() == [], "routes Discord does not have"
    assert discord_problems(harness.sandbox.requests) == [], "answers Discord would not give"
    assert slack_problems(slack_local.requests) == [], "answers Slack would not give"


def buttons(components: list[dict]) -> list[str]:
    found = []
    for c in components:
        if c.get("type") == 2:
            found.append(c["custom_id"])
        found += buttons(c.get("components") or [])
    return found


def card(h, message_id: str) -> tuple[str, list[str]]:
    """The text and button ids of an ephemeral card on the local Discord."""
    _, message = h.sandbox.ephemeral[message_id]
    return message["content"], buttons(message.get("components") or [])


def modal_buttons(slack, view_id: str) -> list[str]:
    return [el["action_id"] for block in slack.interactive.views[view_id]["blocks"]
            for el in block.get("elements") or [] if el.get("type") == "button"]


async def settle(core, h, slack, app) -> None:
    """Everything sent handled, every copy posted, on both platforms."""
    await h.settle()
    await slack.settle()
    await app.wait_until_idle()
    await core.settle()
    await h.settle()
    await slack.settle()


def code_in(text: str) -> str:
    """The invitation code an answer to ``invite`` gives."""
    found = re.search(r"`([a-z0-9-]{14})`", text)
    assert found, text
    return found.group(1)


async def open_both(core, h, slack, app, home="discord", **options):
    """A round opened on ``home`` (Discord or Slack) with ``options``, joined from the other
    platform with an invitation."""
    if home == "discord":
        await h.run("alice", "open", plan="sample", sections=SECTIONS, **options)
        code = code_in((await h.run("alice", "invite")).text)
        await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                      sections=SECTIONS, join=code)
    else:
        await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                      sections=SECTIONS, **options)
        code = code_in((await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL,
                                                      "invite")).text)
        await h.run("alice", "open", plan="sample", sections=SECTIONS, join=code)
    await settle(core, h, slack, app)
    round_id = h.round_id()
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    return round_id, h.first_parts(round_id)["broadband"], slack_bb


async def slack_moderate(slack, app, user: str, text: str = "moderate") -> str:
    """``/planbot <text>`` by ``user``, answered with a modal (nothing through the
    response_url); the modal's id."""
    before = set(slack.interactive.views)
    with pytest.raises(asyncio.TimeoutError):
        await slack.run_slash_command(user, SLACK_CHANNEL, text, timeout=1.0)
    await app.wait_until_idle()
    (view_id,) = set(slack.interactive.views) - before
    return view_id


def replies(core, round_id: int) -> dict[str, object]:
    return {c.text: c for c in core.store.statement_counts(round_id) if c.kind == "reply"}


async def test_strict_moderation_holds_a_discord_reply_until_a_facilitator_accepts_it(both):
    core, h, slack, app = both
    round_id, discord_bb, slack_bb = await open_both(core, h, slack, app, moderation="strict")
    assert core.store.round_moderation(round_id) == "strict"
    announcement = [m.content for m in h.sandbox.messages(h.channel_id)][-1]
    assert "Ce tour est modéré" in announcement  # participants are told

    await h.sandbox.user_reacts(h.person("bob"), h.channel_id, discord_bb, "👍")
    await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb, "La fibre d’abord")
    await settle(core, h, slack, app)

    # Held back: no copy on Slack, not counted, not in the digest nor the analysis.
    assert slack.thread_messages(slack_bb, SLACK_CHANNEL) == []
    assert replies(core, round_id) == {}
    digest = build_digest(core.store, round_id, LATER)
    assert (digest.participation.replies, digest.participation.people,
            digest.participation.moderated_out) == (0, 1, 0)
    assert "La fibre" not in render_markdown(digest)
    assert len(core.store.vote_triples(round_id).statement_ids) == 2  # the two sections

    answer = await h.run("alice", "moderate")
    assert answer.ephemeral
    card_id = answer.record.original_id
    text, ids = card(h, card_id)
    assert "La fibre d’abord" in text and "en attente" in text
    (statement,) = {int(i.split(":")[2]) for i in ids}
    assert ids == [f"planbot:moderate:{statement}:accept", f"planbot:moderate:{statement}:reject"]

    # A double click: two interactions on the card before it changes, one decision.
    alice = h.person("alice")
    await asyncio.gather(*(h.sandbox.user_clicks_ephemeral(alice, card_id, ids[0])
                           for _ in range(2)))
    await settle(core, h, slack, app)

    (copy,) = slack.thread_messages(slack_bb, SLACK_CHANNEL)
    assert copy.bot_id and "La fibre d’abord" in copy.text
    await slack.user_reacts(ANA, SLACK_CHANNEL, copy.ts, "+1")
    await settle(core, h, slack, app)
    assert replies(core, round_id)["La fibre d’abord"].agree == 1
    digest = build_digest(core.store, round_id, LATER)
    assert (digest.participation.replies, digest.participation.moderated_out) == (1, 0)
    assert "La fibre d’abord" in render_markdown(digest)
    text, ids = card(h, card_id)
    assert "acceptée" in text and ids == [f"planbot:moderate:{statement}:reject"]

    (decision,) = core.store.moderation_log(round_id)
    assert (decision.statement_id, decision.action, decision.platform) == (
        statement, "accepted", "discord")
    assert decision.moderator_key == core.pseudonyms.key("discord", alice)
    assert alice not in decision.moderator_key


async def test_strict_moderation_on_slack_and_accepting_from_the_modal(both):
    core, h, slack, app = both
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, moderation="strict")
    code = code_in((await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL,
                                                  "invite")).text)
    await h.run("alice", "open", plan="sample", sections=SECTIONS, join=code)
    await settle(core, h, slack, app)
    round_id = h.round_id()
    discord_bb = h.first_parts(round_id)["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    assert core.store.round_moderation(round_id) == "strict"

    await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Et le cellulaire ?")
    await settle(core, h, slack, app)
    assert [m for m in h.sandbox.thread_messages(discord_bb) if m.author.bot] == []
    assert replies(core, round_id) == {}

    view_id = await slack_moderate(slack, app, SLACK_FACILITATOR)
    assert slack.interactive.view_users[view_id] == SLACK_FACILITATOR
    (statement,) = {int(a.rsplit("_", 1)[1]) for a in modal_buttons(slack, view_id)}
    await slack.interactive.user_clicks_in_view(SLACK_FACILITATOR, view_id,
                                                f"planbot_moderate_accept_{statement}")
    await settle(core, h, slack, app)

    copies = [m.content for m in h.sandbox.thread_messages(discord_bb) if m.author.bot]
    assert copies == ["💬 un·e participant·e sur Slack : Et le cellulaire ?"]
    assert "Et le cellulaire ?" in replies(core, round_id)
    assert modal_buttons(slack, view_id) == [f"planbot_moderate_reject_{statement}"]
    assert [(d.action, d.platform) for d in core.store.moderation_log(round_id)] == [
        ("accepted", "slack")]


async def test_a_rejected_reply_loses_its_copies_and_leaves_the_digest_and_analysis(both):
    core, h, slack, app = both
    # Open moderation, from Slack: its facilitator moderates the replies written on Discord.
    round_id, discord_bb, slack_bb = await open_both(core, h, slack, app, home="slack")
    await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb, "Hors sujet total")
    await h.sandbox.user_replies(h.person("chloe"), h.channel_id, discord_bb, "La fibre partout")
    await settle(core, h, slack, app)
    assert len(slack.thread_messages(slack_bb, SLACK_CHANNEL)) == 2  # copied at once
    await slack.user_reacts(ANA, SLACK_CHANNEL, slack.thread_messages(slack_bb, SLACK_CHANNEL)[0].ts,
                            "+1")
    await settle(core, h, slack, app)
    rejected = replies(core, round_id)["Hors sujet total"].id

    view_id = await slack_moderate(slack, app, SLACK_FACILITATOR)
    assert f"planbot_moderate_accept_{rejected}" not in modal_buttons(slack, view_id)
    await slack.interactive.user_clicks_in_view(SLACK_FACILITATOR, view_id,
                                                f"planbot_moderate_reject_{rejected}")
    await settle(core, h, slack, app)

    # The copy on Slack is deleted; the author's own message stays; the reply is kept.
    assert [m.text for m in slack.thread_messages(slack_bb, SLACK_CHANNEL)] == [
        "💬 chloe sur Discord : La fibre partout"]
    assert any(m.content == "Hors sujet total" for m in h.sandbox.thread_messages(discord_bb))
    kept = replies(core, round_id)["Hors sujet total"]
    assert not kept.moderated and kept.agree == 1
    digest = build_digest(core.store, round_id, LATER)
    assert digest.participation.moderated_out == 1
    markdown = render_markdown(digest)
    assert "Hors sujet" not in markdown and "La fibre partout" in markdown
    assert "1 énoncé écarté par la modération" in markdown
    assert str(rejected) in core.store.vote_triples(round_id).excluded
    # The digest posted on Slack says it too, without the rejected text.
    before = {m.ts for m in slack.messages(SLACK_CHANNEL)}
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "digest")
    await settle(core, h, slack, app)
    posted = "\n".join(str(m.blocks) for m in slack.messages(SLACK_CHANNEL)
                       if m.bot_id and m.ts not in before)
    assert "1 énoncé écarté par la modération" in posted and "La fibre partout" in posted
    assert "Hors sujet" not in posted
    assert [(d.statement_id, d.action) for d in core.store.moderation_log(round_id)] == [
        (rejected, "rejected")]
    assert "Hors sujet" not in repr(core.store.moderation_log(round_id))

    # Accepted again later: copied again and counted.
    await slack.interactive.user_clicks_in_view(SLACK_FACILITATOR, view_id,
                                                f"planbot_moderate_accept_{rejected}")
    await settle(core, h, slack, app)
    assert len(slack.thread_messages(slack_bb, SLACK_CHANNEL)) == 2
    assert replies(core, round_id)["Hors sujet total"].moderated


async def test_only_facilitators_moderate_others_are_told_there_is_no_round(both):
    core, h, slack, app = both
    no_round = await h.run("alice", "moderate")
    slack_no_round = await slack.run_slash_command(SLACK_FACILITATOR, SLACK_CHANNEL, "moderate")
    round_id, discord_bb, _ = await open_both(core, h, slack, app, moderation="strict")
    await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb, "En attente")
    await settle(core, h, slack, app)

    refused = await h.run("chloe", "moderate", mode="open")  # chloe speaks French, as alice
    assert refused.ephemeral and refused.text == no_round.text
    assert buttons(refused.record.followups[0][1].get("components") or []) == []
    public_id = core.store.get_round(round_id).public_id
    named = await h.run("chloe", "moderate", round=public_id, mode="open")
    unknown = await h.run("alice", "moderate", round="zzzzzzzzzz")
    assert named.text == unknown.text.replace("zzzzzzzzzz", public_id)
    ben = await slack.run_slash_command(BEN, SLACK_CHANNEL, "modérer strict")
    assert ben.text == slack_no_round.text
    assert core.store.round_moderation(round_id) == "strict"
    assert core.store.moderation_log(round_id) == []

    # A facilitator changes the mode: logged once, with who and when.
    answer = await h.run("alice", "moderate", mode="open")
    assert "modération ouverte" in card(h, answer.record.original_id)[0]
    assert core.store.round_moderation(round_id) == "open"
    assert [(d.action, d.statement_id) for d in core.store.moderation_log(round_id)] == [
        ("open", None)]


async def test_a_joined_workspace_neither_lifts_the_home_rounds_strict_moderation_nor_decides(both):
    """A Discord server opens a strict round and invites a Slack workspace: as for closing
    it, the Slack facilitator is told the round is run from elsewhere; the mode stays."""
    core, h, slack, app = both
    round_id, discord_bb, _ = await open_both(core, h, slack, app, moderation="strict")
    await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb, "En attente")
    await settle(core, h, slack, app)
    for text in ("moderate open", "moderate"):
        answer = await slack.run_slash_command(SLACK_FACILITATOR, SLACK_CHANNEL, text)
        assert "autre serveur" in answer.text, answer.text
    await settle(core, h, slack, app)
    assert core.store.round_moderation(round_id) == "strict"
    assert core.store.moderation_log(round_id) == [] and replies(core, round_id) == {}


async def test_strict_moderation_an_accepted_reply_edited_waits_before_its_copy_changes(both):
    """'Post harmless, edit later': dan's accepted reply edited on Discord keeps its Slack
    copy as accepted, and waits on alice's card, until she accepts the new text."""
    core, h, slack, app = both
    round_id, discord_bb, slack_bb = await open_both(core, h, slack, app, moderation="strict")
    dan, alice = h.person("dan"), h.person("alice")
    mid = await h.sandbox.user_replies(dan, h.channel_id, discord_bb, "La fibre d’abord")
    await settle(core, h, slack, app)
    card_id = (await h.run("alice", "moderate")).record.original_id
    await h.sandbox.user_clicks_ephemeral(alice, card_id, card(h, card_id)[1][0])  # accept
    await settle(core, h, slack, app)

    await h.sandbox.user_edits(dan, discord_bb, mid, "ACHETEZ http://arnaque.example")
    await settle(core, h, slack, app)
    (copy,) = slack.thread_messages(slack_bb, SLACK_CHANNEL)
    assert "La fibre d’abord" in copy.text and "ACHETEZ" not in copy.text
    assert replies(core, round_id) == {}
    card_id = (await h.run("alice", "moderate")).record.original_id
    text, ids = card(h, card_id)
    assert "ACHETEZ" in text and "en attente" in text and ids[0].endswith(":accept")

    await h.sandbox.user_clicks_ephemeral(alice, card_id, ids[0])
    await settle(core, h, slack, app)
    (copy,) = slack.thread_messages(slack_bb, SLACK_CHANNEL)
    assert "ACHETEZ" in copy.text
    assert "ACHETEZ http://arnaque.example" in replies(core, round_id)
