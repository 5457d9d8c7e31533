"""The store's own identity: which participant secret its pseudonyms were made with.

Participants are stored under a keyed hash of their platform id (``bot.identity``); a store
read with another secret sees every returning participant as a new person. The first start
records a fingerprint of the secret (never the secret itself) in ``store_settings``; later
starts compare theirs with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.base import StoreBase
from storage.models import StoreSetting

SECRET_FINGERPRINT = "participant_secret_fingerprint"


class IdentityQueries(StoreBase):
    """Facts about the store itself (``store_settings``)."""

    def stored_secret_fingerprint(self) -> str | None:
        """The fingerprint the store holds, None before the first start. Raises
        ``SQLAlchemyError`` (also when the schema predates ``store_settings``)."""
        with self._tx() as session:
            return session.scalar(select(StoreSetting.value).where(
                StoreSetting.key == SECRET_FINGERPRINT))

    def claim_secret_fingerprint(self, fingerprint: str, now: datetime) -> str | None:
        """Record ``fingerprint`` if the store has none yet; return the fingerprint the store
        already holds when it differs from ``fingerprint``, else None (this secret is the
        store's). Two processes racing on an empty store: the loser's insert fails on the
        primary key and its next start compares. Raises ``SQLAlchemyError``."""
        with self._tx() as session:
            held = session.scalar(select(StoreSetting.value).where(
                StoreSetting.key == SECRET_FINGERPRINT))
            if held is None:
                session.add(StoreSetting(key=SECRET_FINGERPRINT, value=fingerprint, set_at=now))
                return None
        return None if held == fingerprint else held
