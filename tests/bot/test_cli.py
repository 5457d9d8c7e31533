"""The ``planbot`` command line end to end on a SQLite store in a temporary folder."""

from __future__ import annotations

import json
import re
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
    assert re.search(r"imported as round #[a-z0-9]{10}:", capsys.readouterr().out)
    assert main(["digest", "--format", "json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    assert digest["participation"]["people"] > 0 and len(digest["groups"]) >= 2
    assert main(["digest", "--lang", "fr"]) == 0
    assert "Terrain d’entente" in capsys.readouterr().out
    assert main(["analyse", "--format", "json"]) == 0
    clustered = set(json.loads(capsys.readouterr().out)["clustered"])
    assert main(["analyse"]) == 0
    out = capsys.readouterr().out
    assert "opinion groups" in out  # PLANBOT_LANGUAGE=en
    assert re.search(r"silhouette 0\.\d\d", out)
    assert main(["analyse", "--lang", "fr"]) == 0
    out = capsys.readouterr().out
    assert "groupes d’opinion" in out
    assert re.search(r"silhouette 0,\d\d", out)  # a French decimal comma
    assert main(["export", "--format", "polis", str(env / "out")]) == 0
    import csv

    with (env / "out" / "participants-votes.csv").open() as fh:
        grouped = [row["participant"] for row in csv.DictReader(fh) if row["group-id"] != ""]
    # Voter ids are numbered afresh (de-identified): the same people, not the same ids.
    assert len(set(grouped)) == len(grouped) == len(clustered) == digest["clustered"]
    # An existing export is not overwritten without --force.
    before = (env / "out" / "votes.csv").stat().st_mtime_ns
    assert main(["export", str(env / "out")]) == 1
    err = capsys.readouterr().err
    assert "already holds an export" in err and "--force" in err
    assert (env / "out" / "votes.csv").stat().st_mtime_ns == before
    assert main(["export", "--force", str(env / "out")]) == 0


def test_round_status_reads_as_a_table_or_json(env, capsys):
    assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
    public_id = imported_id(capsys.readouterr().out)
    assert main(["round", "status", public_id]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"Round {public_id}: ")
    labels = [line.split()[0] for line in table[1:]]
    assert labels == ["state", "source", "opened", "closed", "channels", "participants"]
    assert table[-1].split()[1:] == ["polis", f"{json_people(env)['polis']:,},", "in", "all",
                                     f"{json_people(env)['all']:,}"]
    assert table[2].split()[1:] == ["Polis", "import"]
    assert main(["round", "status", f"#{public_id.upper()}", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["participants"] == json_people(env)


def imported_id(out: str) -> str:
    """The public id of the round ``planbot import-polis`` printed."""
    match = re.search(r"round #([a-z0-9]+)", out)
    assert match, out
    return match.group(1)


def json_people(env) -> dict:
    from bot.config import Settings
    from bot.service.cli import open_store

    return open_store(Settings.load()).participation(1).as_counts()


def test_version_and_help_follow_the_language(env, monkeypatch, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == "planbot 0.1.0"
    monkeypatch.setenv("PLANBOT_LANGUAGE", "fr")
    with pytest.raises(SystemExit):
        main(["round", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("utilisation : planbot round")
    assert "fermer un tour et publier sa synthèse finale" in out
    monkeypatch.delenv("PLANBOT_LANGUAGE")
    monkeypatch.setenv("LANG", "en_CA.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "overwrite files already in the folder" in capsys.readouterr().out


def test_backup_command(env, capsys):
    assert main(["plan", "import", *map(str, sample_plan_paths())]) == 0
    assert main(["backup", str(env / "saved")]) == 0
    out = capsys.readouterr().out
    assert "Backup written: " in out and "Participant secret copied: " in out
    assert len(list((env / "saved").glob("planbot-*.db"))) == 1


def test_plan_import_errors_exit_1_with_file_and_line(env, capsys):
    bad = env / "bad.fr.md"
    bad.write_text("# Plan\n\n## A {#a}\n\n")
    assert main(["plan", "import", str(bad)]) == 1
    assert "bad.fr.md, line 3" in capsys.readouterr().err
    assert main(["plan", "import", *map(str, sample_plan_paths())]) == 0
    assert "version 1, 8 sections, in French and English." in capsys.readouterr().out


def test_plan_import_names_the_language_a_file_without_suffix_was_read_in(env, capsys,
                                                                            monkeypatch):
    """A file named without .fr/.en is read as PLANBOT_LANGUAGE: the import says which."""
    monkeypatch.setenv("PLANBOT_LANGUAGE", "en")
    plain = env / "budget.md"
    plain.write_text("# Budget\n\n## Parks\n\nMore trees.\n")
    assert main(["plan", "import", str(plain)]) == 0
    assert "version 1, 1 section, in English." in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["plan", "import", "--help"])
    assert "PLANBOT_LANGUAGE" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["db", "--help"])
    assert "bring the database schema" in " ".join(capsys.readouterr().out.split())


def test_bad_configuration_exit_2_names_every_key(env, monkeypatch, capsys):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("DIGEST_DAY", "someday")
    assert main(["round", "list"]) == 2
    err = capsys.readouterr().err
    assert "LOG_FORMAT" in err and "DIGEST_DAY" in err


def test_unknown_round_is_a_user_error(env, capsys):
    assert main(["round", "status", "42"]) == 1
    assert "No round #42" in capsys.readouterr().err


def test_cli_refuses_row_numbers_and_guesses_as_it_refuses_no_round(env, capsys):
    """Round ids accepted from people are the public ids only: the row number of a round
    that exists, a near miss of its public id, or a NUL get the very answer an id naming
    nothing gets, on every subcommand that names a round."""
    assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
    public_id = imported_id(capsys.readouterr().out)
    near_miss = public_id[:-1] + ("2" if public_id[-1] != "2" else "3")
    for wanted in ("1", near_miss, public_id + "\x00", "nothing-here"):
        answers = set()
        for argv in (["round", "status", wanted], ["round", "close", wanted],
                     ["digest", "--round", wanted], ["analyse", "--round", wanted],
                     ["export", "--round", wanted, str(env / "x")]):
            assert main(argv) == 1, argv
            answers.add(capsys.readouterr().err.replace(wanted, "<id>"))
        assert answers == {"No round #<id>.\n"}, answers
    assert main(["round", "list"]) == 0
    assert public_id in capsys.readouterr().out


def test_digest_out_writes_every_form(env, capsys):
    assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
    assert main(["digest", "--out", str(env / "d")]) == 0
    assert "digest.md" in capsys.readouterr().out
    assert (env / "d" / "digest.png").read_bytes().startswith(b"\x89PNG")
    assert (env / "d" / "opinion-map.png").read_bytes().startswith(b"\x89PNG")
    html = (env / "d" / "digest.html").read_text()
    assert "<html" in html and "data:image/png;base64" in html
    assert json.loads((env / "d" / "digest.json").read_text())["round"]["name"]


def test_import_polis_replay_builds_the_round_history(env, capsys):
    from sklearn.metrics import adjusted_rand_score

    from bot.polis import read_groups
    from storage.db import create_store_engine
    from storage.store import Store

    folder = POLIS / "brexit-consensus"
    assert main(["import-polis", "--replay-every", "soon", str(folder)]) == 1
    assert "Not an interval" in capsys.readouterr().err
    assert main(["import-polis", "--replay-every", "1d", str(folder)]) == 0
    capsys.readouterr()
    store = Store(create_store_engine(f"sqlite:///{env / 'data' / 'planbot.db'}"))
    saved = store.analysis_state(1)
    assert saved is not None and saved["smoother"][0] is not None
    assert main(["analyse", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    # The stored votes are the replay's last snapshot: the same update, not a new one.
    assert store.analysis_state(1) == saved
    assert {g["letter"]: g["members"] for g in first["groups"]} == saved["letters"]
    polis = read_groups(folder)
    ours = {p: g["id"] for g in first["groups"] for p in g["members"]}
    pairs = [(ours[p], g) for p, g in polis.items() if p in ours]
    assert adjusted_rand_score(*zip(*pairs, strict=False)) >= 0.85  # measured 0.876 (red-dwarf 0.64)
    store.engine.dispose()


def test_digest_period_never_runs_backwards(env, capsys):
    """After the demo, whose clock ran ahead to its weekly digest, ``planbot digest`` covers
    the round from its opening rather than a period ending before it starts."""
    from datetime import UTC, datetime, timedelta

    from storage.db import create_store_engine
    from storage.store import Store

    assert main(["import-polis", str(POLIS / "london.youth.policing")]) == 0
    capsys.readouterr()
    store = Store(create_store_engine(f"sqlite:///{env / 'data' / 'planbot.db'}"))
    ahead = datetime.now(UTC) + timedelta(days=5)
    digest_id = store.claim_digest(1, "weekly", ahead - timedelta(days=7), ahead, ahead)
    store.finish_digest(digest_id, {}, {})
    store.engine.dispose()
    assert main(["digest", "--format", "json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    assert digest["start"] <= digest["end"]


def test_one_language_rule_for_help_output_and_errors(env, monkeypatch, capsys):
    """PLANBOT_LANGUAGE (environment or .env), else the locale, else French: the help, the
    results and the errors of one command speak the same language."""
    monkeypatch.delenv("PLANBOT_LANGUAGE")
    for key in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANG", "en_CA.UTF-8")
    assert main(["round", "status", "7"]) == 1
    err = capsys.readouterr().err
    assert "7" in err and "round" in err.lower() and "tour" not in err.lower()
    with pytest.raises(SystemExit):
        main(["round", "--help"])
    assert "usage: planbot round" in capsys.readouterr().out
    (env / ".env").write_text("PLANBOT_LANGUAGE=fr\n")  # the .env wins over the locale
    with pytest.raises(SystemExit):
        main(["round", "--help"])
    assert capsys.readouterr().out.startswith("utilisation : planbot round")
    assert main(["round", "status", "7"]) == 1
    assert "tour" in capsys.readouterr().err.lower()
    monkeypatch.setenv("LANG", "C.UTF-8")  # neither French nor English: French
    (env / ".env").unlink()
    assert main(["round", "status", "7"]) == 1
    assert "tour" in capsys.readouterr().err.lower()


@pytest.mark.parametrize(("args", "fr", "en"), [
    (["round", "status"], "planbot round status : erreur : arguments obligatoires manquants : "
     "round", "planbot round status: error: the following arguments are required: round"),
    (["digest", "--format", "xml"], "argument --format : choix invalide : 'xml' (choisir parmi "
     "'md', 'json')", "argument --format: invalid choice: 'xml' (choose from 'md', 'json')"),
    (["round", "list", "--dry-run"], "planbot : erreur : arguments non reconnus : --dry-run",
     "planbot: error: unrecognized arguments: --dry-run"),
    (["round", "status", "--format"], "argument --format : un argument attendu",
     "argument --format: expected one argument"),
])
def test_usage_errors_follow_the_language(env, monkeypatch, capsys, args, fr, en):
    for lang, expected, usage in (("fr", fr, "utilisation : planbot"), ("en", en, "usage: planbot")):
        monkeypatch.setenv("PLANBOT_LANGUAGE", lang)
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(usage) and expected in err, err


def test_import_polis_help_follows_the_language(env, monkeypatch, capsys):
    monkeypatch.setenv("PLANBOT_LANGUAGE", "fr")
    with pytest.raises(SystemExit):
        main(["import-polis", "--help"])
    assert "rejouer les votes" in capsys.readouterr().out


@pytest.mark.parametrize(("make", "fr", "en"), [
    (lambda p: p / "nothere.fr.md", "fichier ou dossier introuvable", "no such file or folder"),
    (lambda p: (p / "d.fr.md").mkdir() or p / "d.fr.md", "c’est un dossier, pas un fichier",
     "this is a folder, not a file"),
    (lambda p: (p / "f").touch() or p / "f" / "x.fr.md", "une partie de ce chemin n’est pas un "
     "dossier", "part of this path is not a folder"),
])
def test_file_errors_follow_the_language(env, monkeypatch, capsys, make, fr, en):
    path = make(env)
    for lang, expected in (("fr", fr), ("en", en)):
        monkeypatch.setenv("PLANBOT_LANGUAGE", lang)
        assert main(["plan", "import", str(path)]) == 1
        err = capsys.readouterr().err
        assert expected in err and str(path) in err, err


def test_permission_denied_reads_in_the_language():
    """Tests run as root here, which reads any file: the errno is made, not provoked."""
    import errno
    from functools import partial

    from bot.i18n import translate
    from bot.service.cli_texts import os_error_reason

    denied = PermissionError(errno.EACCES, "Permission denied", "plan.fr.md")
    assert os_error_reason(denied, partial(translate, lang="fr")) == "permission refusée"
    assert os_error_reason(denied, partial(translate, lang="en")) == "permission denied"
    other = OSError(errno.ENOSPC, "No space left on device")
    assert os_error_reason(other, partial(translate, lang="fr")) == "No space left on device"
