"""The local Discord behaves as Discord's docs say (issue 11): each behaviour, by plain HTTP and
a bare gateway client, every answer also checked against Discord's OpenAPI description."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.discord.interactions import InteractionRecord
from integrations.sandbox.discord.world import (
    ATTACH_FILES,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    snowflake_time,
)
from tests.integrations.conformance import discord_problems
from tests.integrations.sandbox.client import Clock, Watcher, call


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def sb(clock):
    async with DiscordSandbox(now=clock) as local:
        yield local
        assert discord_problems(local.requests) == []


async def _section(sb, text="section") -> tuple[str, str]:
    """The bot posts a message and starts its thread; returns (message id, thread id)."""
    posted = await call(sb, "POST", f"/channels/{sb.channel.id}/messages", {"content": text})
    mid = posted.body["id"]
    thread = await call(sb, "POST", f"/channels/{sb.channel.id}/messages/{mid}/threads",
                        {"name": "fil", "auto_archive_duration": 60})
    assert thread.status == 201
    return mid, thread.body["id"]


async def test_ids_carry_their_real_creation_time(sb, clock):
    first = await call(sb, "POST", f"/channels/{sb.channel.id}/messages", {"content": "a"})
    clock.advance(hours=5)
    second = await call(sb, "POST", f"/channels/{sb.channel.id}/messages", {"content": "b"})

    assert snowflake_time(first.body["id"]) == clock() - timedelta(hours=5)
    assert snowflake_time(second.body["id"]) == clock()
    assert int(second.body["id"]) > int(first.body["id"])


async def test_every_answer_has_rate_limit_headers_and_a_bucket_over_its_limit_answers_429():
    async with DiscordSandbox(rate_limit_per_second=2) as sb:
        path = f"/channels/{sb.channel.id}/messages"
        answers = [await call(sb, "POST", path, {"content": str(i)}) for i in range(3)]
        other = await call(sb, "GET", "/users/@me")

    assert [a.status for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    limited = answers[2]
    assert limited.body["message"] == "You are being rate limited." and limited.body["global"] is False
    assert 0 < limited.body["retry_after"] <= 1 and limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Scope"] == "user" and "Via" in limited.headers
    assert other.status == 200 and other.headers["X-RateLimit-Bucket"] != answers[0].headers["X-RateLimit-Bucket"]
    assert discord_problems(sb.requests) == []


async def test_one_chosen_call_fails_a_429_on_the_ninth_post_and_a_permanent_error_on_one_channel(sb):
    other = await sb.add_channel("autre")
    sb.rate_limit("POST", r"/channels/\d+/messages", nth=9, retry_after=0.5)
    sb.fail("POST", rf"/channels/{other.id}/messages", status=403, code=50001, message="Missing Access")

    statuses = [(await call(sb, "POST", f"/channels/{sb.channel.id}/messages", {"content": "x"})).status
                for _ in range(10)]
    refused = [await call(sb, "POST", f"/channels/{other.id}/messages", {"content": "x"}) for _ in range(3)]

    assert statuses == [200] * 8 + [429, 200]
    assert {(a.status, a.code) for a in refused} == {(403, 50001)}


async def test_super_reactions_are_burst_and_listed_only_with_type_1(sb):
    mid, _ = await _section(sb)
    alice, bob = sb.people["alice"].id, sb.people["bob"].id
    async with Watcher(sb) as watch:
        events = await watch.events_after(sb.user_reacts(alice, sb.channel.id, mid, "👍", burst=True))
        await sb.user_reacts(bob, sb.channel.id, mid, "👍")
    normal = await call(sb, "GET", f"/channels/{sb.channel.id}/messages/{mid}/reactions/👍")
    burst = await call(sb, "GET", f"/channels/{sb.channel.id}/messages/{mid}/reactions/👍?type=1")
    message = await call(sb, "GET", f"/channels/{sb.channel.id}/messages/{mid}")

    (name, data), = events
    assert name == "MESSAGE_REACTION_ADD" and data["burst"] is True and data["type"] == 1
    assert [u["id"] for u in normal.body] == [bob] and [u["id"] for u in burst.body] == [alice]
    reaction, = message.body["reactions"]
    assert reaction["count"] == 2 and reaction["count_details"] == {"burst": 1, "normal": 1}


async def test_threads_archive_after_their_inactivity_on_the_sandbox_clock(sb, clock):
    _, thread = await _section(sb)
    async with Watcher(sb) as watch:
        clock.advance(minutes=59)
        early = await watch.events_after(sb.catch_up())
        clock.advance(minutes=1)
        late = await watch.events_after(sb.catch_up())

    assert early == []
    (name, data), = late
    assert name == "THREAD_UPDATE" and data["id"] == thread
    assert data["thread_metadata"]["archived"] is True
    assert data["thread_metadata"]["archive_timestamp"] == clock().isoformat()


async def test_archived_thread_refuses_edits_and_reactions_and_a_post_unarchives_it(sb, clock):
    _, thread = await _section(sb)
    reply = await call(sb, "POST", f"/channels/{thread}/messages", {"content": "copie"})
    clock.advance(hours=2)

    edit = await call(sb, "PATCH", f"/channels/{thread}/messages/{reply.body['id']}", {"content": "x"})
    react = await call(sb, "PUT", f"/channels/{thread}/messages/{reply.body['id']}/reactions/👍/@me")
    posted = await call(sb, "POST", f"/channels/{thread}/messages", {"content": "rouvre"})
    edit_after = await call(sb, "PATCH", f"/channels/{thread}/messages/{reply.body['id']}", {"content": "y"})

    assert (edit.status, edit.code) == (400, 50083) and (react.status, react.code) == (400, 50083)
    assert posted.status == 200 and not sb.world.channels[thread].archived
    assert edit_after.status == 200


async def test_bot_archives_locks_and_unarchives_its_thread_with_patch_and_locked_archived_refuses_posts(sb):
    _, thread = await _section(sb)
    async with Watcher(sb) as watch:
        events = await watch.events_after(
            call(sb, "PATCH", f"/channels/{thread}", {"archived": True, "locked": True}))
    post = await call(sb, "POST", f"/channels/{thread}/messages", {"content": "x"})
    with pytest.raises(PermissionError):
        await sb.user_replies(sb.people["alice"].id, sb.channel.id, thread, "x")
    reopened = await call(sb, "PATCH", f"/channels/{thread}", {"archived": False})

    (name, data), = events
    assert name == "THREAD_UPDATE" and data["thread_metadata"]["locked"] is True
    assert (post.status, post.code) == (400, 50083)
    assert reopened.status == 200 and reopened.body["thread_metadata"] == {
        **reopened.body["thread_metadata"], "archived": False, "locked": True}


async def test_locking_needs_manage_threads(sb):
    _, thread = await _section(sb)
    bot_role = next(r for r in sb.guild.roles.values() if r.managed)
    bot_role.permissions &= ~(1 << 34)

    lock = await call(sb, "PATCH", f"/channels/{thread}", {"locked": True})
    archive = await call(sb, "PATCH", f"/channels/{thread}", {"archived": True})  # its own thread

    assert (lock.status, lock.code) == (403, 50013) and archive.status == 200


@pytest.mark.parametrize(("emoji", "known"), [
    ("👍", True), ("👍\ufe0f", False), ("❤", False), ("❤️", True), ("🤷‍♀️", True), ("👍🏽", True),
])
async def test_unknown_unicode_emoji_is_10014_with_the_variation_selector_rules(sb, emoji, known):
    mid, _ = await _section(sb)

    answer = await call(sb, "PUT", f"/channels/{sb.channel.id}/messages/{mid}/reactions/{emoji}/@me")

    assert (answer.status, answer.code) == ((204, None) if known else (400, 10014))


async def test_custom_emoji_is_known_by_id_and_can_be_renamed(sb):
    mid, _ = await _section(sb)
    emoji = await sb.add_custom_emoji("oui")
    emoji_id = emoji.split(":")[1]

    unknown = await call(sb, "PUT", f"/channels/{sb.channel.id}/messages/{mid}/reactions/non:1234/@me")
    async with Watcher(sb) as watch:
        events = await watch.events_after(sb.admin_renames_emoji(emoji_id, "yes"))
    renamed = await call(sb, "PUT", f"/channels/{sb.channel.id}/messages/{mid}/reactions/yes:{emoji_id}/@me")

    assert (unknown.status, unknown.code) == (400, 10014)
    (name, data), = events
    assert name == "GUILD_EMOJIS_UPDATE" and data["emojis"][0] == {**data["emojis"][0], "id": emoji_id, "name": "yes"}
    assert renamed.status == 204


async def test_interaction_tokens_expire_and_the_first_follow_up_after_a_defer_edits_it(sb, clock):
    def record() -> InteractionRecord:
        rid = sb.world.ids.next()
        sb.interactions[rid] = InteractionRecord(rid, f"tok-{rid}", clock(), channel_id=sb.channel.id)
        return sb.interactions[rid]

    late = record()
    clock.advance(seconds=3.5)
    too_late = await call(sb, "POST", f"/interactions/{late.id}/{late.token}/callback", {"type": 5}, auth=False)
    r = record()
    hook = f"/webhooks/{sb.world.application_id}/{r.token}"
    await call(sb, "POST", f"/interactions/{r.id}/{r.token}/callback", {"type": 5, "data": {"flags": 64}}, auth=False)
    clock.advance(minutes=14)
    first = await call(sb, "POST", hook, {"content": "fait"}, auth=False)
    second = await call(sb, "POST", hook, {"content": "encore"}, auth=False)
    clock.advance(minutes=1, seconds=1)
    expired = await call(sb, "POST", hook, {"content": "trop tard"}, auth=False)

    assert (too_late.status, too_late.code) == (404, 10062)
    assert first.body["id"] == r.original_id and first.body["flags"] == 64 and first.body["content"] == "fait"
    assert second.body["id"] != r.original_id and second.body["flags"] == 0
    assert (expired.status, expired.code) == (401, 50027)


async def test_missing_permissions_answer_403_50013_and_missing_access_50001(sb):
    bot = sb.world.bot.id
    path = f"/channels/{sb.channel.id}/messages"
    await sb.set_overwrite(sb.channel.id, bot, deny=ATTACH_FILES)
    with_file = await call(sb, "POST", path, {"content": "x"}, files={"a.png": b"png"})
    text_only = await call(sb, "POST", path, {"content": "x"})
    await sb.set_overwrite(sb.channel.id, bot, deny=SEND_MESSAGES)
    no_send = await call(sb, "POST", path, {"content": "x"})
    readable = await call(sb, "GET", f"/channels/{sb.channel.id}")
    await sb.set_overwrite(sb.channel.id, sb.guild.id, deny=VIEW_CHANNEL)  # @everyone
    hidden = await call(sb, "POST", path, {"content": "x"})

    assert (with_file.status, with_file.code) == (403, 50013) and text_only.status == 200
    assert (no_send.status, no_send.code) == (403, 50013) and readable.status == 200
    assert (hidden.status, hidden.code) == (403, 50001)


async def test_forum_posts_are_threads_whose_starter_has_their_id(sb):
    forum = await sb.add_channel("idees", forum=True)
    post = await call(sb, "POST", f"/channels/{forum.id}/threads",
                      {"name": "Idée", "message": {"content": "Et si…"}})
    message = await call(sb, "POST", f"/channels/{forum.id}/messages", {"content": "x"})
    async with Watcher(sb) as watch:
        events = await watch.events_after(
            sb.user_creates_post(sb.people["bob"].id, forum.id, "Autre", "texte"))

    assert post.status == 201 and post.body["message"]["id"] == post.body["id"]
    assert post.body["parent_id"] == forum.id and post.body["message"]["channel_id"] == post.body["id"]
    assert (message.status, message.code) == (400, 50008)
    assert [name for name, _ in events] == ["THREAD_CREATE", "MESSAGE_CREATE"]
    assert events[0][1]["id"] == events[1][1]["id"] == events[1][1]["channel_id"]


async def test_members_leave_and_deleted_accounts_lose_their_name(sb):
    bob, chloe = sb.people["bob"].id, sb.people["chloe"].id
    await sb.member_leaves(bob)
    await sb.account_deleted(chloe)

    left = await call(sb, "GET", f"/guilds/{sb.guild.id}/members/{bob}")
    deleted = await call(sb, "GET", f"/users/{chloe}")

    assert (left.status, left.code) == (404, 10007)
    assert deleted.body["id"] == chloe and deleted.body["global_name"] == "Deleted User"
    assert deleted.body["username"].startswith("deleted_user_")


async def test_an_edit_without_content_change_and_an_image_only_reply(sb, clock):
    _, thread = await _section(sb)
    bob = sb.people["bob"].id
    async with Watcher(sb) as watch:
        reply_events = await watch.events_after(
            sb.user_replies(bob, sb.channel.id, thread, "", files={"carte.png": b"\x89PNG"}))
        reply_id = reply_events[-1][1]["id"]
        clock.advance(minutes=1)
        edit_events = await watch.events_after(sb.user_edits(bob, sb.channel.id, reply_id, None))

    created = reply_events[-1][1]
    assert created["content"] == "" and created["attachments"][0]["filename"] == "carte.png"
    assert created["attachments"][0]["content_type"] == "image/png"
    (name, updated), = edit_events
    assert name == "MESSAGE_UPDATE" and updated["content"] == ""
    assert updated["edited_timestamp"] == clock().isoformat()


async def test_bot_attachments_are_stored_with_snowflake_ids(sb):
    posted = await call(sb, "POST", f"/channels/{sb.channel.id}/messages", {"content": "digest"},
                        files={"chart.png": b"\x89PNG"})

    attachment, = posted.body["attachments"]
    assert attachment["filename"] == "chart.png" and attachment["size"] == 4
    assert snowflake_time(attachment["id"]) == snowflake_time(posted.body["id"])


async def test_a_click_and_a_modal_submit_reach_the_bot_as_interactions(sb):
    button = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Donner son avis",
                                          "custom_id": "opinion"}]}
    posted = await call(sb, "POST", f"/channels/{sb.channel.id}/messages",
                        {"content": "Section", "components": [button]})
    alice = sb.people["alice"].id

    async def answer(kind: int, data: dict) -> InteractionRecord:
        while not any(r.kind == kind and not r.callbacks for r in sb.interactions.values()):
            await asyncio.sleep(0)
        r = next(r for r in sb.interactions.values() if r.kind == kind and not r.callbacks)
        await call(sb, "POST", f"/interactions/{r.id}/{r.token}/callback", data, auth=False)
        return r

    modal = {"custom_id": "avis", "title": "Avis", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "texte", "style": 2, "label": "Votre avis"}]}]}
    async with Watcher(sb) as watch:
        _, record = await asyncio.gather(
            sb.user_clicks(alice, sb.channel.id, posted.body["id"], "opinion"),
            answer(3, {"type": 9, "data": modal}))
        submitted, _ = await asyncio.gather(
            sb.user_submits_modal(alice, record, {"texte": "D'accord"}),
            answer(5, {"type": 4, "data": {"content": "Merci", "flags": 64}}))
    interactions = [d for name, d in watch.events if name == "INTERACTION_CREATE"]

    assert [i["type"] for i in interactions] == [3, 5]
    assert interactions[0]["data"] == {"custom_id": "opinion", "component_type": 2}
    assert interactions[0]["message"]["id"] == posted.body["id"]
    assert interactions[1]["data"]["components"][0]["components"][0] == {
        "type": 4, "custom_id": "texte", "value": "D'accord"}
    assert submitted.text == "Merci" and submitted.ephemeral
