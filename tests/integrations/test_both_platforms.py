"""One round opened on Discord and Slack at once, both real libraries against local servers:
the digest counts both platforms' participants and stances, together and per platform."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.digests.build import Period, build_digest
from bot.digests.model import Split
from tests.helpers import START, invitation
from tests.integrations.two_platforms import (
    SLACK_CHANNEL,
    SLACK_FACILITATOR,
    two_platforms,
)

ANA, BEN = "UANA", "UBEN"
SECTIONS = "broadband,digital-skills"


@pytest.fixture
async def both(tmp_path):
    users = [(SLACK_FACILITATOR, "ufacil", None), (ANA, "uana", None), (BEN, "uben", None)]
    async with two_platforms(tmp_path, users) as (core, harness, slack_local, _app):
        yield core, harness, slack_local


async def test_one_round_on_discord_and_slack(both):
    core, h, slack = both
    await h.run("alice", "open", plan="sample", sections=SECTIONS)
    invited = await h.run("alice", "invite")
    code = re.search(r"`([a-z0-9-]{14})`", invited.text).group(1)
    answer = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                           plan="sample", sections=SECTIONS, join=code)
    await slack.settle()
    round_id = h.round_id()
    assert core.store.round_for_channel("slack", SLACK_CHANNEL, open_only=True) == round_id
    public_id = core.store.get_round(round_id).public_id
    assert answer.text == (f"Le tour n° {public_id} sur ce plan était déjà ouvert (Discord) : "
                           f"ce canal le rejoint.\nTour n° {public_id} ouvert : 2 sections "
                           "publiées.")

    discord_bb = h.first_parts(round_id)["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    await h.sandbox.user_reacts(h.person("bob"), h.channel_id, discord_bb, "👍")
    await h.sandbox.user_reacts(h.person("chloe"), h.channel_id, discord_bb, "👎🏿")
    await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb, "Depuis Discord")
    await h.settle()
    await slack.user_reacts(ANA, SLACK_CHANNEL, slack_bb, "+1::skin-tone-2")
    await slack.user_reacts(BEN, SLACK_CHANNEL, slack_bb, "shrug")
    await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Depuis Slack", broadcast=True)

    digest = build_digest(core.store, round_id, Period(START, START + timedelta(days=60)))

    people = digest.participation
    assert (people.people, people.people_by_platform) == (5, {"discord": 3, "slack": 2})
    broadband = next(s for s in digest.sections if s.key == "broadband")
    assert broadband.statement.split == Split(agree=2, disagree=1, passed=1)
    assert (people.statements, people.replies, people.stances, people.moderated_out,
            people.stances_by_platform) == (4, 2, 4, 0, {"discord": 2, "slack": 2})
    assert {s.text: s.platform for s in broadband.replies} == {
        "Depuis Discord": "discord", "Depuis Slack": "slack"}


async def test_replies_are_copied_across_and_follow_edits_and_deletions(both):
    """A reply on Discord appears in the Slack thread (and back), a stance on the copy
    counts for the reply, and the copy follows the author's edit and deletion."""
    core, h, slack = both
    await h.run("alice", "open", plan="sample", sections=SECTIONS)
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, join=invitation(core))
    await slack.settle()
    round_id = h.round_id()
    discord_bb = h.first_parts(round_id)["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)

    reply_id = await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb,
                                            "La fibre d’abord <!channel> @everyone")
    await h.settle()
    await core.settle_relays()
    await slack.settle()
    (copy,) = slack.thread_messages(slack_bb, SLACK_CHANNEL)
    assert copy.bot_id and copy.text == "💬 dan sur Discord : La fibre d’abord &lt;!channel&gt; @everyone"
    await slack.user_reacts(ANA, SLACK_CHANNEL, copy.ts, "+1::skin-tone-3")
    await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Et le cellulaire ?")
    await slack.settle()
    await core.settle_relays()
    await h.settle()
    copies_on_discord = [m for m in h.sandbox.thread_messages(discord_bb) if m.author.bot]
    assert [m.content for m in copies_on_discord] == [
        "💬 un·e participant·e sur Slack : Et le cellulaire ?"]
    # The copy carries the reply's Vote button, and a private vote there counts for the reply.
    cellulaire = next(c.id for c in core.store.statement_counts(round_id)
                      if c.text == "Et le cellulaire ?")
    vote = f"planbot:vote:{cellulaire}"
    assert [b["custom_id"] for row in copies_on_discord[0].components
            for b in row["components"]] == [vote]
    card = await h.sandbox.user_clicks(h.person("bob"), h.channel_id, copies_on_discord[0].id,
                                       vote)
    await h.sandbox.user_clicks_ephemeral(h.person("bob"), card.record.original_id,
                                          f"planbot:stance:{cellulaire}:disagree")
    await h.settle()
    assert {c.text: c.disagree for c in core.store.statement_counts(round_id)}[
        "Et le cellulaire ?"] == 1

    await h.sandbox.user_edits(h.person("dan"), discord_bb, reply_id, "La fibre partout")
    await h.settle()
    await core.settle_relays()
    await slack.settle()
    (copy,) = [m for m in slack.thread_messages(slack_bb, SLACK_CHANNEL) if m.bot_id]
    assert copy.text == "💬 dan sur Discord : La fibre partout"
    replies = {c.text: c for c in core.store.statement_counts(round_id) if c.kind == "reply"}
    # ANA's 👍 on the copy was given to the earlier text: kept apart, not counted for this one.
    assert replies["La fibre partout"].agree == 0
    assert core.store.earlier_stances(round_id) == {replies["La fibre partout"].id: (1, 0, 0)}

    await h.sandbox.user_deletes(h.person("dan"), discord_bb, reply_id)
    await h.settle()
    await core.settle_relays()
    await slack.settle()
    assert [m.text for m in slack.thread_messages(slack_bb, SLACK_CHANNEL)] == [
        "Et le cellulaire ?"]
    live = [c.text for c in core.store.statement_counts(round_id)
            if c.kind == "reply" and c.deleted_at is None]
    assert live == ["Et le cellulaire ?"]


async def test_a_copy_in_an_archived_discord_thread_follows_its_authors_edit(both):
    """Discord archives a thread after days without activity, and then refuses edits in it
    (50083): the copy's thread is unarchived and the edit made."""
    core, h, slack = both
    await h.run("alice", "open", plan="sample", sections=SECTIONS)
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, join=invitation(core))
    await slack.settle()
    discord_bb = h.first_parts(h.round_id())["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    reply = await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Et le cellulaire ?")
    await slack.settle()
    await core.settle_relays()
    await h.settle()
    await h.sandbox.moderator_archives_thread(discord_bb)

    await slack.user_edits(BEN, SLACK_CHANNEL, reply, "Et la 5G ?")
    await slack.settle()
    await core.settle_relays()
    await h.settle()

    copies = [m.content for m in h.sandbox.thread_messages(discord_bb) if m.author.bot]
    assert copies == ["💬 un·e participant·e sur Slack : Et la 5G ?"]


async def test_a_reply_is_copied_into_an_archived_and_locked_discord_thread(both):
    """A moderator archived and locked a section thread on Discord while the round is open:
    a post there is refused (50083), so planbot unarchives it (the lock stays, its Manage
    Threads lets it post), copies the Slack reply, and the other sections' copies go on."""
    core, h, slack = both
    await h.run("alice", "open", plan="sample", sections=SECTIONS)
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, join=invitation(core))
    await slack.settle()
    first = h.first_parts(h.round_id())
    slack_bb, slack_skills = [m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id][:2]
    await h.sandbox.moderator_archives_thread(first["broadband"], locked=True)
    await h.settle()

    await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Et le cellulaire ?")
    await slack.user_replies(ANA, SLACK_CHANNEL, slack_skills, "Des ateliers le soir")
    await slack.settle()
    await core.settle_relays()
    await h.settle()

    for key, text in (("broadband", "Et le cellulaire ?"), ("digital-skills", "Des ateliers le soir")):
        copies = [m.content for m in h.sandbox.thread_messages(first[key]) if m.author.bot]
        assert copies == [f"💬 un·e participant·e sur Slack : {text}"]
    thread = h.sandbox.world.channels[first["broadband"]]
    assert (thread.archived, thread.locked) == (False, True)
