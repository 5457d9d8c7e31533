"""Participants, reactions and replies: the exactly-once event path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Connection,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from storage.base import StoreBase
from storage.models import (
    Participant,
    PlatformMessage,
    Round,
    Stance,
    Statement,
    StatementEdit,
)
from storage.records import (
    CopyMessage,
    MessageRef,
    MessageTarget,
    MissingCopy,
    PresentReaction,
    ReplyCopies,
    RoundMessage,
    ThreadRef,
    ThreadReply,
)


class EventWrites(StoreBase):
    """Idempotent writes of the event path and the reads reconciliation compares with."""

    def participant(self, key_hash: str, platform: str, now: datetime,
                    display_name: str | None = None, external_id: str | None = None) -> int:
        """The id of the participant with ``key_hash``, created if new; a changed
        ``display_name`` is kept as the latest snapshot."""
        hot = self._hot
        with self._conn() as c:
            c.execute(hot.insert_participant, {
                "key_hash": key_hash, "platform": platform, "display_name": display_name,
                "external_id": external_id, "first_seen_at": now})
            pid = c.execute(hot.participant_id, {"key_hash": key_hash}).scalar_one()
            if display_name is not None:
                c.execute(hot.rename_participant, {"pid": pid, "name": display_name})
            return pid

    def find_message(self, platform: str, channel_id: str, message_id: str) -> MessageTarget | None:
        """What the message is (a section part or a reply), or None if planbot does not know it."""
        return self._target(PlatformMessage.platform == platform,
                            PlatformMessage.channel_id == channel_id,
                            PlatformMessage.message_id == message_id)

    def find_thread(self, platform: str, thread_id: str) -> MessageTarget | None:
        """The section statement whose first message roots thread ``thread_id``, or None."""
        return self._target(PlatformMessage.platform == platform,
                            PlatformMessage.thread_id == thread_id,
                            PlatformMessage.part == 0, Statement.kind == "section")

    def _target(self, *where) -> MessageTarget | None:
        with self._conn() as c:
            row = c.execute(
                select(PlatformMessage.statement_id, Statement.round_id, Statement.kind,
                       Round.status, PlatformMessage.channel_id, PlatformMessage.thread_id,
                       PlatformMessage.is_copy)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .join(Round, Round.id == Statement.round_id)
                .where(*where)).first()
        if row is None:
            return None
        sid, rid, kind, status, chan, thread, is_copy = row
        return MessageTarget(sid, rid, kind, status == "open", chan, thread, is_copy)

    def _claim(self, s: Session | Connection, event_key: str | None, now: datetime) -> bool:
        """Record ``event_key`` in this transaction; False if it was already applied."""
        if event_key is None:
            return True
        res = s.execute(self._hot.claim, {"event_key": event_key, "processed_at": now})
        return res.first() is not None

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
            rival = _latest(r for r in rows if r.emoji_key != emoji_key)
            # A new row gets the highest id, so it wins a tie on time.
            wins = stance is not None and (
                rival is None or (at, row.id if row else float("inf")) > (rival.added_at, rival.id))
            current = next((r.id for r in rows if r.is_current), None)
            if wins and current is not None:
                c.execute(hot.flag_current, {"row_id": current, "flag": False})
            values = {"emoji_raw": emoji_raw, "stance": stance, "source": source,
                      "added_at": at, "is_current": wins}
            if row is None:
                c.execute(hot.insert_stance, dict(
                    values, participant_id=participant_id, statement_id=statement_id,
                    emoji_key=emoji_key, platform=platform, removed_at=None))
            else:
                c.execute(hot.revive_stance, dict(values, row_id=row.id))
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
            q = select(Stance.id, Stance.participant_id).where(
                Stance.statement_id == statement_id, Stance.removed_at.is_(None))
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

    def _remove_one(self, c: Connection, participant_id: int, statement_id: int,
                    emoji_key: str, at: datetime, observed: bool, platform: str | None) -> bool:
        """One participant's one emoji: the event path's removal, on prebuilt statements.
        When the removed reaction was the current stance, the latest other one takes over."""
        hot = self._hot
        rows = c.execute(hot.pair_rows, {"pid": participant_id, "sid": statement_id}).all()
        row = next((r for r in rows if r.emoji_key == emoji_key), None)
        if row is not None and row.removed_at is None and (observed or row.added_at <= at):
            c.execute(hot.remove_stance, {"row_id": row.id, "removed_at": at})
            successor = _latest(r for r in rows if r.id != row.id) if row.is_current else None
            if successor is not None:
                c.execute(hot.flag_current, {"row_id": successor.id, "flag": True})
            return True
        if platform and not observed:
            self._remember_removal(c, row, participant_id, statement_id, emoji_key, platform,
                                   at)
        return False

    def _remember_removal(self, c: Connection, row, participant_id: int, statement_id: int,
                          emoji_key: str, platform: str, at: datetime) -> None:
        if row is None:
            c.execute(self._hot.insert_stance, {
                "participant_id": participant_id, "statement_id": statement_id,
                "emoji_key": emoji_key, "emoji_raw": emoji_key, "stance": None,
                "source": "live", "platform": platform, "added_at": at, "removed_at": at,
                "is_current": False})
        elif row.removed_at is not None and row.removed_at < at:
            c.execute(self._hot.remove_stance, {"row_id": row.id, "removed_at": at})

    def add_reply(self, *, event_key: str | None, round_id: int, section_statement_id: int,
                  parent_statement_id: int, author_id: int, platform: str, workspace_id: str,
                  channel_id: str, message_id: str, thread_id: str, text: str | None,
                  text_withheld: bool, at: datetime, source: str) -> bool:
        """Record a reply as a statement and its platform message; True if new.

        The platform message's unique key makes a second delivery a no-op.
        """
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            known = s.scalar(select(PlatformMessage.id).where(
                PlatformMessage.platform == platform, PlatformMessage.channel_id == channel_id,
                PlatformMessage.message_id == message_id))
            if known is not None:
                return False
            section_id = s.scalar(select(Statement.section_id)
                                  .where(Statement.id == section_statement_id))
            stmt = Statement(round_id=round_id, kind="reply", section_id=section_id,
                             parent_id=parent_statement_id, author_id=author_id,
                             platform=platform, text=text, text_withheld=text_withheld,
                             moderated=True, created_at=at, source=source)
            s.add(stmt)
            s.flush()
            s.add(PlatformMessage(platform=platform, workspace_id=workspace_id,
                                  channel_id=channel_id, message_id=message_id,
                                  thread_id=thread_id, part=0, statement_id=stmt.id))
            return True

    def edit_reply(self, *, event_key: str | None, statement_id: int, text: str | None,
                   text_withheld: bool, at: datetime) -> bool:
        """Replace a reply's text, keeping the previous text in the edit history.

        True if the text changed; the same edit applied twice, or an edit older than the
        last one applied, changes nothing.
        """
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            stmt = s.get(Statement, statement_id)
            if stmt is None or stmt.kind != "reply" or stmt.deleted_at is not None:
                return False
            if stmt.text == text and stmt.text_withheld == text_withheld:
                return False
            if stmt.edited_at is not None and at < stmt.edited_at:
                return False  # an older edit delivered late
            s.add(StatementEdit(statement_id=statement_id, previous_text=stmt.text,
                                replaced_at=at))
            stmt.text, stmt.text_withheld, stmt.edited_at = text, text_withheld, at
            return True

    def delete_message(self, *, event_key: str | None, platform: str, channel_id: str,
                       message_id: str, at: datetime, workspace_id: str | None = None) -> bool:
        """Mark a platform message deleted; a deleted reply leaves the analysis.

        A deleted section message (a Slack tombstone) keeps its statement, replies and stances.
        The deletion of a message not known yet is remembered when ``workspace_id`` is given
        (the caller knows the channel is a round's), so its post, if delivered late, is
        ignored. True if the store changed.
        """
        with self._tx() as s:
            if not self._claim(s, event_key, at):
                return False
            msg = s.scalar(select(PlatformMessage).where(
                PlatformMessage.platform == platform, PlatformMessage.channel_id == channel_id,
                PlatformMessage.message_id == message_id))
            if msg is None and workspace_id is not None:
                s.add(PlatformMessage(platform=platform, workspace_id=workspace_id,
                                      channel_id=channel_id, message_id=message_id, part=0,
                                      deleted_at=at))
                return False
            if msg is None or msg.deleted_at is not None:
                return False
            msg.deleted_at = at
            # Deleting planbot's copy hides it there; the author's reply stands.
            stmt = s.get(Statement, msg.statement_id) if msg.statement_id and not msg.is_copy \
                else None
            if stmt is not None and stmt.kind == "reply" and stmt.deleted_at is None:
                stmt.deleted_at = at
            return True

    def copies_missing(self, round_id: int) -> list[MissingCopy]:
        """Replies of a round still to be copied somewhere: each live, readable reply whose
        section thread, in some channel of the round, has neither the reply nor planbot's
        copy of it, with those threads. Oldest reply first."""
        with self._tx() as s:
            language = s.scalar(select(Round.language).where(Round.id == round_id))
            section = aliased(Statement)
            threads: dict[int, list[ThreadRef]] = {}
            for section_id, *thread in s.execute(
                    select(section.section_id, PlatformMessage.platform,
                           PlatformMessage.workspace_id, PlatformMessage.channel_id,
                           PlatformMessage.thread_id)
                    .join(section, section.id == PlatformMessage.statement_id)
                    .where(section.round_id == round_id, section.kind == "section",
                           PlatformMessage.part == 0, PlatformMessage.thread_id.is_not(None))
                    .order_by(PlatformMessage.id)):
                threads.setdefault(section_id, []).append(ThreadRef(*thread))
            replies = s.execute(
                select(Statement.id, Statement.section_id, Statement.platform, Statement.text)
                .where(Statement.round_id == round_id, Statement.kind == "reply",
                       Statement.deleted_at.is_(None), Statement.text_withheld.is_(False),
                       Statement.source != "import")
                .order_by(Statement.id)).all()
            present: dict[int, set[tuple[str, str]]] = {}
            for sid, platform, thread_id in s.execute(
                    select(PlatformMessage.statement_id, PlatformMessage.platform,
                           PlatformMessage.thread_id)
                    .join(Statement, Statement.id == PlatformMessage.statement_id)
                    .where(Statement.round_id == round_id, Statement.kind == "reply")):
                present.setdefault(sid, set()).add((platform, thread_id))
        missing = []
        for sid, section_id, platform, text in replies:
            where = [t for t in threads.get(section_id, [])
                     if (t.platform, t.thread_id) not in present.get(sid, set())]
            if where:
                missing.append(MissingCopy(sid, language, platform, text, where))
        return missing

    def copies_of(self, statement_id: int) -> ReplyCopies:
        """A reply's state and planbot's live copies of it, oldest first."""
        with self._tx() as s:
            row = s.execute(
                select(Statement.deleted_at, Statement.text, Statement.text_withheld,
                       Statement.platform, Round.language)
                .join(Round, Round.id == Statement.round_id)
                .where(Statement.id == statement_id)).one()
            copies = [CopyMessage(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.workspace_id,
                       PlatformMessage.channel_id, PlatformMessage.message_id)
                .where(PlatformMessage.statement_id == statement_id,
                       PlatformMessage.is_copy.is_(True), PlatformMessage.deleted_at.is_(None))
                .order_by(PlatformMessage.id))]
        deleted_at, text, withheld, platform, language = row
        return ReplyCopies(deleted_at is not None, text, withheld, platform, language, copies)

    def statement_messages(self, statement_id: int) -> list[MessageRef]:
        """Every message carrying a statement, oldest first."""
        with self._tx() as s:
            return [MessageRef(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.channel_id,
                       PlatformMessage.message_id)
                .where(PlatformMessage.statement_id == statement_id)
                .order_by(PlatformMessage.id))]

    def thread_replies(self, platform: str, thread_id: str) -> dict[str, ThreadReply]:
        """Live replies people wrote on ``platform`` in a thread, by message id. planbot's own copies of replies written elsewhere are left
        out: their text is not the author's, and platforms may omit the bot's messages."""
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
                       Stance.removed_at.is_(None)))}


def _latest(rows):
    """The reaction that is the stance among ``rows``: present, mapped, latest added (ties
    to the later row); None if there is none."""
    live = [r for r in rows if r.removed_at is None and r.stance is not None]
    return max(live, key=lambda r: (r.added_at, r.id)) if live else None
