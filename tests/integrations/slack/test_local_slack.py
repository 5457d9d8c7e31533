"""The local Slack itself: Web API answers, Slack's delivery rules, Socket Mode protocol.

The app side here is a bare aiohttp endpoint or websocket, so the server's behaviour is
checked without bolt in between; slack-sdk's own verifier checks the signatures.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import LocalSlack
from tests.integrations.slack.conftest import ANA, CHANNEL


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])


async def test_unknown_method_is_answered_and_recorded(slack, client):
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.frobnicate", params={"channel": CHANNEL})
    assert err.value.response["error"] == "unknown_method"
    assert slack.requests[-1].method == "chat.frobnicate"
    assert slack.requests[-1].error == "unknown_method"


async def test_wrong_token_is_refused(slack):
    bad = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as err:
        await bad.auth_test()
    assert err.value.response["error"] == "invalid_auth"


async def test_rate_limit_on_demand(slack, client):
    slack.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert slack.messages(CHANNEL) == []
    await client.chat_postMessage(channel=CHANNEL, text="hi")
    assert [m.text for m in slack.messages(CHANNEL)] == ["hi"]


async def test_block_limits_are_enforced(slack, client):
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[block] * 51)
    long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[long])


class _Endpoint:
    """A bare Events API endpoint: answers with ``statuses`` in turn, or never (``None``)."""

    def __init__(self, statuses: list[int | None]) -> None:
        self.statuses = statuses
        self.seen: list[tuple[dict, bytes]] = []
        self.release = asyncio.Event()
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        status = self.statuses[min(len(self.seen), len(self.statuses)) - 1]
        if status is None:
            await self.release.wait()
            status = 200
        return web.Response(status=status)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/events", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/events"

    async def stop(self) -> None:
        self.release.set()
        await self.runner.cleanup()


@pytest.fixture
async def endpoint(request, slack):
    ep = _Endpoint(request.param)
    slack.use_http(await ep.start())
    slack.delivery.ack_timeout = 0.2
    yield ep
    await ep.stop()


@pytest.mark.parametrize("endpoint", [[None, 200]], indirect=True)
async def test_unacknowledged_event_is_retried_with_headers(slack, endpoint):
    ts = await slack.user_posts(ANA, CHANNEL, "hello")
    assert [h.get("X-Slack-Retry-Num") for h, _ in endpoint.seen] == [None, "1"]
    retry_headers, raw = endpoint.seen[1]
    assert retry_headers["X-Slack-Retry-Reason"] == "http_timeout"
    verifier = SignatureVerifier(slack.signing_secret)
    assert all(verifier.is_valid_request(body, headers) for headers, body in endpoint.seen)
    assert json.loads(raw)["event"]["ts"] == ts


@pytest.mark.parametrize("endpoint", [[500]], indirect=True)
async def test_delivery_gives_up_after_three_retries(slack, endpoint):
    result = await slack.user_posts(ANA, CHANNEL, "hello")
    assert result
    assert [(a.retry_num, a.outcome) for a in slack.delivery.attempts] == [
        (0, "http_error"), (1, "http_error"), (2, "http_error"), (3, "http_error")]
    reasons = [h.get("X-Slack-Retry-Reason") for h, _ in endpoint.seen]
    assert reasons == [None, "http_error", "http_error", "http_error"]
    assert len({json.loads(body)["event_id"] for _, body in endpoint.seen}) == 1


@pytest.mark.parametrize("endpoint", [[404]], indirect=True)
async def test_slash_commands_are_not_retried(slack, endpoint):
    with pytest.raises(asyncio.TimeoutError):
        await slack.run_slash_command(ANA, CHANNEL, "status", timeout=0.05)
    assert len(endpoint.seen) == 1


async def _open_socket(slack) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    app_client = AsyncWebClient(token=slack.app_token, base_url=slack.base_url)
    url = (await app_client.apps_connections_open(app_token=slack.app_token))["url"]
    session = aiohttp.ClientSession()
    return session, await session.ws_connect(url)


async def test_socket_mode_hello_envelopes_acks_and_retries(slack):
    slack.delivery.ack_timeout = 0.2
    session, ws = await _open_socket(slack)
    try:
        assert (await ws.receive_json())["type"] == "hello"
        await slack.wait_connected()
        sending = asyncio.ensure_future(slack.user_posts(ANA, CHANNEL, "hello"))
        first = await asyncio.wait_for(ws.receive_json(), 2)  # not acknowledged
        second = await asyncio.wait_for(ws.receive_json(), 2)
        await ws.send_str(json.dumps({"envelope_id": second["envelope_id"]}))
        await asyncio.wait_for(sending, 2)
    finally:
        await ws.close()
        await session.close()
    assert first["type"] == "events_api" and first["retry_attempt"] == 0
    assert (second["retry_attempt"], second["retry_reason"]) == (1, "http_timeout")
    assert first["payload"]["event_id"] == second["payload"]["event_id"]
    assert [a.outcome for a in slack.delivery.attempts] == ["http_timeout", "acked"]


async def test_socket_disconnect_on_demand_and_reconnect(slack):
    session, ws = await _open_socket(slack)
    try:
        await ws.receive_json()
        await slack.wait_connected()
        asking = asyncio.ensure_future(slack.disconnect_socket(timeout=2))
        assert (await asyncio.wait_for(ws.receive_json(), 2))["type"] == "disconnect"
        session2, ws2 = await _open_socket(slack)
        await ws.close()
        await asyncio.wait_for(asking, 2)
        assert (await ws2.receive_json())["type"] == "hello"
        await ws2.close()
        await session2.close()
    finally:
        await session.close()
    assert len(slack.calls("apps.connections.open")) == 2


async def test_events_are_lost_while_away(slack):
    slack.set_away(True)
    result = await slack.user_posts(ANA, CHANNEL, "nobody hears")
    assert result
    assert [a.outcome for a in slack.delivery.attempts] == ["lost"] * 4


async def test_tombstone_goes_with_its_last_reply(slack):
    root = slack.workspace.post(CHANNEL, ANA, "parent")
    reply = slack.workspace.post(CHANNEL, ANA, "child", thread_ts=root.ts)
    await slack.user_deletes(ANA, CHANNEL, root.ts)
    assert slack.message(CHANNEL, root.ts).subtype == "tombstone"
    assert slack.events[-1]["event"]["message"]["subtype"] == "tombstone"
    await slack.user_deletes(ANA, CHANNEL, reply.ts)
    assert slack.messages(CHANNEL) == []
    assert slack.events[-1]["event"]["subtype"] == "message_deleted"


async def test_update_ephemeral_and_history(slack, client):
    first = await client.chat_postMessage(channel=CHANNEL, text="one")
    await client.chat_postMessage(channel=CHANNEL, text="two")
    await client.chat_update(channel=CHANNEL, ts=first["ts"], text="one, edited")
    await client.chat_postEphemeral(channel=CHANNEL, user=ANA, text="only you")
    await slack.settle()

    page = await client.conversations_history(channel=CHANNEL, limit=1)
    rest = await client.conversations_history(channel=CHANNEL, limit=1,
                                              cursor=page["response_metadata"]["next_cursor"])

    assert [m["text"] for m in page["messages"] + rest["messages"]] == ["two", "one, edited"]
    assert not rest["has_more"]
    assert slack.api.ephemerals[0]["text"] == "only you"
    changed = [b["event"] for b in slack.events if b["event"].get("subtype") == "message_changed"]
    assert changed[0]["message"]["text"] == "one, edited"
    assert changed[0]["previous_message"]["text"] == "one"


async def test_seeded_cast_matches_the_local_discord():
    async with LocalSlack() as local:
        local.seed_cast()
        assert sorted(local.people) == ["admin", "alice", "bob", "chloe", "dan", "otherbot"]
        assert local.workspace.usergroups[local.facilitator_group_id]["users"] == [
            local.people["alice"].id]
        assert local.people["otherbot"].is_bot
        assert local.messages(local.channel_id) == []
