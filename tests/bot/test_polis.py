"""Polis conversations: replayed counts equal Polis' own final votes; export round-trips."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from bot.digests.build import Period, build_digest
from bot.errors import BadArgument
from bot.identity import Pseudonymizer
from bot.polis import export_conversation, import_conversation, read_conversation
from tests.helpers import START, make_store

POLIS = Path(__file__).resolve().parents[2] / "bot" / "data" / "polis"
CONVERSATIONS = sorted(p.name for p in POLIS.iterdir() if p.is_dir())


def final_votes(folder: Path) -> dict[str, Counter]:
    """Per comment id, the agree/disagree/pass counts of participants-votes.csv."""
    counts: dict[str, Counter] = {}
    with (folder / "participants-votes.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        first = header.index("n-disagree") + 1  # some exports add an xid column
        for row in reader:
            for cid, value in zip(header[first:], row[first:], strict=False):
                if value != "":
                    counts.setdefault(cid, Counter())[{"1": "agree", "-1": "disagree",
                                                       "0": "pass"}[value]] += 1
    return counts


def test_five_conversations_are_bundled():
    assert CONVERSATIONS == ["15-per-hour-seattle", "brexit-consensus",
                             "canadian-electoral-reform", "london.youth.policing",
                             "scoop-hivemind.ubi"]


def split_counts(digest) -> dict[str, Counter]:
    """Statement id -> the digest's non-zero agree / disagree / pass counts."""
    return {s.id: Counter({k: n for k, n in (("agree", s.split.agree),
                                             ("disagree", s.split.disagree),
                                             ("pass", s.split.passed)) if n})
            for s in digest.statements}


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_digest_counts_equal_polis_final_votes(tmp_path, name):
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20), POLIS / name, START)
    digest = build_digest(store, round_id, Period(START, START))
    expected = final_votes(POLIS / name)
    got = split_counts(digest)
    assert {k: v for k, v in got.items() if v} == expected


def test_counts_on_postgresql_too(tmp_path, database_url):
    store = make_store(database_url)
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20),
                                      POLIS / "london.youth.policing", START)
    digest = build_digest(store, round_id, Period(START, START))
    got = split_counts(digest)
    assert {k: v for k, v in got.items() if v} == final_votes(POLIS / "london.youth.policing")
    store.engine.dispose()


def test_later_vote_replaces_earlier_and_moderated_are_kept_but_excluded(tmp_path):
    folder = tmp_path / "conv"
    folder.mkdir()
    (folder / "comments.csv").write_text(
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "1000,x,0,0,0,0,1,Kept\n1001,x,1,0,0,0,-1,Moderated out\n")
    (folder / "votes.csv").write_text(
        "timestamp,datetime,comment-id,voter-id,vote\n"
        "2000,x,0,5,1\n3000,x,0,5,-1\n2500,x,1,5,1\n")
    conv = read_conversation(folder)
    assert [(p, c, s) for p, c, s, _ in conv.votes] == [("5", "0", "disagree"), ("5", "1", "agree")]
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20), folder, START)
    _votes, statements, excluded = store.vote_triples(round_id)
    assert statements == ["0", "1"] and excluded == ["1"]


def test_bad_vote_names_file_and_line(tmp_path):
    folder = tmp_path / "conv"
    folder.mkdir()
    (folder / "comments.csv").write_text(
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "1000,x,0,0,0,0,1,Kept\n")
    (folder / "votes.csv").write_text("timestamp,datetime,comment-id,voter-id,vote\n"
                                      "2000,x,0,5,1\n2001,x,0,6,2\n")
    with pytest.raises(BadArgument) as err:
        read_conversation(folder)
    assert "votes.csv:3" in err.value.message("en")


def ballots(votes) -> Counter:
    """Each participant's final votes as a set, counted: a conversation's votes with the
    participants' ids left out (an export numbers them afresh)."""
    by: dict[str, set] = {}
    for p, c, stance, _ in votes:
        by.setdefault(p, set()).add((c, stance))
    return Counter(frozenset(b) for b in by.values())


def test_export_round_trip_gives_back_the_same_votes(tmp_path):
    source = POLIS / "brexit-consensus"
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, conv = import_conversation(store, Pseudonymizer("s" * 20), source, START)
    out = tmp_path / "out"
    export_conversation(store, round_id, out, group_of=lambda p: 0 if p == "0" else None)
    again = read_conversation(out)
    assert ballots(again.votes) == ballots(conv.votes)
    with (out / "participants-votes.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    (grouped,) = [r for r in rows if r["group-id"] == "0"]
    zero = {c: s for p, c, s, _ in conv.votes if p == "0"}
    value = {"agree": "1", "disagree": "-1", "pass": "0"}
    assert {c: grouped[c] for c in zero} == {c: value[s] for c, s in zero.items()}
    expected = final_votes(source)
    assert final_votes(out) == expected


def polis_folder(folder: Path, comments: list[tuple[str, str, str]],
                 votes: list[tuple[int, str, str, int]]) -> Path:
    """A Polis export: comments as (comment-id, author-id, body), votes as
    (timestamp ms, comment-id, voter-id, vote)."""
    folder.mkdir()
    with (folder / "comments.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "datetime", "comment-id", "author-id", "agrees",
                      "disagrees", "moderated", "comment-body"])
        out.writerows([1_793_700_000_000 + i, "x", c, a, 0, 0, 1, body]
                      for i, (c, a, body) in enumerate(comments))
    with (folder / "votes.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "datetime", "comment-id", "voter-id", "vote"])
        out.writerows([ts, "x", c, v, vote] for ts, c, v, vote in votes)
    return folder


FORMULAS = ["=HYPERLINK(\"https://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx",
            "=cmd|' /C calc'!A0"]


def test_export_is_de_identified_owner_only_and_formula_safe(tmp_path):
    """author-id and voter-id come from separate numberings; times cut to the day unless
    precise times are asked for; formula cells defused; files 0600 in a 0700 folder."""
    people = [str(p) for p in range(5)]
    comments = [(str(i), people[i], body) for i, body in enumerate(FORMULAS[:5])]
    comments.append(("5", people[0], FORMULAS[5]))
    # Each person votes "agree" on their own comment only, at a precise time.
    votes = [(1_793_712_345_678 + i, c, a, 1) for i, (c, a, _) in enumerate(comments[:5])]
    folder = polis_folder(tmp_path / "src", comments, votes)
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20), folder, START)
    same = 0
    for run in range(12):
        out = tmp_path / f"out{run}"
        export_conversation(store, round_id, out)
        with (out / "comments.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["comment-body"] for r in rows] == ["'" + f for f in FORMULAS]
        author = {r["comment-id"]: r["author-id"] for r in rows}
        with (out / "votes.csv").open(newline="", encoding="utf-8") as fh:
            cast = list(csv.DictReader(fh))
        assert {int(r["timestamp"]) % 86_400_000 for r in cast} == {0}
        assert {r["datetime"] for r in cast} == {"2026-11-03"}
        voter = {r["comment-id"]: r["voter-id"] for r in cast}
        same += all(author[c] == voter[c] for c in voter)
        with (out / "participants-votes.csv").open(newline="", encoding="utf-8") as fh:
            assert {r["n-comments"] for r in csv.DictReader(fh)} == {""}
        assert out.stat().st_mode & 0o777 == 0o700
        assert {f.stat().st_mode & 0o777 for f in out.iterdir()} == {0o600}
    assert same < 12  # one person's author-id and voter-id are not tied to each other
    export_conversation(store, round_id, tmp_path / "precise", precise_times=True)
    with (tmp_path / "precise" / "votes.csv").open(newline="", encoding="utf-8") as fh:
        assert sorted(int(r["timestamp"]) for r in csv.DictReader(fh)) == [t for t, *_ in votes]


def test_same_export_imports_once_and_a_failed_import_leaves_nothing(tmp_path):
    from bot.errors import Conflict

    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    pseudonyms = Pseudonymizer("s" * 20)
    round_id, _ = import_conversation(store, pseudonyms, POLIS / "london.youth.policing", START)
    with pytest.raises(Conflict) as err:
        import_conversation(store, pseudonyms, POLIS / "london.youth.policing", START)
    assert f"#{store.get_round(round_id).public_id}" in err.value.message("en")
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "comments.csv").write_text(
        "\ufefftimestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "1000,x,0,0,0,0,1,A\n1001,x,0,0,0,0,1,B\n", encoding="utf-8")
    (folder / "votes.csv").write_text("timestamp,datetime,comment-id,voter-id,vote\n")
    with pytest.raises(BadArgument) as err:
        import_conversation(store, pseudonyms, folder, START)
    assert "comments.csv:3" in err.value.message("en")
    assert [r.id for r in store.rounds()] == [round_id]


def test_an_export_without_votes_imports(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "comments.csv").write_text(
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n")
    (folder / "votes.csv").write_text("timestamp,datetime,comment-id,voter-id,vote\n")
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, conv = import_conversation(store, Pseudonymizer("s" * 20), folder, START)
    assert conv.votes == [] and store.get_round(round_id).source == "polis"


def test_lean_vote_read_gives_the_same_matrix(database_url):
    """store.vote_columns (one raw-cursor query into numpy) builds the matrix the triples do,
    on SQLite and PostgreSQL."""
    from bot.analysis import VoteMatrix

    store = make_store(database_url)
    round_id, conv = import_conversation(store, Pseudonymizer("s" * 20),
                                         POLIS / "15-per-hour-seattle", START)
    columns = store.vote_columns(round_id)
    lean = VoteMatrix.from_columns(columns.votes, columns.participants, columns.statements,
                                   columns.excluded)
    votes, statements, excluded = store.vote_triples(round_id)
    plain = VoteMatrix.from_votes(votes, statements=statements, excluded=excluded)
    assert lean.participants == plain.participants and lean.statements == plain.statements
    assert lean.excluded == plain.excluded == conv.excluded
    assert (lean.votes != plain.votes).nnz == 0 and lean.votes.nnz == len(conv.votes)
    store.engine.dispose()



def test_lean_vote_read_refuses_ids_too_far_apart_to_pack(tmp_path):
    """A vote packs into one integer only while the participant and statement id spans allow
    it; beyond (ids no store reaches by itself) the read fails loudly rather than wrap."""
    import sqlite3

    store = make_store(f"sqlite:///{tmp_path / 'far.db'}")
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20),
                                      POLIS / "15-per-hour-seattle", START)
    with sqlite3.connect(tmp_path / "far.db") as conn:  # foreign keys off: move both sides
        conn.execute("UPDATE participants SET id = ? WHERE id = 1", (2**61,))
        conn.execute("UPDATE stances SET participant_id = ? WHERE participant_id = 1", (2**61,))
    with pytest.raises(OverflowError):
        store.vote_columns(round_id)
    store.engine.dispose()


def test_activity_counted_in_sql_equals_counting_every_stance(database_url):
    """The chart's counts at its bin edges, aggregated by the store, are those of the rows."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from bot.digests.chart import cumulative, time_bins
    from bot.publish import read_activity

    store = make_store(database_url)
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20),
                                      POLIS / "brexit-consensus", START)
    rows = store.stance_activity(round_id)
    tz = ZoneInfo("America/Toronto")
    end = rows[-1][0] + timedelta(days=3)
    activity = read_activity(store, round_id, end, tz)
    assert (activity.first, activity.last) == (rows[0][0], rows[-1][0])
    assert activity.edges == time_bins(rows[0][0], end, tz) and len(activity.edges) > 10
    assert activity.counts == cumulative(rows, activity.edges)
    assert sum(activity.counts[s][-1] for s in activity.counts) == len(rows)
    store.engine.dispose()
