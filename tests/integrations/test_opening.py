"""Opening a round on the real platforms (issue 11), with discord.py and slack-bolt against
the local servers: what a section looks like, what the facilitator is told, what happens
when a channel refuses."""

from __future__ import annotations

import asyncio

import discord
import pytest
from sqlalchemy import select

from bot.plans import import_plan
from integrations.slack.translate import slack_time
from storage.models import Statement
from tests.helpers import invitation
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
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="fleuve",
                                  join=invitation(core))
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
                                  sections="broadband", join=invitation(core))
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


async def until(condition) -> None:
    """Wait (bounded by WAIT) until ``condition()`` holds: a condition, not a duration."""
    async def poll():
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), WAIT)


async def test_a_section_refused_for_good_does_not_stop_the_others_and_is_retried_alone(both):
    """Discord refuses the second section's message, Slack its first reaction: the other
    section is posted all the same, the facilitator is told which section failed and why,
    and running the same open again retries that section only."""
    core, h, slack, _app = both
    h.sandbox.fail("POST", rf"/channels/{h.channel_id}/messages", status=400, code=50035,
                   message="Invalid Form Body", nth=2, times=1)
    slack.fail_next("reactions.add", "too_many_reactions", nth=1)

    answer = await h.run("alice", "open", plan="sample", sections="broadband,digital-skills")
    code = invitation(core)
    on_slack = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                             plan="sample", sections="broadband,digital-skills",
                                             join=code)
    await slack.settle()

    assert answer.text.endswith("1 section publiée.\nNon publiées : `digital-skills` "
                                "(50035 Invalid Form Body). Relancez la même commande pour "
                                "réessayer celles-ci seulement.")
    assert "`broadband` (too_many_reactions)" in on_slack.text
    round_id = h.round_id()
    assert set(h.posted_sections(round_id)) == {"broadband"}
    failures = {(f.platform, f.section_key, f.reason) for f in core.store.section_failures(round_id)}
    assert failures == {("discord", "digital-skills", "50035 Invalid Form Body"),
                        ("slack", "broadband", "too_many_reactions")}

    posts_before = len(h.sandbox.requests_to("POST", "/channels/"))
    slack_calls = len(slack.requests)
    again = await h.run("alice", "open", plan="sample", sections="broadband,digital-skills")
    # Slack joined the round already: re-running the same open needs no new code.
    on_slack = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                             plan="sample", sections="broadband,digital-skills")
    await slack.settle()

    public_id = core.store.get_round(round_id).public_id
    assert again.text == f"Tour n° {public_id} ouvert : 1 section publiée."
    assert set(h.posted_sections(round_id)) == {"broadband", "digital-skills"}
    retried = [r.path for r in h.sandbox.requests_to("POST", "/channels/")[posts_before:]]
    assert len(retried) == 2 and all(h.first_parts(round_id)["broadband"] not in p
                                     for p in retried)  # the new post and its thread only
    assert on_slack.text == f"Le tour n° {public_id} est déjà publié ici (2 sections) ; " \
        "rien n’a été republié."
    slack_retried = [c.method for c in slack.requests[slack_calls:]
                     if c.method in ("chat.postMessage", "reactions.add")]
    assert slack_retried == ["reactions.add"] * 3  # broadband's seeds, nothing posted again
    assert core.store.section_failures(round_id) == []
    bb = next(m for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    assert set(bb.reactions) == {"+1", "-1", "shrug"}


async def test_a_second_open_while_the_first_posts_is_answered_at_once(both, tmp_path):
    """While an open of a plan is under way (held here by a rate limit), an open of the same
    plan from the same guild or workspace is answered at once that it is in progress; once
    the first is done, the other platform joins the round with an invitation and is told
    where it was open already."""
    core, h, slack, _app = both
    h.sandbox.rate_limit("POST", rf"/channels/{h.channel_id}/messages", retry_after=1.0)
    first = asyncio.ensure_future(h.sandbox.user_runs_command(
        h.person("alice"), h.channel_id, "open", plan="sample", sections="broadband"))
    await until(lambda: h.sandbox.requests_to("POST", f"/channels/{h.channel_id}/messages"))

    busy = await h.sandbox.user_runs_command(h.person("alice"), h.channel_id, "open",
                                             plan="sample", sections="broadband")
    assert not first.done()
    assert busy.text.startswith("Le plan « sample » est déjà en cours d’ouverture")
    opened = await asyncio.wait_for(first, WAIT)
    await h.settle()
    round_id = h.round_id()
    public_id = core.store.get_round(round_id).public_id
    assert opened.text == f"Tour n° {public_id} ouvert : 1 section publiée."
    assert len(h.posted_sections(round_id)["broadband"]) == 1  # the busy open posted nothing

    joined = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                           plan="sample", sections="broadband",
                                           join=invitation(core, round_id))
    await slack.settle()
    assert joined.text == (f"Le tour n° {public_id} sur ce plan était déjà ouvert (Discord) : "
                           f"ce canal le rejoint.\nTour n° {public_id} ouvert : 1 section "
                           "publiée.")

    long_plan(core, tmp_path, SENTENCE * 3)
    slack.rate_limit("chat.postMessage", retry_after=1)
    second = asyncio.ensure_future(slack.user_runs_command(
        SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="fleuve"))
    await until(lambda: slack.calls("chat.postMessage")[-1:] and
                slack.calls("chat.postMessage")[-1].error == "ratelimited")
    busy = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                         plan="fleuve")
    assert busy.text.startswith("Le plan « fleuve » est déjà en cours d’ouverture")
    assert (await asyncio.wait_for(second, WAIT)).text.startswith("Tour n°")


async def test_reconciliation_finishes_sections_and_re_adds_seed_reactions(both):
    """A section left without its thread (Discord refused it) or its seed reactions (Slack
    refused one), and a seed reaction a moderator removed, are put back by the next
    reconciliation, not only by a repeated open."""
    core, h, slack, app = both
    h.sandbox.fail("POST", r"/channels/\d+/messages/\d+/threads", status=403, code=50013,
                   message="Missing Permissions", times=1)
    slack.fail_next("reactions.add", "too_many_reactions", nth=1)
    await h.run("alice", "open", plan="sample", sections="broadband,digital-skills")
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections="broadband,digital-skills", join=invitation(core))
    await slack.settle()
    round_id = h.round_id()
    first = h.first_parts(round_id)
    bb = h.sandbox.world.messages[first["broadband"]]
    assert bb.thread_id is None and not bb.reactions
    skills = h.sandbox.world.messages[first["digital-skills"]]
    await h.sandbox.moderator_clears_reactions(h.channel_id, skills.id, "👍")
    # planbot's first two messages are the sections; the opening announcement follows them.
    slack_bb, slack_skills = [m for m in slack.messages(SLACK_CHANNEL) if m.bot_id][:2]
    await slack.user_unreacts("U0PLANBOT", SLACK_CHANNEL, slack_skills.ts, "-1")
    await h.settle()
    await slack.settle()
    assert not slack_bb.reactions and "-1" not in slack_skills.reactions

    discord_report = await core.reconcile(h.bot.platform)
    slack_report = await app.reconcile()

    assert (discord_report.sections_finished, slack_report.sections_finished) == (2, 2)
    assert bb.thread_id == bb.id
    for message in (bb, skills):
        assert {e["name"] for e, _ in message.reactions.values()} == {"👍", "👎", "🤷"}
    for message in (slack_bb, slack_skills):
        assert set(slack.message(SLACK_CHANNEL, message.ts).reactions) == {"+1", "-1", "shrug"}
    assert (await core.reconcile(h.bot.platform)).sections_finished == 0  # nothing left


async def test_the_facilitator_is_told_opening_at_once_then_the_result(both):
    """While the sections wait on rate limits, the facilitator already has an answer: on
    Discord the deferred (ephemeral, "thinking") answer, which the result then edits in place;
    on Slack the acknowledgement's "opening…", shown before the first section is posted, then
    the result through the response_url."""
    core, h, slack, _app = both
    h.sandbox.rate_limit("POST", rf"/channels/{h.channel_id}/messages", retry_after=0.3)
    opening = asyncio.ensure_future(h.sandbox.user_runs_command(
        h.person("alice"), h.channel_id, "open", plan="sample", sections="broadband"))
    await until(lambda: h.sandbox.requests_to("POST", f"/channels/{h.channel_id}/messages"))
    record = next(iter(h.sandbox.interactions.values()))
    assert [body["type"] for _, body in record.callbacks] == [5]  # deferred at once
    assert record.followups == [] and not opening.done()
    deferred = record.messages[record.original_id]
    answer = await asyncio.wait_for(opening, WAIT)
    await h.settle()
    public_id = core.store.get_round(h.round_id()).public_id
    assert answer.text == f"Tour n° {public_id} ouvert : 1 section publiée."
    assert list(record.messages) == [deferred["id"]]  # the deferred answer, edited in place
    assert record.messages[deferred["id"]]["content"] == answer.text and answer.ephemeral

    on_slack = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                             plan="sample", sections="broadband",
                                             join=invitation(core))
    await slack.settle()
    assert on_slack.interim == ("Ouverture d’un tour sur le plan « sample »… Je vous réponds "
                                "ici dès que les sections sont publiées.")
    posts = [i for i, c in enumerate(slack.requests) if c.method == "chat.postMessage"]
    assert on_slack.calls_at_ack is not None and on_slack.calls_at_ack <= posts[0]
    assert on_slack.text.startswith(f"Le tour n° {public_id} sur ce plan était déjà ouvert")
    assert on_slack.ephemeral


async def test_a_slack_command_answers_in_english_once_the_language_is_known(both):
    """The ack cannot wait for users.info: the first open answers "opening…" in the
    workspace's default language, later ones in the facilitator's own."""
    _core, _h, slack, _app = both
    first = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                          plan="sample", sections="broadband", locale="en-US")
    await slack.settle()
    again = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                          plan="sample", sections="broadband")
    assert first.interim is not None and first.interim.startswith("Ouverture")
    assert first.text.startswith("Round #") and again.interim == (
        "Opening a round of plan “sample”… I will answer here once the sections are posted.")


async def test_an_open_first_names_what_the_bot_lacks_in_the_channel(both):
    """An admin withheld Add Reactions and Attach Files from planbot in the Discord channel
    (a permission overwrite), and on Slack the channel is posting-restricted and the app was
    installed without ``reactions:write``: each open answers with what is missing, and
    nothing is opened or posted until it is granted."""
    core, h, slack, _app = both
    denied = discord.Permissions(add_reactions=True, attach_files=True).value
    await h.sandbox.set_overwrite(h.channel_id, h.sandbox.bot_role.id, deny=denied)
    await h.settle()
    slack.restrict_posting(SLACK_CHANNEL)
    slack.scopes.discard("reactions:write")

    answer = await h.run("alice", "open", plan="sample", sections="broadband")
    on_slack = await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                             plan="sample", sections="broadband")
    await slack.settle()

    assert answer.text == ("Je ne peux pas ouvrir de tour dans ce canal : il me manque Ajouter "
                           "des réactions, Joindre des fichiers. Accordez-les-moi, puis relancez "
                           "la même commande (rien ne sera publié deux fois).") and answer.ephemeral
    assert "le droit d’y publier" in on_slack.text and "`reactions:write`" in on_slack.text
    assert "l’accès au canal" not in on_slack.text  # the app is a member
    assert h.round_id() is None and core.store.rounds() == []
    assert not h.sandbox.requests_to("POST", f"/channels/{h.channel_id}/messages")
    assert not slack.calls("chat.postMessage")

    await h.sandbox.set_overwrite(h.channel_id, h.sandbox.bot_role.id)
    await h.settle()
    opened = await h.run("alice", "open", plan="sample", sections="broadband")
    public_id = core.store.get_round(h.round_id()).public_id
    assert opened.text == f"Tour n° {public_id} ouvert : 1 section publiée."
