"""Participants and replies on the exactly-once event path; reactions are in ``storage.reactions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    select,
    update,
)

from storage.base import StoreBase
from storage.models import (
    Participant,
    PlatformMessage,
    Round,
    Stance,
    Statement,
    StatementEdit,
)
from storage.proposals import PROPOSAL
from storage.records import (
    CurrentStance,
    MessageTarget,
)


class EventWrites(StoreBase):
    """Idempotent writes of participants and replies on the event path, and what a platform
    message is to planbot."""

    def participant(self, key_hash: str, platform: str, now: datetime,
                    display_name: str | None = None, external_id: str | None = None) -> int:
        """The id of the participant with ``key_hash``, created if new; a changed
        ``display_name`` is kept as the latest snapshot."""
        hot = self._hot
        with self._conn() as c:
            c.execute(hot.insert_participant, {
                "key_hash": key_hash, "platform": platform, "display_name": display_name,
                "external_id": external_id, "first_seen_at": now})
            pid: int = c.execute(hot.participant_id, {"key_hash": key_hash}).scalar_one()
            if display_name is not None:
                c.execute(hot.rename_participant, {"pid": pid, "name": display_name})
            return pid

    def find_message(self, platform: str, channel_id: str, message_id: str) -> MessageTarget | None:
        """What the message is (a section part or a reply), or None if planbot does not know it."""
        return self._target(PlatformMessage.platform == platform,
                            PlatformMessage.channel_id == channel_id,
                            PlatformMessage.message_id == message_id)

    def find_thread(self, platform: str, thread_id: str) -> MessageTarget | None:
        """The section statement whose first message roots thread ``thread_id``, or None.

        The root is looked up by its own id first (a thread's id is its root message's id,
        ``bot/events.py``), through ``ix_platform_messages_thread_message``: reading every
        message of a thread of thousands of replies for each new reply would make a round's
        cost grow with its size. Any other root is still found by the second read."""
        section = (PlatformMessage.platform == platform, PlatformMessage.thread_id == thread_id,
                   PlatformMessage.part == 0, Statement.kind == "section")
        return self._target(*section, PlatformMessage.message_id == thread_id) \
            or self._target(*section)

    def voted_statements(self, round_id: int, key_hash: str) -> set[int]:
        """The round's statements the participant ``key_hash`` holds a current stance on
        (given by reaction or privately)."""
        with self._conn() as c:
            return set(c.execute(
                select(Stance.statement_id)
                .join(Statement, Statement.id == Stance.statement_id)
                .join(Participant, Participant.id == Stance.participant_id)
                .where(Statement.round_id == round_id, Participant.key_hash == key_hash,
                       Stance.is_current.is_(True))).scalars())

    def current_stances(self, round_id: int, key_hash: str) -> list[CurrentStance]:
        """The stances that count of the participant ``key_hash`` on the round's live
        statements (given by reaction or privately), by statement id."""
        with self._conn() as c:
            return [CurrentStance(*row) for row in c.execute(
                select(Stance.statement_id, Stance.stance, Stance.via, Stance.emoji_raw,
                       Stance.added_at)
                .join(Statement, Statement.id == Stance.statement_id)
                .join(Participant, Participant.id == Stance.participant_id)
                .where(Statement.round_id == round_id, Statement.deleted_at.is_(None),
                       Participant.key_hash == key_hash, Stance.is_current.is_(True))
                .order_by(Stance.statement_id))]

    def statement_target(self, statement_id: int) -> MessageTarget | None:
        """The statement as a private vote or a moderator sees it (round, open or not, stance
        mode), through its first message; a proposal not posted yet (waiting for a
        moderator) through itself, with no channel; None for a statement unknown or never
        posted."""
        return self._target(PlatformMessage.statement_id == statement_id,
                            PlatformMessage.part == 0, Statement.deleted_at.is_(None)) \
            or self._unposted_proposal(statement_id)

    def _unposted_proposal(self, statement_id: int) -> MessageTarget | None:
        with self._conn() as c:
            row = c.execute(
                select(Statement.id, Statement.round_id, Statement.kind, Round.status,
                       Round.stance_mode)
                .join(Round, Round.id == Statement.round_id)
                .where(Statement.id == statement_id, Statement.deleted_at.is_(None),
                       Statement.source == PROPOSAL)).first()
        if row is None:
            return None
        sid, rid, kind, status, mode = row
        return MessageTarget(sid, rid, kind, status == "open", "", None, True, mode)

    def _target(self, *where: ColumnElement[bool]) -> MessageTarget | None:
        with self._conn() as c:
            row = c.execute(
                select(PlatformMessage.statement_id, Statement.round_id, Statement.kind,
                       Round.status, PlatformMessage.channel_id, PlatformMessage.thread_id,
                       PlatformMessage.is_copy, Round.stance_mode, Statement.moderation)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .join(Round, Round.id == Statement.round_id)
                .where(*where)).first()
        if row is None:
            return None
        sid, rid, kind, status, chan, thread, is_copy, mode, state = row
        return MessageTarget(sid, rid, kind, status == "open", chan, thread, is_copy, mode, state)

    def add_reply(self, *, event_key: str | None, round_id: int, section_statement_id: int,
                  parent_statement_id: int, author_id: int, platform: str, workspace_id: str,
                  channel_id: str, message_id: str, thread_id: str, text: str | None,
                  text_withheld: bool, at: datetime, source: str,
                  attachments: list[str] | None = None, moderation: str = "auto",
                  broadcast: bool = False) -> bool:
        """Record a reply as a statement and its platform message; True if new.

        ``source`` ``late`` (after the round closed) keeps it out of the analysis too.
        ``attachments``: names of the files posted with it. A reply with files and no text
        (``text`` None, not withheld) is an attachment reply, kept out of the analysis
        (``moderated`` false). The platform message's unique key makes a second delivery a
        no-op. ``moderation`` ``pending`` (strict moderation, ``bot.moderation.admit``) holds
        it back, out of copies, counts and the analysis, until a facilitator accepts it.
        ``broadcast``: also sent to the channel (Slack), still one reply.
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
                             moderated=(text is not None or text_withheld) and source != "late"
                             and moderation != "pending", moderation=moderation,
                             attachments="\n".join(attachments) if attachments else None,
                             created_at=at, source=source, broadcast=broadcast)
            s.add(stmt)
            s.flush()
            s.add(PlatformMessage(platform=platform, workspace_id=workspace_id,
                                  channel_id=channel_id, message_id=message_id,
                                  thread_id=thread_id, part=0, statement_id=stmt.id))
            return True

    def edit_reply(self, *, event_key: str | None, statement_id: int, text: str | None,
                   text_withheld: bool, at: datetime, moderation: str = "auto") -> bool:
        """Replace a reply's text, keeping the previous text in the edit history with its
        version; the reply's version goes up by one, and the stances given to the earlier
        text stop counting (they keep their version, so a digest reports them apart). Text
        withheld by the platform, before or after, makes no new version. ``moderation``
        ``pending`` (strict, ``bot.moderation.admit``) puts a reply that was in back to
        pending (a rejected one stays rejected). True if the text changed; the same edit
        applied twice, or an edit older than the last one applied, changes nothing."""
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
            # Text the platform withheld (no content intent) is no new version of it.
            new_version = not (text_withheld or stmt.text_withheld)
            s.add(StatementEdit(statement_id=statement_id, previous_text=stmt.text,
                                replaced_at=at, version=stmt.version))
            stmt.text, stmt.text_withheld, stmt.edited_at = text, text_withheld, at
            if moderation == "pending" and stmt.moderation in ("auto", "accepted"):
                stmt.moderation, stmt.moderated = "pending", False
            if new_version:
                stmt.version += 1
                # Stances given to the earlier text stay (reported apart), counting no more.
                s.execute(update(Stance).where(Stance.statement_id == statement_id,
                                               Stance.is_current.is_(True))
                          .values(is_current=False))
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
