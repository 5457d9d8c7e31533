"""``planbot doctor`` on Discord: token, privileged intent, commands, channel permissions.

A throwaway discord.py ``Client`` logs in (``GET /users/@me``: a refused token raises
``LoginFailure``), connects to the gateway with planbot's intents (a privileged intent the
application lacks closes it with 4014, ``PrivilegedIntentsRequired``), reads the synced
application commands, and computes each channel's permissions for the bot from the guild's
roles and the channel's overwrites as Discord does (docs: topics/permissions, "Permission
Overwrites"), through ``permissions_for``. It never posts anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import aiohttp
import discord

from bot.checkup import Finding, fail, ok, warn
from bot.i18n import translate
from integrations.discord.client import planbot_intents
from integrations.discord.commands import PlanbotCommands
from integrations.discord.endpoints import use_endpoints
from integrations.discord.permissions import missing_flags


async def check_discord(token: str, *, channel_ids: Iterable[str], guild_ids: Iterable[str],
                        api_base: str | None = None, gateway_url: str | None = None,
                        timeout: float = 20.0) -> list[Finding]:
    """Findings for ``token``: valid, privileged intent granted, planbot's commands synced
    (to ``guild_ids``, else globally), and the permissions planbot needs in each of
    ``channel_ids``. ``api_base``/``gateway_url`` point elsewhere than discord.com (as
    ``DISCORD_API_BASE``/``DISCORD_GATEWAY_URL``); ``timeout`` (seconds) bounds the wait for
    the gateway's READY."""
    restore = use_endpoints(api_base, gateway_url) if api_base else None
    client = discord.Client(intents=planbot_intents(message_content=True))
    try:
        return await _check(client, token, list(channel_ids), sorted(guild_ids), timeout)
    finally:
        await client.close()
        if restore is not None:
            restore()


async def _check(client: discord.Client, token: str, channel_ids: list[str],
                 guild_ids: list[str], timeout: float) -> list[Finding]:
    try:
        await client.login(token)
    except discord.LoginFailure:
        return [fail("doctor.token_rejected", key="DISCORD_TOKEN", error="401 Unauthorized")]
    except (aiohttp.ClientError, discord.HTTPException, OSError) as err:
        return [fail("doctor.unreachable", platform="Discord", error=type(err).__name__)]
    findings = [ok("doctor.discord_token", user=str(client.user))]
    connected = await _connect(client, timeout)
    if connected is not None:
        return [*findings, connected]
    findings.append(ok("doctor.discord_intent"))
    findings.append(await _commands(client, guild_ids))
    if not channel_ids:
        return [*findings, warn("doctor.no_channels", platform="Discord")]
    return findings + [_channel(client, channel_id) for channel_id in channel_ids]


async def _connect(client: discord.Client, timeout: float) -> Finding | None:
    """Connect and wait for READY; a finding if that fails, None once ready."""
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    client.event(on_ready)
    connecting = asyncio.ensure_future(client.connect(reconnect=False))
    waiting = asyncio.ensure_future(ready.wait())
    done, _ = await asyncio.wait([connecting, waiting], timeout=timeout,
                                 return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if waiting in done:
        return None
    connecting.cancel()
    with contextlib.suppress(BaseException):
        await connecting
    error = connecting.exception() if connecting in done else None
    # Without reconnecting, discord.py passes the gateway's close on as it came (4014:
    # disallowed intent, docs: topics/opcodes-and-status-codes#gateway-close-event-codes).
    if isinstance(error, discord.PrivilegedIntentsRequired) or (
            isinstance(error, discord.ConnectionClosed) and error.code == 4014):
        return fail("doctor.discord_intent_missing")
    return fail("doctor.unreachable", platform="Discord gateway",
                error=type(error).__name__ if error else "timeout")


async def _commands(client: discord.Client, guild_ids: list[str]) -> Finding:
    expected = {command.name for command in PlanbotCommands.__cog_app_commands__}
    app_id = client.application_id
    assert app_id is not None  # known once logged in, which the caller did
    missing: set[str] = set()
    wanted: list[str | None] = [*guild_ids] or [None]
    for guild_id in wanted:
        synced = (await client.http.get_guild_commands(app_id, int(guild_id)) if guild_id
                  else await client.http.get_global_commands(app_id))
        missing |= expected - {command["name"] for command in synced}
    if missing:
        return warn("doctor.discord_commands_missing",
                    commands=", ".join(f"/{name}" for name in sorted(missing)))
    return ok("doctor.discord_commands", commands=", ".join(f"/{n}" for n in sorted(expected)))


def _channel(client: discord.Client, channel_id: str) -> Finding:
    channel = client.get_channel(int(channel_id)) if channel_id.isdigit() else None
    if not isinstance(channel, discord.abc.GuildChannel):
        return fail("doctor.discord_channel_unseen", channel=channel_id)
    missing = [translate(msgid, "en") for _, msgid in missing_flags(channel, channel.guild.me)]
    if missing:
        return fail("doctor.discord_permissions_missing", channel=f"#{channel.name}",
                    permissions=", ".join(missing))
    return ok("doctor.discord_channel", channel=f"#{channel.name}")
