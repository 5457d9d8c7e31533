"""Run the Polis-style analysis (``bot.analysis``) on a round read from the store, one update
after the other: each starts from the state the last one saved (bot/analysis/history.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.analysis import AnalysisResult, VoteMatrix, analyse
from bot.analysis.history import AnalysisState
from storage.activity import VoteColumns
from storage.store import Store

_log = logging.getLogger(__name__)


def load_state(store: Store, round_id: int) -> AnalysisState | None:
    """The round's saved analysis state; None before the first update, or when the saved
    document cannot be read (then the next update starts afresh, and says so in the log)."""
    saved = store.analysis_state(round_id)
    if saved is None:
        return None
    try:
        return AnalysisState.from_json(saved)
    except (KeyError, TypeError, ValueError) as err:
        _log.warning("round %d: unreadable analysis state (%s), starting afresh", round_id,
                     type(err).__name__)
        return None


def analyse_round(store: Store, round_id: int, now: datetime,
                  votes: VoteColumns | None = None) -> AnalysisResult:
    """One update of a round's analysis on its current stances, read in one query; sections
    and replies are both statements, withdrawn stances absent, statements moderated out
    excluded. Starts from the saved state and, when the votes changed since, saves the new
    one (stamped ``now``, UTC): the same votes give the same groups without counting as a new
    update. ``votes``: the round's ``store.vote_columns`` when the caller read them already
    (the command line reads them while it imports the analysis)."""
    columns = votes if votes is not None else store.vote_columns(round_id)
    matrix = VoteMatrix.from_columns(columns.votes, columns.participants, columns.statements,
                                     columns.excluded)
    previous = load_state(store, round_id)
    result = analyse(matrix, previous=previous)
    state = result.state
    if state is not None and (previous is None or state.fingerprint != previous.fingerprint):
        store.save_analysis_state(round_id, state.fingerprint, state.to_json(), now)
    return result
