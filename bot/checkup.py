"""What ``planbot doctor`` found: one :class:`Finding` per check, platform-neutral.

The platform adapters' checks (``integrations.discord.checks``, ``integrations.slack.checks``)
and the store's (``bot.service.doctor``) all answer with findings; each names a catalogue
entry, so the report reads in French or English, and says how to fix what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.i18n import translate

Status = Literal["ok", "warn", "fail"]
MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}


@dataclass(frozen=True)
class Finding:
    """One check's outcome: ``status`` ok, warn (works, but look at it) or fail (planbot
    cannot work so); ``msgid`` a catalogue entry filled with ``params``."""

    status: Status
    msgid: str
    params: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The finding in ``lang``, marked ✓, ! or ✗."""
        return f"{MARKS[self.status]} {translate(self.msgid, lang, **self.params)}"


def ok(msgid: str, **params: object) -> Finding:
    return Finding("ok", msgid, params)


def warn(msgid: str, **params: object) -> Finding:
    return Finding("warn", msgid, params)


def fail(msgid: str, **params: object) -> Finding:
    return Finding("fail", msgid, params)
