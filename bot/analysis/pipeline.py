"""The Polis pipeline end to end: who is clustered, PCA, groups, statistics, selections.

Order of steps as polismath's conversation update (math/src/polismath/math/conversation.clj):
in-conv participants, PCA of the mean-imputed matrix with moderated-out columns zeroed,
sparsity-aware projection, base clusters then opinion groups by silhouette, group votes, repness,
group-informed consensus and consensus statements.
"""

from __future__ import annotations

import logging

import numpy as np

from bot.analysis import highlights
from bot.analysis.clustering import Grouping, in_conversation
from bot.analysis.history import (
    LETTERS,
    AnalysisState,
    group_with_history,
    votes_fingerprint,
)
from bot.analysis.matrix import VoteMatrix
from bot.analysis.pca import Projection, polis_pca
from bot.analysis.result import AnalysisResult
from bot.analysis.stats import (
    count_votes,
    group_informed_consensus,
    group_stats,
    select_consensus,
    select_representative,
)

_log = logging.getLogger(__name__)


def analyse(matrix: VoteMatrix, random_state: int = 0,
            previous: AnalysisState | None = None) -> AnalysisResult:
    """Run the Polis-style analysis on one round's votes.

    Args:
        matrix: the round's :class:`VoteMatrix`.
        random_state: seed of the k-means++ restarts; the result is a pure function of the
            matrix, this seed and ``previous``.
        previous: the state the last update left (``result.state``), or None for a first
            update: clustered participants stay clustered, clusters start from the previous
            ones, k changes only after consecutive wins, letters follow shared members
            (:mod:`bot.analysis.history`).

    Returns:
        :class:`AnalysisResult`. With nobody clustered, it has no groups (k = 0); with a
        single group (k = 1) there are no representative statements against other groups.
    """
    voted = matrix.voted_statements()
    included = matrix.included_statements()
    columns = np.flatnonzero(voted & included)
    n_zeroed = int(np.count_nonzero(voted & ~included))
    projection = polis_pca(matrix.votes, columns, n_zeroed=n_zeroed)
    clustered = in_conversation(matrix.counts_per_participant(), int(voted.sum()))
    if previous is not None:
        # conversation.clj :in-conv: once in, a participant stays in.
        kept = set(previous.in_conv)
        clustered |= np.fromiter((p in kept for p in matrix.participants), dtype=bool,
                                 count=len(matrix.participants))
    rows = np.flatnonzero(clustered)
    ids = [matrix.participants[r] for r in rows]
    fingerprint = votes_fingerprint(matrix.participants, matrix.statements, matrix.votes)
    update = group_with_history(projection.coords[rows], ids, previous, fingerprint,
                                random_state=random_state)
    _log.debug("analysed %d participants x %d statements: %d clustered, k=%d",
               *matrix.shape, len(rows), update.grouping.k)
    return summarise(matrix, projection, rows, update.grouping, update.letters, update.state)


def summarise(matrix: VoteMatrix, projection: Projection, rows: np.ndarray, grouping: Grouping,
              letters: tuple[str, ...] | None = None,
              state: AnalysisState | None = None) -> AnalysisResult:
    """Group votes, repness, consensus and the digest's selections for given groups.

    Args:
        matrix: the round's votes.
        projection: the :class:`~bot.analysis.pca.Projection` of every participant.
        rows: clustered participants' matrix rows, shape (n_clustered,).
        grouping: :class:`~bot.analysis.clustering.Grouping` of those rows (``labels`` in
            ``0..k-1``), computed here or given (tests pass Polis' own groups).
        letters: a letter per group (default A, B, ... in group order).
        state: the state to hand to the next update, if any.

    Returns:
        :class:`AnalysisResult`. Repness over the groups (repness.clj ``conv-repness``,
        ``select-rep-comments``), consensus over every participant (``consensus-stats``,
        ``select-consensus-comments``), group-aware consensus (conversation.clj
        ``:group-aware-consensus``); moderated-out statements are never selected.
    """
    k = grouping.k
    candidates = np.flatnonzero(matrix.included_statements())
    if k:
        counts = count_votes(matrix.votes[rows], grouping.labels, k)
    else:
        counts = count_votes(matrix.votes[rows][:0], np.zeros(0, dtype=np.int64), 0)
    stats = group_stats(counts)
    overall = count_votes(matrix.votes)
    gic = group_informed_consensus(counts)
    representative = select_representative(stats, candidates) if k > 1 else [[] for _ in range(k)]
    return AnalysisResult(
        matrix=matrix,
        projection=projection,
        clustered_rows=rows,
        grouping=grouping,
        group_counts=counts,
        overall_counts=overall,
        stats=stats,
        gic=gic,
        representative=representative,
        consensus=select_consensus(overall, candidates),
        common_ground=highlights.common_ground(stats, gic, candidates) if k else
        {"agree": [], "disagree": []},
        divisive=highlights.divisive(stats, candidates) if k > 1 else [],
        uncertain=highlights.uncertain(overall, candidates),
        letters=letters if letters is not None else tuple(LETTERS[:k]),
        state=state,
    )
