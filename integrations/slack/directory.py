"""Facts about users that Slack leaves out of slash commands: locale and user groups; and
the workspaces a channel named in a command belongs to.

A slash command carries no locale, so the user's language comes from ``users.info`` with
``include_locale`` (https://api.slack.com/methods/users.info). The user groups a user belongs
to come from one ``usergroups.list`` with ``include_users``
(https://api.slack.com/methods/usergroups.list), shared by everyone; both are cached so that a
burst of commands costs one call each. Failures (missing scope, free workspace without user
groups) give no answer rather than an error: the core then falls back to the default
language and to facilitator user ids.

Whether a user is a bot also comes from ``users.info`` (``is_bot``, or ``id`` ``USLACKBOT``):
another app's ``reaction_added`` carries only its user id
(https://api.slack.com/events/reaction_added). An account never changes kind, so that answer
is kept for good.

On an organisation-wide install one bot reaches the channels of every workspace of the
organisation; ``conversations.info``'s ``shared_team_ids`` says which workspaces a channel is
in (https://api.slack.com/methods/conversations.info).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

_log = logging.getLogger(__name__)
SLACKBOT = "USLACKBOT"
"""Slackbot's user id, which ``users.info`` does not flag as a bot."""
BOT_CACHE_SIZE = 100_000
"""Users whose bot flag is kept before the cache starts afresh."""


class Directory:
    """Cached look-ups; ``ttl`` in seconds, ``monotonic`` the clock the cache reads."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._now = monotonic
        self._locales: dict[str, tuple[float, str | None]] = {}
        self._groups: tuple[float, dict[str, frozenset[str]]] | None = None
        self._bots: dict[str, bool] = {}

    async def is_bot(self, user_id: str) -> bool:
        """True for another app's bot user or Slackbot. A failed look-up answers ``False``
        uncached, so that a person's reaction is never dropped for a network hiccup."""
        known = self._bots.get(user_id)
        if known is not None:
            return known
        try:
            resp = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            _log.warning("users.info failed: %s", exc.response.get("error"))
            return False
        except (TimeoutError, ClientError) as exc:
            _log.warning("users.info unreachable: %r", exc)
            return False
        user = resp.get("user") or {}
        if len(self._bots) > BOT_CACHE_SIZE:
            self._bots.clear()
        self._bots[user_id] = bool(user.get("is_bot")) or user_id == SLACKBOT
        return self._bots[user_id]

    def known_locale(self, user_id: str) -> str | None:
        """The user's locale as last looked up, however old, without asking Slack (for an
        answer due within Slack's 3 seconds); ``None`` if never looked up."""
        cached = self._locales.get(user_id)
        return cached[1] if cached is not None else None

    async def locale_of(self, user_id: str) -> str | None:
        """The user's locale tag (``fr-FR``, ``en-US``), or ``None`` if Slack does not say."""
        cached = self._locales.get(user_id)
        if cached is not None and self._now() - cached[0] < self._ttl:
            return cached[1]
        try:
            resp = await self._client.users_info(user=user_id, include_locale=True)
            user = resp.get("user") or {}
            locale = user.get("locale")
            self._bots[user_id] = bool(user.get("is_bot")) or user_id == SLACKBOT
        except SlackApiError as exc:
            _log.warning("users.info failed: %s", exc.response.get("error"))
            locale = None
        except (TimeoutError, ClientError) as exc:
            _log.warning("users.info unreachable: %r", exc)
            return None
        self._locales[user_id] = (self._now(), locale)
        return locale

    async def groups_of(self, user_id: str) -> frozenset[str]:
        """Ids of the user groups ``user_id`` belongs to (empty when unavailable)."""
        if self._groups is None or self._now() - self._groups[0] >= self._ttl:
            members: dict[str, set[str]] = {}
            try:
                resp = await self._client.usergroups_list(include_users=True)
                for group in resp.get("usergroups") or []:
                    for member in group.get("users") or []:
                        members.setdefault(member, set()).add(group["id"])
            except SlackApiError as exc:
                _log.warning("usergroups.list failed: %s", exc.response.get("error"))
            except (TimeoutError, ClientError) as exc:
                _log.warning("usergroups.list unreachable: %r", exc)
                return frozenset()
            self._groups = (self._now(), {u: frozenset(g) for u, g in members.items()})
        return self._groups[1].get(user_id, frozenset())

    async def channel_teams(self, channel_id: str) -> frozenset[str] | None:
        """The workspaces (team ids) channel ``channel_id`` is in, or ``None`` when Slack
        does not say (the look-up failed, or the answer has no ``shared_team_ids``)."""
        try:
            resp = await self._client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            _log.warning("conversations.info failed: %s", exc.response.get("error"))
            return None
        except (TimeoutError, ClientError) as exc:
            _log.warning("conversations.info unreachable: %r", exc)
            return None
        teams = (resp.get("channel") or {}).get("shared_team_ids")
        return frozenset(teams) if teams else None
