"""Read a Polis conversation export (the CSV files of compdemocracy/openData) into votes.

Files used: ``votes.csv`` (timestamp, comment-id, voter-id, vote; 1 agree, -1 disagree, 0 pass),
``comments.csv`` (comment-id, moderated: -1 = moderated out) and, for comparisons,
``participants-votes.csv`` (participant, group-id: Polis' 0-based opinion group, blank when the
participant was not clustered).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.analysis.matrix import VoteMatrix

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolisExport:
    """One exported conversation.

    Attributes:
        votes: deduplicated ``(participant_id, statement_id, vote)``, the last vote per pair by
            timestamp.
        statements: comment ids in export order.
        excluded: comment ids moderated out (``moderated == -1``).
        groups: Polis' group id per clustered participant id.
    """

    votes: list[tuple[str, str, int]]
    statements: list[str]
    excluded: frozenset[str]
    groups: dict[str, int]

    def matrix(self) -> VoteMatrix:
        """The :class:`VoteMatrix` of this export."""
        return VoteMatrix.from_votes(self.votes, self.statements, self.excluded)


def load_polis_export(folder: str | Path) -> PolisExport:
    """Load a Polis export folder.

    Raises:
        FileNotFoundError: a required CSV file is missing.
        KeyError / ValueError: a file lacks the expected columns or values.
    """
    folder = Path(folder)
    with open(folder / "votes.csv", newline="", encoding="utf-8") as fh:
        rows = [(int(r["timestamp"]), i, r["voter-id"], r["comment-id"], int(r["vote"]))
                for i, r in enumerate(csv.DictReader(fh))]
    rows.sort()
    last: dict[tuple[str, str], int] = {}
    for _, _, pid, tid, vote in rows:
        last[(pid, tid)] = vote
    with open(folder / "comments.csv", newline="", encoding="utf-8") as fh:
        comments = list(csv.DictReader(fh))
    statements = [c["comment-id"] for c in comments]
    excluded = frozenset(c["comment-id"] for c in comments if c["moderated"].strip() == "-1")
    groups: dict[str, int] = {}
    path = folder / "participants-votes.csv"
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["group-id"].strip():
                    groups[r["participant"]] = int(r["group-id"])
    votes = [(pid, tid, vote) for (pid, tid), vote in last.items()]
    return PolisExport(votes, statements, excluded, groups)
