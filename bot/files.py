"""Files planbot writes (exports, digests, backups): readable by their owner only, and CSV
cells that a spreadsheet will not run.

Owner-only: a folder planbot creates is 0700 and a file it writes 0600, whatever the process
umask (participants' opinions are personal information, Quebec's Law 25 s.10: security
measures proportionate to the sensitivity). A folder that already existed keeps its mode
(it may be shared on purpose, e.g. ``/tmp``); the files written in it are still 0600.

CSV: a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read as a formula by spreadsheet programs (OWASP, "CSV Injection"); such a cell is written
with a leading apostrophe, which spreadsheets show as text. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def private_dir(path: Path) -> Path:
    """``path`` as a folder, created 0700 (and so are its missing parents) if it did not
    exist; returns it. Raises ``OSError`` when it cannot be created."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.is_dir()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        folder.chmod(DIR_MODE)
    return path


@contextmanager
def private_open(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open ``path`` for writing (``mode`` ``"w"`` or ``"wb"``), created or truncated, mode
    0600 (an existing file is made 0600 too). Raises ``OSError``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, mode, **kwargs) as fh:
        yield fh


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``, mode 0600. Raises ``OSError``."""
    if isinstance(data, bytes):
        with private_open(path, "wb") as fh:
            fh.write(data)
    else:
        with private_open(path, "w", encoding="utf-8") as fh:
            fh.write(data)


def cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs: text starting with a formula character gets a
    leading apostrophe; anything else (numbers included) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]],
              lineterminator: str = "\r\n") -> None:
    """Write a CSV file (UTF-8, owner-only) with every cell passed through :func:`cell`.
    Raises ``OSError``."""
    with private_open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator=lineterminator)
        out.writerow([cell(h) for h in header])
        out.writerows([cell(v) for v in row] for row in rows)
