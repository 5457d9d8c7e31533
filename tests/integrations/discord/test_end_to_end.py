"""The real discord.py bot against the local Discord: rounds, stances, replies, refusals."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import is_notice

AGREE, DISAGREE, PASS = "👍", "👎", "🤷"
TWO = "broadband,digital-skills"


async def open_two(h):
    answer = await h.run("alice", "open", plan="sample", sections=TWO)
    rid = h.round_id()
    assert rid is not None, answer
    return answer, h.first_parts(rid)


async def test_opening_posts_each_section_with_thread_and_seeded_reactions(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    answer, first = await open_two(h)

    assert answer.ephemeral and "2" in answer.text
    posted = [m for m in sb.messages(h.channel_id) if m.author.id == sb.world.bot.id]
    assert is_notice(posted.pop().content)  # the opening announcement, under the sections
    assert [m.id for m in posted] == [first["broadband"], first["digital-skills"]]
    for message in posted:
        assert message.thread_id == message.id  # thread started from the section message
        assert [e["name"] for e, users in message.reactions.values()] == [AGREE, DISAGREE, PASS]
        assert all(users == [sb.world.bot.id] for _, users in message.reactions.values())
        assert len(message.content) <= 2000 and message.content.startswith("## ")
    # Deferred at once, answered after the posting.
    record = answer.record
    (deferred_at, callback), (followed_at, _) = record.callbacks[0], record.followups[0]
    assert callback["type"] == 5 and callback["data"]["flags"] & 64
    assert deferred_at - record.created_at < timedelta(seconds=3)
    posts = sb.requests_to("POST", f"/channels/{h.channel_id}/messages")
    assert deferred_at <= posts[0].at and posts[-1].at <= followed_at
    # Nothing the bot sent can ping anyone.
    assert all(am == {"parse": []} for am in sb.sent_allowed_mentions.values())


async def test_running_the_same_open_twice_posts_once(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    await open_two(h)
    before = len(sb.messages(h.channel_id))

    again = await h.run("alice", "open", plan="sample", sections=TWO)

    assert len(sb.messages(h.channel_id)) == before
    public_id = h.core.store.get_round(h.round_id()).public_id
    assert public_id in again.text and again.ephemeral  # "round #… is already posted here"


async def test_members_stances_and_replies_end_up_exactly_in_the_store(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb, ds, ch = first["broadband"], first["digital-skills"], h.channel_id
    alice, bob, chloe, dan, otherbot = (h.person(n) for n in ("alice", "bob", "chloe", "dan", "otherbot"))

    await sb.user_reacts(alice, ch, bb, AGREE)
    await sb.user_reacts(bob, ch, bb, "👍🏽")  # skin tone: still agree
    await sb.user_reacts(chloe, ch, bb, AGREE)
    await sb.user_reacts(chloe, ch, bb, DISAGREE)  # changes her mind...
    await sb.user_unreacts(chloe, ch, bb, AGREE)  # ...and takes the old stance back
    await sb.user_reacts(dan, ch, ds, PASS)
    await sb.user_reacts(dan, ch, bb, DISAGREE)
    await sb.user_unreacts(dan, ch, bb, DISAGREE)  # withdrawn
    await sb.user_reacts(otherbot, ch, bb, DISAGREE)  # bots count for nothing
    r1 = await sb.user_replies(bob, ch, bb, "Bonne idée, mais la fibre coûte cher. @everyone")
    r2 = await sb.user_replies(chloe, ch, bb, "Il faut d’abord les rangs éloignés 🌲", reply_to=r1)
    r3 = await sb.user_replies(dan, ch, ds, "typo")
    await sb.user_edits(dan, ch, r3, "Ateliers le samedi matin aussi 👍🏿")
    r4 = await sb.user_replies(alice, ch, ds, "à supprimer")
    await sb.user_deletes(alice, ch, r4)
    await sb.user_replies(otherbot, ch, ds, "I am a bot")
    await sb.user_reacts(alice, ch, r1, AGREE)  # a reply is a statement too
    await sb.user_reacts(dan, ch, r2, DISAGREE)
    await h.settle()

    assert h.stances() == {
        ("alice", "broadband", "agree"),
        ("bob", "broadband", "agree"),
        ("chloe", "broadband", "disagree"),
        ("dan", "digital-skills", "pass"),
        ("alice", "reply:Bonne idée, mais la fibre coûte cher. @everyone", "agree"),
        ("dan", "reply:Il faut d’abord les rangs éloignés 🌲", "disagree"),
    }
    assert h.replies() == {
        ("bob", "Bonne idée, mais la fibre coûte cher. @everyone", False, False),
        ("chloe", "Il faut d’abord les rangs éloignés 🌲", False, False),
        ("dan", "Ateliers le samedi matin aussi 👍🏿", False, False),
        ("alice", None, False, True),  # deleted: only a tombstone stays (issue 10)
    }


async def test_moderator_clearing_reactions_withdraws_stances(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb, ds, ch = first["broadband"], first["digital-skills"], h.channel_id
    for name in ("alice", "bob"):
        await sb.user_reacts(h.person(name), ch, bb, AGREE)
        await sb.user_reacts(h.person(name), ch, ds, DISAGREE)
    await sb.user_reacts(h.person("chloe"), ch, ds, PASS)
    await h.settle()

    await sb.moderator_clears_reactions(ch, bb)  # everything on broadband
    await sb.moderator_clears_reactions(ch, ds, DISAGREE)  # only 👎 on digital-skills
    await h.settle()

    assert h.stances() == {("chloe", "digital-skills", "pass")}


async def test_member_without_facilitator_role_is_refused_and_nothing_is_posted(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox

    english = await h.run("bob", "open", plan="sample")  # bob's client speaks en-US
    french = await h.run("chloe", "open", plan="sample")
    closing = await h.run("dan", "close")

    refused = ("Only facilitators can do that. Facilitators are members with Manage Server or "
               "a role that whoever runs planbot lists in DISCORD_FACILITATOR_ROLE_IDS: ask them.")
    assert english.ephemeral and english.text == refused
    assert french.ephemeral and "animat" in french.text.lower()
    assert closing.ephemeral and closing.text == refused
    assert sb.messages(h.channel_id) == []
    assert sb.requests_to("POST", f"/channels/{h.channel_id}/messages") == []
    assert h.round_id() is None


async def test_manage_server_is_enough_to_facilitate(discord_bot):
    h = discord_bot
    answer = await h.run("admin", "open", plan="sample", sections="broadband")
    assert h.round_id() is not None, answer.text


async def test_status_close_and_plans_answer_ephemerally(discord_bot):
    h = discord_bot
    await open_two(h)

    plans = await h.run("bob", "plans")  # anyone may list plans
    status = await h.run("alice", "status")
    closed = await h.run("alice", "close")

    assert plans.ephemeral and "sample" in plans.text
    assert status.ephemeral and h.core.store.rounds()[0].public_id in status.text
    assert closed.ephemeral and h.core.store.rounds("open") == []


async def test_mentions_in_echoed_user_text_ping_no_one(discord_bot):
    """A digest quoting a reply with @everyone and a role mention is sent with mentions off."""
    from bot.platform import ChannelRef, DigestPost

    h, sb = discord_bot, discord_bot.sandbox
    quote = f"« @everyone <@&{sb.facilitator_role.id}> venez voter » — bob"
    ref = ChannelRef("discord", sb.guild.id, h.channel_id)

    posted = await h.bot.platform.post_digest(
        ref, DigestPost(parts=[{"content": quote}, {"embeds": [{"description": quote}]}], files={"c.png": b"\x89PNG"})
    )

    assert [p.part for p in posted] == [0, 1]
    for p in posted:
        assert sb.sent_allowed_mentions[p.message_id] == {"parse": []}
    first = sb.world.messages[posted[0].message_id]
    assert first.content == quote and first.attachments[0]["filename"] == "c.png"


async def test_localised_command_names_and_descriptions_are_synced(discord_bot):
    sb = discord_bot.sandbox
    commands = {c["name"]: c for c in sb.commands[sb.guild.id]}

    assert set(commands) == {"round", "digest", "plans", "my-data", "forget-me", "vote",
                             "my-stances", "moderate", "propose"}
    assert commands["vote"]["name_localizations"]["fr"] == "voter"
    assert commands["my-stances"]["name_localizations"]["fr"] == "mes-positions"
    assert commands["moderate"]["name_localizations"]["fr"] == "modérer"
    assert commands["propose"]["name_localizations"]["fr"] == "proposer"
    assert commands["round"]["name_localizations"]["fr"] == "tour"
    subs = {o["name"]: o for o in commands["round"]["options"]}
    assert set(subs) == {"open", "invite", "close", "status"}
    assert subs["open"]["name_localizations"]["fr"] == "ouvrir"
    assert subs["open"]["description_localizations"]["fr"].startswith("Ouvrir un tour")
    options = {o["name"]: o for o in subs["open"]["options"]}
    assert options["closes"]["name_localizations"]["fr"] == "clôture"
    assert options["channel"]["type"] == 7 and options["plan"]["required"]
    assert options["moderation"]["name_localizations"]["fr"] == "modération"
    assert [c["value"] for c in options["moderation"]["choices"]] == ["open", "strict"]
    assert commands["digest"]["name_localizations"]["fr"] == "synthèse"
    assert commands["my-data"]["name_localizations"]["fr"] == "mes-données"
    assert commands["forget-me"]["name_localizations"]["fr"] == "oublie-moi"
    assert commands["forget-me"]["options"][0]["name_localizations"]["fr"] == "confirmation"


async def test_open_in_another_channel_given_as_option(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    other = await sb.add_channel("annonces")

    await h.run("alice", "open", plan="sample", sections="broadband", channel=other.id)

    (_section, notice) = sb.messages(other.id)
    assert is_notice(notice.content) and sb.messages(h.channel_id) == []


async def test_a_bad_option_gets_an_ephemeral_explanation(discord_bot, caplog):
    """A channel the bot cannot see: discord.py fails to convert it; the errors handler
    answers in the user's language instead of leaving the interaction unanswered."""
    h, sb = discord_bot, discord_bot.sandbox
    hidden = sb.world.add_channel(sb.guild, "coulisses")  # never announced to the bot

    answer = await h.run("alice", "open", plan="sample", channel=hidden.id)

    assert answer.ephemeral and answer.text.startswith("Option invalide")
    assert sb.messages(hidden.id) == [] and h.round_id() is None
    assert any("refused /round open" in r.getMessage() for r in caplog.records)


async def test_archived_thread_refuses_reactions_and_a_reply_reopens_it(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb = first["broadband"]
    r1 = await sb.user_replies(h.person("bob"), h.channel_id, bb, "première")
    await sb.moderator_archives_thread(bb)
    await h.settle()

    try:
        await sb.user_reacts(h.person("alice"), h.channel_id, r1, AGREE)
    except PermissionError:
        pass
    else:
        raise AssertionError("reacted in an archived thread")
    await sb.user_replies(h.person("chloe"), h.channel_id, bb, "ça rouvre le fil")
    await sb.user_reacts(h.person("alice"), h.channel_id, r1, AGREE)
    await h.settle()

    assert not sb.world.channels[bb].archived
    assert h.replies() == {("bob", "première", False, False), ("chloe", "ça rouvre le fil", False, False)}
    assert h.stances() == {("alice", "reply:première", "agree")}


async def test_custom_emoji_counts_for_nothing_by_default_and_survives_reconciliation(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb = first["broadband"]
    await sb.user_reacts(h.person("bob"), h.channel_id, bb, "planbot_oui:987654321")
    await sb.user_reacts(h.person("bob"), h.channel_id, bb, AGREE)
    await h.settle()

    report = await h.core.reconcile(h.bot.platform)  # reads users of the custom emoji too

    assert h.stances() == {("bob", "broadband", "agree")}
    assert report.reactions_added == 0 and report.reactions_removed == 0
    assert sb.requests_to("GET", f"/channels/{h.channel_id}/messages/{bb}/reactions/planbot_oui:987654321")


async def test_a_link_preview_is_not_an_edit(discord_bot):
    from sqlalchemy import select

    from storage.models import Statement

    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    rid = await sb.user_replies(h.person("bob"), h.channel_id, first["broadband"], "voir https://example.org/")
    await sb.link_preview_appears(h.channel_id, rid)
    await h.settle()

    with h.core.store.engine.connect() as conn:
        edited = conn.execute(select(Statement.edited_at).where(Statement.kind == "reply")).scalars().all()
    assert edited == [None]


async def test_post_in_thread_is_a_bot_message_that_counts_for_nothing(discord_bot):
    from bot.platform import ChannelRef

    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    ref = ChannelRef("discord", sb.guild.id, h.channel_id)

    mid = await h.bot.platform.post_in_thread(ref, first["broadband"], "💬 @everyone relayed")
    await h.settle()

    assert [m.id for m in sb.thread_messages(first["broadband"])] == [mid]
    assert sb.sent_allowed_mentions[mid] == {"parse": []} and h.replies() == set()


async def test_a_moderator_purge_deletes_every_reply_it_covers(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first = await open_two(h)
    bb = first["broadband"]
    spam = [await sb.user_replies(h.person("dan"), h.channel_id, bb, f"pub {i}") for i in range(3)]
    await sb.user_replies(h.person("bob"), h.channel_id, bb, "gardé")

    await sb.moderator_bulk_deletes(h.channel_id, spam)
    await h.settle()

    # Deleted replies keep only a tombstone (issue 10).
    assert h.replies() == {("bob", "gardé", False, False), ("dan", None, False, True)}
