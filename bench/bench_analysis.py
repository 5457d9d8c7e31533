"""Benchmark: planbot's Polis-style analysis against red-dwarf's ``run_pipeline``.

Runs both on each bundled Polis conversation (bot/data/polis/) and on a synthetic conversation
of Bowling Green 2050 size (8,000 participants, 3,500 statements, 1,000,000 votes, latent
opinion groups, generated deterministically). Each run happens in a fresh subprocess pinned to
one BLAS/OpenMP thread, which reports the seconds spent from the vote list to the result and
the process' peak resident memory (VmHWM, i.e. ``getrusage`` maxrss, reset once the input votes
are built so both tools start level) and that peak above the memory held at that point. Also
printed: the adjusted Rand index of each tool's groups against Polis' own ``group-id``
(bundled data) or the latent groups (synthetic).
Tool ``replay`` is planbot after replaying a bundled conversation's votes day by day, each
update starting from the last one's state (``import-polis --replay-every 1d``); its time is
the whole replay.

Usage: ``.venv/bin/python bench/bench_analysis.py [--only NAME] [--skip-large] [--repeat N]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bot" / "data" / "polis"
CONVERSATIONS = ["canadian-electoral-reform", "brexit-consensus", "15-per-hour-seattle",
                 "london.youth.policing", "scoop-hivemind.ubi"]
LARGE = "synthetic-8000x3500"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def synthetic_votes(n_participants: int = 8000, n_statements: int = 3500,
                    n_votes: int = 1_000_000, n_groups: int = 4, seed: int = 2050):
    """Deterministic conversation with latent opinion groups.

    Each participant belongs to one of ``n_groups`` groups (sizes 40/30/20/10 %); each statement
    has, per group, a probability to agree, disagree or pass. Participants vote on a
    heavy-tailed number of statements (at least 1), chosen with a popularity skew, for about
    ``n_votes`` distinct votes in total.

    Returns:
        ``(votes, truth)``: votes as ``(participant_id, statement_id, vote)`` tuples (export
        convention) and the latent group per participant id.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    shares = np.array([0.4, 0.3, 0.2, 0.1])[:n_groups]
    group = rng.choice(n_groups, size=n_participants, p=shares / shares.sum())
    # Per statement and group: a lean in [-1, 1]; about a third of the statements are shared.
    lean = rng.uniform(-1, 1, size=(n_groups, n_statements))
    shared = rng.random(n_statements) < 0.3
    lean[:, shared] = lean[0, shared] * 0.9
    p_pass = rng.uniform(0.05, 0.35, size=n_statements)
    p_agree = (1 - p_pass) * (1 + lean) / 2
    weights = rng.pareto(1.5, size=n_participants) + 1
    per_person = np.maximum(1, np.round(weights / weights.sum() * n_votes)).astype(np.int64)
    per_person = np.minimum(per_person, n_statements)
    popularity = rng.pareto(2.0, size=n_statements) + 1
    popularity /= popularity.sum()
    rows, cols = [], []
    for pid, count in enumerate(per_person):
        chosen = rng.choice(n_statements, size=count, replace=False, p=popularity)
        rows.append(np.full(count, pid))
        cols.append(chosen)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    u = rng.random(len(rows))
    pa = p_agree[group[rows], cols]
    pp = p_pass[cols]
    vote = np.where(u < pa, 1, np.where(u < pa + pp, 0, -1))
    votes = list(zip(map(str, rows.tolist()), map(str, cols.tolist()), vote.tolist(), strict=False))
    truth = {str(p): int(g) for p, g in enumerate(group)}
    return votes, truth


def _load(name: str):
    """Votes, moderated-out ids and reference groups of a dataset."""
    if name == LARGE:
        votes, truth = synthetic_votes()
        return votes, [], truth
    sys.path.insert(0, str(ROOT))
    from bot.polis import read_conversation, read_groups

    conv = read_conversation(DATA / name)
    return conv.vote_triples(), sorted(conv.excluded), read_groups(DATA / name)


def _peak_mb() -> float:
    """Peak resident memory of this process: Linux VmHWM (resettable), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _start_measuring() -> float:
    """Reset the peak to the current resident size (Linux ``clear_refs`` 5) once the input
    is built, so the input's own construction does not count; return the current size."""
    import gc

    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _peak_mb()


def _worker(tool: str, name: str) -> dict:
    """Run one tool on one dataset in this (fresh) process; return timings and ARI."""
    from sklearn.metrics import adjusted_rand_score

    votes, excluded, truth = _load(name)
    if tool == "planbot":
        sys.path.insert(0, str(ROOT))
        from bot.analysis import VoteMatrix, analyse

        base = _start_measuring()
        start = time.perf_counter()
        matrix = VoteMatrix.from_votes(votes, excluded=excluded)
        result = analyse(matrix)
        result.to_dict()
        seconds = time.perf_counter() - start
        labels = {p: result.group_of(p) for p in truth}
        k = result.k
    elif tool == "replay":
        sys.path.insert(0, str(ROOT))
        from datetime import timedelta

        from bot.polis import read_conversation, replay_analysis

        conv = read_conversation(DATA / name)
        base = _start_measuring()
        start = time.perf_counter()
        result, _ = replay_analysis(conv, timedelta(days=1))
        seconds = time.perf_counter() - start
        labels = {p: result.group_of(p) for p in truth}
        k = result.k
    else:
        import warnings

        from reddwarf.implementations.base import run_pipeline

        warnings.filterwarnings("ignore")
        records = [{"participant_id": int(p), "statement_id": int(s), "vote": v}
                   for p, s, v in votes]
        base = _start_measuring()
        start = time.perf_counter()
        result = run_pipeline(records, mod_out_statement_ids=[int(s) for s in excluded],
                              random_state=0)
        seconds = time.perf_counter() - start
        ids = result.participants_df["cluster_id"].dropna()
        labels = {str(p): int(g) for p, g in ids.items()}
        k = int(ids.nunique())
    pairs = [(labels[p], g) for p, g in truth.items() if labels.get(p) is not None]
    ari = adjusted_rand_score(*zip(*pairs, strict=False)) if pairs else float("nan")
    peak = _peak_mb()
    return {"seconds": seconds, "peak_mb": peak, "delta_mb": peak - base, "ari": ari, "k": k,
            "compared": len(pairs)}


def _run(tool: str, name: str, repeat: int) -> dict:
    """Run ``repeat`` fresh worker processes; keep the fastest time and the largest peaks
    (the machine may be shared: the minimum is the least disturbed run)."""
    env = dict(os.environ, **{var: "1" for var in THREAD_VARS})
    rows = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--worker", tool, name], env=env,
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = dict(rows[0])
    best["seconds"] = min(r["seconds"] for r in rows)
    best["peak_mb"] = max(r["peak_mb"] for r in rows)
    best["delta_mb"] = max(r["delta_mb"] for r in rows)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "DATASET"), help=argparse.SUPPRESS)
    parser.add_argument("--only", help="run one dataset")
    parser.add_argument("--skip-large", action="store_true", help="skip the synthetic dataset")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh processes per tool and dataset; the fastest counts (the replay runs once)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(*args.worker)))
        return
    names = CONVERSATIONS + ([] if args.skip_large else [LARGE])
    if args.only:
        names = [args.only]
    header = (f"{'dataset':28} {'tool':8} {'seconds':>8} {'peak MB':>8} {'+MB':>8} "
              f"{'ARI':>6} {'k':>2}")
    print("one thread per process (" + ", ".join(f"{v}=1" for v in THREAD_VARS[:2])
          + f"), fastest of {args.repeat} fresh processes")
    print(header)
    aris: dict[str, list[float]] = {"planbot": [], "replay": [], "red-dwarf": []}
    for name in names:
        tools = ("planbot", "red-dwarf") if name == LARGE else ("planbot", "replay", "red-dwarf")
        rows = {tool: _run(tool, name, 1 if tool == "replay" else args.repeat) for tool in tools}
        for tool, row in rows.items():
            print(f"{name:28} {tool:8} {row['seconds']:8.3f} {row['peak_mb']:8.1f} "
                  f"{row['delta_mb']:8.1f} {row['ari']:6.3f} {row['k']:2d}")
            if name != LARGE:
                aris[tool].append(row["ari"])
        mine, theirs = rows["planbot"], rows["red-dwarf"]
        print(f"{'':28} ratio    speed-up x{theirs['seconds'] / mine['seconds']:.1f}, "
              f"peak memory {mine['peak_mb'] / theirs['peak_mb']:.2f} of red-dwarf's "
              f"(above input: {mine['delta_mb'] / max(theirs['delta_mb'], 1e-9):.2f})")
    for tool, values in aris.items():
        if values:
            print(f"mean ARI vs Polis, {tool}: {sum(values) / len(values):.3f}")


if __name__ == "__main__":
    main()
