"""The ``planbot`` command line end to end on a SQLite store in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.plans import sample_plan_paths
from bot.service.cli import main

POLIS = Path(__file__).resolve().parents[2] / "bot" / "data" / "polis"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in ("DATABASE_URL", "PARTICIPANT_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    return tmp_path


def test_import_digest_analyse_export(env, capsys):
    assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
    assert "imported as round #1" in capsys.readouterr().out
    assert main(["digest", "--format", "json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    assert digest["participation"]["people"] > 0 and len(digest["groups"]) >= 2
    assert main(["digest", "--lang", "fr"]) == 0
    assert "Terrain d’entente" in capsys.readouterr().out
    assert main(["analyse", "--format", "json"]) == 0
    clustered = set(json.loads(capsys.readouterr().out)["clustered"])
    assert main(["analyse"]) == 0
    assert "opinion groups" in capsys.readouterr().out  # PLANBOT_LANGUAGE=en
    assert main(["analyse", "--lang", "fr"]) == 0
    assert "groupes d’opinion" in capsys.readouterr().out
    assert main(["export", "--format", "polis", str(env / "out")]) == 0
    import csv

    with (env / "out" / "participants-votes.csv").open() as fh:
        grouped = {row["participant"] for row in csv.DictReader(fh) if row["group-id"] != ""}
    assert grouped == clustered and len(clustered) == digest["clustered"]


def test_plan_import_errors_exit_1_with_file_and_line(env, capsys):
    bad = env / "bad.fr.md"
    bad.write_text("# Plan\n\n## A {#a}\n\n")
    assert main(["plan", "import", str(bad)]) == 1
    assert "bad.fr.md, line 3" in capsys.readouterr().err
    assert main(["plan", "import", *map(str, sample_plan_paths())]) == 0
    assert "version 1, 8 sections." in capsys.readouterr().out


def test_bad_configuration_exit_2_names_every_key(env, monkeypatch, capsys):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("DIGEST_DAY", "someday")
    assert main(["round", "list"]) == 2
    err = capsys.readouterr().err
    assert "LOG_FORMAT" in err and "DIGEST_DAY" in err


def test_unknown_round_is_a_user_error(env, capsys):
    assert main(["round", "status", "42"]) == 1
    assert "No round #42" in capsys.readouterr().err


def test_digest_out_writes_every_form(env, capsys):
    assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
    assert main(["digest", "--out", str(env / "d")]) == 0
    assert "digest.md" in capsys.readouterr().out
    assert (env / "d" / "digest.png").read_bytes().startswith(b"\x89PNG")
    assert (env / "d" / "opinion-map.png").read_bytes().startswith(b"\x89PNG")
    html = (env / "d" / "digest.html").read_text()
    assert "<html" in html and "data:image/png;base64" in html
    assert json.loads((env / "d" / "digest.json").read_text())["round"]["id"] == 1
