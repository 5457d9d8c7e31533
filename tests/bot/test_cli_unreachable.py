"""``planbot privacy erase`` and ``planbot round close`` with a configured platform that
cannot be reached (its endpoint a local port that refuses connections): the store is erased
or the round closed all the same, the platform is named in the user's language, what is left
to do by hand is listed, the exit status says so (3), and no traceback is printed."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.events import Actor, ReplyPosted
from bot.platform import ChannelRef
from bot.service.cli import main
from tests.helpers import START, RecordingPlatform, invitation, make_core

D1 = ChannelRef("discord", "g1", "c1")
S1 = ChannelRef("slack", "T1", "C1")
SECRET = "test-secret-0123456789"


def reply(platform: str, user: str, mid: str) -> ReplyPosted:
    channel = D1 if platform == "discord" else S1
    return ReplyPosted(platform=platform, workspace_id=channel.workspace_id,
                       channel_id=channel.channel_id, occurred_at=START,
                       actor=Actor(user, f"name-{user}"), message_id=mid, thread_id="1000",
                       text=f"a reply of {user}")


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused at once (held
    for the test, so no other process takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def round_on_two(tmp_path: Path, monkeypatch) -> str:
    """A round on Discord and Slack in a store under ``tmp_path`` where discord:u1 and
    slack:U2 each replied (so each has a copy on the other platform); the planbot
    environment points at it with no platform configured. Returns the round's public id."""
    async def build() -> str:
        core = make_core(tmp_path, clock=ManualClock(START))
        discord, slack = RecordingPlatform(), RecordingPlatform("slack")
        core.platforms.update(discord=discord, slack=slack)
        round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=discord)
        await core.rounds.open(plan="sample", channel=S1, platform=slack,
                               join=invitation(core, round_id))
        await core.handle(reply("discord", "u1", "7001"))
        await core.handle(reply("slack", "U2", "7002.1"))
        await core.settle()
        public_id = core.store.get_round(round_id).public_id
        core.close()
        return public_id

    public_id = asyncio.run(build())
    monkeypatch.chdir(tmp_path)
    for key in ("DATABASE_URL", "DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
                "SLACK_API_BASE", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "LOG_LEVEL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path))
    monkeypatch.setenv("PARTICIPANT_SECRET", SECRET)
    return public_id


def configure(monkeypatch, platform: str, port: int) -> None:
    """``platform`` configured with tokens and its endpoints at the refusing ``port``."""
    if platform == "slack":
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-not-a-real-token")
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-not-a-real-token")
        monkeypatch.setenv("SLACK_API_BASE", f"http://127.0.0.1:{port}/api/")
    else:
        monkeypatch.setenv("DISCORD_TOKEN", "not.a.real-token")
        monkeypatch.setenv("DISCORD_API_BASE", f"http://127.0.0.1:{port}/api/v10")
        monkeypatch.setenv("DISCORD_GATEWAY_URL", f"ws://127.0.0.1:{port}/")


def quiet(err: str) -> None:
    assert "Traceback" not in err and "never retrieved" not in err, err


UNREACHED = {"en": "could not be used: its server refused the connection",
             "fr": "n’a pas pu être utilisé : son serveur a refusé la connexion"}
LEFT = {"en": "Still to delete by hand: copy", "fr": "Reste à supprimer à la main : copie"}


@pytest.mark.parametrize(("lang", "person", "away"), [
    ("en", ("discord", "u1"), "slack"), ("fr", ("discord", "u1"), "slack"),
    ("en", ("slack", "U2"), "discord"), ("fr", ("slack", "U2"), "discord")])
def test_erasure_happens_in_the_store_whatever_the_platforms_do(
        round_on_two, monkeypatch, capsys, refusing_port, lang, person, away):
    """The person's copy is on the platform that cannot be reached: they are erased in the
    store all the same, that platform is named, and the copy listed for the operator."""
    platform, user = person
    monkeypatch.setenv("PLANBOT_LANGUAGE", lang)
    configure(monkeypatch, away, refusing_port)
    erase = ["privacy", "erase", "--platform", platform, "--user", user]

    assert main([*erase, "--yes"]) == 3
    gc.collect()  # a future left unread would be reported now
    out, err = capsys.readouterr()
    quiet(err)
    assert f"{away.capitalize()} {UNREACHED[lang]}" in out
    assert f"{LEFT[lang]} " in out and f" {away}:" in out, out
    assert "(exit status 3)" in out or "(code de sortie 3)" in out

    monkeypatch.delenv("SLACK_BOT_TOKEN" if away == "slack" else "DISCORD_TOKEN")
    assert main([*erase, "--dry-run"]) == 0
    assert f"{platform}:{user}" in (said := capsys.readouterr().out)
    assert ("holds nothing" if lang == "en" else "ne garde rien") in said


def test_only_the_platforms_holding_copies_are_asked(round_on_two, monkeypatch, capsys,
                                                     refusing_port):
    """discord:u1's one copy is on Slack, which is not configured here: Discord, configured
    but unreachable, is not asked; the copy is listed all the same."""
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    configure(monkeypatch, "discord", refusing_port)
    assert main(["privacy", "erase", "--platform", "discord", "--user", "u1", "--yes"]) == 3
    out, err = capsys.readouterr()
    quiet(err)
    assert "could not be used" not in out, out
    assert "Still to delete by hand: copy " in out and " in slack:" in out, out
    assert main(["privacy", "erase", "--platform", "discord", "--user", "u1", "--yes"]) == 0
    assert "planbot holds nothing about discord:u1." in capsys.readouterr().out


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_round_close_closes_in_the_store_when_a_platform_cannot_be_reached(
        round_on_two, monkeypatch, capsys, refusing_port, lang):
    monkeypatch.setenv("PLANBOT_LANGUAGE", lang)
    configure(monkeypatch, "slack", refusing_port)
    assert main(["round", "close", round_on_two]) == 3
    gc.collect()
    out, err = capsys.readouterr()
    quiet(err)
    assert f"Slack {UNREACHED[lang]}" in out
    assert f"planbot digest --round {round_on_two}" in out
    assert main(["round", "status", round_on_two, "--format", "json"]) == 0
    assert '"status": "closed"' in capsys.readouterr().out


def test_a_platform_that_never_answers_is_given_up_within_the_bound(tmp_path):
    """A listening port that never answers: the one-shot connection gives up at the bound
    and reports a timeout, instead of waiting for ever."""
    from bot.clock import SystemClock
    from bot.service.build import one_shot
    from tests.helpers import make_settings

    async def attempt() -> dict[str, BaseException | None]:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            port = silent.getsockname()[1]
            settings = replace(make_settings(tmp_path), slack_bot_token="xoxb-1-x",
                               slack_app_token="xapp-1-x",
                               slack_api_base=f"http://127.0.0.1:{port}/api/")
            async with one_shot(settings, SystemClock(), "t") as shot:
                return await shot.connect(timeout=0.2)

    tried = asyncio.run(attempt())
    assert list(tried) == ["slack"] and isinstance(tried["slack"], TimeoutError)
