"""Pseudonymous participant keys.

A participant is known to the store only as HMAC-SHA256(secret, "<platform>:<user id>")
(RFC 2104), so analysis tables never hold a raw platform id, while the same person keeps the
same key across events, restarts and reconciliation.
"""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    """Turns (platform, user id) into a stable 64-hex-character key with a secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("participant secret must not be empty")
        self._secret = secret.encode()

    def key(self, platform: str, user_id: str) -> str:
        """The participant key of ``user_id`` on ``platform``."""
        return hmac.new(self._secret, f"{platform}:{user_id}".encode(), hashlib.sha256).hexdigest()


def secret_fingerprint(secret: str) -> str:
    """A 16-hex-character fingerprint of ``secret`` that the store may keep: HMAC-SHA256 of a
    fixed label, so it says whether two secrets are the same without revealing either."""
    return hmac.new(secret.encode(), b"planbot participant secret fingerprint",
                    hashlib.sha256).hexdigest()[:16]
