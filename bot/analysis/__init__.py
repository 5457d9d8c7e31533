"""Polis-style opinion analysis of a round's votes (numpy and SciPy only).

    from bot.analysis import VoteMatrix, analyse
    matrix = VoteMatrix.from_votes(votes, statements=ids, excluded=moderated_out)
    result = analyse(matrix)
    result.to_dict()        # groups, common_ground, divisive, uncertain, consensus, ...
    result.group_of("42")   # 0-based group id or None

The pipeline follows polismath (compdemocracy/polis, math/src/polismath/math/); each module
cites the file and function its formulas come from.
"""

from bot.analysis.matrix import VoteMatrix
from bot.analysis.pipeline import analyse
from bot.analysis.result import AnalysisResult

__all__ = ["AnalysisResult", "VoteMatrix", "analyse"]
