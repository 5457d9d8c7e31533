"""Anonymous proposals on the exactly-once event path (issue 14): a statement a participant
proposed through the propose form, and the author's own stance on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.base import StoreBase
from storage.models import PRIVATE_KEY, Round, Stance, Statement

PROPOSAL = "proposal"
"""``statements.source`` of a proposal: a reply that has no message of its author's, posted
by planbot in every channel of its round without the author's name."""


class ProposalWrites(StoreBase):
    """The idempotent write of a proposal."""

    def add_proposal(self, *, event_key: str | None, round_id: int, section_statement_id: int,
                     author_id: int, platform: str, text: str, at: datetime,
                     author_agrees: bool, moderation: str = "auto") -> bool:
        """Record ``text`` as a reply statement (``source`` :data:`PROPOSAL`) under the section
        statement ``section_statement_id`` of the open round ``round_id``, by ``author_id``;
        with ``author_agrees``, the author's current stance on it is agree, recorded as their
        private vote (Polis stores the vote sent with a new comment, agree from its
        participation page: ``handle_POST_comments``, compdemocracy/polis
        ``server/src/routes/comments.ts``). One
        transaction with the event key: True if new; False for a repeated key, a closed
        round, or a statement that is not a section of that round (nothing is written).
        ``moderation`` ``pending`` (strict moderation) holds it back, unposted and uncounted,
        until a facilitator accepts it, as :meth:`storage.events.EventWrites.add_reply`."""
        with self._tx() as s:
            status = s.scalar(select(Round.status).where(Round.id == round_id))
            section = s.execute(select(Statement.section_id).where(
                Statement.id == section_statement_id, Statement.round_id == round_id,
                Statement.kind == "section")).first()
            if status != "open" or section is None or not self._claim(s, event_key, at):
                return False
            stmt = Statement(round_id=round_id, kind="reply", section_id=section[0],
                             parent_id=section_statement_id, author_id=author_id,
                             platform=platform, text=text, text_withheld=False,
                             moderated=moderation != "pending", moderation=moderation,
                             created_at=at, source=PROPOSAL)
            s.add(stmt)
            s.flush()
            if author_agrees:
                s.add(Stance(participant_id=author_id, statement_id=stmt.id,
                             emoji_key=PRIVATE_KEY, emoji_raw=PRIVATE_KEY, stance="agree",
                             source="live", platform=platform, added_at=at, is_current=True,
                             version=1, via="private"))
            return True
