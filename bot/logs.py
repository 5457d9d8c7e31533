"""Logging set-up: readable lines by default, JSON lines on request; tokens never logged.

Tokens can reach log lines through library debug output (URLs, headers) and through
tracebacks (an exception's message, a frame's source line). Every formatter here masks, in
the whole finished line (traceback and stack included), anything shaped like a token and the
secrets the service was configured with:

- Discord bot tokens: three dot-separated base64url parts, the first the bot's id (its first
  character depends on the id: ``M``, ``N``, ``O``, ...), the second 6 or 7 characters, the
  third the HMAC (27 or more); older ``mfa.`` user tokens
  (https://discord.com/developers/docs/reference#authentication);
- Slack tokens: ``xoxb-`` (bot), ``xoxp-`` (user), ``xoxa-``/``xoxr-``/``xoxs-``/``xoxo-``,
  ``xoxe-`` and ``xoxe.xoxp-`` (rotating), ``xapp-`` (app-level)
  (https://api.slack.com/concepts/token-types);
- the credentials of ``Authorization: Bot ...`` / ``Bearer ...`` headers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

TOKEN = re.compile(
    r"(?:xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+"
    r"|xapp-[A-Za-z0-9-]+"
    r"|mfa\.[\w-]{20,}"
    r"|[A-Za-z0-9_-]{18,30}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,})")
HEADER = re.compile(r"((?:Bot|Bearer)\s+)[^\s'\",]+")
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every token-shaped string, header credential and each of ``secrets``
    (exact values, those of 8 characters or more) replaced by ``[redacted]``."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    text = TOKEN.sub(REDACTED, text)
    return HEADER.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """A line formatter whose whole output (message, traceback, stack) goes through
    :func:`redact`; ``secrets`` are the configured tokens, masked whatever their shape."""

    def __init__(self, fmt: str | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: time (ISO 8601 UTC), level, logger, message, exception;
    redacted like :class:`RedactingFormatter`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, ensure_ascii=False), self.secrets)


MISLEADING = (("discord", "voice will NOT be supported"),
              ("slack_bolt", "`token` will be unused"))
"""(library package, text) of library warnings that mislead an operator, dropped by
:func:`misleading_warning`."""


def misleading_warning(record: logging.LogRecord) -> bool:
    """Log filter: False for the start-up warnings in :data:`MISLEADING`. discord.py warns
    when a client is built without its voice libraries (PyNaCl, davey), and planbot uses no
    voice. slack_bolt's ``AsyncApp`` reads ``SLACK_BOT_TOKEN`` from the environment by itself
    when given no ``token`` (``slack_bolt/app/async_app.py``), then warns that the ``client``
    planbot passes wins over it: planbot passes only that client, made with that same token,
    and no argument keeps bolt from reading the environment."""
    package = record.name.split(".")[0]
    return not any(package == library and text in record.getMessage()
                   for library, text in MISLEADING)


def configure_logging(fmt: str = "text", level: str = "INFO",
                      secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once: ``fmt`` is ``text`` or ``json``; ``secrets`` (the
    configured tokens and signing secret) are masked in every line; discord.py's voice
    and slack_bolt's misleading warnings are dropped (:func:`misleading_warning`)."""
    handler = logging.StreamHandler()
    handler.addFilter(misleading_warning)
    handler.setFormatter(JsonFormatter(secrets=secrets) if fmt == "json" else RedactingFormatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s", secrets=secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces every context set-up at INFO; only migrations that run matter.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
