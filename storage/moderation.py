"""Moderation by facilitators: a round's mode, the replies to review, decisions and their
audit (``moderation_decisions``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update

from storage.base import StoreBase
from storage.models import ModerationDecision, PlatformMessage, Round, Statement
from storage.records import (
    ModerationEntry,
    ModerationOutcome,
    ModerationQueue,
    ModerationRecord,
)

DECISIONS = ("accepted", "rejected")
ROUND_MODES = ("open", "strict")
HELD = ("pending", "rejected")
"""States of a reply held out of votes, copies and participation: waiting for a facilitator,
or moderated out (``Statement.moderation``)."""


class ModerationQueries(StoreBase):
    """A round's moderation mode, its replies as a facilitator reviews them, and each
    decision, applied exactly once and logged."""

    def round_moderation(self, round_id: int) -> str | None:
        """The round's moderation mode (``open`` or ``strict``), None for an unknown round."""
        with self._tx() as s:
            return s.scalar(select(Round.moderation).where(Round.id == round_id))

    def moderation_queue(self, round_id: int, limit: int) -> ModerationQueue | None:
        """Up to ``limit`` replies of a round to review: every pending one first (oldest
        first), then the latest others (newest first); deleted, late and imported replies
        are left out. None for an unknown round."""
        columns = (Statement.id, Statement.moderation, Statement.text, Statement.text_withheld,
                   Statement.attachments, Statement.platform, Statement.created_at)
        reviewable = (Statement.round_id == round_id, Statement.kind == "reply",
                      Statement.deleted_at.is_(None), Statement.source.not_in(("import", "late")))
        with self._tx() as s:
            mode = s.scalar(select(Round.moderation).where(Round.id == round_id))
            if mode is None:
                return None
            waiting = s.scalar(select(func.count()).select_from(Statement)
                               .where(*reviewable, Statement.moderation == "pending")) or 0
            pending = s.execute(select(*columns)
                                .where(*reviewable, Statement.moderation == "pending")
                                .order_by(Statement.id).limit(limit)).all()
            others = s.execute(select(*columns)
                               .where(*reviewable, Statement.moderation != "pending")
                               .order_by(Statement.id.desc())
                               .limit(max(0, limit - len(pending)))).all()
        return ModerationQueue(round_id, mode, waiting,
                               [ModerationEntry(*r) for r in (*pending, *others)])

    def decide_statement(self, *, event_key: str, statement_id: int, decision: str,
                         moderator_key: str, platform: str,
                         at: datetime) -> ModerationOutcome | None:
        """Accept or reject (``decision``: ``accepted``/``rejected``) a reply and log it, in
        one transaction; None when nothing changed: ``event_key`` (the interaction) was
        applied already, the reply is unknown or deleted, its round is closed (its result
        was published with the final digest), or it is in that state already (``auto``
        counts as accepted), so a double click is one decision.

        Accepted, it counts again unless it has nothing to analyse (attachments only, or
        came after the close); rejected, it leaves the analysis (``moderated`` false). An
        accepted reply's copies deleted by an earlier rejection are forgotten, so that the
        relay copies it again. Raises ``ValueError`` for another ``decision``."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown moderation decision {decision!r}")
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return None
            stmt = s.get(Statement, statement_id)
            if stmt is None or stmt.kind != "reply" or stmt.deleted_at is not None \
                    or s.scalar(select(Round.status).where(Round.id == stmt.round_id)) != "open":
                return None
            previous = stmt.moderation
            if previous == decision or (previous == "auto" and decision == "accepted"):
                return None
            stmt.moderation = decision
            stmt.moderated = decision == "accepted" and stmt.source != "late" and (
                stmt.text is not None or stmt.text_withheld)
            if decision == "accepted":
                s.execute(delete(PlatformMessage).where(
                    PlatformMessage.statement_id == statement_id,
                    PlatformMessage.is_copy.is_(True), PlatformMessage.deleted_at.is_not(None)))
            s.add(ModerationDecision(round_id=stmt.round_id, statement_id=statement_id,
                                     action=decision, moderator_key=moderator_key,
                                     platform=platform, event_key=event_key, decided_at=at))
            return ModerationOutcome(stmt.round_id, previous)

    def set_round_moderation(self, *, event_key: str, round_id: int, mode: str,
                             moderator_key: str, platform: str, at: datetime) -> bool:
        """Change a round's moderation mode (``open``/``strict``) and log it; False when
        ``event_key`` was applied already or the round is unknown, closed or in that mode
        already.
        Raises ``ValueError`` for another ``mode``."""
        if mode not in ROUND_MODES:
            raise ValueError(f"unknown moderation mode {mode!r}")
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            changed = s.scalar(update(Round).where(Round.id == round_id, Round.status == "open",
                                                   Round.moderation != mode)
                               .values(moderation=mode).returning(Round.id))
            if changed is None:
                return False
            s.add(ModerationDecision(round_id=round_id, statement_id=None, action=mode,
                                     moderator_key=moderator_key, platform=platform,
                                     event_key=event_key, decided_at=at))
            return True

    def moderation_log(self, round_id: int) -> list[ModerationRecord]:
        """The round's moderation audit, oldest first."""
        with self._tx() as s:
            return [ModerationRecord(*r) for r in s.execute(
                select(ModerationDecision.round_id, ModerationDecision.statement_id,
                       ModerationDecision.action, ModerationDecision.moderator_key,
                       ModerationDecision.platform, ModerationDecision.decided_at)
                .where(ModerationDecision.round_id == round_id)
                .order_by(ModerationDecision.id))]
