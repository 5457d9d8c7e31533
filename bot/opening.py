"""Posting a round's sections and its opening announcement in one channel, for
:class:`bot.rounds.Rounds` (which opens or joins the round) and
:class:`bot.reconcile.Reconciler` (which finishes what a stopped run left undone).

Each section is posted on its own: one the platform refuses for good (a missing permission,
a message too long) is recorded as failed with the platform's reason, the facilitator is
told, and the other sections still go out. Running the same open again retries only what is
missing: sections never posted, and sections posted without their thread or seed reactions
(their thread state is unknown in the store until the platform confirmed them whole).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from bot.clock import Clock
from bot.config import Settings
from bot.errors import NotFound
from bot.i18n import translate
from bot.intake import RunInDb
from bot.platform import ChannelRef, ChatPlatform, PostedMessage, SectionPost
from bot.privacy import opening_announcement
from storage.store import Store

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FailedSection:
    """A section the platform refused in a channel: its key and the platform's reason."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Posting:
    """What one pass over a channel did: sections ``posted`` now, ``already`` there before,
    and those that ``failed`` (not posted, or posted without their thread or reactions)."""

    posted: int
    already: int
    failed: tuple[FailedSection, ...] = ()


class SectionPoster:
    """Posts and finishes a round's sections in a channel; ``db`` runs store calls on the
    database thread; the seed reactions are the settings' stance map's (none in a round
    whose stance mode is ``private``)."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.db = db

    async def section_posts(self, round_id: int) -> dict[int, SectionPost]:
        """The round's sections as posted, by statement id, in plan order, in the round's
        language (else the first one the section has). Raises ``NotFound``."""
        rnd = await self.db(self.store.get_round, round_id)
        if rnd is None:
            raise NotFound("error.no_round", round=round_id)
        private = rnd.stance_mode == "private"
        # A private round seeds no reaction and says why: reactions there count for nothing.
        note = f"\n\n*{translate('round.private_note', rnd.language)}*" if private else ""
        return {st.statement_id: SectionPost(
            key=st.section_key,
            title=st.titles.get(rnd.language) or next(iter(st.titles.values())),
            body=(st.bodies.get(rnd.language) or next(iter(st.bodies.values()))) + note,
            seed_emoji=() if private else self.settings.stance_map.seeds,
            language=rnd.language, statement_id=st.statement_id, stance_mode=rnd.stance_mode)
            for st in await self.db(self.store.round_sections, round_id)}

    async def post(self, round_id: int, channel: ChannelRef, platform: ChatPlatform) -> Posting:
        """Post the round's sections missing in ``channel`` and finish those left without
        their thread. A failure the platform explains (``describe_failure``) is recorded
        and the next section tried; when nothing at all could be posted, the first such
        error is raised again (the channel itself is the problem, which the adapter words
        best). Anything else is raised at once."""
        done = await self.db(self.store.posted_statements, round_id, channel.platform,
                             channel.channel_id)
        posted, failed, first_error = 0, [], None
        for statement_id, post in (await self.section_posts(round_id)).items():
            try:
                if statement_id in done:
                    await self.finish(channel, platform, done[statement_id], post)
                else:
                    await self._post_one(statement_id, channel, platform, post)
                    posted += 1
            except Exception as err:
                reason = platform.describe_failure(err)
                if reason is None:
                    raise
                _log.warning("section %s not posted on %s: %s", post.key, channel.platform, reason)
                await self.db(self.store.record_section_failure, statement_id, channel.platform,
                              channel.workspace_id, channel.channel_id, reason, self.clock.now())
                failed.append(FailedSection(post.key, reason))
                first_error = first_error or err
                continue
            await self.db(self.store.clear_section_failure, statement_id, channel.platform,
                          channel.channel_id)
        if first_error is not None and not posted and not done:
            raise first_error
        return Posting(posted, len(done), tuple(failed))

    async def finish(self, channel: ChannelRef, platform: ChatPlatform, message_id: str,
                     post: SectionPost, *, force: bool = False) -> bool:
        """Give a section posted earlier (``message_id``, its first part) its thread and
        seed reactions, unless the store knows them done (``force``: do it all the same,
        e.g. a seed reaction found missing). True if the platform was asked."""
        state = await self.db(self.store.thread_state, channel.platform, message_id)
        if state is not None and not force:
            return False
        await platform.finish_section(channel, message_id, post)
        if state is None:
            await self._opened(channel, message_id)
        return True

    async def announce(self, round_id: int, channel: ChannelRef, platform: ChatPlatform) -> None:
        """Post the round's opening announcement under its sections in ``channel`` (the
        channel's latest message, :func:`bot.privacy.opening_announcement`, and under strict
        moderation a word that replies wait for a facilitator); a failure is logged, the
        round is open all the same."""
        rnd = await self.db(self.store.get_round, round_id)
        strict = await self.db(self.store.round_moderation, round_id) == "strict"
        try:
            if rnd is not None:
                text = opening_announcement(self.settings, rnd, channel.platform)
                if strict:
                    text += "\n\n" + translate("moderation.notice", rnd.language)
                await platform.post_notice(channel, text)
        except Exception:  # noqa: BLE001 - the sections are out; the round stands without it
            _log.warning("could not post the opening announcement of round %s on %s",
                         round_id, channel.platform, exc_info=True)

    async def _post_one(self, statement_id: int, channel: ChannelRef, platform: ChatPlatform,
                        post: SectionPost) -> None:
        record = partial(self._record, statement_id)
        # Recorded once sent (on_posted) and again at the end: recording is idempotent, and
        # the end covers a platform that does not call back.
        messages = await platform.post_section(channel, post, on_posted=record)
        await record(messages)
        await self._opened(channel, messages[0].message_id)

    async def _opened(self, channel: ChannelRef, first_part: str) -> None:
        """The section's thread exists and its reactions are seeded: its thread is open."""
        await self.db(self.store.set_thread_state, channel.platform, first_part, "open")

    async def _record(self, statement_id: int, messages: list[PostedMessage]) -> None:
        await self.db(self.store.record_messages, statement_id, [
            (m.channel.platform, m.channel.workspace_id, m.channel.channel_id, m.message_id,
             m.thread_id, m.part) for m in messages])
