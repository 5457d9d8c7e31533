"""The retention period of an imported conversation, the digest of a purged round, and
``planbot privacy purge`` asking first, on SQLite and PostgreSQL (``bot.privacy.Privacy.purge``,
``storage.privacy``, ``bot.service.privacy_cli``)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.digests.build import Period, build_digest
from bot.digests.render_html import render_html
from bot.digests.render_md import render_markdown
from bot.events import Actor, ReplyPosted
from bot.identity import Pseudonymizer
from bot.platform import ChannelRef
from bot.polis import import_conversation
from bot.privacy import REDACTED
from bot.service.cli import main
from tests.helpers import START, RecordingPlatform, make_core

POLIS = Path(__file__).resolve().parents[2] / "bot" / "data" / "polis" / "london.youth.policing"


@pytest.fixture
async def imported(tmp_path, database_url):
    """A core whose clock reads ``START`` and the round imported from a Polis export then
    (its conversation closed years before)."""
    core = make_core(tmp_path, database_url=database_url, clock=ManualClock(START))
    round_id, _ = import_conversation(core.store, Pseudonymizer("s" * 20), POLIS, START)
    yield core, round_id
    core.close()


async def test_an_imported_round_is_kept_a_period_from_its_import(imported):
    core, round_id = imported
    rnd = core.store.get_round(round_id)
    assert rnd.closed_at is not None and rnd.closed_at < START - timedelta(days=365)
    core.clock.advance(timedelta(days=1))  # the first daily purge after the import
    assert await core.privacy.purge(dry_run=False) == []
    core.clock.advance(core.settings.retention_period - timedelta(days=1, hours=1))
    assert await core.privacy.purge(dry_run=True) == []
    core.clock.advance(timedelta(hours=2))
    (due,) = await core.privacy.purge(dry_run=False)
    assert due.round_id == round_id and due.replies > 0
    assert core.store.get_round(round_id).closed_at == rnd.closed_at  # the digest's dates
    assert {c.text for c in core.store.statement_counts(round_id)} == {None}


async def test_a_purged_statement_reads_as_redacted_in_every_digest(imported):
    core, round_id = imported
    core.clock.advance(core.settings.retention_period + timedelta(days=1))
    assert await core.privacy.purge(dry_run=False)
    rnd = core.store.get_round(round_id)
    digest = build_digest(core.store, round_id, Period(rnd.opened_at, rnd.closed_at),
                          language="fr", final=True)
    quoted = [h.statement for h in (*digest.common_ground, *digest.most_agreed)]
    assert quoted and {s.text for s in quoted} == {REDACTED}
    md = render_markdown(digest, "fr")
    assert "\n-  — " not in md
    assert "\n- \\[…\\] — " in md  # escaped: Markdown shows the brackets as they are
    assert REDACTED in render_html(digest, lang="fr")
    statements = json.loads(json.dumps(digest.to_json()))["statements"]
    assert {s["in_analysis"] for s in statements} == {True, False}  # moderated out too
    assert {s["text"] for s in statements} == {REDACTED}


def at_a_terminal(args: list[str], answer: str, env: dict[str, str]) -> tuple[int, str]:
    """Run ``planbot ARGS`` with a pseudo-terminal as its stdin and stdout, ``answer`` typed
    in advance; (exit status, everything it wrote)."""
    main_fd, term = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bot", *args], stdin=term, stdout=term,
                            stderr=term, env=env)
    os.close(term)
    os.write(main_fd, answer.encode() + b"\n")
    out = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # EIO: the child closed the terminal's last other end
            break
        if not chunk:
            break
        out += chunk
    os.close(main_fd)
    return proc.wait(timeout=60), out.decode(errors="replace")


def test_cli_purge_asks_first_at_a_terminal(tmp_path, database_url, monkeypatch, capsys):
    """A real purge is irreversible: ``planbot privacy purge`` lists what it removes and
    purges only after "oui" at a terminal or ``--yes``; with no terminal to ask at, nothing."""
    import asyncio

    async def one_closed_round() -> int:
        core = make_core(tmp_path, database_url=database_url, clock=ManualClock(START))
        discord = RecordingPlatform()
        core.platforms.update(discord=discord)
        round_id, _, _ = await core.rounds.open(
            plan="sample", channel=ChannelRef("discord", "g1", "c1"), platform=discord)
        await core.handle(ReplyPosted(
            platform="discord", workspace_id="g1", channel_id="1000", occurred_at=START,
            actor=Actor("u1", "name-u1"), message_id="7001", thread_id="1000",
            text="Des mots à purger"))
        await core.rounds.close(round_id)
        core.close()
        return round_id

    round_id = asyncio.run(one_closed_round())
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN")}
    # The command reads the system clock: a day's retention has passed since START.
    env.update(PLANBOT_HOME=str(tmp_path), DATABASE_URL=database_url, RETENTION_PERIOD="1d",
               PARTICIPANT_SECRET="test-secret-0123456789", PLANBOT_LANGUAGE="fr")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)

    def held() -> bool:
        core = make_core(tmp_path, database_url=database_url)
        try:
            return any(c.text for c in core.store.statement_counts(round_id))
        finally:
            core.close()

    assert main(["privacy", "purge"]) == 1  # stdin is not a terminal here
    captured = capsys.readouterr()
    assert "textes de réponses 1" in captured.out and "--yes" in captured.err
    assert held()
    status, printed = at_a_terminal(["privacy", "purge"], "non", env)
    assert status == 1 and "Tapez oui" in printed and "Rien n'a été purgé." in printed
    assert held()
    status, printed = at_a_terminal(["privacy", "purge"], "oui", env)
    assert status == 0 and "Effacé (tours fermés il y a plus de 1 jours)" in printed
    assert not held()
    assert main(["privacy", "purge", "--yes"]) == 0
    assert "Aucun tour" in capsys.readouterr().out
