"""planbot's copies of replies against their reply's state: whether a reply still stands,
a copy recorded together with that answer, and the copies left up for a reply that is gone.

A copy is posted while other processes may erase, delete or reject its reply
(docs/decisions.md, "A copy never outlives its reply"): the relay asks the store, not a flag
of its own, before it posts and again when it records what it posted.
"""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select

from storage.base import StoreBase, _table
from storage.models import PlatformMessage, Statement
from storage.records import CopyMessage

_STATEMENTS = _table(Statement)
_GONE = or_(_STATEMENTS.c.deleted_at.is_not(None), _STATEMENTS.c.text_withheld.is_(True),
            _STATEMENTS.c.moderation == "rejected")
"""A reply whose copies must not be up: deleted (by its author, or erased with them), its
text withheld by the platform, or rejected by a facilitator."""
# Built once and run on a Core connection: built for each copy and run through an ORM
# session, the two reads cost 4 times what recording a copy did before (0.7 against 0.17
# ms on SQLite); now about the same.
_IS_GONE = select(_GONE).where(_STATEMENTS.c.id == bindparam("sid"))
_IS_GONE_LOCKED = _IS_GONE.with_for_update(read=True)


class CopyQueries(StoreBase):
    """A reply's standing, read when its copies are posted, recorded and swept."""

    def reply_stands(self, statement_id: int) -> bool:
        """Whether reply ``statement_id`` may be copied now: it exists and is not gone
        (deleted, erased, withheld or rejected). One read by primary key."""
        with self._conn() as c:
            gone = c.execute(_IS_GONE, {"sid": statement_id}).scalar()
        return gone is not None and not gone

    def record_copy(self, statement_id: int,
                    message: tuple[str, str, str, str, str | None, int]) -> bool:
        """Record planbot's copy ``message`` (platform, workspace_id, channel_id, message_id,
        thread_id, part) of reply ``statement_id`` and say, in the same transaction, whether
        the reply still stands (:meth:`reply_stands`); False: the caller deletes the copy.

        The row is written first and the reply read after it under a share lock, so that an
        erasure (``PrivacyQueries.erase_participant``, which locks its replies before it reads
        their copies), a deletion or a rejection committed in any process is seen by one side
        or the other, never by neither: on PostgreSQL the read waits for a transaction that
        changed the reply and reads what it committed, and one that comes after waits for
        this row; on SQLite the write takes the database's write lock, held until the
        commit, and every read after it sees the latest commit. Recording it twice is
        harmless."""
        platform, workspace_id, channel_id, message_id, thread_id, part = message
        with self._conn() as c:
            c.execute(self._insert_ignore(PlatformMessage), {
                "platform": platform, "workspace_id": workspace_id, "channel_id": channel_id,
                "message_id": message_id, "thread_id": thread_id, "part": part,
                "statement_id": statement_id, "is_copy": True})
            gone = c.execute(_IS_GONE_LOCKED, {"sid": statement_id}).scalar()
        return gone is not None and not gone

    def stale_copies(self, round_id: int, platform: str) -> list[CopyMessage]:
        """planbot's copies on ``platform`` still up (not marked deleted) of the round's
        replies that are gone, oldest first: a deletion that failed or was cut short, or an
        erasure served where ``platform`` was not connected."""
        with self._tx() as s:
            return [CopyMessage(*r) for r in s.execute(
                select(PlatformMessage.platform, PlatformMessage.workspace_id,
                       PlatformMessage.channel_id, PlatformMessage.message_id)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .where(Statement.round_id == round_id, Statement.kind == "reply", _GONE,
                       PlatformMessage.platform == platform, PlatformMessage.is_copy.is_(True),
                       PlatformMessage.deleted_at.is_(None))
                .order_by(PlatformMessage.id))]
