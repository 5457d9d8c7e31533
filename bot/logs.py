"""Logging set-up: readable lines by default, JSON lines on request; tokens never logged.

Tokens can reach log messages through library debug output (URLs, headers); a filter masks
anything shaped like a Discord or Slack token before any handler sees it.
"""

from __future__ import annotations

import json
import logging
import re

TOKEN = re.compile(r"(xox[abpr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|[MN][A-Za-z\d_-]{23,25}\.[\w-]{6}\.[\w-]{27,})")


class RedactTokens(logging.Filter):
    """Replaces Slack (``xoxb-``/``xapp-``) and Discord bot tokens in messages with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN.search(message):
            record.msg, record.args = TOKEN.sub("[redacted]", message), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601 UTC), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Configure the root logger once: ``fmt`` is ``text`` or ``json``."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactTokens())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces every context set-up at INFO; only migrations that run matter.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
