"""Errors a user can cause, each carrying a catalogue message id and its parameters.

One handler per platform turns them into an ephemeral answer in the user's language
(python-discord/bot ``error_handler.py`` pattern). ``PlanbotError.message(lang)`` renders it.
"""

from __future__ import annotations


class PlanbotError(Exception):
    """Base of user-facing errors: ``msgid`` names a catalogue entry, ``params`` fill it."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def message(self, lang: str) -> str:
        """The error in ``lang`` (``fr`` or ``en``), from the message catalogues."""
        from bot.i18n import translate

        return translate(self.msgid, lang, **self.params)

    def __str__(self) -> str:
        return self.message("en")


class BadArgument(PlanbotError):
    """The user gave a value planbot cannot use."""


class NotFound(PlanbotError):
    """The plan, round or section named does not exist."""


class NotAllowed(PlanbotError):
    """The user may not do this (not a facilitator)."""


class Conflict(PlanbotError):
    """The action clashes with the current state (round already closed...)."""


class PlanFileError(PlanbotError):
    """A plan file is unusable; ``path`` and ``line`` (1-based, 0 when not tied to a line)."""

    def __init__(self, msgid: str, *, path: str, line: int = 0, **params: object) -> None:
        super().__init__(msgid, path=path, line=line, **params)
        self.path = path
        self.line = line


class SetupError(PlanbotError):
    """The installation cannot work as configured (a database that cannot be reached, a
    store written with another participant secret, a token a platform refuses); the
    message says what happened and how to fix it. The CLI exits with status 2."""


def database_failure(error: BaseException) -> SetupError:
    """A :class:`SetupError` naming what went wrong with the database behind ``error``
    (``storage.db.failure_kind``), in words an operator can act on. The URL, which may hold
    a password, is never part of it."""
    from storage.db import failure_kind

    return SetupError("db." + failure_kind(error), error=type(error).__name__)
