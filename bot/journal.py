"""The local journal: where inbound events wait while the store is unreachable.

A file in ``PLANBOT_HOME`` (``inbox.journal``, mode 0600: it holds people's raw ids and
text), one JSON line per event (the inbox row's fields), appended and ``fsync``-ed before the
events are acknowledged, so an acknowledged event survives the process and the machine.
When the store is back, :class:`bot.intake.Intake` moves every line into the inbox (the
inbox's unique delivery key makes a move cut short by a crash harmless when repeated) and
then empties the file. The file never grows beyond ``max_bytes``: an append that would
raises :class:`JournalFull`, and the adapter does not acknowledge (Slack sends again; on
Discord the event is missed, and a reconciliation is scheduled for when the store is back).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from storage.records import NewInboxRow

_log = logging.getLogger(__name__)
FILE_NAME = "inbox.journal"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class JournalFull(Exception):
    """The store is unreachable and the journal cannot take more: the event is not kept."""


class Journal:
    """An append-only, bounded, fsync-ed file of inbox rows (module docstring). Not
    thread-safe: :class:`bot.intake.Intake` uses it from the database thread only."""

    def __init__(self, home: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = home / FILE_NAME
        self.max_bytes = max_bytes

    def size(self) -> int:
        """Bytes held (0 when the file does not exist)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, rows: Sequence[NewInboxRow]) -> int:
        """Append as many of ``rows``, in order, as fit; fsync; return how many were kept.
        Raises ``OSError`` when the file cannot be written (nothing is then promised)."""
        room = self.max_bytes - self.size()
        lines: list[bytes] = []
        for row in rows:
            line = json.dumps([row.platform, row.delivery_key, row.partition, row.payload,
                               row.received_at.isoformat()],
                              separators=(",", ":")).encode() + b"\n"
            if len(line) > room:
                break
            room -= len(line)
            lines.append(line)
        if not lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, b"".join(lines))
            os.fsync(fd)
        finally:
            os.close(fd)
        return len(lines)

    def rows(self) -> list[NewInboxRow]:
        """Every row held, in append order. A last line cut short by a crash during its
        append was never acknowledged: it is dropped, as is any line that is not a row."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        rows: list[NewInboxRow] = []
        for line in data.splitlines():
            try:
                platform, key, partition, payload, received = json.loads(line)
                rows.append(NewInboxRow(platform, key, int(partition), payload,
                                        datetime.fromisoformat(received)))
            except (ValueError, TypeError):
                _log.warning("skipped an unreadable journal line")
        return rows

    def clear(self) -> None:
        """Empty the journal (after its rows are in the inbox), durably."""
        if not self.path.exists():
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
