"""The analysis state of each round: what one update of the opinion groups leaves for the next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.base import StoreBase
from storage.models import AnalysisStateRow


class AnalysisStateQueries(StoreBase):
    """Read and replace a round's analysis state (one JSON document per round)."""

    def analysis_state(self, round_id: int) -> dict[str, Any] | None:
        """The round's last saved state (the dict given to :meth:`save_analysis_state`), or
        None before the first update."""
        with self._tx() as s:
            return s.scalar(select(AnalysisStateRow.state)
                            .where(AnalysisStateRow.round_id == round_id))

    def save_analysis_state(self, round_id: int, fingerprint: str, state: dict[str, Any],
                            now: datetime) -> None:
        """Replace the round's state. ``fingerprint`` (at most 64 characters) names the votes it
        was computed from; ``state`` must be JSON-serialisable. Concurrent updates: the last
        writer wins (each state is complete on its own). In a snapshot view, written in a
        transaction of its own."""
        with self._write_tx() as s:
            row = s.get(AnalysisStateRow, round_id)
            if row is None:
                s.add(AnalysisStateRow(round_id=round_id, fingerprint=fingerprint,
                                       updated_at=now, state=state))
            else:
                row.fingerprint, row.updated_at, row.state = fingerprint, now, state
