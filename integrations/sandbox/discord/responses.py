"""JSON answers of the local Discord: exact ``application/json`` and Discord's error body.

discord.py does not parse ``application/json; charset=utf-8`` as JSON (docs/platform-facts.md), so
answers set the content type by hand. Errors are ``{"message", "code"}`` (docs:
topics/opcodes-and-status-codes#json).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

UNKNOWN_CHANNEL, UNKNOWN_MEMBER, UNKNOWN_MESSAGE, UNKNOWN_EMOJI = 10003, 10007, 10008, 10014
UNKNOWN_WEBHOOK, UNKNOWN_USER, UNKNOWN_INTERACTION = 10015, 10013, 10062
MAX_REACTIONS = 30010
ALREADY_ACKNOWLEDGED = 40060
MISSING_ACCESS, CANNOT_EDIT_OTHERS, CANNOT_MESSAGE_USER = 50001, 50005, 50007
NOT_TEXT_CHANNEL = 50008
MISSING_PERMISSIONS, INVALID_WEBHOOK_TOKEN, INVALID_FORM_BODY = 50013, 50027, 50035
THREAD_ARCHIVED, THREAD_ALREADY_CREATED = 50083, 160004


class DiscordError(Exception):
    """Raised by handlers to answer ``status`` with Discord's error body."""

    def __init__(self, status: int, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def response(self) -> web.Response:
        return json_response({"message": self.message, "code": self.code}, status=self.status)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with the exact ``application/json`` content type discord.py expects."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def missing_access() -> DiscordError:
    return DiscordError(403, "Missing Access", MISSING_ACCESS)


def missing_permissions() -> DiscordError:
    return DiscordError(403, "Missing Permissions", MISSING_PERMISSIONS)


def thread_archived() -> DiscordError:
    return DiscordError(400, "Thread is archived", THREAD_ARCHIVED)
