"""``planbot demo`` end to end on a small bundled conversation: both local platforms, the
real bots, the weekly job; the digest's counts equal the conversation's final votes."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from rich.console import Console

from bot.polis import read_conversation
from bot.service.demo import DEFAULT_CONVERSATION, POLIS, SYNTHETIC, run_demo
from bot.synthetic import GROUPS, SECTIONS
from tests.helpers import make_settings

CONVERSATION = "london.youth.policing"
VALUE = {"1": "agree", "-1": "disagree", "0": "pass"}


def polis_final_votes(folder: Path) -> tuple[dict[str, Counter], set[str]]:
    """Per comment id, agree/disagree/pass counts from ``participants-votes.csv`` (Polis'
    own matrix of final votes), and the participants with at least one vote there."""
    counts: dict[str, Counter] = {}
    voters = set()
    with (folder / "participants-votes.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        comments = header[7:]
        for row in reader:
            for comment, value in zip(comments, row[7:], strict=False):
                counts.setdefault(comment, Counter())
                if value.strip():
                    counts[comment][VALUE[value.strip()]] += 1
                    voters.add(row[0])
    return counts, voters


def test_demo_replays_the_conversation_and_its_digest_counts_match(tmp_path, monkeypatch,
                                                                   capsys):
    out = tmp_path / "out"
    console = Console(record=True, width=120)
    code = run_demo(make_settings(tmp_path), conversation=CONVERSATION,
                    platforms=["discord", "slack"], out=out, console=console)
    assert code == 0

    for name in ("digest.md", "digest.html", "digest.png", "digest.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "digest.png").read_bytes().startswith(b"\x89PNG")
    assert 'src="data:image/png;base64,' in (out / "digest.html").read_text()
    digest = json.loads((out / "digest.json").read_text())
    replay = json.loads((out / "replay.json").read_text())

    expected, voters = polis_final_votes(POLIS / CONVERSATION)
    by_id = {s["id"]: s for s in digest["statements"]}
    counted = {"agree": "agree", "disagree": "disagree", "pass": "passed"}
    assert set(replay["statements"]) == set(expected)  # moderated-in comments, all replayed
    for comment, statement in replay["statements"].items():
        got = by_id[statement]
        assert got["kind"] == "reply"
        assert {k: got["split"][counted[k]] for k in ("agree", "disagree", "pass")} == \
            {k: expected[comment][k] for k in ("agree", "disagree", "pass")}, comment

    conv = read_conversation(POLIS / CONVERSATION)
    shown = set(expected)
    authors = {s.author for s in conv.statements if s.external_id in shown}
    assert digest["participation"]["people"] == len(voters | authors)
    assert set(digest["participation"]["people_by_platform"]) == {"discord", "slack"}
    assert replay["votes"] == sum(sum(c.values()) for c in expected.values())
    assert replay["replies"]["discord"] + replay["replies"]["slack"] == len(shown)
    assert replay["digest_messages"]["discord"] >= 1 and replay["digest_messages"]["slack"] >= 1
    # No invented stance: the sections have none, and the digest's opinion groups are the
    # ones `planbot import-polis` finds for the same votes.
    assert all(s["statement"]["split"] == {"agree": 0, "disagree": 0, "passed": 0}
               for s in digest["sections"])
    imported = import_polis_groups(tmp_path, POLIS / CONVERSATION)
    described = [n for n in imported if n >= digest["min_group"]]  # the others counted only
    assert sorted(g["size"] for g in digest["groups"]) == described
    assert digest["hidden_groups"] == len(imported) - len(described)
    assert digest["clustered"] == sum(imported)

    printed = console.export_text()
    assert str(out / "digest.html") in printed
    assert "✓" in printed and "✗" not in printed
    # The command it prints to explore its store works as printed.
    setting, _planbot, *args = next(line.split() for line in printed.splitlines()
                                    if "DATABASE_URL=" in line)
    monkeypatch.setenv(*setting.split("=", 1))
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path / "home"))
    from bot.service.cli import main

    capsys.readouterr()
    assert main(args) == 0
    assert "discord:" in capsys.readouterr().out  # the round's channels


def import_polis_groups(tmp_path: Path, folder: Path) -> list[int]:
    """Sizes (ascending) of the opinion groups the analysis finds after ``import-polis``."""
    from datetime import UTC, datetime

    from bot.findings import analyse_round
    from bot.identity import Pseudonymizer
    from bot.polis import import_conversation
    from storage.db import create_store_engine, upgrade
    from storage.store import Store

    engine = create_store_engine(f"sqlite:///{tmp_path / 'imported.db'}")
    upgrade(engine)
    try:
        store = Store(engine)
        round_id, _ = import_conversation(store, Pseudonymizer("x" * 32), folder,
                                          datetime.now(UTC))
        result = analyse_round(store, round_id, datetime.now(UTC))
        return sorted(len(result.members(g)) for g in range(result.k))
    finally:
        engine.dispose()


def test_default_demo_tells_the_sample_plans_story(tmp_path):
    """The default conversation is synthetic and written for the sample plan: French and
    English replies under every section, stances on the sections, three opinion groups as
    its model has, and counts equal to its votes."""
    out = tmp_path / "out"
    console = Console(record=True, width=120)
    assert run_demo(make_settings(tmp_path), out=out, console=console) == 0
    digest = json.loads((out / "digest.json").read_text())
    conv = read_conversation(SYNTHETIC / DEFAULT_CONVERSATION)
    keys = [s["key"] for s in digest["sections"]]
    assert keys == [key for key, _levels in SECTIONS]
    written = {s.text: s.section for s in conv.statements if s.role == "reply"}
    for section in digest["sections"]:
        assert len(section["replies"]) == 3
        assert all(written[r["text"]] == section["key"] for r in section["replies"])
        assert section["statement"]["split"]["agree"] > 0
        supports = [r["pa"] for r in section["replies"]]
        assert supports == sorted(supports, reverse=True)
    assert len(digest["groups"]) == len(GROUPS)
    assert (out / "opinion-map.png").read_bytes().startswith(b"\x89PNG")
    markdown = (out / "digest.md").read_text()
    titles = [markdown.index(f"{i}. {s['title']}") for i, s in enumerate(digest["sections"], 1)]
    assert titles == sorted(titles)
    printed = console.export_text()
    assert "maple-valley" in printed and "✓" in printed and "✗" not in printed


def test_demo_on_one_platform_and_bad_flags(tmp_path):
    settings = make_settings(tmp_path)
    quiet = Console(record=True, width=120)
    assert run_demo(settings, conversation="no-such", out=tmp_path / "x", console=quiet) == 2
    assert run_demo(settings, platforms=["irc"], out=tmp_path / "y", console=quiet) == 2
    assert run_demo(settings, conversation=CONVERSATION, platforms=["slack"],
                    out=tmp_path / "slack-only", console=quiet) == 0
    replay = json.loads((tmp_path / "slack-only" / "replay.json").read_text())
    assert set(replay["people"]) == {"slack"}
