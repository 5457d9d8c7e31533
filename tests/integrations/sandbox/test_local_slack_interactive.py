"""The local Slack's Socket Mode limits, spaced retries, and Block Kit buttons and modals
delivered to a real bolt app (issue 11, and issue 14's needs)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import LocalSlack
from integrations.sandbox.slack.delivery import RETRY_SPACING
from tests.integrations.conformance import slack_problems

CHANNEL, ANA = "C0PLANNUM", "UANA"


async def _until(predicate, timeout: float = 5.0) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


async def _socket(slack: LocalSlack, http: aiohttp.ClientSession):
    client = AsyncWebClient(base_url=slack.base_url)
    url = (await client.apps_connections_open(app_token=slack.app_token))["url"]
    return await http.ws_connect(url)


async def test_socket_mode_warns_before_a_disconnect_and_refuses_an_eleventh_connection():
    async with LocalSlack() as slack, aiohttp.ClientSession() as http:
        sockets = [await _socket(slack, http) for _ in range(10)]
        hellos = [json.loads((await ws.receive()).data)["type"] for ws in sockets]
        eleventh = await _socket(slack, http)
        refused = json.loads((await eleventh.receive()).data)
        await slack.disconnect_socket(wait=False, warn=True)
        reasons = [json.loads((await sockets[0].receive()).data)["reason"] for _ in range(2)]
        for ws in sockets:
            await ws.close()

    assert hellos == ["hello"] * 10
    assert refused == {**refused, "type": "disconnect", "reason": "too_many_websockets"}
    assert reasons == ["warning", "refresh_requested"]


async def test_retries_come_at_1_5_and_30_minutes_on_the_sandbox_clock():
    now = [1_790_000_000.0]
    app = web.Application()
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app.router.add_post("/events", failing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with LocalSlack(clock=lambda: now[0], retry_spacing=RETRY_SPACING) as slack:
        slack.add_user(ANA, "ana")
        slack.add_channel(CHANNEL, "plan")
        slack.use_http(f"http://127.0.0.1:{port}/events")
        await slack.user_posts(ANA, CHANNEL, "bonjour")
        seen = [len(slack.delivery.attempts)]
        for step in (59, 1, 299, 1, 1800):
            now[0] += step
            await slack.clock_moved()
            await asyncio.sleep(0.05)
            seen.append(len(slack.delivery.attempts))
        await slack.settle()
    await runner.cleanup()

    assert seen == [1, 1, 2, 2, 3, 4]
    assert [(a.retry_num, a.outcome) for a in slack.delivery.attempts] == [
        (0, "http_error"), (1, "http_error"), (2, "http_error"), (3, "http_error")]


async def test_a_button_click_opens_a_modal_whose_submission_reaches_the_app():
    async with LocalSlack() as slack:
        slack.add_user(ANA, "ana")
        slack.add_channel(CHANNEL, "plan")
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        app = AsyncApp(client=client, signing_secret=slack.signing_secret)
        submitted: list[dict] = []

        @app.action("opinion")
        async def clicked(ack, body, client):
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view={
                "type": "modal", "callback_id": "avis", "title": {"type": "plain_text", "text": "Avis"},
                "submit": {"type": "plain_text", "text": "Envoyer"},
                "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "Avis"},
                            "element": {"type": "plain_text_input", "action_id": "texte"}}]})

        @app.view("avis")
        async def sent(ack, view):
            submitted.append(view["state"]["values"])
            await ack()

        handler = AsyncSocketModeHandler(app, slack.app_token)
        await handler.connect_async()
        await slack.wait_connected()
        button = {"type": "actions", "block_id": "vote", "elements": [
            {"type": "button", "action_id": "opinion", "text": {"type": "plain_text", "text": "Avis"},
             "value": "broadband"}]}
        ts = (await client.chat_postMessage(channel=CHANNEL, text="Section", blocks=[button]))["ts"]

        click = await slack.interactive.user_clicks(ANA, CHANNEL, ts, "opinion")
        await _until(lambda: bool(slack.interactive.views))
        view_id = next(iter(slack.interactive.views))
        submit = await slack.interactive.user_submits_view(ANA, view_id, {("b", "texte"): "D'accord"})
        await handler.close_async()

    assert click.acked and submit.acked
    assert submitted == [{"b": {"texte": {"type": "plain_text_input", "value": "D'accord"}}}]
    assert slack_problems(slack.requests) == []
    with pytest.raises(LookupError):
        await slack.interactive.user_clicks(ANA, CHANNEL, ts, "missing")


async def test_a_modal_breaking_block_kit_limits_is_refused():
    """``views.open`` / ``views.update`` answer ``invalid_arguments`` for a title over 24
    characters, more than 100 blocks, an action_id twice in one block or a button text over
    75 characters; the same action_id in two blocks is fine."""
    from slack_sdk.errors import SlackApiError

    def actions(block_id, *ids, text="Ok"):
        return {"type": "actions", "block_id": block_id, "elements": [
            {"type": "button", "action_id": i, "text": {"type": "plain_text", "text": text}}
            for i in ids]}

    def modal(blocks, title="Vos positions"):
        return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks}

    async with LocalSlack() as slack:
        slack.add_user(ANA, "ana")
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        good = modal([actions("a", "x", "y"), actions("b", "x", "y")])
        opened = await client.views_open(trigger_id=slack.interactive.new_trigger(ANA), view=good)
        view_id = opened["view"]["id"]
        for bad in (modal([actions("a", "x")], title="t" * 25),
                    modal([actions(str(i), "x") for i in range(101)]),
                    modal([actions("a", "x", "x")]),
                    modal([actions("a", "x", text="t" * 76)])):
            with pytest.raises(SlackApiError) as err:
                await client.views_open(trigger_id=slack.interactive.new_trigger(ANA), view=bad)
            assert err.value.response["error"] == "invalid_arguments"
            with pytest.raises(SlackApiError):
                await client.views_update(view_id=view_id, view=bad)
        assert slack.interactive.views[view_id]["blocks"][1]["block_id"] == "b"


async def test_a_slash_command_answer_in_two_steps_and_the_response_url_limits():
    """The ack's text is the interim answer, the first response_url post the answer; a
    response_url takes 5 answers within 30 minutes of the command (sandbox clock)."""
    now = [1_790_000_000.0]
    urls: list[str] = []
    app = web.Application()

    async def command(request: web.Request) -> web.Response:
        urls.append((await request.post())["response_url"])
        return web.json_response({"text": "un instant…", "response_type": "ephemeral"})

    app.router.add_post("/slack", command)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with LocalSlack(clock=lambda: now[0]) as slack, aiohttp.ClientSession() as http:
        slack.add_user(ANA, "ana")
        slack.add_channel(CHANNEL, "plan")
        slack.use_http(f"http://127.0.0.1:{port}/slack")
        running = asyncio.ensure_future(slack.run_slash_command(ANA, CHANNEL, "open sample"))
        await _until(lambda: bool(urls))
        statuses = []
        for i in range(6):
            async with http.post(urls[0], json={"text": f"réponse {i}"}) as resp:
                statuses.append((resp.status, (await resp.json()).get("error")
                                 if resp.status != 200 else None))
        answer = await running
        alone = await slack.run_slash_command(ANA, CHANNEL, "status", timeout=0.2)
        now[0] += 30 * 60 + 1
        async with http.post(urls[1], json={"text": "trop tard"}) as resp:
            late = (resp.status, (await resp.json())["error"])
    await runner.cleanup()

    assert (answer.interim, answer.text, answer.ephemeral) == ("un instant…", "réponse 0", True)
    assert statuses == [(200, None)] * 5 + [(404, "used_url")]
    assert (alone.text, alone.interim) == ("un instant…", None)  # answered in its ack alone
    assert late == (404, "expired_url")
    assert [a.text for a in slack.command_answers()][:6] == [
        "un instant…", *(f"réponse {i}" for i in range(5))]
