"""Benchmark: the whole ``planbot digest --format json`` and ``planbot analyse --format json``
commands against red-dwarf 0.4's ``run_pipeline`` alone, at Bowling Green 2050 size.

The conversation is bench_analysis.py's synthetic one (8,000 participants, 3,500 statements,
1,000,000 votes, latent opinion groups), imported once into a fresh SQLite store with
``planbot import-polis`` (about a minute). Then, in turn and ``--repeat`` times, each in a fresh
process: ``planbot analyse --format json``, ``planbot digest --format json`` (the whole command:
interpreter start, imports, store reads, analysis, rendering), and red-dwarf's ``run_pipeline``
on the same votes (timed from its call, so its input building and imports are not counted).
Figures: wall seconds, CPU seconds (user + system) and the process' peak resident memory
(``wait4`` rusage); the medians and the ratios red-dwarf / planbot are printed. Aims: digest
at least 3x faster, analyse 5x, both at most half red-dwarf's peak memory.

What the planbot figures measure: each repeat runs on the votes the last run saw, so the
round's saved analysis state is current (Polis-style history, bot/analysis/history.py): the
command reads every vote, recomputes the PCA, the k-means from the saved clusters and every
statistic, but skips the k-means search a new update makes. A round's *first* update (no saved
state, the full search, as ``planbot analyse`` right after ``import-polis``) is timed apart,
from a store whose saved state is removed before each run: ``analyse, first update``. The
commands read the votes on a second thread while they import the analysis libraries (two cores
help them); every BLAS pool (planbot's and red-dwarf's) is held to one thread.

Usage: ``.venv/bin/python bench/bench_digest.py [--repeat N] [--keep DIR] [--planbot-only]``
(``--keep`` reuses the store built there, ``--planbot-only`` skips red-dwarf while iterating).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                  "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
REDDWARF = """
import json, sys, time, warnings
from reddwarf.implementations.base import run_pipeline
warnings.filterwarnings("ignore")
votes = [{"participant_id": int(p), "statement_id": int(s), "vote": int(v)}
         for p, s, v in (line.split(",") for line in open(sys.argv[1]).read().split())]
start = time.perf_counter()
run_pipeline(votes, random_state=0)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def write_export(folder: Path) -> Path:
    """The synthetic conversation as a Polis export (and a plain vote list for red-dwarf)."""
    from bench.bench_analysis import synthetic_votes

    votes, _ = synthetic_votes()
    folder.mkdir(parents=True, exist_ok=True)
    statements = sorted({int(s) for _, s, _ in votes})
    with (folder / "comments.csv").open("w") as fh:
        fh.write("timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,"
                 "comment-body\n")
        for s in statements:
            fh.write(f"{1_700_000_000_000 + s * 1000},x,{s},,0,0,1,Statement {s}\n")
    with (folder / "votes.csv").open("w") as fh:
        fh.write("timestamp,datetime,comment-id,voter-id,vote\n")
        for i, (p, s, v) in enumerate(votes):
            fh.write(f"{1_700_010_000_000 + i * 600},x,{s},{p},{v}\n")
    plain = folder / "votes.txt"
    plain.write_text("\n".join(f"{p},{s},{v}" for p, s, v in votes))
    return plain


def peak_of(cmd: list[str], env: dict) -> tuple[float, float, float, bytes]:
    """(wall seconds, CPU seconds, peak RSS in MB, stdout) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode()[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, out


def forget_analysis(database: Path) -> None:
    """Remove the round's saved analysis state: the next ``analyse`` is a first update."""
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM analysis_states")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder to build the store in and keep (reused when present)")
    parser.add_argument("--planbot-only", action="store_true",
                        help="time planbot's commands only (no red-dwarf, no ratio)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        work = args.keep or Path(tmp_name)
        export = work / "bg2050"
        database = work / "bg2050.db"
        env = dict(os.environ, **THREADS, PLANBOT_HOME=str(work / "home"),
                   PLANBOT_DATA_DIR=str(work / "home"), PLANBOT_LANGUAGE="en",
                   DATABASE_URL=f"sqlite:///{database}",
                   PARTICIPANT_SECRET="bench-secret-0123456789")
        planbot = [sys.executable, "-m", "bot"]
        if not database.exists():
            write_export(export)
            start = time.perf_counter()
            peak_of([*planbot, "import-polis", str(export)], env)
            print(f"store built: import-polis of 1,000,000 votes in "
                  f"{time.perf_counter() - start:.1f} s")
        plain = export / "votes.txt"
        if not plain.exists() and not args.planbot_only:
            plain = write_export(export)
        runs: dict[str, list[tuple[float, float, float]]] = {
            name: [] for name in ("analyse, first update", "analyse", "digest", "red-dwarf")}
        for _ in range(args.repeat):
            forget_analysis(database)
            for name, cmd in (("analyse, first update", [*planbot, "analyse", "--format", "json"]),
                              ("analyse", [*planbot, "analyse", "--format", "json"]),
                              ("digest", [*planbot, "digest", "--format", "json"])):
                seconds, cpu, peak, out = peak_of(cmd, env)
                assert json.loads(out), name
                runs[name].append((seconds, cpu, peak))
            if not args.planbot_only:
                _, cpu, peak, out = peak_of([sys.executable, "-c", REDDWARF, str(plain)], env)
                runs["red-dwarf"].append((json.loads(out)["seconds"], cpu, peak))
        report(runs, args.repeat)


def report(runs: dict[str, list[tuple[float, float, float]]], repeat: int) -> None:
    """Print the medians of each command and, with red-dwarf's, the ratios and the aims."""
    med = {name: tuple(statistics.median(r[i] for r in found) for i in range(3))
           for name, found in runs.items() if found}
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (medians of {repeat})")
    rd = med.get("red-dwarf")
    if rd:
        print(f"red-dwarf run_pipeline alone: {rd[0]:.2f} s, peak {rd[2]:.0f} MB "
              f"(its process: {rd[1]:.2f} CPU s, input building included)")
    for name, aim in (("analyse, first update", 5.0), ("analyse", 5.0), ("digest", 3.0)):
        s, cpu, mb = med[name]
        line = f"planbot {name}, whole command: {s:.2f} s ({cpu:.2f} CPU s), peak {mb:.0f} MB"
        if rd:
            line += (f" | {rd[0] / s:.1f}x faster than red-dwarf (aim {aim:.0f}x), "
                     f"memory {mb / rd[2]:.2f} of red-dwarf's (aim <= 0.5)")
        print(line)


if __name__ == "__main__":
    main()
