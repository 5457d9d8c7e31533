"""The local Slack behaves as Slack's docs say (issue 11), every answer checked against Slack's
Web API description."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import LocalSlack
from tests.integrations.conformance import slack_problems

CHANNEL, ANA, OTHER = "C0PLANNUM", "UANA", "UOTHERBOT"


@pytest.fixture
async def slack():
    async with LocalSlack() as local:
        local.add_user(ANA, "ana")
        local.add_user(OTHER, "otherbot", is_bot=True, bot_id="B0OTHERAPP")
        local.add_channel(CHANNEL, "plan")
        yield local
        assert slack_problems(local.requests) == []


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)


async def _error(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value.response["error"]


async def test_a_thread_reply_is_followed_by_the_parents_message_changed(slack, client):
    parent = (await client.chat_postMessage(channel=CHANNEL, text="section"))["ts"]
    await slack.settle()
    await slack.user_replies(ANA, CHANNEL, parent, "oui")

    changed = slack.events[-1]["event"]
    assert changed["subtype"] == "message_changed" and changed["message"]["ts"] == parent
    assert changed["message"]["reply_count"] == 1 and changed["previous_message"]["reply_count"] == 0
    assert "thread_ts" in changed["message"] and changed["message"]["thread_ts"] == parent


async def test_apps_messages_carry_bot_id_and_profile(slack, client):
    own = await client.chat_postMessage(channel=CHANNEL, text="section")
    await slack.user_replies(OTHER, CHANNEL, own["ts"], "beep", bot_id="B0OTHERAPP")

    assert own["message"]["bot_profile"]["id"] == slack.api.bot_id
    other = [e["event"] for e in slack.events if e["event"].get("subtype") == "bot_message"]
    assert other[0]["bot_id"] == "B0OTHERAPP" and other[0]["bot_profile"]["name"] == "otherbot"


async def test_archived_long_and_crowded_are_refused_as_documented(slack, client):
    ts = (await client.chat_postMessage(channel=CHANNEL, text="x"))["ts"]
    too_long = await _error(client.chat_postMessage(channel=CHANNEL, text="a" * 40_001))
    for i in range(50):
        await slack.user_reacts(ANA, CHANNEL, ts, f"e{i}")
    crowded = await _error(client.reactions_add(channel=CHANNEL, timestamp=ts, name="tada"))
    slack.archive_channel(CHANNEL)
    archived = await _error(client.chat_postMessage(channel=CHANNEL, text="x"))

    assert (too_long, crowded, archived) == ("msg_too_long", "too_many_reactions", "is_archived")


async def test_files_on_messages_and_deactivated_users(slack, client):
    parent = (await client.chat_postMessage(channel=CHANNEL, text="section"))["ts"]
    reply = await slack.user_replies(ANA, CHANNEL, parent, "", files={"carte.png": b"\x89PNG"})
    slack.deactivate_user(ANA)
    info = await client.users_info(user=ANA)

    message = slack.message(CHANNEL, reply).to_api()
    assert message["subtype"] == "file_share" and message["files"][0]["mimetype"] == "image/png"
    assert info["user"]["deleted"] is True


async def test_one_chosen_call_fails_a_429_on_the_ninth_post_and_an_error_on_one_channel(slack, client):
    slack.add_channel("C0ELSEWHERE", "ailleurs")
    slack.rate_limit("chat.postMessage", nth=9)
    slack.fail_channel("C0ELSEWHERE", "is_archived")
    client.retry_handlers.clear()  # see every answer

    outcomes = []
    for _ in range(10):
        try:
            await client.chat_postMessage(channel=CHANNEL, text="x")
            outcomes.append("ok")
        except SlackApiError as exc:
            outcomes.append(exc.response["error"])
    elsewhere = await _error(client.chat_postMessage(channel="C0ELSEWHERE", text="x"))

    assert outcomes == ["ok"] * 8 + ["ratelimited", "ok"] and elsewhere == "is_archived"


async def test_unknown_reaction_names_are_invalid_and_custom_emoji_can_be_renamed(slack, client):
    ts = (await client.chat_postMessage(channel=CHANNEL, text="x"))["ts"]
    unknown = await _error(client.reactions_add(channel=CHANNEL, timestamp=ts, name="planbot_oui"))
    slack.add_custom_emoji("planbot_oui")
    await client.reactions_add(channel=CHANNEL, timestamp=ts, name="planbot_oui")
    await client.reactions_add(channel=CHANNEL, timestamp=ts, name="+1::skin-tone-3")
    slack.rename_custom_emoji("planbot_oui", "planbot_yes")

    assert unknown == "invalid_name"
    assert set(slack.message(CHANNEL, ts).reactions) == {"planbot_yes", "+1::skin-tone-3"}


async def test_a_posting_restricted_or_archived_channel_says_so_in_conversations_info(slack,
                                                                                    client):
    parent = (await client.chat_postMessage(channel=CHANNEL, text="section"))["ts"]
    slack.restrict_posting(CHANNEL)
    info = (await client.conversations_info(channel=CHANNEL))["channel"]
    assert (info["is_read_only"], info["is_archived"], info["is_member"]) == (True, False, True)
    assert await _error(client.chat_postMessage(channel=CHANNEL, text="non")) == "restricted_action"
    await client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text="dans le fil")
    slack.archive_channel(CHANNEL)
    assert (await client.conversations_info(channel=CHANNEL))["channel"]["is_archived"]
