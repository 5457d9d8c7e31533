"""Invitations for another place (Discord guild, Slack workspace) to join a round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from storage.base import StoreBase
from storage.models import RoundInvitation
from storage.records import InvitationUse, Place


class InvitationQueries(StoreBase):
    """Create an invitation (only the hash of its code is kept) and use it once."""

    def create_invitation(self, round_id: int, code_hash: str, created_at: datetime,
                          expires_at: datetime) -> None:
        """Record an invitation to round ``round_id`` whose code hashes to ``code_hash``
        (hex SHA-256), usable until ``expires_at``."""
        with self._tx() as s:
            s.add(RoundInvitation(round_id=round_id, code_hash=code_hash, created_at=created_at,
                                  expires_at=expires_at))

    def invitation_round(self, code_hash: str, place: Place, now: datetime) -> int | None:
        """The round an invitation is for, if ``place`` may use it now: unused and not
        expired, or already used by ``place`` itself (running the same join again); else
        None. Uses nothing (:meth:`use_invitation` does)."""
        with self._tx() as s:
            row = s.execute(select(RoundInvitation).where(
                RoundInvitation.code_hash == code_hash)).scalar_one_or_none()
            if row is None:
                return None
            if row.used_at is None:
                return row.round_id if row.expires_at > now else None
            mine = (row.used_platform, row.used_workspace) == (place.platform, place.workspace_id)
            return row.round_id if mine else None

    def use_invitation(self, code_hash: str, place: Place, now: datetime) -> InvitationUse:
        """Use the invitation whose code hashes to ``code_hash`` for ``place``: from then on
        ``place`` belongs to the round. One statement marks it used, so two places racing for
        one code cannot both win. Gives nothing for an unknown, expired or used code."""
        with self._tx() as s:
            round_id = s.scalar(
                update(RoundInvitation)
                .where(RoundInvitation.code_hash == code_hash, RoundInvitation.used_at.is_(None),
                       RoundInvitation.expires_at > now)
                .values(used_at=now, used_platform=place.platform,
                        used_workspace=place.workspace_id)
                .returning(RoundInvitation.round_id))
            if round_id is not None:
                return InvitationUse(round_id, None)
            row = s.execute(select(RoundInvitation.used_at, RoundInvitation.expires_at)
                            .where(RoundInvitation.code_hash == code_hash)).one_or_none()
        if row is None:
            return InvitationUse(None, "unknown")
        return InvitationUse(None, "used" if row.used_at is not None else "expired")
