"""A participant's own data on SQLite and PostgreSQL (``bot.privacy``, ``storage.privacy``):
export, erasure with copies left when a platform is away, backfill of an erased person's
reactions refused, the retention purge, the confirmation code, digest redaction, and the
``planbot privacy`` command line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from bot import wire
from bot.clock import ManualClock
from bot.events import Actor, Emoji, ReactionAdded, ReplyPosted
from bot.platform import ChannelRef
from bot.privacy import REDACTED, pending_of, personal_data_json, redact
from bot.service.cli import main
from tests.helpers import START, RecordingPlatform, invitation, make_core

D1 = ChannelRef("discord", "g1", "c1")
S1 = ChannelRef("slack", "T1", "C1")


def reply(user: str, mid: str, text: str) -> ReplyPosted:
    return ReplyPosted(platform="discord", workspace_id="g1", channel_id="1000",
                       occurred_at=START, actor=Actor(user, f"name-{user}"), message_id=mid,
                       thread_id="1000", text=text)


def react(user: str, emoji: str = "👍", *, backfill: bool = False) -> ReactionAdded:
    return ReactionAdded(platform="discord", workspace_id="g1", channel_id="c1",
                         occurred_at=START, actor=Actor(user), message_id="1000",
                         emoji=Emoji(emoji), backfill=backfill)


@pytest.fixture
async def round_on_two(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url, clock=ManualClock(START))
    discord, slack = RecordingPlatform(), RecordingPlatform("slack")
    core.platforms.update(discord=discord, slack=slack)
    round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=discord)
    await core.rounds.open(plan="sample", channel=S1, platform=slack,
                           join=invitation(core, round_id))
    yield core, round_id, discord, slack
    core.close()


async def test_export_holds_exactly_one_persons_data(round_on_two):
    core, _round_id, _discord, _slack = round_on_two
    await core.handle(reply("u1", "7001", "Mine"))
    await core.handle(reply("u2", "7002", "Theirs"))
    await core.handle(react("u1"))
    await core.handle(react("u2", "👎"))
    await core.settle()
    data = await core.privacy.export("discord", "u1", "cli")
    doc = json.loads(personal_data_json(data, "discord", "u1"))
    assert doc["display_name"] == "name-u1" and [r["text"] for r in doc["replies"]] == ["Mine"]
    assert [s["stance"] for s in doc["stances"]] == ["agree"]
    assert {m["platform"] for m in doc["replies"][0]["messages"]} == {"discord", "slack"}
    assert json.loads(personal_data_json(None, "discord", "u9")) == {
        "platform": "discord", "user_id": "u9", "held": False}


async def test_erasure_lists_the_copies_a_missing_platform_keeps(round_on_two):
    core, round_id, _discord, _slack = round_on_two
    await core.handle(reply("u1", "7001", "Mine to erase"))
    await core.handle(react("u1"))
    await core.settle()
    del core.platforms["slack"]  # Slack is away: its copy stays, and is reported
    report = await core.privacy.erase("discord", "u1", "cli")
    assert (report.found, report.replies, report.stances, report.copies_deleted) == \
        (True, 1, 1, 0)
    assert [c.platform for c in report.copies_left] == ["slack"]
    assert [c.text for c in core.store.statement_counts(round_id) if c.kind == "reply"] == [None]
    # Reconciliation reads the reaction back from Discord: not stored again...
    assert not await core.handle(react("u1", backfill=True))
    # ...nor their reply, whose message stays on the platform: no participant record again.
    read_back = reply("u1", "7001", "Mine to erase")
    assert not await core.handle(replace(read_back, backfill=True, event_key="again"))
    assert await core.privacy.export("discord", "u1", "cli") is None
    # ...but a new live stance is a new participation.
    assert await core.handle(react("u1"))
    assert not (await core.privacy.erase("discord", "u-unknown", "chat")).found
    kinds = [(r.kind, r.via) for r in core.store.privacy_requests()]
    assert kinds == [("erase", "cli"), ("export", "cli"), ("erase", "chat")]


async def test_retention_purge_waits_for_the_period_after_closing(round_on_two):
    core, round_id, _discord, _slack = round_on_two
    await core.handle(reply("u1", "7001", "Old words"))
    await core.handle(react("u1"))
    await core.rounds.close(round_id)
    core.clock.advance(core.settings.retention_period - timedelta(hours=1))
    assert await core.privacy.purge(dry_run=False) == []
    core.clock.advance(timedelta(hours=2))
    (due,) = await core.privacy.purge(dry_run=True)
    assert (due.replies, due.edits, due.names) == (1, 0, 1)
    assert due.public_id == core.store.get_round(round_id).public_id  # what the CLI prints
    assert [c.round_id for c in await core.privacy.purge(dry_run=False)] == [round_id]
    counts = core.store.statement_counts(round_id)
    assert [c.text for c in counts if c.kind == "reply"] == [None]
    assert sum(c.agree for c in counts) == 1


def test_the_confirmation_code_is_personal_and_expires(tmp_path):
    core = make_core(tmp_path, clock=ManualClock(START))
    privacy = core.privacy
    code = privacy.confirm_code("discord", "u1")
    assert code != privacy.confirm_code("discord", "u2") and len(code) == 6
    core.clock.advance(timedelta(minutes=9))
    assert privacy.code_is_valid("discord", "u1", code)
    core.clock.advance(timedelta(minutes=12))
    assert not privacy.code_is_valid("discord", "u1", code)
    core.close()


def test_redaction_finds_escaped_folded_and_shortened_quotes():
    text = "Les <routes> & les\nponts d’abord, puis le reste du réseau"
    stored = {"md": "- Les <routes> & les ponts d’abord, puis le re… — 3 pour",
              "html": "<li>Les &lt;routes&gt; &amp; les ponts d’abord, puis le reste…</li>",
              "slack": "• Les &lt;routes&gt; &amp; les\nponts d’abord, puis le reste du réseau",
              "other": ["Les ponts ailleurs", 3, None]}
    out = redact(stored, [text])
    assert out["md"] == f"- {REDACTED}… — 3 pour"
    assert out["html"] == f"<li>{REDACTED}…</li>"
    assert out["slack"] == f"• {REDACTED}"
    assert out["other"] == ["Les ponts ailleurs", 3, None]
    assert redact("ok ok", ["ok"]) == "ok ok"  # too short to tell apart


def test_redaction_leaves_other_texts_that_start_alike():
    """Only the erased text's quotes go: others' replies and the plan's titles that share
    its first words stay, a quote cut short (an ellipsis) of it goes."""
    erased = "I agree with the plan because of reason number 1 here"
    stored = {"others": [f"I agree with the plan because of reason number {i} here"
                         for i in (2, 10, 11)],
              "title": "### 1. Internet haute vitesse partout",
              "cut": "- I agree with the plan because of reas… — 4 pour"}
    out = redact(stored, [erased, "Internet haute vitesse partout : oui, vite !"])
    assert out["others"] == stored["others"]
    assert out["title"] == stored["title"]
    assert out["cut"] == f"- {REDACTED}… — 4 pour"
    assert redact(f"<li>{erased}</li>", [erased]) == f"<li>{REDACTED}</li>"


def test_redaction_folds_letters_whose_case_folding_is_longer():
    erased = "Die Straße am Fluss braucht zuerst Glasfaser"
    stored = [f"- {erased} — 2 pour", "- Die Strasse am Fluss braucht zuerst Glasf… — 1",
              "<li>İstanbul köprüsü 7 önemli</li>"]
    out = redact(stored, [erased, "İstanbul köprüsü 7 önemli"])
    assert out == [f"- {REDACTED} — 2 pour", f"- {REDACTED}… — 1", f"<li>{REDACTED}</li>"]


def test_redaction_finds_an_emoji_only_reply_whole_and_spares_the_counts():
    erased = "🇨🇦🔥🚲🚲🚲 ❤️0"
    stored = [f"- {erased} — 👍 2 👎 1", "- 🚲 — 👍 1"]
    assert redact(stored, [erased, "👍"]) == [f"- {REDACTED} — 👍 2 👎 1", "- 🚲 — 👍 1"]


def test_cli_export_erase_and_purge(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for key in ("DATABASE_URL", "PARTICIPANT_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    out = tmp_path / "u1.json"
    assert main(["privacy", "export", "--platform", "discord", "--user", "u1",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["held"] is False and out.stat().st_mode & 0o777 == 0o600
    assert main(["privacy", "erase", "--platform", "slack", "--user", "U1"]) == 0
    assert main(["privacy", "purge", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert f"Personal data written to {out} (JSON" in printed
    assert "planbot holds nothing about slack:U1." in printed
    assert "No round is past the retention period (365 days)." in printed


@pytest.mark.parametrize("period", ["1m", "1M", "12h"])
def test_a_retention_period_in_minutes_or_hours_is_refused(tmp_path, monkeypatch, capsys,
                                                           period):
    """``1M`` meant as a month must not purge every text within the minute."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    monkeypatch.setenv("RETENTION_PERIOD", period)
    assert main(["privacy", "purge", "--dry-run"]) == 2
    assert "RETENTION_PERIOD" in capsys.readouterr().err



def test_cli_erase_says_what_it_holds_and_asks_first(tmp_path, monkeypatch, capsys):
    """An operator's erasure is irreversible: it says what is held, ``--dry-run`` stops
    there, and without ``--yes`` (no terminal to ask at) nothing is erased."""
    import asyncio

    async def one_stance() -> None:
        core = make_core(tmp_path, clock=ManualClock(START))
        core.platforms.update(discord=RecordingPlatform())
        await core.rounds.open(plan="sample", channel=D1, platform=core.platforms["discord"])
        await core.handle(react("u1"))
        core.close()

    asyncio.run(one_stance())
    cli_home(tmp_path, monkeypatch, "fr")
    erase = ["privacy", "erase", "--platform", "discord", "--user", "u1"]
    assert main([*erase, "--dry-run"]) == 0
    assert "planbot détient sur discord:u1 : 0 réponse, 1 position" in capsys.readouterr().out
    assert main(erase) == 1  # stdin is not a terminal here
    assert "--yes" in capsys.readouterr().err
    assert main([*erase, "--yes"]) == 0
    assert "supprimé sur les plateformes : 0 copie" in capsys.readouterr().out
    assert main([*erase, "--yes"]) == 0
    assert "planbot ne garde rien sur discord:u1." in capsys.readouterr().out


def test_cli_erases_someone_whose_only_events_wait_in_the_inbox(tmp_path, monkeypatch, capsys):
    """A first stance recorded (acknowledged) but not applied yet is something held: the
    operator's erasure says so and discards it, instead of answering "nothing held" and
    leaving it to be applied after."""
    import asyncio

    async def one_waiting() -> list[int | None]:
        core = make_core(tmp_path, clock=ManualClock(START))
        core.platforms.update(discord=RecordingPlatform())
        await core.rounds.open(plan="sample", channel=D1, platform=core.platforms["discord"])
        ids = core.store.inbox_record([wire.inbox_row(react("u9"), START)])
        core.close()
        return ids

    ids = asyncio.run(one_waiting())
    cli_home(tmp_path, monkeypatch, "en")
    erase = ["privacy", "erase", "--platform", "discord", "--user", "u9"]
    assert main([*erase, "--dry-run"]) == 0
    assert "1 event of discord:u9 is still waiting to be applied: the erasure discards it." \
        in capsys.readouterr().out
    assert main([*erase, "--yes"]) == 0
    assert "Discarded before being applied: 1 event of theirs." in capsys.readouterr().out
    core = make_core(tmp_path, clock=ManualClock(START))
    try:
        assert core.store.inbox_outcomes(ids) == {ids[0]: "erased"}
    finally:
        core.close()


@pytest.mark.parametrize("user", ["u1", "Élodie ✓", 'a"b%_\\c'])
def test_a_persons_pending_events_are_found_whatever_their_id_holds(user):
    """The filter the database runs (the id as payloads spell it) and the exact test agree
    with ``bot.wire`` for any id: accents, quotes, LIKE's wildcards, backslashes."""
    of = pending_of("discord", user)
    theirs = [wire.encode(replace(react("x"), actor=Actor(user))),
              wire.encode(replace(reply("x", "7001", "Un avis"), actor=Actor(user)))]
    assert all(of.needle in payload and of.theirs(payload) for payload in theirs)
    others = [wire.encode(react("someone")), wire.encode(reply("y", "7002", user)), "{oops"]
    assert not any(of.theirs(payload) for payload in others)


async def test_the_store_finds_pending_events_of_an_id_full_of_wildcards(tmp_path, database_url):
    """``%`` and ``_`` in an id are no wildcards in the database's filter: only that
    person's waiting event is found, not the one of an id they would match."""
    core = make_core(tmp_path, database_url=database_url)
    try:
        core.store.inbox_record([wire.inbox_row(replace(react("x"), actor=Actor(user)), START)
                                 for user in ('a"b%_\\c', 'a"bXY\\c')])
        assert await core.privacy.pending("discord", 'a"b%_\\c') == 1
    finally:
        core.close()


def cli_home(home, monkeypatch, lang: str) -> None:
    """The environment of a ``planbot`` command on the store in ``home``, in ``lang``, with no
    platform configured."""
    monkeypatch.chdir(home)
    for key in ("DATABASE_URL", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PLANBOT_HOME", str(home))
    monkeypatch.setenv("PARTICIPANT_SECRET", "test-secret-0123456789")
    monkeypatch.setenv("PLANBOT_LANGUAGE", lang)
