"""The local Discord itself: record of requests, unknown routes, auth, content withholding, 4014."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord
import pytest

from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at


async def test_unknown_route_answers_404_and_is_recorded(sandbox):
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.api_base}/guilds/1/audit-logs") as resp:
        status, content_type = resp.status, resp.headers["Content-Type"]

    assert status == 404 and content_type == "application/json"
    assert [(r.method, r.path, r.known) for r in sandbox.unknown_requests()] == [
        ("GET", "/guilds/1/audit-logs", False)
    ]
    sandbox.requests.clear()  # the fixture asserts the *bot* hit no unknown route


async def test_rest_requires_the_bot_token_and_answers_exact_json(sandbox):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.api_base}/users/@me") as anonymous:
            assert anonymous.status == 401
        headers = {"Authorization": f"Bot {sandbox.token}"}
        async with http.get(f"{sandbox.api_base}/users/@me", headers=headers) as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert json.loads(await resp.read())["id"] == sandbox.world.bot.id


async def test_message_content_is_withheld_over_rest_without_the_intent():
    async with DiscordSandbox(message_content_enabled=False) as sb:
        thread_owner = sb.people["alice"]
        starter = sb.world.post(sb.channel.id, thread_owner, "section")
        sb.world.start_thread(starter, "fil", thread_owner)
        await sb.user_replies(sb.people["bob"].id, sb.channel.id, starter.id, "secret")
        headers = {"Authorization": f"Bot {sb.token}"}
        url = f"{sb.api_base}/channels/{starter.id}/messages"
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            history = json.loads(await resp.read())

    assert [m["content"] for m in history if m["type"] == 0] == [""]
    assert [m.content for m in sb.thread_messages(starter.id)] == ["secret"]  # still in the world


@pytest.mark.parametrize("enabled", [False, True])
async def test_identify_with_a_privileged_intent_the_app_lacks_is_closed_4014(enabled):
    async with DiscordSandbox(message_content_enabled=enabled) as sb:
        with discord_py_pointed_at(sb):
            intents = discord.Intents.none()
            intents.guilds = True
            intents.message_content = True
            client = discord.Client(intents=intents, guild_ready_timeout=0.05)
            ready = asyncio.Event()
            client.event(_set_on_ready(ready))
            async with client:
                task = asyncio.create_task(client.start(sb.token))
                waiter = asyncio.ensure_future(ready.wait())
                await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
                if enabled:
                    assert ready.is_set() and not task.done()
                    await client.close()
                    await task
                else:
                    waiter.cancel()
                    assert isinstance(task.exception(), discord.PrivilegedIntentsRequired)
                    assert sb.gateway.close_codes == [4014]


def _set_on_ready(ready: asyncio.Event):
    async def on_ready() -> None:
        ready.set()

    return on_ready


async def test_resume_gateway_url_and_gateway_bot_point_at_the_local_server(sandbox):
    headers = {"Authorization": f"Bot {sandbox.token}"}
    url = f"{sandbox.api_base}/gateway/bot"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        data = json.loads(await resp.read())

    assert data["url"] == sandbox.gateway_url and data["url"].startswith("ws://127.0.0.1:")


async def test_pointing_discord_py_is_undone_on_exit():
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    before = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordSandbox() as sb:
        with discord_py_pointed_at(sb):
            assert sb.api_base == Route.BASE and str(DiscordWebSocket.DEFAULT_GATEWAY) == sb.gateway_url
    assert before == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


async def test_discord_limits_are_enforced_so_the_bot_cannot_get_away_with_overflows():
    async with DiscordSandbox() as sb:
        with discord_py_pointed_at(sb):
            client = discord.Client(intents=discord.Intents.none())
            async with client:
                await client.login(sb.token)
                channel = client.get_partial_messageable(int(sb.channel.id), guild_id=int(sb.guild.id))
                with pytest.raises(discord.HTTPException) as too_long:
                    await channel.send("é" * 2001)
                fits = await channel.send("é" * 2000)
                for i in range(20):
                    await sb.user_reacts(sb.people["bob"].id, sb.channel.id, str(fits.id), f"e{i}:{1000 + i}")
                with pytest.raises(discord.HTTPException) as too_many:
                    await fits.add_reaction("👍")

    assert too_long.value.status == 400 and too_many.value.code == 30010
    assert len(sb.messages(sb.channel.id)) == 1


async def test_events_follow_the_intents_the_bot_identified_with():
    async with DiscordSandbox() as sb:
        with discord_py_pointed_at(sb):
            intents = discord.Intents.none()
            intents.guilds = True
            intents.guild_messages = True  # but not guild_reactions
            client = discord.Client(intents=intents, guild_ready_timeout=0.05)
            seen: list[str] = []
            client.event(_record("on_raw_reaction_add", seen))
            client.event(_record("on_message", seen))
            async with client:
                task = asyncio.create_task(client.start(sb.token))
                await asyncio.wait_for(sb.gateway.wait_connected(), 10)
                starter = sb.world.post(sb.channel.id, sb.people["alice"], "section")
                sb.world.start_thread(starter, "fil", sb.people["alice"])
                await sb.user_reacts(sb.people["bob"].id, sb.channel.id, starter.id, "👍")
                await sb.user_replies(sb.people["bob"].id, sb.channel.id, starter.id, "réponse")
                await asyncio.wait_for(sb.gateway.barrier(), 10)
                await client.close()
                await task

    assert seen == ["on_message"]


def _record(name: str, seen: list[str]):
    async def handler(*_args) -> None:
        seen.append(name)

    handler.__name__ = name
    return handler


def test_use_endpoints_points_discord_py_and_restores():
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    from integrations.discord import use_endpoints

    before = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    restore = use_endpoints("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/")
    try:
        assert Route.BASE == "http://127.0.0.1:9/api/v10"
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/"
    finally:
        restore()
    assert before == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


def test_components_are_checked_as_discord_does():
    """Legacy layout: at most 5 action rows of 1 to 5 buttons, custom ids of at most 100
    characters and unique in the message, labels of at most 80 (400 50035 otherwise)."""
    from integrations.sandbox.discord.messages import check_components
    from integrations.sandbox.discord.responses import DiscordError

    def row(*ids, label="ok"):
        return {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": i, "label": label}
                                          for i in ids]}

    check_components([row(*(f"{r}{c}" for c in "abcde")) for r in range(5)])
    for bad in ([row(str(r)) for r in range(6)], [row(*"abcdef")], [row()], [row("a", "a")],
                [row("x" * 101)], [row("a", label="l" * 81)]):
        with pytest.raises(DiscordError) as err:
            check_components(bad)
        assert (err.value.status, err.value.code) == (400, 50035)
    check_components([row(str(r)) for r in range(6)], flags=1 << 15)  # components v2
