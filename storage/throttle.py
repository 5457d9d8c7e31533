"""The per-person copy limit: which replies are stored but not copied (``bot/relay.py``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from storage.base import StoreBase
from storage.models import Statement


class CopyLimitQueries(StoreBase):
    """Decide and count replies held back from copying because their author was flooding."""

    def hold_back_if_over(self, statement_id: int, limit: int, window: timedelta) -> bool:
        """Whether reply ``statement_id`` is held back from copying: its author already had
        ``limit`` replies copied (not held back), in any round, in the ``window`` before it
        (by creation time, ties by id). A reply found over the limit is marked
        ``copy_throttled`` for good, so later passes and the facilitator see it; the decision
        only looks at earlier replies, so it does not change when asked again. Reads the
        author's replies of that window only (``ix_statements_author_created``)."""
        with self._tx() as s:
            row = s.execute(select(Statement.author_id, Statement.created_at,
                                   Statement.copy_throttled)
                            .where(Statement.id == statement_id)).one_or_none()
            if row is None or row.author_id is None:
                return False
            if row.copy_throttled:
                return True
            earlier = s.scalar(
                select(func.count()).select_from(Statement)
                .where(Statement.author_id == row.author_id, Statement.kind == "reply",
                       Statement.created_at > row.created_at - window,
                       Statement.created_at <= row.created_at, Statement.id < statement_id,
                       Statement.copy_throttled.is_(False)))
            if (earlier or 0) < limit:
                return False
            s.execute(update(Statement).where(Statement.id == statement_id)
                      .values(copy_throttled=True))
            return True

    def held_back_count(self, round_id: int) -> int:
        """How many replies of the round were held back from copying by the copy limit."""
        with self._tx() as s:
            return s.scalar(select(func.count()).select_from(Statement).where(
                Statement.round_id == round_id, Statement.copy_throttled.is_(True))) or 0
