"""A participant's rights over their data (Quebec's private-sector privacy act as amended by
Law 25, ss. 8, 23, 27, 28, 28.1; PIPEDA principle 4.9): see what planbot holds about them
in a structured, commonly used format (JSON), have it erased, and have it destroyed once its
purpose is served (the retention period after a round closes).

:class:`Privacy` serves ``/my-data``, ``/forget-me`` and ``planbot privacy``; every request
served is written to the audit log (when, what kind, which way; no content, no person).
Erasing keeps others' replies and stances; it deletes planbot's copies of the person's
replies on every connected platform, and redacts the digests already stored, so that no
quote of an erased reply survives in the store (:func:`redact`). Their events still waiting
in the inbox are discarded with the rest (:func:`pending_of`); what they do after the
erasure is a new participation, recorded as any other.
"""

from __future__ import annotations

import html
import json
import logging
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from bot import wire
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import translate
from bot.identity import Pseudonymizer
from bot.platform import ChannelRef, ChatPlatform
from storage.inbox import PendingOf
from storage.records import CopyMessage, ParticipantData, PurgeCandidate, RoundData
from storage.store import Store

if TYPE_CHECKING:  # both import bot.apply, which imports this module
    from bot.apply import EventApplier
    from bot.intake import RunInDb

_log = logging.getLogger(__name__)

REDACTED = "[…]"
"""What an erased or purged reply's quote becomes in a stored digest."""
MATCH_PREFIX = 12
"""Letters and digits of a text that must match, in order, for a digest's quote of it to be
redacted: quotes are cut short (``bot.digests.render_md.quote``), so a prefix this long
stands for the text; a shorter text must match whole."""
SKIP_LIMIT = 8
"""Characters between two letters of a text that a quote may hold in addition: the escapes
of the renderings (``&amp;``, ``\\*``, a folded line break)."""
SURE_START = 3
"""Letters that must match in a row before an escape may be skipped."""
CODE_WINDOW = timedelta(minutes=10)
"""A forget-me confirmation code is good in the window it was given in and the next one."""


def _letters(text: str) -> list[tuple[int, str]]:
    """(index, case-folded character) of every letter and digit of ``text``; a character
    whose case folding is longer (``ß`` -> ``ss``, ``İ`` -> ``i̇``) gives one entry per folded
    character, all at its index, so that a text and its quote fold alike."""
    return [(i, folded) for i, ch in enumerate(text) if unicodedata.category(ch)[0] in "LN"
            for folded in ch.casefold()]


def _is_escape(between: str) -> bool:
    """Whether characters found between two letters of a quote hold an escape of the
    renderings (an HTML or mrkdwn entity, a Markdown backslash), not a different text."""
    return any(mark in between for mark in "&\\;")


def _cut_here(text: str, after: int) -> bool:
    """Whether a quote is cut short right after ``text[after]``: an ellipsis follows, past
    at most :data:`SKIP_LIMIT` spaces, punctuation or escapes."""
    return "…" in text[after + 1:after + 2 + SKIP_LIMIT]


def _match_end(text: str, hay: list[tuple[int, str]], start: int, needle: str) -> int | None:
    """Index in ``hay`` (the letters of ``text``) of the last letter of a quote of
    ``needle`` starting at ``hay[start]``, or None. A quote holds every letter of the
    needle in order (escapes may sit between two letters, :data:`SKIP_LIMIT` characters at
    most), or at least :data:`MATCH_PREFIX` of its first letters followed by an ellipsis
    (a quote cut short); anything else is another text that starts alike."""
    h, matched, last = start, 0, start
    while matched < len(needle) and h < len(hay):
        if hay[h][1] == needle[matched]:
            matched, last, h = matched + 1, h, h + 1
            continue
        if matched < SURE_START:
            break  # a quote starts with the text's own first letters
        # Resynchronise across an escape: the next letter within reach.
        k = h + 1
        while k < len(hay) and hay[k][0] - hay[last][0] <= SKIP_LIMIT + 1 \
                and hay[k][1] != needle[matched]:
            k += 1
        if k >= len(hay) or hay[k][0] - hay[last][0] > SKIP_LIMIT + 1 \
                or not _is_escape(text[hay[last][0] + 1:hay[k][0]]):
            break
        h = k
    if matched == len(needle):
        return last
    return last if matched >= MATCH_PREFIX and _cut_here(text, hay[last][0]) else None


def _redact_string(text: str, needles: Sequence[str], wholes: Sequence[str]) -> str:
    hay = _letters(text)
    spans: list[tuple[int, int]] = []
    for needle in needles:
        h = 0
        while h < len(hay):
            end = _match_end(text, hay, h, needle) if hay[h][1] == needle[0] else None
            if end is None:
                h += 1
                continue
            spans.append((hay[h][0], hay[end][0] + 1))
            h = end + 1
    for whole in wholes:
        at = text.find(whole)
        while at >= 0:
            spans.append((at, at + len(whole)))
            at = text.find(whole, at + len(whole))
    if not spans:
        return text
    out, at = [], 0
    for start, end in sorted(spans):
        if end <= at:
            continue
        out.append(text[at:max(start, at)])
        out.append(REDACTED)
        at = end
    return "".join(out) + text[at:]


def redact(value: Any, texts: Iterable[str]) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every quote of ``texts`` replaced by
    :data:`REDACTED`. A quote is found by its letters and digits, in order and case-folded,
    so escapes (HTML and mrkdwn entities, Markdown backslashes), folded whitespace and a
    quote cut short are found too (see :func:`_match_end`). A text with fewer than 3 letters
    or digits (emoji, a number) is found as written, whole, when it has at least 3
    characters besides spaces; shorter ones are left alone (they would match the digest's
    own counts and stance emoji)."""
    # The renderings escape what they quote: look for each escaped form's letters too
    # (``&lt;b&gt;`` puts the letters "lt" and "gt" between the text's own).
    forms = {form for t in texts for form in (t, html.escape(t), html.escape(t, quote=False),
                                               t.replace("&", "&amp;").replace("<", "&lt;")
                                               .replace(">", "&gt;"))}
    needles = [n for n in ("".join(ch for _, ch in _letters(t)) for t in forms) if len(n) >= 3]
    wholes = [" ".join(t.split()) for t in forms
              if len(_letters(t)) < 3 and len("".join(t.split())) >= 3]
    if not needles and not wholes:
        return value

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return _redact_string(v, needles, wholes)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return walk(value)


def redact_stored_digests(store: Store, texts: Sequence[str],
                          round_ids: Sequence[int] | None = None) -> int:
    """Redact ``texts`` from the stored digests (of ``round_ids``, or all); returns how many
    digests changed. Runs on the database thread."""
    if not texts:
        return 0
    changed = 0
    for digest in store.stored_digests(round_ids):
        content, outputs = redact(digest.content, texts), redact(digest.outputs, texts)
        if (content, outputs) != (digest.content, digest.outputs):
            store.rewrite_digest(digest.id, content, outputs)
            changed += 1
    return changed


def opening_announcement(settings: Settings, rnd: RoundData, platform: str) -> str:
    """A round's opening announcement in its language, as planbot's Markdown: how to take
    part, then the privacy notice (Law 25, s. 8: what is collected and why, who sees it, how
    long it is kept, how to get or erase it, with ``platform``'s commands). How stances are
    given and who sees them follows the round's stance mode (Law 25, s. 9.1: a private
    round is said to be private)."""
    lang = rnd.language
    mode = rnd.stance_mode
    return translate(
        "privacy.notice", lang, round=rnd.public_id, name=rnd.name,
        how=translate(f"privacy.how_{mode}", lang, seeds=" ".join(settings.stance_map.seeds),
                      vote=translate(f"privacy.commands_{platform}_vote", lang)),
        seen=translate(f"privacy.seen_{mode}", lang), retention=settings.retention_period.days,
        my_data=translate(f"privacy.commands_{platform}_my_data", lang),
        forget_me=translate(f"privacy.commands_{platform}_forget_me", lang))


def pending_of(platform: str, user_id: str) -> PendingOf:
    """The inbox rows of events ``user_id`` made on ``platform``: their payload
    (:func:`bot.wire.encode`, JSON with ASCII escapes) spells the id as ``json.dumps``
    does, and names them as its actor. A payload that cannot be read is nobody's: the
    applier skips it anyway, dropping its payload."""

    def theirs(payload: str) -> bool:
        try:
            actor = getattr(wire.decode(payload), "actor", None)
        except (ValueError, KeyError, TypeError):
            return False
        return actor is not None and actor.user_id == user_id

    return PendingOf(platform, json.dumps(user_id), theirs)


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def personal_data_json(data: ParticipantData | None, platform: str, user_id: str) -> bytes:
    """What planbot holds about one person, as UTF-8 JSON (``held: false`` and nothing else
    when it holds nothing). Times are ISO 8601 UTC."""
    doc: dict[str, Any] = {"platform": platform, "user_id": user_id, "held": data is not None}
    if data is not None:
        public = {r.id: r.public_id for r in data.rounds}  # row numbers mean nothing to people
        doc |= {
            "display_name": data.display_name,
            "first_seen_at": _when(data.first_seen_at),
            "rounds": [{"id": r.public_id, "name": r.name, "status": r.status,
                        "opened_at": _when(r.opened_at), "closed_at": _when(r.closed_at)}
                       for r in data.rounds],
            "stances": [{"round": public[s.round_id], "target": {"kind": s.target_kind,
                                                        "statement": s.statement_id,
                                                        "section": s.section_key},
                         "via": s.via, "emoji": s.emoji if s.via == "reaction" else None,
                         "stance": s.stance, "platform": s.platform,
                         "added_at": _when(s.added_at), "removed_at": _when(s.removed_at),
                         "counts": s.current} for s in data.stances],
            "replies": [{"round": public[r.round_id], "statement": r.statement_id,
                         "section": r.section_key, "text": r.text, "files": r.attachments,
                         "created_at": _when(r.created_at), "edited_at": _when(r.edited_at),
                         "deleted_at": _when(r.deleted_at), "moderation": r.moderation,
                         "anonymous_proposal": r.proposal,
                         "edits": [{"text": e.previous_text, "replaced_at": _when(e.replaced_at)}
                                   for e in r.edits],
                         "messages": [{"platform": m.platform, "workspace": m.workspace_id,
                                       "channel": m.channel_id, "message": m.message_id,
                                       "copy_by_planbot": m.is_copy,
                                       "deleted_at": _when(m.deleted_at)} for m in r.messages]}
                        for r in data.replies],
            "moderation_decisions": [{"round": d.round_id, "statement": d.statement_id,
                                      "action": d.action, "platform": d.platform,
                                      "decided_at": _when(d.decided_at)}
                                     for d in data.decisions],
        }
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure did: replies erased, stances removed, planbot's copies deleted on
    platforms, and the copies it could not delete (platform not connected, or failing)."""

    found: bool
    replies: int = 0
    stances: int = 0
    copies_deleted: int = 0
    copies_left: list[CopyMessage] = field(default_factory=list)
    decisions: int = 0
    """Their moderation decisions, kept in the audit linked to no one."""
    pending: int = 0
    """Their events captured before the erasure but not applied yet, discarded."""


class Privacy:
    """Serves a participant's rights. ``db`` runs store calls on the database thread;
    ``platforms`` is the core's live registry of connected adapters; ``applier`` forgets its
    cached participant ids once one is erased."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb,
                 pseudonyms: Pseudonymizer, applier: EventApplier,
                 platforms: Mapping[str, ChatPlatform]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.db = db
        self.pseudonyms = pseudonyms
        self.applier = applier
        self.platforms = platforms

    def confirm_code(self, platform: str, user_id: str, at: datetime | None = None) -> str:
        """A 6-digit code that confirms ``user_id``'s erasure request: the same for one
        person within a :data:`CODE_WINDOW`, another for anyone else (keyed hash)."""
        moment = at or self.clock.now()
        window = int(moment.timestamp() // CODE_WINDOW.total_seconds())
        digest = self.pseudonyms.key(platform, f"forget-me:{user_id}:{window}")
        return f"{int(digest, 16) % 1_000_000:06d}"

    def code_is_valid(self, platform: str, user_id: str, code: str) -> bool:
        """Whether ``code`` is the person's current or previous window's code."""
        now = self.clock.now()
        return code.strip() in {self.confirm_code(platform, user_id, now),
                                self.confirm_code(platform, user_id, now - CODE_WINDOW)}

    async def export(self, platform: str, user_id: str, via: str) -> ParticipantData | None:
        """Everything held about ``user_id`` on ``platform`` (None: nothing); logged in the
        audit log as an ``export`` served ``via`` chat or cli."""
        data = await self.db(self.store.participant_data,
                             self.pseudonyms.key(platform, user_id))
        await self.db(self.store.record_privacy_request, "export", via, platform,
                      self.clock.now())
        return data

    async def held(self, platform: str, user_id: str) -> ParticipantData | None:
        """What an erasure of ``user_id`` on ``platform`` would remove (None: nothing held);
        read only, not a request served (nothing written to the audit log)."""
        return await self.db(self.store.participant_data, self.pseudonyms.key(platform, user_id))

    async def pending(self, platform: str, user_id: str) -> int:
        """How many events of ``user_id`` on ``platform`` wait in the inbox, which an
        erasure would discard; read only."""
        return await self.db(self.store.inbox_pending_of, pending_of(platform, user_id))

    async def erase(self, platform: str, user_id: str, via: str) -> ErasureReport:
        """Erase ``user_id`` on ``platform`` (``storage.privacy.PrivacyQueries
        .erase_participant``: their events waiting in the inbox too, and those other
        processes are applying), redact the stored digests, delete planbot's copies of their
        replies on the connected platforms; logged as an ``erase``. A copy that cannot be
        deleted now is listed in the report (the next reconciliation of an open round deletes
        it: ``bot.relay.Relay.withdraw_stale``); one whose post is under way, in any process,
        is deleted by the relay once recorded (``bot.relay.Relay._post``)."""
        now = self.clock.now()
        key = self.pseudonyms.key(platform, user_id)
        erasure = await self.db(self.store.erase_participant, key, now,
                                pending_of(platform, user_id))
        await self.db(self.applier.forget_people)
        await self.db(self.store.record_privacy_request, "erase", via, platform, now)
        if erasure is None:
            return ErasureReport(found=False)
        await self.db(redact_stored_digests, self.store, erasure.texts)
        deleted, left = await self.delete_copies(erasure.copies)
        await self.db(partial(self.store.release_erased, rebuild=True))
        _log.info("erased a participant at their request (%d replies, %d stances, %d events "
                  "not yet applied)", len(erasure.statement_ids), erasure.stances,
                  erasure.pending)
        return ErasureReport(True, len(erasure.statement_ids), erasure.stances, deleted, left,
                             erasure.decisions, erasure.pending)

    async def delete_copies(self, copies: Iterable[CopyMessage]
                            ) -> tuple[int, list[CopyMessage]]:
        """Delete ``copies`` (:meth:`delete_copy`); returns how many were deleted and those
        left (their platform not connected, or refusing), in order."""
        deleted, left = 0, []
        for copy in copies:
            if await self.delete_copy(copy):
                deleted += 1
            else:
                left.append(copy)
        return deleted, left

    async def delete_copy(self, copy: CopyMessage) -> bool:
        """Delete one of planbot's copies on its platform and mark it deleted; False when
        the platform is not connected or refuses."""
        platform = self.platforms.get(copy.platform)
        if platform is None:
            return False
        try:
            await platform.delete_copy(ChannelRef(copy.platform, copy.workspace_id,
                                                  copy.channel_id), copy.message_id)
        except Exception:  # noqa: BLE001 - the others are still deleted; this one is reported
            _log.warning("could not delete a copy on %s", copy.platform, exc_info=True)
            return False
        await self.db(self.store.delete_message, event_key=None, platform=copy.platform,
                      channel_id=copy.channel_id, message_id=copy.message_id,
                      at=self.clock.now())
        return True

    async def purge(self, *, dry_run: bool, via: str = "scheduler") -> list[PurgeCandidate]:
        """The rounds closed (an imported round: received) longer ago than the retention
        period whose texts are still held; unless ``dry_run``, purge them (``PrivacyQueries.purge_round``) and redact
        their stored digests. Returns the rounds concerned."""
        now = self.clock.now()
        due = await self.db(self.store.purge_candidates, now - self.settings.retention_period)
        if dry_run or not due:
            return due
        for candidate in due:
            texts = await self.db(self.store.purge_round, candidate.round_id, now)
            await self.db(redact_stored_digests, self.store, texts, [candidate.round_id])
        await self.db(self.store.record_privacy_request, "purge", via, None, now)
        await self.db(partial(self.store.release_erased, rebuild=True))
        _log.info("purged the texts of %d round(s) past the retention period", len(due))
        return due
