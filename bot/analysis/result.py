"""The outcome of :func:`bot.analysis.analyse` and its JSON-ready form."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from bot.analysis.clustering import Grouping
from bot.analysis.history import AnalysisState
from bot.analysis.matrix import VoteMatrix
from bot.analysis.pca import Projection
from bot.analysis.stats import Counts, GroupStats

_log = logging.getLogger(__name__)


def _num(value: float | np.floating[Any]) -> float | None:
    """JSON has no NaN/inf: map them to None."""
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Everything the analysis computed, indexed by matrix rows and columns.

    Use :meth:`group_of` and :meth:`to_dict`; the array attributes are for callers that need
    more (plots, exports). Shapes: ``clustered_rows`` (n_clustered,) row indices;
    ``grouping.labels`` (n_clustered,) group ids; ``group_counts``/``stats`` (k, statements);
    ``overall_counts`` (statements,) over every participant; ``gic`` two arrays (statements,).
    Selections (``representative``, ``consensus``, ``common_ground``, ``divisive``,
    ``uncertain``) refer to statements by column index. ``letters`` names each group (kept
    from update to update by shared members); ``state`` is what the next update starts from.
    """

    matrix: VoteMatrix
    projection: Projection
    clustered_rows: np.ndarray
    grouping: Grouping
    group_counts: Counts
    overall_counts: Counts
    stats: GroupStats
    gic: tuple[np.ndarray, np.ndarray]
    representative: list[list[dict[str, Any]]]
    consensus: dict[str, list[dict[str, Any]]]
    common_ground: dict[str, list[dict[str, Any]]]
    divisive: list[dict[str, Any]]
    uncertain: list[dict[str, Any]]
    letters: tuple[str, ...] = ()
    state: AnalysisState | None = None

    @property
    def k(self) -> int:
        """Number of opinion groups (0 when nobody is clustered)."""
        return self.grouping.k

    @cached_property
    def _group_by_participant(self) -> dict[str, int]:
        ids = self.matrix.participants
        return {ids[row]: int(g) for row, g in zip(self.clustered_rows, self.grouping.labels, strict=False)}

    def group_of(self, participant_id: str) -> int | None:
        """Opinion group id (0-based, 0 = largest group) of a participant, or None when the
        participant is not clustered (too few votes) or unknown."""
        return self._group_by_participant.get(str(participant_id))

    def letter(self, group_id: int) -> str:
        """The group's letter, kept from update to update by shared members (``A``...)."""
        return self.letters[group_id]

    def members(self, group_id: int) -> list[str]:
        """Participant ids of a group, in matrix row order."""
        ids = self.matrix.participants
        return [ids[r] for r, g in zip(self.clustered_rows, self.grouping.labels, strict=False) if g == group_id]

    def coordinates(self) -> dict[str, tuple[float, float]]:
        """Projected (x, y) of every participant (Polis' sparsity-aware projection)."""
        return {pid: (float(x), float(y))
                for pid, (x, y) in zip(self.matrix.participants, self.projection.coords[:, :2], strict=False)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary.

        Keys: ``participants`` (count), ``statements`` (count of analysed statements),
        ``clustered`` (participant ids), ``k``, ``silhouette``, ``silhouettes`` (per tried k),
        ``groups`` (id, size, members, representative statements with their Polis statistics),
        ``common_ground`` ({agree, disagree}), ``divisive``, ``uncertain``, ``consensus``
        (Polis' consensus statements {agree, disagree}), ``statement_stats`` (per statement:
        votes overall and per group, group-informed consensus) and ``pca`` (summary).
        Statement references are statement ids under the key ``statement``.
        """
        sid = self.matrix.statements
        ids = self.matrix.participants

        def ref(item: dict[str, Any]) -> dict[str, Any]:
            out = {"statement": sid[item["column"]]}
            out.update({key: _clean(value) for key, value in item.items() if key != "column"})
            return out

        groups = []
        for g in range(self.k):
            members = self.members(g)
            reps = []
            for item in self.representative[g] if g < len(self.representative) else []:
                j = item["column"]
                entry = ref(item)
                entry.update({name: _num(getattr(self.stats, name)[g, j]) for name in
                              ("pa", "pd", "pat", "pdt", "ra", "rd", "rat", "rdt")})
                entry.update({"na": int(self.stats.na[g, j]), "nd": int(self.stats.nd[g, j]),
                              "ns": int(self.stats.ns[g, j])})
                entry.setdefault("best_agree", False)
                reps.append(entry)
            groups.append({"id": g, "letter": self.letter(g), "size": len(members),
                           "members": members,
                           "representative": reps})
        included = self.matrix.included_statements()
        columns = np.flatnonzero(included)
        statement_stats = dict(zip([sid[j] for j in columns], self._statement_stats(columns),
                                   strict=True))
        coords = self.projection.coords[self.clustered_rows]
        pca = {
            "statements_used": len(self.projection.columns),
            "eigenvalues": [_num(v) for v in self.projection.eigenvalues],
            "x_range": _range(coords[:, 0]) if len(coords) else None,
            "y_range": _range(coords[:, 1]) if len(coords) else None,
            "group_centres": [[_num(v) for v in coords[self.grouping.labels == g].mean(axis=0)]
                              for g in range(self.k)],
            "base_clusters": len(self.grouping.base_centres),
        }
        return {
            "participants": len(ids),
            "statements": int(included.sum()),
            "clustered": [ids[r] for r in self.clustered_rows],
            "k": self.k,
            "silhouette": _num(self.grouping.silhouette),
            "silhouettes": {str(k): _num(v) for k, v in self.grouping.silhouettes.items()},
            "groups": groups,
            "common_ground": {side: [ref(i) for i in items]
                              for side, items in self.common_ground.items()},
            "divisive": [ref(i) for i in self.divisive],
            "uncertain": [ref(i) for i in self.uncertain],
            "consensus": {side: [ref(i) for i in items] for side, items in self.consensus.items()},
            "statement_stats": statement_stats,
            "pca": pca,
        }

    def _statement_stats(self, columns: np.ndarray) -> list[dict[str, Any]]:
        """:meth:`to_dict`'s ``statement_stats`` entries of ``columns``, in order: each
        array is turned into Python numbers at once (``tolist``), not element by element."""
        overall, counts, k = self.overall_counts, self.group_counts, self.k
        agree, disagree, seen = (_ints(a[columns]) for a in
                                 (overall.agree, overall.disagree, overall.seen))
        passes = _ints(overall.passes[columns])
        none = [None] * len(columns)
        gic_agree, gic_disagree = (_nums(c[columns]) for c in self.gic) if k else (none, none)
        groups = [list(zip(_ints(counts.agree[g, columns]), _ints(counts.disagree[g, columns]),
                           _ints(counts.seen[g, columns]), _nums(self.stats.pa[g, columns]),
                           _nums(self.stats.pd[g, columns]), strict=True))
                  for g in range(k)]
        return [{"agree": agree[i], "disagree": disagree[i], "pass": passes[i],
                 "votes": seen[i], "consensus_agree": gic_agree[i],
                 "consensus_disagree": gic_disagree[i],
                 "groups": [{"agree": a, "disagree": d, "votes": v, "pa": pa, "pd": pd}
                            for a, d, v, pa, pd in (rows[i] for rows in groups)]}
                for i in range(len(columns))]


def _ints(values: np.ndarray) -> list[int]:
    """Counts as Python ints (truncated as ``int()`` truncates)."""
    out: list[int] = values.astype(np.int64).tolist()
    return out


def _nums(values: np.ndarray) -> list[float | None]:
    """Floats as Python floats, NaN and infinities as None (JSON has none)."""
    return [v if math.isfinite(v) else None for v in values.astype(np.float64).tolist()]


def _range(values: np.ndarray) -> list[float | None]:
    return [_num(values.min()), _num(values.max())]


def _clean(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _num(value)
    return value
