"""Comment routing as Polis does it: which statement a participant is shown next.

Polis gives every statement a priority (``math/src/polismath/math/conversation.clj``,
``importance-metric`` and ``priority-metric``, compdemocracy/polis@08e03eb)::

    importance = (1 - p) * (E + 1) * a        p = (P + 1) / (S + 2),  a = (A + 1) / (S + 2)
    priority   = (importance * (1 + 8 * 2 ** (-S / 5))) ** 2

where A, P and S are the statement's agrees, passes and votes seen (agrees + disagrees +
passes), and E its extremity: the length of the statement's own projection on the opinion
map, i.e. of a participant who agreed with it alone projected with the sparsity-aware scaling
(``with-proj-and-extremtiy``, pca.clj ``pca-project-cmnts``)::

    E_j = sqrt(m) * |1 - center_j| * ||components[:, j]||

(m statements in the PCA; Polis' internal sign is the opposite, agree = -1, which changes
no length). The factor ``1 + 8 * 2 ** (-S / 5)`` lets new statements with few votes bubble
up. Polis then draws the next statement at random with odds proportional to priority
(``selectProbabilistically`` in ``server/src/server.ts``); planbot draws the same way with
a generator it is given (the voting front seeds it with the participant and their number of
votes, so the statement shown stays the same until they vote), or, without one, takes the
highest priority (ties to the older statement). Simulated on the bundled conversations
(``bench/bench_routing.py``), the draw leaves fewer statements under 10 votes than random
order; always taking the highest concentrates votes on the most important statements and
does not. A statement the participant voted on is never
shown again, and the round's sections come before its replies while any is unvoted.

Votes count from every participant (Polis sums its opinion groups' votes, i.e. clustered
participants only; in a chat round nearly everyone who votes is).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

NEW_STATEMENT_BOOST = 8
"""Polis' weight of the few-votes boost ``1 + 8 * 2 ** (-S / 5)``."""
BOOST_HALF_LIFE = 5
"""Votes seen that halve the boost."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A statement that can be shown: ``kind`` ``section`` or ``reply``; ``agree``,
    ``disagree``, ``passes`` its current stances (counts)."""

    statement_id: int
    kind: str
    agree: int = 0
    disagree: int = 0
    passes: int = 0

    @property
    def seen(self) -> int:
        """S: the votes the statement has (agrees, disagrees and passes)."""
        return self.agree + self.disagree + self.passes


def importance(agree: int, passes: int, seen: int, extremity: float) -> float:
    """Polis' ``importance-metric``: ``(1 - p) * (E + 1) * a`` with Laplace-smoothed pass
    share ``p = (P + 1) / (S + 2)`` and agree share ``a = (A + 1) / (S + 2)``.

    >>> importance(1, 0, 1, 0.0) == (2 / 3) * (2 / 3)
    True
    """
    p = (passes + 1) / (seen + 2)
    a = (agree + 1) / (seen + 2)
    return (1 - p) * (extremity + 1) * a


def priority(agree: int, passes: int, seen: int, extremity: float) -> float:
    """Polis' ``priority-metric`` for a statement that is not a meta statement:
    ``(importance * (1 + 8 * 2 ** (-S / 5))) ** 2`` (squared "to deepen our bias").

    >>> round(priority(0, 0, 0, 0.0), 4)  # a statement nobody voted on: (0.25 * 9) ** 2
    5.0625
    """
    boost = 1 + NEW_STATEMENT_BOOST * 2 ** (-seen / BOOST_HALF_LIFE)
    return (importance(agree, passes, seen, extremity) * boost) ** 2


def extremities(votes: Iterable[tuple[str, str, int]],
                statements: Sequence[str]) -> dict[str, float]:
    """Each voted statement's extremity E on the opinion map of ``votes``.

    Args:
        votes: ``(participant, statement, vote)`` triples, vote 1 agree / -1 disagree / 0
            pass, one per pair.
        statements: every statement id, in order; those nobody voted on get no entry.

    Returns:
        statement id -> E (unitless, >= 0), from :func:`bot.analysis.pca.polis_pca`.
    """
    import numpy as np

    from bot.analysis.matrix import VoteMatrix
    from bot.analysis.pca import polis_pca

    matrix = VoteMatrix.from_votes(votes, statements)
    columns = np.flatnonzero(matrix.voted_statements())
    if len(columns) == 0:
        return {}
    pca = polis_pca(matrix.votes, columns)
    lengths = np.linalg.norm(pca.components, axis=0)
    scale = math.sqrt(len(columns))
    return {matrix.statements[int(j)]: float(scale * abs(1 - c) * n)
            for j, c, n in zip(columns, pca.center, lengths, strict=True)}


def next_statement(candidates: Sequence[Candidate], voted: set[int],
                   extremity: Mapping[int, float],
                   rng: random.Random | None = None) -> Candidate | None:
    """The statement to show next to a participant who voted on ``voted``.

    Sections first while any is unvoted, then replies; among those, the highest
    :func:`priority` (ties to the lower id), or a draw weighted by priority when ``rng`` is
    given (Polis' ``selectProbabilistically``). None when nothing is left.
    """
    unvoted = [c for c in candidates if c.statement_id not in voted]
    sections = [c for c in unvoted if c.kind == "section"]
    pool = sections or unvoted
    if not pool:
        return None
    weights = [priority(c.agree, c.passes, c.seen, extremity.get(c.statement_id, 0.0))
               for c in pool]
    if rng is not None:
        return rng.choices(pool, weights=weights)[0]
    best = max(range(len(pool)), key=lambda i: (weights[i], -pool[i].statement_id))
    return pool[best]
