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
import secrets

from storage.rounds import PUBLIC_ID_ALPHABET

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
