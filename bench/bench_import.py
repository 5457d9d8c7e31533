"""Benchmark: `import-polis` throughput against a plain bulk insert of the same rows.

Imports the largest bundled Polis conversation (and, with --votes N, a synthetic conversation
of N votes, default 1,000,000) into a fresh SQLite store, and compares votes per second with a
plain SQLAlchemy Core executemany of the same number of stance rows into the same schema.
The ratio (planbot / plain insert) is the figure; the aim is 1,000,000 votes in under a minute.

    .venv/bin/python bench/bench_import.py [--votes 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from bot.identity import Pseudonymizer
from bot.polis import import_conversation
from storage.db import create_store_engine, upgrade
from storage.models import Participant, Round, Stance, Statement
from storage.store import Store

POLIS = Path(__file__).resolve().parents[1] / "bot" / "data" / "polis"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def synthetic(folder: Path, votes: int, participants: int = 8000, statements: int = 3500) -> None:
    """Write a Polis export with ``votes`` distinct (participant, statement) votes."""
    rng = random.Random(7)
    folder.mkdir(parents=True)
    with (folder / "comments.csv").open("w") as fh:
        fh.write("timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n")
        for c in range(statements):
            fh.write(f"{1_600_000_000_000 + c},x,{c},{c % participants},0,0,1,Statement {c}\n")
    seen: set[tuple[int, int]] = set()
    with (folder / "votes.csv").open("w") as fh:
        fh.write("timestamp,datetime,comment-id,voter-id,vote\n")
        while len(seen) < votes:
            pair = (rng.randrange(participants), rng.randrange(statements))
            if pair in seen:
                continue
            seen.add(pair)
            fh.write(f"{1_600_000_100_000 + len(seen)},x,{pair[1]},{pair[0]},{rng.choice((1, -1, 0))}\n")


def fresh_store(url: str | None, tmp: Path, name: str) -> Store:
    engine = create_store_engine(url or f"sqlite:///{tmp / name}.db")
    upgrade(engine)
    return Store(engine)


def plain_insert(store: Store, votes: int, participants: int, statements: int) -> float:
    """Seconds to executemany ``votes`` stance rows (plus their parents) with SQLAlchemy Core."""
    start = time.perf_counter()
    with store.engine.begin() as conn:
        rid = conn.execute(insert(Round).values(name="plain", language="en", status="open",
                                                source="polis", opened_at=NOW)).inserted_primary_key[0]
        conn.execute(insert(Participant), [dict(key_hash=f"p{i}", platform="polis",
                     first_seen_at=NOW) for i in range(participants)])
        conn.execute(insert(Statement), [dict(round_id=rid, kind="reply", created_at=NOW,
                     text=f"s{i}", moderated=True, text_withheld=False, source="import")
                     for i in range(statements)])
        pmin = conn.execute(Participant.__table__.select().limit(1)).first().id
        smin = conn.execute(Statement.__table__.select().limit(1)).first().id
        rows = [dict(participant_id=pmin + (i % participants),
                     statement_id=smin + (i // participants) % statements,
                     emoji_key="polis", emoji_raw="polis", stance="agree", source="import",
                     platform="polis", added_at=NOW + timedelta(seconds=i), is_current=True)
                for i in range(votes)]
        for i in range(0, votes, 50_000):
            conn.execute(insert(Stance), rows[i:i + 50_000])
    return time.perf_counter() - start


def measure(folder: Path, url: str | None, tmp: Path, label: str) -> None:
    store = fresh_store(url, tmp, f"planbot-{label}")
    start = time.perf_counter()
    _, conv = import_conversation(store, Pseudonymizer("bench-secret-0123456789"), folder, NOW)
    planbot = time.perf_counter() - start
    n = len(conv.votes)
    baseline = plain_insert(fresh_store(url, tmp, f"plain-{label}"), n,
                            len(conv.participants), len(conv.statements))
    print(f"{label}: {n:,} votes | planbot import-polis {planbot:.2f} s "
          f"({n / planbot:,.0f} votes/s) | plain bulk insert {baseline:.2f} s "
          f"({n / baseline:,.0f} votes/s) | ratio {baseline / planbot:.2f}x of plain speed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        measure(POLIS / "canadian-electoral-reform", args.database_url, tmp, "canadian-electoral-reform")
        if args.votes:
            synthetic(tmp / "synthetic", args.votes)
            measure(tmp / "synthetic", args.database_url, tmp, f"synthetic-{args.votes}")


if __name__ == "__main__":
    main()
