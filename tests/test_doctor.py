"""``planbot doctor`` against the local Discord and Slack: green when everything is in place,
and each problem named with its fix (a refused token on each platform, a missing
privileged intent, a missing channel permission, a missing scope, a channel the bot is not
in, a store written with another secret)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from discord import Permissions

from bot.home import open_store
from bot.service.doctor import examine, report, run_doctor
from integrations.discord.commands import PlanbotCommands
from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.slack import LocalSlack
from tests.helpers import make_settings

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
COMMANDS = sorted(c.name for c in PlanbotCommands.__cog_app_commands__)
"""Every slash command planbot syncs (a previous `planbot run` synced them all)."""


def platform_settings(tmp_path, discord: DiscordSandbox, slack: LocalSlack, **overrides):
    values = {"discord_token": discord.token, "discord_api_base": discord.api_base,
              "discord_gateway_url": discord.gateway_url,
              "discord_guild_ids": frozenset({discord.guild.id}),
              "slack_bot_token": slack.bot_token, "slack_app_token": slack.app_token,
              "slack_api_base": slack.base_url}
    values.update(overrides)
    return make_settings(tmp_path, **values)


def statuses(sections) -> dict[str, str]:
    """msgid -> status of every finding (a msgid found twice keeps its worst status)."""
    rank = {"ok": 0, "warn": 1, "fail": 2}
    out: dict[str, str] = {}
    for _title, found in sections:
        for f in found:
            if rank[f.status] >= rank[out.get(f.msgid, "ok")]:
                out[f.msgid] = f.status
    return out


def failures(sections) -> list:
    return [f for _t, found in sections for f in found if f.status == "fail"]


@pytest.fixture
async def platforms():
    async with DiscordSandbox() as discord:
        slack = LocalSlack().seed_cast()
        await slack.start()
        try:
            yield discord, slack
        finally:
            await slack.stop()


def channels(discord, slack, *extra):
    return [f"discord:{discord.channel.id}", f"slack:{slack.channel_id}", *extra]


async def test_green_when_everything_is_in_place(tmp_path, platforms, capsys):
    discord, slack = platforms
    # The commands a previous `planbot run` synced to the guild.
    discord.commands[discord.guild.id] = [{"name": n} for n in COMMANDS]
    settings = platform_settings(tmp_path, discord, slack)
    open_store(settings.database_url, settings.participant_secret, tmp_path, NOW).engine.dispose()
    sections = await examine(settings, channels(discord, slack))
    assert failures(sections) == []
    found = statuses(sections)
    for msgid in ("doctor.database", "doctor.schema", "doctor.secret_matches",
                  "doctor.discord_token", "doctor.discord_intent", "doctor.discord_commands",
                  "doctor.discord_channel", "doctor.slack_bot_token", "doctor.slack_scopes",
                  "doctor.slack_app_token", "doctor.slack_channel"):
        assert found[msgid] == "ok", msgid
    text = report(sections, "en")
    assert "#plan-de-quartier: the bot has every permission it needs" in text
    assert text.endswith("Everything is ready: start planbot with planbot run.")
    assert "Tout est prêt" in report(sections, "fr")


async def test_each_platform_problem_is_named_with_its_fix(tmp_path, platforms):
    discord, slack = platforms
    discord.deny_bot(discord.channel, Permissions(attach_files=True).value)
    slack.scopes.discard("files:write")
    slack.add_channel("C0ELSEWHERE", "ailleurs", bot_member=False)
    settings = platform_settings(tmp_path, discord, slack)
    sections = await examine(settings, channels(discord, slack, "slack:C0ELSEWHERE"))
    text = report(sections, "en")
    assert "#plan-de-quartier: the bot lacks Attach Files" in text
    assert "scopes missing: files:write" in text and "reinstall the app" in text
    assert "#ailleurs: the bot is not a member. In the channel, type /invite @planbot" in text
    assert "slash commands not synced yet (/digest, /forget-me, /moderate, /my-data, " in text
    assert f"slash commands not synced yet ({', '.join(f'/{n}' for n in COMMANDS)})" in text
    assert len(failures(sections)) == 3
    assert "3 problems to fix before planbot run" in text
    assert "il manque au bot Attach Files" in report(sections, "fr")


async def test_refused_tokens_and_a_missing_intent(tmp_path):
    async with DiscordSandbox(message_content_enabled=False) as discord, LocalSlack() as slack:
        settings = platform_settings(tmp_path, discord, slack)
        found = statuses(await examine(settings))
        assert found["doctor.discord_intent_missing"] == "fail"
        bad = platform_settings(tmp_path, discord, slack, discord_token="wrong-token",
                                slack_app_token="xapp-wrong")
        sections = await examine(bad)
        rejected = {f.params["key"] for f in failures(sections)
                    if f.msgid == "doctor.token_rejected"}
        assert rejected == {"DISCORD_TOKEN", "SLACK_APP_TOKEN"}
        assert "SLACK_APP_TOKEN: refused (invalid_auth)" in report(sections, "en")
        bad_bot = platform_settings(tmp_path, discord, slack, slack_bot_token="xoxb-wrong")
        (slack_failure,) = [f for f in failures(await examine(bad_bot))
                            if f.msgid == "doctor.token_rejected"]
        assert slack_failure.params["key"] == "SLACK_BOT_TOKEN"


async def test_store_problems_and_exit_status(tmp_path, capsys):
    settings = make_settings(tmp_path)
    open_store(settings.database_url, "another-secret-0123456789", tmp_path, NOW).engine.dispose()
    sections = await examine(settings)
    assert statuses(sections)["store.secret_mismatch"] == "fail"
    assert statuses(sections)["doctor.no_platform"] == "fail"
    unreachable = make_settings(tmp_path, database_url="postgresql://postgres@127.0.0.1:1/x")
    assert statuses(await examine(unreachable))["db.refused"] == "fail"


def test_exit_status_is_0_only_when_nothing_fails(tmp_path, capsys):
    assert run_doctor(make_settings(tmp_path)) == 1  # no platform configured
    assert "✗" in capsys.readouterr().out


async def test_the_doctor_only_reads_and_names_a_malformed_channel(tmp_path):
    """A first check before any run creates no database file, and a ``--channel`` that is
    not ``discord:ID`` or ``slack:ID`` is a failure naming it, not silently ignored."""
    settings = make_settings(tmp_path)
    sections = await examine(settings, ["bogus", "teams:C1", "slack:"])
    assert statuses(sections)["doctor.database_absent"] == "warn"
    assert not (tmp_path / "planbot.db").exists()
    named = [f.params["spec"] for f in failures(sections) if f.msgid == "doctor.channel_bad"]
    assert named == ["bogus", "teams:C1", "slack:"]
    assert "bogus" in report(sections, "fr") and "PLATEFORME:ID" in report(sections, "fr")
