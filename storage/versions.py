"""Reads of reply versions: the stances given to a reply's earlier text (issue 10)."""

from __future__ import annotations

from sqlalchemy import select

from storage.base import StoreBase
from storage.models import Stance, Statement


class VersionReads(StoreBase):
    """What the digest reports apart once a reply has been edited."""

    def earlier_stances(self, round_id: int) -> dict[int, tuple[int, int, int]]:
        """Statement id -> (agree, disagree, pass) of the stances given to an earlier text
        of an edited reply and still present (each participant's latest one): kept and
        reported apart, never counted for the reply's current text. Replies without such
        stances are left out."""
        with self._tx() as s:
            rows = s.execute(
                select(Stance.statement_id, Stance.participant_id, Stance.stance)
                .join(Statement, Statement.id == Stance.statement_id)
                # Only an edited reply (past version 1) has an earlier text: the other
                # statements' stances are never read (a million rows at Bowling Green size).
                .where(Statement.round_id == round_id, Statement.version > 1,
                       Stance.version < Statement.version,
                       Stance.removed_at.is_(None), Stance.stance.is_not(None),
                       Stance.source != "late")
                .order_by(Stance.added_at, Stance.id)).all()
        latest = {(sid, pid): stance for sid, pid, stance in rows}
        counts: dict[int, list[int]] = {}
        for (sid, _pid), stance in latest.items():
            counts.setdefault(sid, [0, 0, 0])[("agree", "disagree", "pass").index(stance)] += 1
        return {sid: (a, d, p) for sid, (a, d, p) in counts.items()}
