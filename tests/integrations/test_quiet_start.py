"""planbot's logging set-up drops the library warnings that mislead an operator at start-up:
discord.py's missing voice libraries (planbot uses no voice) and slack_bolt's "`token` will
be unused" (bolt read SLACK_BOT_TOKEN from the environment by itself). Other warnings of the
same loggers still show."""

from __future__ import annotations

import logging

import discord
import pytest
from discord.voice_client import VoiceClient
from slack_bolt.async_app import AsyncApp

from bot.logs import configure_logging
from integrations.slack.client import make_web_client


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_voice_and_token_warnings_are_dropped(root_logging, monkeypatch, capsys):
    configure_logging("text", "INFO")
    monkeypatch.setattr(VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(VoiceClient, "warn_dave", True)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    discord.Client(intents=discord.Intents.none())
    AsyncApp(client=make_web_client("xoxb-from-the-environment"), signing_secret="s")
    logging.getLogger("discord.client").warning("another discord.py warning")
    err = capsys.readouterr().err
    assert "voice will NOT be supported" not in err and "will be unused" not in err
    assert "another discord.py warning" in err
