"""The bot under Discord's faults: long sections, 429s, outages, reconnects, no message content."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from datetime import timedelta

from bot.plans import import_plan
from integrations.discord import PlanbotDiscord, run_discord
from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at
from tests.helpers import is_notice, make_core
from tests.integrations.discord.harness import WAIT, Harness, start_bot, stop_bot

AGREE, DISAGREE, PASS = "👍", "👎", "🤷"
TWO = "broadband,digital-skills"

PARAGRAPH = (
    "Nous proposons d’équiper chaque bibliothèque d’un « coin numérique » 👩🏽‍💻 ouvert le soir ; "
    "les aînés y trouveraient de l’aide, et les élèves un lieu calme pour étudier. "
    "Voir https://example.org/plan/bibliothèques?section=2#coût pour le détail des coûts. "
    "Qu’en pensez-vous ? 🇨🇦 1️⃣ Noe\u0308l approuve 👨‍👩‍👧‍👦.\n\n"
)


async def open_two(h: Harness) -> dict[str, str]:
    await h.run("alice", "open", plan="sample", sections=TWO)
    round_id = h.round_id()
    assert round_id is not None
    return h.first_parts(round_id)


async def test_long_french_section_is_posted_in_ordered_parts_with_thread_on_the_first(tmp_path, sandbox, core):
    body = PARAGRAPH * 20
    assert len(body) > 5000
    plan = tmp_path / "long.fr.md"
    plan.write_text(f"# Un long plan\n\n## La section fleuve {{#fleuve}}\n\n{body}", encoding="utf-8")
    import_plan(core.store, [plan], core.clock.now())
    h = await start_bot(sandbox, core)
    try:
        await h.run("alice", "open", plan="long")
        parts = h.posted_sections(h.round_id())["fleuve"]
        messages = [sandbox.world.messages[mid] for _, mid, _, _ in parts]

        assert len(messages) >= 3 and [p for *_, p in parts] == list(range(len(parts)))
        assert [int(m.id) for m in messages] == sorted(int(m.id) for m in messages)
        assert all(len(m.content) <= 2000 for m in messages)
        rejoined = "".join(m.content for m in messages).replace("\n", "").replace(" ", "")
        expected = unicodedata.normalize("NFC", "## La section fleuve" + body)  # plans are stored NFC
        expected = expected.replace("\n", "").replace(" ", "")
        assert rejoined == expected  # in order, nothing lost, no grapheme or URL cut apart
        assert all("👨‍👩‍👧‍👦" in m.content or "\u200d" not in m.content.replace("👩🏽‍💻", "") for m in messages)
        first, rest = messages[0], messages[1:]
        assert first.thread_id == first.id and parts[0][2] == first.id
        assert [e["name"] for e, _ in first.reactions.values()] == [AGREE, DISAGREE, PASS]
        assert all(m.thread_id is None and not m.reactions for m in rest)
        # A stance on a later part counts for the section too.
        await sandbox.user_reacts(h.person("bob"), h.channel_id, rest[0].id, AGREE)
        await h.settle()
        assert h.stances() == {("bob", "fleuve", "agree")}
    finally:
        await stop_bot(h)


async def test_429_during_opening_delays_it_but_loses_and_duplicates_nothing(discord_bot, caplog):
    h, sb = discord_bot, discord_bot.sandbox
    sb.rate_limit("POST", r"/channels/\d+/messages", retry_after=0.3, count=2)
    sb.rate_limit("PUT", r"/channels/\d+/messages/\d+/reactions/.+/@me", retry_after=0.2)

    answer = await h.run("alice", "open", plan="sample", sections=TWO)

    limited = [r for r in sb.requests if r.status == 429]
    assert len(limited) == 3
    posted = [m for m in sb.messages(h.channel_id) if m.author.bot and not is_notice(m.content)]
    assert len(posted) == 2 and len(h.posted_sections(h.round_id())) == 2
    assert all(len(users) == 1 for m in posted for _, users in m.reactions.values())
    assert all(len(m.reactions) == 3 and m.thread_id == m.id for m in posted)
    record = answer.record
    deferred_at, followed_at = record.callbacks[0][0], record.followups[0][0]
    assert deferred_at - record.created_at < timedelta(seconds=3)
    assert followed_at - deferred_at >= timedelta(seconds=0.8)  # waited out every retry_after
    assert "2" in answer.text
    assert any("rate limited" in r.getMessage() for r in caplog.records)


async def _scenario_while(h: Harness, first: dict[str, str], during) -> None:
    """The same members' actions, with ``during`` wrapping the middle part (an outage or
    nothing). Returns once the bot has caught up."""
    sb, ch = h.sandbox, h.channel_id
    bb, ds = first["broadband"], first["digital-skills"]
    alice, bob, chloe, dan = (h.person(n) for n in ("alice", "bob", "chloe", "dan"))
    await sb.user_reacts(chloe, ch, bb, AGREE)
    await sb.user_reacts(dan, ch, ds, AGREE)
    r0 = await sb.user_replies(dan, ch, ds, "Avant la panne")
    await h.settle()
    async with during():
        await sb.user_reacts(alice, ch, bb, AGREE)
        await sb.user_reacts(bob, ch, bb, DISAGREE)
        await sb.user_reacts(bob, ch, ds, PASS)
        await sb.user_unreacts(chloe, ch, bb, AGREE)  # gone while away: must be withdrawn
        await sb.user_reacts(dan, ch, ds, DISAGREE)  # a change of stance...
        await sb.user_unreacts(dan, ch, ds, AGREE)
        r1 = await sb.user_replies(bob, ch, bb, "Pendant la panne : d’accord avec réserve")
        await sb.user_replies(chloe, ch, bb, "Réponse à Bob 🌲", reply_to=r1)
        await sb.user_reacts(alice, ch, r1, AGREE)
        await sb.user_reacts(chloe, ch, r0, PASS)
        await sb.user_reacts(h.person("otherbot"), ch, bb, DISAGREE)


async def test_outage_without_resume_then_reconciliation_equals_staying_online(tmp_path):
    async def run(outage: bool, where):
        async with DiscordSandbox() as sb:
            with discord_py_pointed_at(sb):
                core = make_core(where, facilitator_ids=frozenset({sb.facilitator_role.id}))
                h = await start_bot(sb, core)
                try:
                    first = await open_two(h)

                    def during():
                        return sb.bot_offline(resumable=False) if outage else contextlib.nullcontext()

                    await _scenario_while(h, first, during)
                    if outage:
                        await asyncio.wait_for(h.bot.wait_until_reconciled(2), WAIT)
                        assert sb.gateway.identified == 2 and sb.gateway.resumed == 0
                    await h.settle()
                    result = h.stances(), h.replies()
                    if outage:  # a second pass, alongside nothing new, changes nothing
                        await core.reconcile(h.bot.platform)
                        assert (h.stances(), h.replies()) == result
                    assert sb.unknown_requests() == []
                    return result
                finally:
                    await stop_bot(h)
                    core.close()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    stayed = await run(False, tmp_path / "a")
    away = await run(True, tmp_path / "b")

    assert away == stayed
    stances, replies = stayed
    assert ("chloe", "broadband", "agree") not in stances
    assert ("dan", "digital-skills", "disagree") in stances
    assert ("alice", "reply:Pendant la panne : d’accord avec réserve", "agree") in stances
    assert len(replies) == 3


async def test_outage_with_resume_replays_missed_events_without_reconciliation(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    first = await open_two(h)

    async with sb.bot_offline(resumable=True):
        await sb.user_reacts(h.person("bob"), h.channel_id, first["broadband"], AGREE)
        rid = await sb.user_replies(h.person("bob"), h.channel_id, first["broadband"], "rejoué")
    await asyncio.wait_for(sb.gateway.wait_connected(identified=1, resumed=1), WAIT)
    await h.settle()

    assert h.stances() == {("bob", "broadband", "agree")}
    assert h.replies() == {("bob", "rejoué", False, False)}
    assert h.bot.reconciliations == 1 and rid


async def test_gateway_reconnect_request_resumes_and_invalid_session_reidentifies(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    first = await open_two(h)

    await sb.gateway.ask_reconnect()  # op 7
    await asyncio.wait_for(sb.gateway.wait_connected(identified=1, resumed=1), WAIT)
    assert sb.gateway.connected_paths[-1] == "/resume/"  # resume_gateway_url was honoured
    await sb.user_reacts(h.person("bob"), h.channel_id, first["broadband"], AGREE)
    await h.settle()

    await sb.gateway.invalidate_session()  # op 9: identify again, then reconcile
    await asyncio.wait_for(h.bot.wait_until_reconciled(2), WAIT)
    await sb.user_reacts(h.person("chloe"), h.channel_id, first["broadband"], DISAGREE)
    await h.settle()

    assert sb.gateway.identified == 2
    assert h.stances() == {("bob", "broadband", "agree"), ("chloe", "broadband", "disagree")}


async def test_without_message_content_replies_are_stored_withheld_and_facilitators_told(tmp_path, caplog):
    async with DiscordSandbox(message_content_enabled=False) as sb:
        with discord_py_pointed_at(sb):
            core = make_core(tmp_path, facilitator_ids=frozenset({sb.facilitator_role.id}))
            bots: list[PlanbotDiscord] = []
            second = asyncio.Event()

            def make_bot(*, message_content: bool) -> PlanbotDiscord:
                bots.append(
                    PlanbotDiscord(
                        core,
                        message_content=message_content,
                        guild_ids=frozenset({sb.guild.id}),
                        reidentify_delay=0,
                        guild_ready_timeout=0.05,
                    )
                )
                if len(bots) == 2:
                    second.set()
                return bots[-1]

            task = asyncio.create_task(run_discord(make_bot, sb.token))
            await asyncio.wait_for(second.wait(), WAIT)  # the first bot was refused with 4014
            h = Harness(sb, core, bots[1], task)
            await asyncio.wait_for(h.bot.wait_until_reconciled(1), WAIT)
            try:
                answer = await h.run("alice", "open", plan="sample", sections="broadband")
                bb = h.first_parts(h.round_id())["broadband"]
                await sb.user_replies(h.person("bob"), h.channel_id, bb, "texte invisible pour le bot")
                await h.settle()

                assert "message" in answer.text and "⚠️" in answer.text
                assert h.replies() == {("bob", None, True, False)}  # withheld, not an empty opinion
                assert any("MESSAGE CONTENT" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
                assert sb.gateway.close_codes[0] == 4014
            finally:
                await h.bot.close()
                await asyncio.wait_for(task, WAIT)
                core.close()
