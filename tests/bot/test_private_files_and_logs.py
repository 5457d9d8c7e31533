"""What planbot leaves on disk and in its logs: owner-only files and folders (store, secret,
exports, digests, backups), CSV cells no spreadsheet runs, no token of any known shape in a
log line, traceback included."""

from __future__ import annotations

import io
import json
import logging
import stat
from pathlib import Path

import pytest

from bot.files import cell, private_dir, write_csv
from bot.logs import JsonFormatter, RedactingFormatter, configure_logging
from bot.service.cli import main

POLIS = Path(__file__).resolve().parents[2] / "bot" / "data" / "polis"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in ("DATABASE_URL", "PARTICIPANT_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    return tmp_path


def test_store_secret_digests_exports_and_backups_are_owner_only(home):
    """With a permissive umask (022), everything planbot creates is 0600 / 0700."""
    import os

    old = os.umask(0o022)
    try:
        assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
        assert main(["digest", "--out", str(home / "digest")]) == 0
        assert main(["export", str(home / "export" / "polis")]) == 0
        assert main(["backup", str(home / "backups")]) == 0
    finally:
        os.umask(old)
    data = home / "data"
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {
        name: 0o600 for name in ("participant.secret", "planbot.db", "planbot.db-wal",
                                 "planbot.db-shm") if (data / name).exists()}
    assert (data / "planbot.db").exists() and (data / "participant.secret").exists()
    for folder in (home / "digest", home / "export", home / "export" / "polis",
                   home / "backups"):
        assert mode(folder) == 0o700, folder
    written = [f for d in ("digest", "export/polis", "backups") for f in (home / d).iterdir()]
    assert len(written) >= 10 and {mode(f) for f in written} == {0o600}


def test_an_existing_folder_keeps_its_mode_and_files_in_it_are_owner_only(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert private_dir(shared) == shared and mode(shared) == 0o755
    (shared / "t.csv").write_text("old")
    (shared / "t.csv").chmod(0o644)
    write_csv(shared / "t.csv", ["a"], [["=1"]])
    assert mode(shared / "t.csv") == 0o600


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("+33 6", "'+33 6"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain = text", "plain = text"), ("", ""),
    (-1, -1), (0, 0), (None, None),
])
def test_csv_cells_that_would_be_formulas_are_written_as_text(value, written):
    assert cell(value) == written


DISCORD_TOKENS = [
    # base64 of the bot's id, a 6- or 7-character time stamp, the HMAC; ids give M, N, O...
    "MTA4NjQ0NDA1NzI4NDc4MjEwMQ.GbQ2Xy.abcdefghijklmnopqrstuvwxyz0123456789AB",
    "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I",
    "ODAxMjM0NTY3ODkwMTIzNDU2.YAbCdE.fghijklmnopqrstuvwxyz012345",
    "OTk5OTk5OTk5OTk5OTk5OTk5.Gabcde.ABCDEFGHIJKLMNOPQRSTUVWXYZabcd",
    "mfa.VkO_2G4Qv3T--NO--lWetW_tjND--TOKEN--QFTm6YGtzq9PH--4U--tG0",
]
SLACK_TOKENS = [
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef",
    "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef",
    "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz",
    "xoxe-1-My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz",
    "xoxa-2-123456789012-abcdef",
]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("token", DISCORD_TOKENS + SLACK_TOKENS)
def test_no_token_of_a_known_shape_reaches_a_log_line(token, fmt):
    """In the message, its arguments, and the traceback of an exception that carries it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else RedactingFormatter("%(message)s"))
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("calling https://discord.com/api/v10 with %s", token)
        log.warning("Authorization: Bot %s", token)
        try:
            raise RuntimeError(f"refused token={token}")
        except RuntimeError:
            log.exception("failed")
        log.error("stack", stack_info=True, extra={"t": token})
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert token not in out and token[:12] not in out
    assert out.count("[redacted]") >= 3 and "RuntimeError" in out
    if fmt == "json":
        assert all(json.loads(line) for line in out.splitlines())


def test_configured_secrets_are_masked_whatever_their_shape(capsys):
    configure_logging("text", "INFO", secrets=("plain-secret-value", "", "short"))
    try:
        logging.getLogger("test.secrets").warning("signing with plain-secret-value")
    finally:
        configure_logging("text", "WARNING")
    err = capsys.readouterr().err
    assert "plain-secret-value" not in err and "signing with [redacted]" in err
