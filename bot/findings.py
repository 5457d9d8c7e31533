"""Run the Polis-style analysis (``bot.analysis``) on a round read from the store."""

from __future__ import annotations

from bot.analysis import AnalysisResult, VoteMatrix, analyse
from storage.store import Store


def analyse_round(store: Store, round_id: int) -> AnalysisResult:
    """The analysis of a round's current stances, read in one query; sections and replies
    are both statements, withdrawn stances absent, statements moderated out excluded."""
    matrix = store.vote_triples(round_id)
    return analyse(VoteMatrix.from_votes(matrix.votes, statements=matrix.statement_ids,
                                         excluded=matrix.excluded))
