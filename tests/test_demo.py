"""``planbot demo`` end to end on a small bundled conversation: both local platforms, the
real bots, the weekly job; the digest's counts equal the conversation's final votes."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from rich.console import Console

from bot.demo import POLIS, run_demo
from bot.polis import read_conversation
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
            for comment, value in zip(comments, row[7:]):
                counts.setdefault(comment, Counter())
                if value.strip():
                    counts[comment][VALUE[value.strip()]] += 1
                    voters.add(row[0])
    return counts, voters


def test_demo_replays_the_conversation_and_its_digest_counts_match(tmp_path):
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
    authors = {s["author"] for s in conv.statements if s["external_id"] in shown}
    assert digest["participation"]["people"] == len(voters | authors)
    assert set(digest["participation"]["people_by_platform"]) == {"discord", "slack"}
    assert replay["votes"] == sum(sum(c.values()) for c in expected.values())
    assert replay["replies"]["discord"] + replay["replies"]["slack"] == len(shown)
    assert replay["digest_messages"]["discord"] >= 1 and replay["digest_messages"]["slack"] >= 1
    assert len(digest["groups"]) >= 1

    printed = console.export_text()
    assert str(out / "digest.html") in printed
    assert "✓" in printed and "✗" not in printed


def test_demo_on_one_platform_and_bad_flags(tmp_path):
    settings = make_settings(tmp_path)
    quiet = Console(record=True, width=120)
    assert run_demo(settings, conversation="no-such", out=tmp_path / "x", console=quiet) == 2
    assert run_demo(settings, platforms=["irc"], out=tmp_path / "y", console=quiet) == 2
    assert run_demo(settings, conversation=CONVERSATION, platforms=["slack"],
                    out=tmp_path / "slack-only", console=quiet) == 0
    replay = json.loads((tmp_path / "slack-only" / "replay.json").read_text())
    assert set(replay["people"]) == {"slack"}
