"""Bulk import and export of whole conversations (Polis)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import (
    String,
    case,
    func,
    insert,
    select,
)
from sqlalchemy.orm import aliased

from storage.base import StoreBase
from storage.models import (
    Participant,
    Round,
    Section,
    Stance,
    Statement,
)
from storage.records import (
    ExportedConversation,
    ExportedStatement,
    ExportedVote,
    ImportedStatement,
)
from storage.rounds import new_public_id


class ConversationQueries(StoreBase):
    """Whole conversations in and out, in one transaction each."""

    def round_by_source(self, source_hash: str) -> int | None:
        """The id of the round imported from a conversation with this fingerprint, or None."""
        with self._tx() as s:
            return s.scalar(select(Round.id).where(Round.source_hash == source_hash))

    def import_conversation(self, *, name: str, language: str, opened_at: datetime,
                            closed_at: datetime,
                            source_hash: str, platform: str,
                            participants: Sequence[tuple[str, str]],
                            statements: Sequence[ImportedStatement], votes: Sequence[tuple[str, str, str, datetime]],
                            now: datetime, progress: Callable[[int], None] | None = None,
                            batch: int = 50_000) -> int:
        """Bulk-load a conversation as a new, already closed round (it happened elsewhere,
        between ``opened_at`` and ``closed_at``), all in one transaction; returns its id. Its
        retention period counts from ``now``, when planbot received it (``kept_from``).

        ``participants`` are (key_hash, external id); ``votes``
        (external participant id, external statement id, stance, at), already reduced to one
        per pair. Votes go straight in as current stances (source ``import``). ``progress``
        is called with the number of votes written after each batch. A failure leaves
        nothing behind; the unique ``source_hash`` refuses a second import of the same data
        (``IntegrityError``).
        """
        with self._tx() as s:
            rnd = Round(plan_version_id=None, name=name[:200], language=language,
                        status="closed", source="polis", source_hash=source_hash,
                        opened_at=opened_at, closed_at=closed_at, kept_from=now,
                        public_id=new_public_id())
            s.add(rnd)
            s.flush()
            round_id = rnd.id
            if participants:
                s.execute(self._insert_ignore(Participant), [
                    dict(key_hash=k, platform=platform, external_id=ext, first_seen_at=now)
                    for k, ext in participants])
            keys = [k for k, _ in participants]
            pids: dict[str, int] = {}
            for i in range(0, len(keys), 10_000):
                pids.update({ext: pid for pid, ext in s.execute(
                    select(Participant.id, Participant.external_id)
                    .where(Participant.key_hash.in_(keys[i:i + 10_000])))})
            if statements:
                s.execute(insert(Statement), [
                    dict(round_id=round_id, kind="reply",
                         author_id=pids.get(st.author) if st.author is not None else None,
                         platform=platform, text=st.text, moderated=st.moderated,
                         external_id=st.external_id, created_at=st.created_at,
                         source="import", text_withheld=False)
                    for st in statements])
            sids = {ext: sid for sid, ext in s.execute(
                select(Statement.id, Statement.external_id).where(Statement.round_id == round_id))}
            for i in range(0, len(votes), batch):
                s.execute(insert(Stance), [
                    dict(participant_id=pids[p], statement_id=sids[c], emoji_key="polis",
                         emoji_raw="polis", stance=st, source="import", platform=platform,
                         added_at=at, is_current=True)
                    for p, c, st, at in votes[i:i + batch]])
                if progress:
                    progress(min(i + batch, len(votes)))
            return round_id

    def export_conversation(self, round_id: int) -> ExportedConversation:
        """A round as Polis sees it: its statements not deleted (sections first, titled by
        key; ``moderated`` 0 for a reply pending moderation) and the current stances on
        them, oldest first."""
        pid = func.coalesce(Participant.external_id, func.cast(Participant.id, String))
        author = aliased(Participant)
        sid = func.coalesce(Statement.external_id, func.cast(Statement.id, String))
        with self._tx() as s:
            # Polis' ``moderated``: 1 kept, -1 moderated out, 0 not moderated yet (pending).
            statements = [ExportedStatement(i, a, t if t is not None else (k or ""),
                                            0 if state == "pending" else 1 if m else -1, c)
                          for i, a, t, k, m, c, state in s.execute(
                              select(sid, func.coalesce(author.external_id,
                                                        func.cast(author.id, String)),
                                     Statement.text, Section.key, Statement.moderated,
                                     Statement.created_at, Statement.moderation)
                              .outerjoin(author, author.id == Statement.author_id)
                              .outerjoin(Section, Section.id == Statement.section_id)
                              .where(Statement.round_id == round_id,
                                     Statement.deleted_at.is_(None))
                              .order_by(Statement.id))]
            value = case((Stance.stance == "agree", 1), (Stance.stance == "disagree", -1),
                         else_=0)
            votes = [ExportedVote(*r) for r in s.execute(
                select(Stance.added_at, sid, pid, value)
                .join(Participant, Participant.id == Stance.participant_id)
                .join(Statement, Statement.id == Stance.statement_id)
                .where(Statement.round_id == round_id, Stance.is_current.is_(True),
                       Statement.deleted_at.is_(None))
                .order_by(Stance.added_at, Stance.id))]
        return ExportedConversation(statements, votes)
