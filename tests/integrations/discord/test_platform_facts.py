"""Issue 11: what the real Discord does that planbot must get right, shown with the real
discord.py against the local Discord (integrations/sandbox/README.md)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.stances import StanceMap
from storage.models import Participant, Statement
from tests.helpers import make_core
from tests.integrations.discord.harness import start_bot, stop_bot
from tests.integrations.discord.test_end_to_end import AGREE, DISAGREE, open_two


def participant_keys(h) -> set[str]:
    with h.core.store.engine.connect() as conn:
        return set(conn.scalars(select(Participant.key_hash)))


def key_of(h, name: str) -> str:
    return h.core.pseudonyms.key("discord", h.person(name))


async def test_a_bot_removing_its_reaction_leaves_no_participant(discord_bot):
    """MESSAGE_REACTION_REMOVE carries no member: the bot flag is looked up (and kept)."""
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb, ch, otherbot = first["broadband"], h.channel_id, h.person("otherbot")

    for _ in range(2):
        await sb.user_reacts(otherbot, ch, bb, DISAGREE)
        await sb.user_unreacts(otherbot, ch, bb, DISAGREE)
    await sb.user_reacts(h.person("alice"), ch, bb, AGREE)
    await sb.user_unreacts(h.person("alice"), ch, bb, AGREE)  # a person's removal still counts
    await h.settle()

    assert key_of(h, "otherbot") not in participant_keys(h)
    assert key_of(h, "alice") in participant_keys(h)
    assert len(sb.requests_to("GET", f"/users/{otherbot}")) <= 1  # looked up once at most
    await h.core.reconcile(h.bot.platform)
    assert key_of(h, "otherbot") not in participant_keys(h)


async def test_super_reactions_are_stances_live_and_in_reconciliation(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb, ds, ch = first["broadband"], first["digital-skills"], h.channel_id

    await sb.user_reacts(h.person("alice"), ch, bb, AGREE, burst=True)
    await h.settle()
    assert h.stances() == {("alice", "broadband", "agree")}

    async with sb.bot_offline():
        await sb.user_reacts(h.person("bob"), ch, ds, DISAGREE, burst=True)
    await h.bot.wait_until_reconciled(2)
    await h.settle()

    report = await h.core.reconcile(h.bot.platform)
    assert report.reactions_removed == 0
    assert h.stances() == {("alice", "broadband", "agree"), ("bob", "digital-skills", "disagree")}
    with h.core.store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Participant)) == 2


async def test_a_stance_emoji_needing_its_variation_selector_is_seeded(sandbox, tmp_path):
    """❤️ (U+2764 U+FE0F) is what Discord knows; ❤ alone is refused (10014) and used to stop
    an opening half-way, after the first section was out."""
    core = make_core(tmp_path, facilitator_ids=frozenset({sandbox.facilitator_role.id}),
                     stance_map=StanceMap.parse("agree=❤️;disagree=👎;pass=🤷"))
    h = await start_bot(sandbox, core)
    try:
        _, first = await open_two(h)
        assert len(first) == 2
        posted = {m.id: m for m in sandbox.messages(h.channel_id)}
        for message_id in first.values():
            message = posted[message_id]
            assert [e["name"] for e, _ in message.reactions.values()] == ["❤\ufe0f", "👎", "🤷"]
        await sandbox.user_reacts(h.person("alice"), h.channel_id, first["broadband"], "❤️")
        await h.settle()
        assert h.stances() == {("alice", "broadband", "agree")}
    finally:
        await stop_bot(h)
        core.close()


def attachment_replies(core) -> list[tuple[str | None, str | None, bool]]:
    """(text, file names, in analysis) of every reply, oldest first."""
    with core.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Statement.text, Statement.attachments, Statement.moderated)
            .where(Statement.kind == "reply").order_by(Statement.id))]


async def test_an_image_only_reply_is_an_attachment_reply(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    rid = h.round_id()
    bb, ch = first["broadband"], h.channel_id

    await sb.user_replies(h.person("bob"), ch, bb, "", files={"carte.png": b"\x89PNG"})
    await sb.user_replies(h.person("chloe"), ch, bb, "Voir le plan", files={"plan.pdf": b"%PDF"})
    await h.settle()

    assert attachment_replies(h.core) == [(None, "carte.png", False), ("Voir le plan", "plan.pdf", True)]
    assert h.core.store.participation(rid).total == 2
    digest_input = [s for s in h.core.store.statement_counts(rid) if s.kind == "reply"]
    assert [s.moderated for s in digest_input] == [False, True]  # not a statement to analyse


def late_stances(core) -> list[tuple[str, str | None]]:
    from storage.models import Stance
    with core.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Stance.emoji_key, Stance.stance).where(Stance.source == "late"))]


async def test_closing_posts_a_note_archives_and_locks_each_thread_and_late_stances_stay_out(
        discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    rid, bb, ch = h.round_id(), first["broadband"], h.channel_id
    await sb.user_reacts(h.person("alice"), ch, bb, AGREE)
    await h.settle()
    sb.world.channels[first["digital-skills"]].archived = True  # a thread idle for days

    await h.run("alice", "close")

    for thread_id in first.values():
        thread = sb.world.channels[thread_id]
        last = sb.messages(thread_id)[-1]
        public_id = h.core.store.get_round(rid).public_id
        assert last.author.id == sb.world.bot.id and f"tour n° {public_id} est clos" in last.content
        assert (thread.archived, thread.locked) == (True, True)
        assert h.core.store.thread_state("discord", thread_id) == "locked"  # in the store
    await sb.user_reacts(h.person("bob"), ch, bb, AGREE)
    await sb.user_reacts(h.person("alice"), ch, bb, DISAGREE)
    await h.settle()

    assert h.stances() == {("alice", "broadband", "agree")}  # the final tally as it was
    assert sorted(late_stances(h.core)) == [(AGREE, "agree"), (DISAGREE, "disagree")]
    counts = {c.section_key: c for c in h.core.store.statement_counts(rid) if c.kind == "section"}
    assert (counts["broadband"].agree, counts["broadband"].disagree) == (1, 0)
