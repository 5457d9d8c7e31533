"""Invitation codes: how a facilitator lets another place (Discord guild, Slack workspace)
join a round.

A round belongs to the place where it was opened (``storage.records.Place``); another place
joins it only with a code that one of the round's facilitators created with ``/round invite``
(``/planbot invite``). A code is random (:data:`CODE_LENGTH` characters of
:data:`storage.rounds.PUBLIC_ID_ALPHABET`, about 59 bits), usable once, and expires after
``INVITE_TTL``. The store keeps only its SHA-256, so a copy of the database cannot be used
to join a round.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from bot.clock import Clock
from bot.config import Settings
from bot.errors import Conflict, NotFound
from bot.intake import RunInDb
from storage.records import Place, RoundData
from storage.rounds import PUBLIC_ID_ALPHABET
from storage.store import Store

_log = logging.getLogger(__name__)

CODE_LENGTH = 12


def new_code() -> str:
    """A new invitation code, shown as three groups of four (``k3f9-x2qa-7mnp``)."""
    raw = "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def code_hash(code: str) -> str:
    """The hex SHA-256 of a code as typed, once its case, dashes and spaces are dropped, so
    ``K3F9 X2QA 7MNP`` is the same code as ``k3f9-x2qa-7mnp``."""
    normal = "".join(ch for ch in code.lower() if ch not in "- \t")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


class Invitations:
    """Makes invitation codes and lets a place join a round with one. ``db`` runs store
    calls on the database thread."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, db: RunInDb) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.db = db

    async def create(self, round_id: int) -> tuple[str, datetime]:
        """A new code inviting to round ``round_id`` and when it expires (``INVITE_TTL`` from
        now); the store keeps only its hash."""
        code = new_code()
        now = self.clock.now()
        expires = now + self.settings.invite_ttl
        await self.db(self.store.create_invitation, round_id, code_hash(code), now, expires)
        return code, expires

    async def round_for(self, code: str, place: Place) -> RoundData:
        """The open round ``code`` invites ``place`` to, nothing used yet. ``NotFound`` with
        one answer whatever is wrong (unknown, expired, used by another place, round
        closed), so a code cannot be probed."""
        round_id = await self.db(self.store.invitation_round, code_hash(code), place,
                                 self.clock.now())
        rnd = await self.db(self.store.get_round, round_id) if round_id is not None else None
        if rnd is None or rnd.status != "open":
            raise NotFound("error.bad_invitation")
        return rnd

    async def use(self, invited: RoundData, code: str, place: Place) -> None:
        """Let ``place`` join ``invited`` with ``code``, used up unless ``place`` already
        belongs to the round. A place with its own open round over the same plan is refused
        (``Conflict``): its events would have two rounds to go to. ``NotFound`` when another
        place used the code a moment ago."""
        if place in invited.places:
            return
        own = await self.db(self.store.open_round_for_plan, invited.plan_slug or "", place)
        if own is not None:
            own_round = await self.db(self.store.get_round, own)
            raise Conflict("error.plan_open_here",
                           round=own_round.public_id if own_round else "")
        used = await self.db(self.store.use_invitation, code_hash(code), place, self.clock.now())
        if used.round_id is None:
            raise NotFound("error.bad_invitation")
        _log.info("a place joined round %s by invitation", invited.id)
