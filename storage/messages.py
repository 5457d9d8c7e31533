"""Reads of what the store knows of platform messages: what reconciliation compares with
the platforms, and what the reply relay still has to copy or update."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session, aliased

from storage.base import StoreBase
from storage.models import (
    Participant,
    PlatformMessage,
    Round,
    Stance,
    Statement,
)
from storage.proposals import PROPOSAL
from storage.records import (
    CopyMessage,
    MessageRef,
    MissingCopy,
    PresentReaction,
    ReplyCopies,
    RoundMessage,
    ThreadRef,
    ThreadReply,
)


class MessageReads(StoreBase):
    """Messages of rounds, replies in threads, present reactions, and copies owed."""

    def copies_missing(self, round_id: int, statement_id: int | None = None
                       ) -> list[MissingCopy]:
        """Replies of a round still to be copied somewhere: each live, readable reply not
        held back by the copy limit nor by moderation (pending or rejected) whose section
        thread, in some channel of the round, has
        neither the reply nor planbot's copy of it, with those threads. Oldest reply first.

        With ``statement_id``, only that reply: a fixed number of indexed reads, whatever the
        number of replies in the round (the copy of each new reply must not scan the round,
        ``bench/bench_relay.py``)."""
        with self._tx() as s:
            language = s.scalar(select(Round.language).where(Round.id == round_id))
            if language is None:
                return []  # no such round
            q = (select(Statement.id, Statement.section_id, Statement.platform, Statement.text,
                        Statement.attachments, Statement.source)
                 .where(Statement.round_id == round_id, Statement.kind == "reply",
                        Statement.deleted_at.is_(None), Statement.text_withheld.is_(False),
                        Statement.copy_throttled.is_(False),
                        Statement.moderation.not_in(("pending", "rejected")),
                        Statement.source.not_in(("import", "late"))))
            if statement_id is not None:
                q = q.where(Statement.id == statement_id)
            replies = s.execute(q.order_by(Statement.id)).all()
            sections = {section_id for _, section_id, *_rest in replies}
            threads = self._section_threads(s, round_id, sections) if replies else {}
            present: dict[int, set[tuple[str, str]]] = {}
            pq = (select(PlatformMessage.statement_id, PlatformMessage.platform,
                         PlatformMessage.thread_id)
                  .join(Statement, Statement.id == PlatformMessage.statement_id))
            pq = pq.where(PlatformMessage.statement_id == statement_id) \
                if statement_id is not None \
                else pq.where(Statement.round_id == round_id, Statement.kind == "reply")
            for sid, platform, thread_id in s.execute(pq) if replies else ():
                present.setdefault(sid, set()).add((platform, thread_id))
        missing = []
        for sid, section_id, platform, text, files, source in replies:
            where = [t for t in threads.get(section_id, [])
                     if (t.platform, t.thread_id) not in present.get(sid, set())]
            if where:
                # An attachment reply is copied as the names of its files.
                shown = text if text is not None or not files else "📎 " + ", ".join(files.split("\n"))
                missing.append(MissingCopy(sid, language, platform, shown, where,
                                           proposal=source == PROPOSAL))
        return missing

    @staticmethod
    def _section_threads(s: Session, round_id: int, sections: set[int | None]
                         ) -> dict[int, list[ThreadRef]]:
        """The threads of the round's sections ``sections`` in every channel, by section id,
        oldest first; read through ``ix_statements_round_kind_section``."""
        section = aliased(Statement)
        threads: dict[int, list[ThreadRef]] = {}
        q = (select(section.section_id, PlatformMessage.platform, PlatformMessage.workspace_id,
                    PlatformMessage.channel_id, PlatformMessage.thread_id)
             .join(section, section.id == PlatformMessage.statement_id)
             .where(section.round_id == round_id, section.kind == "section",
                    PlatformMessage.part == 0, PlatformMessage.thread_id.is_not(None)))
        if len(sections) == 1:
            q = q.where(section.section_id.in_(sections))
        for section_id, *thread in s.execute(q.order_by(PlatformMessage.id)):
            threads.setdefault(section_id, []).append(ThreadRef(*thread))
        return threads

    def copies_of(self, statement_id: int) -> ReplyCopies:
        """A reply's state and planbot's live copies of it, oldest first."""
        with self._tx() as s:
            row = s.execute(
                select(Statement.deleted_at, Statement.text, Statement.text_withheld,
                       Statement.platform, Round.language, Statement.moderation)
                .join(Round, Round.id == Statement.round_id)
                .where(Statement.id == statement_id)).one()
            copies = [CopyMessage(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.workspace_id,
                       PlatformMessage.channel_id, PlatformMessage.message_id)
                .where(PlatformMessage.statement_id == statement_id,
                       PlatformMessage.is_copy.is_(True), PlatformMessage.deleted_at.is_(None))
                .order_by(PlatformMessage.id))]
        deleted_at, text, withheld, platform, language, moderation = row
        return ReplyCopies(deleted_at is not None, text, withheld, platform, language, copies,
                           moderation)

    def statement_messages(self, statement_id: int) -> list[MessageRef]:
        """Every message carrying a statement, oldest first."""
        with self._tx() as s:
            return [MessageRef(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.channel_id,
                       PlatformMessage.message_id)
                .where(PlatformMessage.statement_id == statement_id)
                .order_by(PlatformMessage.id))]

    def thread_replies(self, platform: str, thread_id: str) -> dict[str, ThreadReply]:
        """Live replies people wrote on ``platform`` in a thread, by message id. planbot's own
        copies of replies written elsewhere are left out: their text is not the author's, and
        platforms may omit the bot's messages."""
        with self._tx() as s:
            rows = s.execute(
                select(PlatformMessage.message_id, PlatformMessage.channel_id, Statement.text,
                       Statement.text_withheld)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .where(PlatformMessage.platform == platform,
                       PlatformMessage.thread_id == thread_id, Statement.kind == "reply",
                       PlatformMessage.is_copy.is_(False), Statement.deleted_at.is_(None),
                       PlatformMessage.deleted_at.is_(None))).all()
        return {mid: ThreadReply(chan, text, withheld) for mid, chan, text, withheld in rows}

    def round_messages(self, round_id: int, platform: str, *, include_deleted: bool = False
                       ) -> list[RoundMessage]:
        """Every live section-part and reply message of a round on ``platform`` (deleted
        ones too with ``include_deleted``: a Slack tombstone still roots its thread), oldest
        first."""
        with self._tx() as s:
            q = (select(PlatformMessage.statement_id, PlatformMessage.workspace_id,
                        PlatformMessage.channel_id, PlatformMessage.message_id,
                        PlatformMessage.thread_id, PlatformMessage.part, Statement.kind)
                 .join(Statement, Statement.id == PlatformMessage.statement_id)
                 .where(Statement.round_id == round_id, PlatformMessage.platform == platform)
                 .order_by(PlatformMessage.id))
            if not include_deleted:
                q = q.where(PlatformMessage.deleted_at.is_(None))
            return [RoundMessage(*r) for r in s.execute(q).all()]

    def author_names(self, statement_ids: Collection[int]) -> dict[int, str | None]:
        """The display name of each statement's author as last seen (None when unknown or
        erased), by statement id: what a copy of a reply says about whose it is."""
        if not statement_ids:
            return {}
        with self._tx() as s:
            return {sid: name for sid, name in s.execute(
                select(Statement.id, Participant.display_name)
                .outerjoin(Participant, Participant.id == Statement.author_id)
                .where(Statement.id.in_(list(statement_ids))))}

    def participant_by_key(self, key_hash: str) -> int | None:
        """The id of the participant with ``key_hash``, or None."""
        with self._tx() as s:
            return s.scalar(select(Participant.id).where(Participant.key_hash == key_hash))

    def present_reactions_on(self, statement_id: int, platform: str) -> set[PresentReaction]:
        """Present reactions on a statement made on ``platform`` (reconciliation compares
        one platform at a time)."""
        with self._tx() as s:
            return {PresentReaction(*r) for r in s.execute(
                select(Participant.key_hash, Stance.emoji_key)
                .join(Participant, Participant.id == Stance.participant_id)
                .where(Stance.statement_id == statement_id, Stance.platform == platform,
                       Stance.removed_at.is_(None), Stance.via == "reaction"))}
