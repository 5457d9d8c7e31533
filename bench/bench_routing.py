"""Benchmark: statements left under 10 votes with Polis' comment routing vs random order.

Replays each bundled Polis conversation (bot/data/polis/) with the same votes per
participant: participants arrive in join order and each casts as many votes as they did in
the real conversation, on statements chosen either by routing (:mod:`bot.routing`: the
highest priority, or a draw weighted by priority as Polis' server does) or uniformly at
random among those they have not voted on. A vote a participant really cast is replayed as
cast; one they never cast is drawn from that statement's real agree / disagree / pass shares
(plus one of each, Laplace). The opinion map (each statement's extremity) is recomputed after
every ``--refresh`` participants, as Polis' math worker updates it between votes. Printed per
conversation and policy: statements under 10 votes at the end (mean over ``--seeds`` runs),
and the total votes (identical across policies by construction).

Usage: ``.venv/bin/python bench/bench_routing.py [--only NAME] [--seeds N] [--refresh N]``
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.polis import read_conversation
from bot.routing import Candidate, extremities, next_statement

DATA = Path(__file__).resolve().parents[1] / "bot" / "data" / "polis"
CONVERSATIONS = ["london.youth.policing", "brexit-consensus", "15-per-hour-seattle",
                 "scoop-hivemind.ubi", "canadian-electoral-reform"]
THRESHOLD = 10
POLICIES = ("routing", "routing-draw", "random")


def simulate(folder: Path, policy: str, seed: int, refresh: int = 10,
             threshold: int = THRESHOLD) -> tuple[int, int]:
    """Replay ``folder``'s conversation choosing statements by ``policy`` (one of
    :data:`POLICIES`); returns (statements under ``threshold`` votes, votes cast).

    Every real vote, in time order, becomes one vote by the same participant at the same
    moment, on a statement the policy picks among those written by then (the conversation
    grows as it did) that they have not voted on; a moment with none left casts nothing.
    """
    conv = read_conversation(folder)
    tids = [s.external_id for s in conv.statements if s.moderated]
    born = {s.external_id: s.created_at.timestamp() * 1000 for s in conv.statements}
    number = {t: i for i, t in enumerate(tids)}
    real = {(p, t): v for p, t, v in conv.vote_triples() if t in number}
    shares = {t: [1, 1, 1] for t in tids}  # agree, disagree, pass counts, Laplace-smoothed
    for (_, t), v in real.items():
        shares[t][(1, -1, 0).index(v)] += 1
    rng = random.Random(seed)
    counts = {t: [0, 0, 0] for t in tids}
    voted: dict[str, set[int]] = defaultdict(set)
    cast: list[tuple[str, str, int]] = []
    extremity: dict[int, float] = {}
    for person, tid_real, _, at in conv.history:
        if tid_real not in number:
            continue
        if policy != "random" and len(cast) % (refresh * 10) == 0 and cast:
            extremity = {number[t]: e for t, e in extremities(cast, tids).items()}
        open_ = [t for t in tids if born[t] <= at and number[t] not in voted[person]]
        if not open_:
            continue
        tid = _choose(policy, open_, counts, voted[person], extremity, number, rng)
        vote = real.get((person, tid))
        if vote is None:
            vote = rng.choices((1, -1, 0), weights=shares[tid])[0]
        counts[tid][(1, -1, 0).index(vote)] += 1
        voted[person].add(number[tid])
        cast.append((person, tid, vote))
    return sum(1 for c in counts.values() if sum(c) < threshold), len(cast)


def _choose(policy: str, tids: list[str], counts: dict[str, list[int]], voted: set[int],
            extremity: dict[int, float], number: dict[str, int], rng: random.Random) -> str:
    if policy == "random":
        return rng.choice([t for t in tids if number[t] not in voted])
    candidates = [Candidate(number[t], "reply", *counts[t]) for t in tids]
    chosen = next_statement(candidates, voted, extremity,
                            rng if policy == "routing-draw" else None)
    assert chosen is not None
    return next(t for t in tids if number[t] == chosen.statement_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--refresh", type=int, default=10)
    args = parser.parse_args()
    print(f"{'conversation':28} {'policy':13} {'under ' + str(THRESHOLD):>9} {'votes':>7}")
    for name in CONVERSATIONS:
        if args.only and args.only != name:
            continue
        for policy in POLICIES:
            runs = [simulate(DATA / name, policy, seed, args.refresh)
                    for seed in range(args.seeds)]
            under = sum(r[0] for r in runs) / len(runs)
            print(f"{name:28} {policy:13} {under:9.1f} {runs[0][1]:7d}", flush=True)


if __name__ == "__main__":
    main()
