"""Reactions on the exactly-once event path: present or withdrawn, and the one stance that counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.base import StoreBase
from storage.models import (
    PRIVATE_KEY,
    Stance,
)


class ReactionWrites(StoreBase):
    """Idempotent writes of reactions: an add, a removal, a clear; each keeps exactly one
    current stance per participant and statement."""

    def _recompute_current(self, s: Session | Connection, participant_id: int,
                           statement_id: int) -> None:
        """Mark the one stance that counts: the latest-added present mapped reaction."""
        pair = {"pid": participant_id, "sid": statement_id}
        s.execute(self._hot.clear_current, pair)
        s.execute(self._hot.set_current, pair)

    def add_reaction(self, *, event_key: str | None, participant_id: int, statement_id: int,
                     platform: str, emoji_key: str, emoji_raw: str, stance: str | None,
                     at: datetime, source: str) -> bool:
        """Record a present reaction; True if the store changed.

        Adding a reaction already present changes nothing, so re-delivery is harmless even
        without an event key; an add older than the reaction's last removal (a late
        re-delivery) changes nothing either. The participant's reactions on the statement
        are read once and the current stance decided here, so a first stance costs two
        statements.
        """
        hot = self._hot
        with self._conn() as c:
            if not self._claim(c, event_key, at):
                return False
            rows = c.execute(hot.pair_rows, {"pid": participant_id, "sid": statement_id}).all()
            row = next((r for r in rows if r.emoji_key == emoji_key), None)
            if row is not None and (row.removed_at is None or row.removed_at > at):
                return False  # already present, or this add is older than its removal
            version = c.execute(hot.statement_version, {"sid": statement_id}).scalar_one()
            # A stance given to an earlier text of the reply never competes (issue 10).
            rival = _latest(r for r in rows if r.emoji_key != emoji_key and r.version == version)
            # A new row gets the highest id, so it wins a tie on time.
            wins = stance is not None and (
                rival is None or (at, row.id if row else float("inf")) > (rival.added_at, rival.id))
            current = next((r.id for r in rows if r.is_current), None)
            if wins and current is not None:
                c.execute(hot.flag_current, {"row_id": current, "flag": False})
            values = {"emoji_raw": emoji_raw, "stance": stance, "source": source,
                      "added_at": at, "is_current": wins, "version": version}
            if row is None:
                c.execute(hot.insert_stance, dict(
                    values, participant_id=participant_id, statement_id=statement_id,
                    emoji_key=emoji_key, platform=platform, removed_at=None))
            else:
                c.execute(hot.revive_stance, dict(values, row_id=row.id))
            return True

    def add_late_reaction(self, *, event_key: str | None, participant_id: int,
                          statement_id: int, platform: str, emoji_key: str, emoji_raw: str,
                          stance: str | None, at: datetime) -> bool:
        """Keep a reaction added after its round closed: source ``late``, never current, so
        the final tally stays as it was. True if stored; one already there changes nothing."""
        with self._conn() as c:
            if not self._claim(c, event_key, at):
                return False
            rows = c.execute(self._hot.pair_rows, {"pid": participant_id, "sid": statement_id}).all()
            if any(r.emoji_key == emoji_key and r.removed_at is None for r in rows):
                return False
            if any(r.emoji_key == emoji_key for r in rows):
                return False  # a withdrawn reaction stays withdrawn in the final tally
            c.execute(self._hot.insert_stance, {
                "participant_id": participant_id, "statement_id": statement_id,
                "emoji_key": emoji_key, "emoji_raw": emoji_raw, "stance": stance,
                "source": "late", "platform": platform, "added_at": at, "removed_at": None,
                "is_current": False, "version": c.execute(
                    self._hot.statement_version, {"sid": statement_id}).scalar_one()})
            return True

    def remove_reactions(self, *, event_key: str | None, statement_id: int,
                         participant_id: int | None, emoji_key: str | None, at: datetime,
                         observed: bool = False, platform: str | None = None) -> bool:
        """Withdraw present reactions on a statement: one participant's (or everyone's when
        ``participant_id`` is None), one emoji (or all when ``emoji_key`` is None).

        True if the store changed; removing what is already gone, or what was added after
        ``at`` (a removal delivered late), changes nothing. ``observed`` marks a removal
        seen on the platform by reconciliation: it holds whatever the timestamps say. A
        removal of one participant's emoji that arrives before its add (Slack retries an
        add minutes later) leaves a removed row on ``platform``, so the late add is known
        to be older and ignored.
        """
        with self._conn() as s:
            if not self._claim(s, event_key, at):
                return False
            if participant_id is not None and emoji_key is not None:
                return self._remove_one(s, participant_id, statement_id, emoji_key, at,
                                        observed, platform)
            # A moderator clearing reactions leaves private votes alone: they are no reaction.
            q = select(Stance.id, Stance.participant_id).where(
                Stance.statement_id == statement_id, Stance.removed_at.is_(None),
                Stance.via == "reaction")
            if not observed:
                q = q.where(Stance.added_at <= at)
            if participant_id is not None:
                q = q.where(Stance.participant_id == participant_id)
            if emoji_key is not None:
                q = q.where(Stance.emoji_key == emoji_key)
            hits = s.execute(q).all()
            if not hits:
                return False
            s.execute(update(Stance).where(Stance.id.in_([h[0] for h in hits]))
                      .values(removed_at=at))
            for pid in {h[1] for h in hits}:
                self._recompute_current(s, pid, statement_id)
            return True

    def set_private_stance(self, *, event_key: str | None, participant_id: int,
                           statement_id: int, platform: str, stance: str | None,
                           at: datetime) -> bool:
        """Record a private vote (the Vote button): ``stance`` agree/disagree/pass becomes the
        current stance, as the latest given; None withdraws the private vote, and the latest
        present reaction, if any, counts again. True if the store changed.

        One row per pair (``emoji_key`` :data:`storage.models.PRIVATE_KEY`, ``via`` private),
        updated in place: a second click on the same stance (``event_key`` the interaction,
        or the same stance already current) changes nothing.
        """
        hot = self._hot
        with self._conn() as c:
            if not self._claim(c, event_key, at):
                return False
            rows = c.execute(hot.pair_rows, {"pid": participant_id, "sid": statement_id}).all()
            row = next((r for r in rows if r.emoji_key == PRIVATE_KEY), None)
            present = row is not None and row.removed_at is None
            if stance is None:
                if row is None or not present:
                    return False
                c.execute(hot.remove_stance, {"row_id": row.id, "removed_at": at})
                self._recompute_current(c, participant_id, statement_id)
                return True
            if present and row is not None and row.stance == stance and row.is_current:
                return False  # the same vote again: a double click
            c.execute(hot.clear_current, {"pid": participant_id, "sid": statement_id})
            # The vote is given to the text shown now, as a reaction is (issue 10).
            version = c.execute(hot.statement_version, {"sid": statement_id}).scalar_one()
            values = {"emoji_raw": PRIVATE_KEY, "stance": stance, "source": "live",
                      "added_at": at, "is_current": True, "version": version}
            if row is None:
                c.execute(hot.insert_stance, dict(
                    values, participant_id=participant_id, statement_id=statement_id,
                    emoji_key=PRIVATE_KEY, platform=platform, removed_at=None, via="private"))
            else:
                c.execute(hot.revive_stance, dict(values, row_id=row.id))
            return True

    def _remove_one(self, c: Connection, participant_id: int, statement_id: int,
                    emoji_key: str, at: datetime, observed: bool, platform: str | None) -> bool:
        """One participant's one emoji: the event path's removal, on prebuilt statements.
        When the removed reaction was the current stance, the latest other one takes over."""
        hot = self._hot
        rows = c.execute(hot.pair_rows, {"pid": participant_id, "sid": statement_id}).all()
        row = next((r for r in rows if r.emoji_key == emoji_key), None)
        if row is not None and row.removed_at is None and (observed or row.added_at <= at):
            c.execute(hot.remove_stance, {"row_id": row.id, "removed_at": at})
            successor = _latest(r for r in rows if r.id != row.id and r.version == row.version
                                ) if row.is_current else None  # the current row: current text
            if successor is not None:
                c.execute(hot.flag_current, {"row_id": successor.id, "flag": True})
            return True
        if platform and not observed:
            self._remember_removal(c, row, participant_id, statement_id, emoji_key, platform,
                                   at)
        return False

    def _remember_removal(self, c: Connection, row: Row[Any] | None, participant_id: int,
                          statement_id: int,
                          emoji_key: str, platform: str, at: datetime) -> None:
        if row is None:
            c.execute(self._hot.insert_stance, {
                "participant_id": participant_id, "statement_id": statement_id,
                "emoji_key": emoji_key, "emoji_raw": emoji_key, "stance": None,
                "source": "live", "platform": platform, "added_at": at, "removed_at": at,
                "is_current": False})
        elif row.removed_at is not None and row.removed_at < at:
            c.execute(self._hot.remove_stance, {"row_id": row.id, "removed_at": at})



def _latest(rows: Iterable[Row[Any]]) -> Row[Any] | None:
    """The reaction that is the stance among ``rows``: present, mapped, latest added (ties
    to the later row); None if there is none."""
    live = [r for r in rows if r.removed_at is None and r.stance is not None]
    return max(live, key=lambda r: (r.added_at, r.id)) if live else None
