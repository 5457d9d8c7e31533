"""What a new operator meets first: who may run facilitator commands (``planbot doctor`` and
``planbot run`` say when a platform has no facilitator setting, and the refusal in chat says
who grants it), a doctor and a refused ``plan import`` that leave a fresh PLANBOT_HOME as
they found it, and a ``--channel`` whose id has the wrong form named as such."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import pytest

from bot.events import Actor, CommandInvoked
from bot.home import open_store
from bot.service.cli import main
from bot.service.doctor import examine, report, settings_checks
from bot.service.run import serve
from tests.helpers import START, RecordingPlatform, make_core, make_settings

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A PLANBOT_HOME that does not exist yet, and an environment naming no secret, database
    or platform."""
    monkeypatch.chdir(tmp_path)
    for key in ("DATABASE_URL", "PARTICIPANT_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN",
                "SLACK_APP_TOKEN", "DISCORD_FACILITATOR_ROLE_IDS", "SLACK_FACILITATOR_IDS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    return tmp_path / "home"


def findings(sections) -> dict[str, str]:
    """msgid -> status of every finding."""
    return {f.msgid: f.status for _title, found in sections for f in found}


# 1. Facilitators

def test_the_doctor_names_each_platform_without_facilitators_and_how_to_find_ids(tmp_path):
    both = make_settings(tmp_path, discord_token="t", slack_bot_token="xoxb-t")
    found = {f.msgid: f for f in settings_checks(both)}
    assert found["doctor.no_facilitators_discord"].status == "warn"
    assert found["doctor.no_facilitators_slack"].status == "warn"
    discord = found["doctor.no_facilitators_discord"].text("en")
    assert "DISCORD_FACILITATOR_ROLE_IDS" in discord and "Copy Role ID" in discord
    assert "Manage Server" in discord
    slack = found["doctor.no_facilitators_slack"].text("fr")
    assert "SLACK_FACILITATOR_IDS" in slack and "Copier l'ID de membre" in slack
    assert "personne ne peut" in slack
    given = make_settings(tmp_path, discord_token="t", slack_bot_token="xoxb-t",
                          discord_facilitator_role_ids=frozenset({"42"}),
                          slack_facilitator_ids=frozenset({"U1"}))
    assert not [f for f in settings_checks(given) if "facilitators" in f.msgid]
    slack_only = make_settings(tmp_path, slack_bot_token="xoxb-t",
                               discord_facilitator_role_ids=frozenset({"42"}))
    assert [f.msgid for f in settings_checks(slack_only) if "facilitators" in f.msgid] == \
        ["doctor.no_facilitators_slack"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_run_warns_once_at_start_naming_the_keys_not_the_ids(tmp_path, caplog):
    port = closed_port()
    settings = make_settings(tmp_path, language="en", slack_bot_token="xoxb-t",
                             slack_app_token="xapp-t", slack_facilitator_ids=frozenset(),
                             discord_facilitator_role_ids=frozenset({"987654321"}),
                             slack_api_base=f"http://127.0.0.1:{port}/api/")
    stop = asyncio.Event()
    stop.set()  # stopped at once: only what start-up logs matters here
    assert await serve(settings, stop) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name.startswith("bot.")]
    assert len(warnings) == 1
    assert "SLACK_FACILITATOR_IDS" in warnings[0] and "nobody" in warnings[0]
    assert "DISCORD" not in warnings[0]  # Discord is not configured in this process
    caplog.clear()
    given = make_settings(tmp_path, language="en", slack_bot_token="xoxb-t",
                          slack_app_token="xapp-t", slack_facilitator_ids=frozenset({"U0FACIL"}),
                          slack_api_base=f"http://127.0.0.1:{port}/api/")
    assert await serve(given, stop) == 0
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "facilitator" not in text and "U0FACIL" not in text


@pytest.mark.parametrize(("platform", "lang", "says"), [
    ("slack", "en", "whoever runs planbot lists in SLACK_FACILITATOR_IDS"),
    ("slack", "fr", "la personne qui exécute planbot inscrit dans SLACK_FACILITATOR_IDS"),
    ("discord", "en", "Manage Server or a role that whoever runs planbot lists in "
                      "DISCORD_FACILITATOR_ROLE_IDS"),
    ("discord", "fr", "Gérer le serveur ou un rôle que la personne qui exécute planbot "
                      "inscrit dans DISCORD_FACILITATOR_ROLE_IDS"),
])
async def test_the_refusal_says_who_grants_facilitation(tmp_path, platform, lang, says):
    core = make_core(tmp_path)
    try:
        cmd = CommandInvoked(platform=platform, workspace_id="W1", channel_id="C1",
                             occurred_at=START, actor=Actor("someone"), action="status",
                             locale=lang)
        answer = await core.run_command(cmd, RecordingPlatform())
    finally:
        core.close()
    first = {"en": "Only facilitators can do that.",
             "fr": "Seuls les animateurs et animatrices peuvent faire cela."}[lang]
    assert answer.text.startswith(first + " ") and says in answer.text


# 2. Nothing created before it is needed

def test_the_doctor_creates_nothing_in_a_fresh_home(home, capsys):
    assert main(["doctor"]) == 1  # no platform configured
    out = capsys.readouterr().out
    assert "no participant secret yet" in out and "created at the first planbot run" in out
    assert not home.exists()


def test_the_doctor_reads_the_secret_a_run_created(home, capsys):
    assert main(["plan", "import", *map(str, _sample())]) == 0
    secret = (home / "participant.secret").read_text()
    capsys.readouterr()
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "participant secret is the one this store was written with" in out
    assert (home / "participant.secret").read_text() == secret
    (home / "participant.secret").unlink()  # lost: the store still holds its fingerprint
    assert main(["doctor"]) == 1
    assert "written with another participant secret" in capsys.readouterr().out
    assert not (home / "participant.secret").exists()


def test_a_refused_plan_import_creates_no_store_and_no_secret(home, tmp_path, capsys):
    assert main(["plan", "import", "nope.fr.md"]) == 1
    assert "nope.fr.md" in capsys.readouterr().err
    bad = tmp_path / "bad.fr.md"
    bad.write_text("no heading\n")
    assert main(["plan", "import", str(bad)]) == 1
    assert "bad.fr.md" in capsys.readouterr().err
    assert not home.exists()


def _sample():
    from bot.plans import sample_plan_paths

    return sample_plan_paths()


# 3. Channel ids

async def test_a_channel_id_of_the_wrong_form_is_named(tmp_path):
    settings = make_settings(tmp_path)
    open_store(settings.database_url, settings.participant_secret, tmp_path, NOW).engine.dispose()
    given = ["discord:abc", "discord:12a4", "slack:general", "slack:c0abc", "slack:D0ABC",
             "discord:123456789012345678", "slack:C0123ABCD", "slack:G0PRIVATE", "DISCORD:42"]
    sections = await examine(settings, given)
    bad = [(f.msgid, f.params["spec"]) for _t, found in sections for f in found
           if f.status == "fail" and f.msgid.startswith("doctor.channel")]
    assert bad == [("doctor.channel_id_discord", "discord:abc"),
                   ("doctor.channel_id_discord", "discord:12a4"),
                   ("doctor.channel_id_slack", "slack:general"),
                   ("doctor.channel_id_slack", "slack:c0abc"),
                   ("doctor.channel_id_slack", "slack:D0ABC")]
    text = report(sections, "en")
    assert '"discord:abc" is not a Discord channel id: those are digits only' in text
    assert '"slack:general" is not a Slack channel id' in text
    assert "« discord:abc » n'est pas un identifiant de salon Discord" in report(sections, "fr")
    assert "doctor.channel_bad" not in findings(sections)  # each is PLATFORM:ID
