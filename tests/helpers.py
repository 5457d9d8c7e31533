"""Test helpers: a core on a fresh store with the sample plan, and a recording platform.

``RecordingPlatform`` follows python-zulip-api's ``StubBotHandler``: it implements the
``ChatPlatform`` protocol in memory and records every call, for core tests that need no
chat library. The adapters' own tests run the real libraries against the local servers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import Settings
from bot.core import Core
from bot.plans import import_plan, sample_plan_paths
from bot.platform import (
    ChannelRef,
    DigestPost,
    PostedMessage,
    ProposalPost,
    ReactionState,
    SectionPost,
)
from bot.service.build import build_core
from storage.db import create_store_engine, upgrade
from storage.store import Store

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
NOTICE_MARKS = ("/planbot my-data", "/my-data", "/mes-données")
"""What only a round's opening announcement says (its privacy notice names the commands)."""


def is_notice(text: str | None) -> bool:
    """Whether a bot message is a round's opening announcement, not a section or a digest."""
    return any(mark in (text or "") for mark in NOTICE_MARKS)


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings on a SQLite file under ``tmp_path``; ``overrides`` replace any field."""
    values: dict[str, Any] = dict(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'planbot.db'}",
                  participant_secret="test-secret-0123456789")
    values.update(overrides)
    return Settings(**values)


def make_store(url: str) -> Store:
    """A store on ``url`` with the schema upgraded to head."""
    engine = create_store_engine(url)
    upgrade(engine)
    return Store(engine)


def make_core(tmp_path: Path, *, facilitator_ids=frozenset({"facilitator"}),
                 clock: ManualClock | None = None, database_url: str | None = None,
                 **overrides) -> Core:
    """A core (:func:`bot.service.build.build_core`) on a fresh store with the bundled sample
    plan imported as ``sample``.

    ``facilitator_ids`` become both Discord role ids and Slack facilitator ids.
    """
    settings = make_settings(tmp_path, discord_facilitator_role_ids=frozenset(facilitator_ids),
                             slack_facilitator_ids=frozenset(facilitator_ids), **overrides)
    if database_url:
        settings = make_settings(tmp_path, database_url=database_url,
                                 discord_facilitator_role_ids=frozenset(facilitator_ids),
                                 slack_facilitator_ids=frozenset(facilitator_ids), **overrides)
    store = make_store(settings.database_url)
    clock = clock or ManualClock(START)
    import_plan(store, sample_plan_paths(), clock.now())
    return build_core(store, settings, clock)


@dataclass
class RecordingPlatform:
    """An in-memory ``ChatPlatform`` that records calls; ids count up from 1000."""

    name: str = "discord"
    sections: list[tuple[ChannelRef, SectionPost]] = field(default_factory=list)
    digests: list[tuple[ChannelRef, DigestPost]] = field(default_factory=list)
    reactions: dict[str, list[ReactionState]] = field(default_factory=dict)
    replies: dict[str, list] = field(default_factory=dict)
    copies: list[tuple[ChannelRef, str, str]] = field(default_factory=list)
    finished: list[tuple[ChannelRef, str, str]] = field(default_factory=list)
    closed_threads: list[tuple[ChannelRef, str]] = field(default_factory=list)
    edited: list[tuple[ChannelRef, str, str]] = field(default_factory=list)
    deleted: list[tuple[ChannelRef, str]] = field(default_factory=list)
    notices: list[tuple[ChannelRef, str]] = field(default_factory=list)
    proposals: list[tuple[ChannelRef, str, ProposalPost]] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    """What :meth:`missing_permissions` reports for every channel."""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    async def post_section(self, channel, section, on_posted=None):
        self.sections.append((channel, section))
        mid = str(next(self._ids))
        posted = [PostedMessage(channel, mid, mid, 0)]
        if on_posted is not None:
            await on_posted(posted)
        return posted

    async def finish_section(self, channel, message_id, section):
        self.finished.append((channel, message_id, section.key))

    async def close_thread(self, channel, thread_id, note):
        self.closed_threads.append((channel, thread_id))
        return "locked"

    async def post_notice(self, channel, text):
        # Ids are not drawn from the counter: tests number sections and copies without it.
        self.notices.append((channel, text))
        return [PostedMessage(channel, f"notice-{len(self.notices)}", None, 0)]

    async def post_copy(self, channel, thread_id, text, vote_on=None):
        self.copies.append((channel, thread_id, text))
        return PostedMessage(channel, str(next(self._ids)), thread_id, 0)

    async def post_proposal(self, channel, thread_id, proposal):
        self.proposals.append((channel, thread_id, proposal))
        return PostedMessage(channel, str(next(self._ids)), thread_id, 0)

    async def edit_copy(self, channel, message_id, text):
        self.edited.append((channel, message_id, text))

    async def delete_copy(self, channel, message_id):
        self.deleted.append((channel, message_id))

    async def post_digest(self, channel, digest):
        self.digests.append((channel, digest))
        return [PostedMessage(channel, str(next(self._ids)), None, i)
                for i, _ in enumerate(digest.parts)]

    async def fetch_reactions(self, channel, message_id):
        return self.reactions.get(message_id, [])

    async def missing_permissions(self, channel, lang):
        return self.missing

    def describe_failure(self, error):
        return f"{type(error).__name__}: {error}" if isinstance(error, OSError) else None

    async def fetch_replies(self, channel, thread_id, after_message_id):
        return [r for r in self.replies.get(thread_id, [])
                if after_message_id is None or int(r.message_id) > int(after_message_id)]


def invitation(core: Core, round_id: int | None = None) -> str:
    """An invitation code to round ``round_id`` (default the newest), made as ``/round
    invite`` makes one, for opening the round in another place (``join=``)."""
    from bot.invitations import code_hash, new_code

    rid = round_id if round_id is not None else core.store.latest_round()
    assert rid is not None
    code = new_code()
    now = core.clock.now()
    core.store.create_invitation(rid, code_hash(code), now, now + core.settings.invite_ttl)
    return code


def invitation_code(answer: str) -> str:
    """The code in the answer to ``/round invite`` (``/planbot invite``)."""
    import re

    found = re.search(r"`([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})`", answer)
    assert found is not None, answer
    return found.group(1)
