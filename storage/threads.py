"""Section threads on the platforms: their state (open, archived, locked) and the sections
whose post failed for good in a channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from storage.base import StoreBase
from storage.models import PlatformMessage, Section, SectionFailure, Statement
from storage.records import SectionFailureRecord

THREAD_STATES = ("open", "archived", "locked")
"""What ``platform_messages.thread_state`` may hold (NULL: not known to exist yet)."""
REASON_LIMIT = 200


class ThreadQueries(StoreBase):
    """Thread states and failed section posts."""

    def set_thread_state(self, platform: str, thread_id: str, state: str, *,
                         known_only: bool = False) -> bool:
        """Record the state of the section thread ``thread_id`` (the id of the message that
        roots it, on both platforms). False if no section message roots that thread (with
        ``known_only``, none whose state is already known) or the state is unchanged.
        Raises ``ValueError`` for a state not in :data:`THREAD_STATES`."""
        if state not in THREAD_STATES:
            raise ValueError(f"unknown thread state {state!r}")
        where = [PlatformMessage.platform == platform, PlatformMessage.message_id == thread_id,
                 PlatformMessage.part == 0, PlatformMessage.is_copy.is_(False),
                 PlatformMessage.thread_state.is_distinct_from(state)]
        if known_only:
            where.append(PlatformMessage.thread_state.is_not(None))
        with self._tx() as s:
            changed = s.execute(update(PlatformMessage).where(*where)
                                .values(thread_state=state).returning(PlatformMessage.id)).all()
            return bool(changed)

    def thread_state(self, platform: str, thread_id: str) -> str | None:
        """The recorded state of a section thread, ``None`` if unknown."""
        with self._tx() as s:
            return s.scalar(select(PlatformMessage.thread_state).where(
                PlatformMessage.platform == platform, PlatformMessage.message_id == thread_id,
                PlatformMessage.part == 0, PlatformMessage.is_copy.is_(False)))

    def record_section_failure(self, statement_id: int, platform: str, workspace_id: str,
                               channel_id: str, reason: str, at: datetime) -> None:
        """Record (or replace) why a section could not be posted in a channel; ``reason`` is
        cut to 200 characters."""
        with self._tx() as s:
            row = s.scalar(select(SectionFailure).where(
                SectionFailure.statement_id == statement_id, SectionFailure.platform == platform,
                SectionFailure.channel_id == channel_id))
            if row is None:
                s.add(SectionFailure(statement_id=statement_id, platform=platform,
                                     workspace_id=workspace_id, channel_id=channel_id,
                                     reason=reason[:REASON_LIMIT], failed_at=at))
            else:
                row.reason, row.failed_at = reason[:REASON_LIMIT], at

    def clear_section_failure(self, statement_id: int, platform: str, channel_id: str) -> None:
        """Forget a failure: the section is now posted in that channel."""
        with self._tx() as s:
            s.execute(delete(SectionFailure).where(
                SectionFailure.statement_id == statement_id, SectionFailure.platform == platform,
                SectionFailure.channel_id == channel_id))

    def section_failures(self, round_id: int) -> list[SectionFailureRecord]:
        """The round's sections that could not be posted, by channel, in section order."""
        with self._tx() as s:
            rows = s.execute(
                select(SectionFailure.statement_id, Section.key, SectionFailure.platform,
                       SectionFailure.channel_id, SectionFailure.reason)
                .join(Statement, Statement.id == SectionFailure.statement_id)
                .outerjoin(Section, Section.id == Statement.section_id)
                .where(Statement.round_id == round_id)
                .order_by(SectionFailure.statement_id, SectionFailure.platform,
                          SectionFailure.channel_id)).all()
            return [SectionFailureRecord(*r) for r in rows]

    def removed_sections(self, round_id: int) -> dict[int, tuple[str, ...]]:
        """Section statements of the round whose first message was deleted on a platform (a
        moderator removed it; a Slack tombstone), by statement id: the platforms, sorted.
        Their stances there are kept as they were (no event can change them any more)."""
        with self._tx() as s:
            rows = s.execute(
                select(PlatformMessage.statement_id, PlatformMessage.platform)
                .join(Statement, Statement.id == PlatformMessage.statement_id)
                .where(Statement.round_id == round_id, Statement.kind == "section",
                       PlatformMessage.part == 0, PlatformMessage.is_copy.is_(False),
                       PlatformMessage.deleted_at.is_not(None))).all()
        removed: dict[int, set[str]] = {}
        for statement_id, platform in rows:
            removed.setdefault(statement_id, set()).add(platform)
        return {sid: tuple(sorted(platforms)) for sid, platforms in removed.items()}
