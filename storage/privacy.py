"""A participant's own data (Quebec's Law 25, ss. 8, 27, 28, 28.1; PIPEDA principle 4.9):
what the store holds about one person, their erasure, a deleted reply's text, the retention
purge of closed rounds, stored digests to redact, and the audit log of requests served.

Persons are found by pseudonym (``participants.key_hash``, ``bot.identity``); nothing here
sees a raw platform id. Erasing and purging overwrite texts with NULL; on SQLite the engine
runs with ``secure_delete`` on (``storage.db``) so the old bytes do not linger in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.base import StoreBase
from storage.inbox import PendingOf, drop_pending, hold_inbox
from storage.models import (
    Digest,
    ErasedParticipant,
    ModerationDecision,
    Participant,
    PlatformMessage,
    PrivacyRequest,
    Round,
    Section,
    Stance,
    Statement,
    StatementEdit,
)
from storage.proposals import PROPOSAL
from storage.records import (
    CopyMessage,
    Erasure,
    HeldDecision,
    HeldEdit,
    HeldMessage,
    HeldReply,
    HeldRound,
    HeldStance,
    ParticipantData,
    PrivacyRequestRecord,
    PurgeCandidate,
    StoredDigest,
)


def _texts_of(s: Session, ids: Sequence[int]) -> list[str]:
    """Every text the replies ``ids`` had: current and earlier versions, file names."""
    current = s.execute(select(Statement.text, Statement.attachments)
                        .where(Statement.id.in_(ids))).all()
    earlier = s.scalars(select(StatementEdit.previous_text)
                        .where(StatementEdit.statement_id.in_(ids)))
    texts = [t for t, _ in current if t] + [t for t in earlier if t]
    texts += [name for _, files in current if files for name in files.split("\n") if name]
    return list(dict.fromkeys(texts))


def _blank(s: Session, ids: Sequence[int]) -> None:
    """Remove the texts, file names and edit histories of the replies ``ids``."""
    s.execute(update(Statement).where(Statement.id.in_(ids))
              .values(text=None, attachments=None))
    s.execute(delete(StatementEdit).where(StatementEdit.statement_id.in_(ids)))


def _rounds(s: Session, round_ids: set[int]) -> list[HeldRound]:
    return [HeldRound(*r) for r in s.execute(
        select(Round.id, Round.name, Round.status, Round.opened_at, Round.closed_at,
               Round.public_id)
        .where(Round.id.in_(round_ids)).order_by(Round.id))]


def _moderator_only(s: Session, decisions: list[HeldDecision]) -> ParticipantData | None:
    """What is held about a facilitator who moderated without taking part: their decisions
    and those rounds; None without any."""
    if not decisions:
        return None
    return ParticipantData(None, decisions[0].platform, None, None,
                           _rounds(s, {d.round_id for d in decisions}), [], [], decisions)


class PrivacyQueries(StoreBase):
    """Reads and erasures of one participant's data and of a deleted reply's text."""

    def participant_data(self, key_hash: str) -> ParticipantData | None:
        """Everything held about the person with pseudonym ``key_hash`` (their moderation
        decisions too, as a facilitator), or None when the store knows nothing of them."""
        with self._tx() as s:
            decisions = [HeldDecision(*r) for r in s.execute(
                select(ModerationDecision.round_id, ModerationDecision.statement_id,
                       ModerationDecision.action, ModerationDecision.platform,
                       ModerationDecision.decided_at)
                .where(ModerationDecision.moderator_key == key_hash)
                .order_by(ModerationDecision.id))]
            person = s.scalar(select(Participant).where(Participant.key_hash == key_hash))
            if person is None:
                return _moderator_only(s, decisions)
            stances = [HeldStance(*r) for r in s.execute(
                select(Statement.round_id, Stance.statement_id, Statement.kind, Section.key,
                       Stance.emoji_raw, Stance.stance, Stance.platform, Stance.added_at,
                       Stance.removed_at, Stance.is_current, Stance.via)
                .join(Statement, Statement.id == Stance.statement_id)
                .outerjoin(Section, Section.id == Statement.section_id)
                .where(Stance.participant_id == person.id).order_by(Stance.id))]
            replies = self._held_replies(s, person.id)
            round_ids = {st.round_id for st in stances} | {r.round_id for r in replies} \
                | {d.round_id for d in decisions}
            return ParticipantData(person.id, person.platform, person.display_name,
                                   person.first_seen_at, _rounds(s, round_ids), stances, replies,
                                   decisions)

    def _held_replies(self, s: Session, participant_id: int) -> list[HeldReply]:
        rows = s.execute(
            select(Statement.id, Statement.round_id, Section.key, Statement.text,
                   Statement.attachments, Statement.created_at, Statement.edited_at,
                   Statement.deleted_at, Statement.moderation, Statement.source)
            .outerjoin(Section, Section.id == Statement.section_id)
            .where(Statement.author_id == participant_id, Statement.kind == "reply")
            .order_by(Statement.id)).all()
        ids = [r[0] for r in rows]
        edits: dict[int, list[HeldEdit]] = {}
        for sid, text, at in s.execute(
                select(StatementEdit.statement_id, StatementEdit.previous_text,
                       StatementEdit.replaced_at)
                .where(StatementEdit.statement_id.in_(ids)).order_by(StatementEdit.id)):
            edits.setdefault(sid, []).append(HeldEdit(text, at))
        messages: dict[int, list[HeldMessage]] = {}
        for sid, *message in s.execute(
                select(PlatformMessage.statement_id, PlatformMessage.platform,
                       PlatformMessage.workspace_id, PlatformMessage.channel_id,
                       PlatformMessage.message_id, PlatformMessage.is_copy,
                       PlatformMessage.deleted_at)
                .where(PlatformMessage.statement_id.in_(ids)).order_by(PlatformMessage.id)):
            messages.setdefault(sid, []).append(HeldMessage(*message))
        return [HeldReply(round_id, sid, key, text, files.split("\n") if files else [], created,
                          edited, deleted, edits.get(sid, []), messages.get(sid, []), moderation,
                          source == PROPOSAL)
                for sid, round_id, key, text, files, created, edited, deleted, moderation, source
                in rows]

    def erase_participant(self, key_hash: str, now: datetime,
                          pending: PendingOf) -> Erasure | None:
        """Erase the person with pseudonym ``key_hash``, whose events in the inbox are
        ``pending``: their replies keep only a tombstone (no text, files, edit history or
        author; deleted at ``now`` unless deleted before), their stances and their
        participant record are deleted, their moderation decisions stay in the audit linked
        to no one (``moderator_key`` NULL), their events not yet applied are discarded, and
        their pseudonym is remembered as erased. Others' replies and stances stay. Returns
        what was removed and the copies still to delete on platforms; None when the store
        knows nothing of them.

        It all happens with every inbox partition held (``storage.inbox.hold_inbox``): the
        batches other appliers hold commit first and are erased with the rest, and none
        applies an event of theirs in between (docs/decisions.md, "Erasure and the
        inbox")."""
        with self._tx() as s:
            hold_inbox(s)
            dropped = drop_pending(s, pending, now)
            theirs = ModerationDecision.moderator_key == key_hash
            decisions = s.scalar(select(func.count()).select_from(ModerationDecision)
                                 .where(theirs)) or 0
            s.execute(update(ModerationDecision).where(theirs).values(moderator_key=None))
            pid = s.scalar(select(Participant.id).where(Participant.key_hash == key_hash))
            if pid is None:
                return Erasure([], [], 0, [], decisions, dropped) \
                    if decisions or dropped else None
            # Their replies are locked before their copies are read: a copy the relay is
            # recording now (``CopyQueries.record_copy``, which share-locks its reply after
            # writing its row) is either committed first and read here, or sees this
            # erasure once it commits and is deleted by the relay.
            ids = list(s.scalars(select(Statement.id).where(Statement.author_id == pid)
                                 .with_for_update(key_share=True)))
            texts = _texts_of(s, ids)
            copies = [CopyMessage(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.workspace_id,
                       PlatformMessage.channel_id, PlatformMessage.message_id)
                .where(PlatformMessage.statement_id.in_(ids), PlatformMessage.is_copy.is_(True),
                       PlatformMessage.deleted_at.is_(None))
                .order_by(PlatformMessage.id))]
            _blank(s, ids)
            s.execute(update(Statement).where(Statement.id.in_(ids))
                      .values(author_id=None, moderated=False,
                              deleted_at=func.coalesce(Statement.deleted_at, now)))
            # The author's own messages stay known (not live): reconciliation must not read
            # them back from the platform as new replies.
            s.execute(update(PlatformMessage)
                      .where(PlatformMessage.statement_id.in_(ids),
                             PlatformMessage.is_copy.is_(False),
                             PlatformMessage.deleted_at.is_(None))
                      .values(deleted_at=now))
            stances = s.scalar(select(func.count()).select_from(Stance)
                               .where(Stance.participant_id == pid)) or 0
            s.execute(delete(Stance).where(Stance.participant_id == pid))
            s.execute(delete(Participant).where(Participant.id == pid))
            s.execute(self._insert_ignore(ErasedParticipant).values(key_hash=key_hash,
                                                                   erased_at=now))
            return Erasure(ids, texts, stances, copies, decisions, dropped)

    def erased_at(self, key_hash: str) -> datetime | None:
        """When the participant with pseudonym ``key_hash`` was erased at their request
        (UTC), None if never."""
        with self._tx() as s:
            erased = s.get(ErasedParticipant, key_hash)
            return erased.erased_at if erased is not None else None

    def forget_reply_text(self, statement_id: int) -> list[str]:
        """A deleted reply keeps only its tombstone: its text, file names and edit history
        are removed. Returns the texts removed (to redact stored digests with); [] when the
        statement is not a deleted reply."""
        with self._tx() as s:
            stmt = s.get(Statement, statement_id)
            if stmt is None or stmt.kind != "reply" or stmt.deleted_at is None:
                return []
            texts = _texts_of(s, [statement_id])
            _blank(s, [statement_id])
            return texts

    def release_erased(self, *, rebuild: bool = False) -> None:
        """Make erased texts unrecoverable from the database files. On SQLite: with
        ``rebuild``, ``VACUUM`` first (a new file: ``secure_delete`` zeroes freed pages and
        cells, but the unused tail of a reused overflow page may still hold an old record's
        bytes, as a test found); then copy the write-ahead log into the database and empty
        it, since its older frames still hold the pages as they were
        (https://sqlite.org/wal.html#ckpt). PostgreSQL reclaims dead rows by its own
        (auto)vacuum; nothing to do here. Inside an inbox batch, done once the batch
        committed (the checkpoint waits for every writer, the batch included)."""
        if self.engine.dialect.name != "sqlite":
            return

        def release() -> None:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                if rebuild:
                    c.exec_driver_sql("VACUUM")
                c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

        self._after_commit(release)



class RetentionQueries(StoreBase):
    """Stored digests to redact, the retention purge of closed rounds, and the privacy
    audit log."""

    def stored_digests(self, round_ids: Sequence[int] | None = None) -> list[StoredDigest]:
        """Stored digests (of ``round_ids``, or all) with their content and renderings."""
        with self._tx() as s:
            q = select(Digest.id, Digest.content, Digest.outputs).order_by(Digest.id)
            if round_ids is not None:
                q = q.where(Digest.round_id.in_(round_ids))
            return [StoredDigest(*r) for r in s.execute(q)]

    def rewrite_digest(self, digest_id: int, content: dict[str, Any] | None,
                       outputs: dict[str, Any] | None) -> None:
        """Replace a stored digest's content and renderings (a redacted version)."""
        with self._tx() as s:
            s.execute(update(Digest).where(Digest.id == digest_id)
                      .values(content=content, outputs=outputs))

    def purge_candidates(self, kept_before: datetime) -> list[PurgeCandidate]:
        """Closed rounds whose retention period started before ``kept_before`` (UTC) and
        whose texts were not purged yet, oldest first, with what their purge would remove.
        The period starts at ``kept_from`` when set (an imported round: when planbot
        received it), else at ``closed_at``."""
        kept_from = func.coalesce(Round.kept_from, Round.closed_at)
        with self._tx() as s:
            rounds = s.execute(
                select(Round.id, Round.public_id, Round.name, Round.closed_at)
                .where(Round.status == "closed", kept_from < kept_before,
                       Round.purged_at.is_(None)).order_by(Round.id)).all()
            found = []
            for rid, public_id, name, closed_at in rounds:
                replies = s.scalar(select(func.count()).select_from(Statement).where(
                    Statement.round_id == rid, Statement.kind == "reply",
                    (Statement.text.is_not(None)) | (Statement.attachments.is_not(None))))
                edits = s.scalar(select(func.count()).select_from(StatementEdit)
                                 .join(Statement, Statement.id == StatementEdit.statement_id)
                                 .where(Statement.round_id == rid))
                names = s.scalar(select(func.count()).select_from(Participant).where(
                    Participant.id.in_(self._people_of(rid)),
                    Participant.display_name.is_not(None)))
                found.append(PurgeCandidate(rid, public_id, name, closed_at, replies or 0,
                                            edits or 0, names or 0))
            return found

    @staticmethod
    def _people_of(round_id: int) -> Any:
        voters = (select(Stance.participant_id)
                  .join(Statement, Statement.id == Stance.statement_id)
                  .where(Statement.round_id == round_id))
        authors = select(Statement.author_id).where(Statement.round_id == round_id,
                                                    Statement.author_id.is_not(None))
        return voters.union(authors)

    def purge_round(self, round_id: int, now: datetime) -> list[str]:
        """Purge a closed round's reply texts, file names, edit histories and its
        participants' display names (the snapshot is taken again at their next action);
        statements, stances, counts and the analysis stay. Marks the round purged at
        ``now``; returns the texts removed (to redact its stored digests with)."""
        with self._tx() as s:
            ids = list(s.scalars(select(Statement.id).where(Statement.round_id == round_id,
                                                            Statement.kind == "reply")))
            texts = _texts_of(s, ids)
            _blank(s, ids)
            s.execute(update(Participant).where(Participant.id.in_(self._people_of(round_id)))
                      .values(display_name=None))
            s.execute(update(Round).where(Round.id == round_id).values(purged_at=now))
            return texts

    def record_privacy_request(self, kind: str, via: str, platform: str | None,
                               now: datetime) -> None:
        """Log a privacy request served: ``kind`` (export, erase, purge), ``via`` (chat,
        cli), the platform; no content."""
        with self._tx() as s:
            s.add(PrivacyRequest(kind=kind, via=via, platform=platform, served_at=now))

    def privacy_requests(self) -> list[PrivacyRequestRecord]:
        """The audit log, oldest first."""
        with self._tx() as s:
            return [PrivacyRequestRecord(*r) for r in s.execute(
                select(PrivacyRequest.kind, PrivacyRequest.via, PrivacyRequest.platform,
                       PrivacyRequest.served_at).order_by(PrivacyRequest.id))]
