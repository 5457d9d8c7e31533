"""``planbot doctor``, ``planbot run``'s start and each open on Slack: tokens, scopes, channels.

Slack answers a refused token with ``invalid_auth``, ``not_authed``, ``account_inactive``,
``token_revoked`` or ``token_expired`` (https://api.slack.com/methods/auth.test); every Web API
answer to a bot token lists its granted scopes in the ``x-oauth-scopes`` header
(https://api.slack.com/authentication/oauth-v2). The app-level token is checked by asking for
a Socket Mode URL (``apps.connections.open``), which the socket client would otherwise retry
forever. Channel membership comes from ``conversations.info``'s ``is_member``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.checkup import Finding, fail, ok, warn
from bot.errors import SetupError
from bot.i18n import translate

_log = logging.getLogger(__name__)
MANIFEST = Path(__file__).with_name("manifest.yml")
REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                     "token_expired", "not_allowed_token_type"})


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes ``path`` declares (``oauth_config.scopes.bot``): the list items after
    the ``bot:`` key, read without a YAML library since the file's layout is planbot's own."""
    scopes: set[str] = set()
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        item = line.split("#")[0].strip()
        if item == "bot:":
            inside = True
        elif inside and item.startswith("- "):
            scopes.add(item[2:].strip())
        elif inside and item:
            break
    return frozenset(scopes)


def _code(err: SlackApiError) -> str:
    return str(err.response.get("error") or "")


def _refused(err: SlackApiError, key: str) -> SetupError | SlackApiError:
    if _code(err) in REFUSED:
        return SetupError("run.token_rejected", key=key, error=_code(err))
    return err


async def verify_bot_token(client: AsyncWebClient) -> None:
    """``auth.test`` with the bot token; raises ``SetupError("run.token_rejected")`` naming
    ``SLACK_BOT_TOKEN`` when Slack refuses it (bolt would otherwise start and fail on each
    event with "installation no longer available"). Other errors propagate."""
    try:
        await client.auth_test()
    except SlackApiError as err:
        raise _refused(err, "SLACK_BOT_TOKEN") from err


async def socket_url(client: AsyncWebClient, app_token: str) -> str:
    """A Socket Mode URL for ``app_token`` (``apps.connections.open``); raises
    ``SetupError("run.token_rejected")`` naming ``SLACK_APP_TOKEN`` when Slack refuses it,
    where slack-sdk's socket client would log and retry forever."""
    try:
        return str((await client.apps_connections_open(app_token=app_token))["url"])
    except SlackApiError as err:
        raise _refused(err, "SLACK_APP_TOKEN") from err


async def check_slack(client: AsyncWebClient, *, app_token: str | None, mode: str,
                      channel_ids: Iterable[str]) -> list[Finding]:
    """Findings: bot token valid, scopes against the manifest, app-level token valid (Socket
    Mode), and the bot a member of each of ``channel_ids``."""
    try:
        answer = await client.auth_test()
    except SlackApiError as err:
        return [fail("doctor.token_rejected", key="SLACK_BOT_TOKEN", error=_code(err))]
    except (aiohttp.ClientError, OSError) as err:
        return [fail("doctor.unreachable", platform="Slack", error=type(err).__name__)]
    findings = [ok("doctor.slack_bot_token", team=answer.get("team"), user=answer.get("user"))]
    header = {k.lower(): v for k, v in answer.headers.items()}.get("x-oauth-scopes")
    if header is None:
        findings.append(warn("doctor.slack_scopes_unknown"))
    else:
        missing = manifest_scopes() - {s.strip() for s in header.split(",")}
        findings.append(fail("doctor.slack_scopes_missing", scopes=", ".join(sorted(missing)))
                        if missing else ok("doctor.slack_scopes"))
    findings.append(await _app_token(client, app_token, mode))
    channels = list(channel_ids)
    if not channels:
        return [*findings, warn("doctor.no_channels", platform="Slack")]
    return findings + [await _channel(client, channel) for channel in channels]


async def _app_token(client: AsyncWebClient, app_token: str | None, mode: str) -> Finding:
    if mode != "socket":
        return ok("doctor.slack_http_mode")
    try:
        await socket_url(client, app_token or "")
    except SetupError as err:
        return fail("doctor.token_rejected", **err.params)
    except SlackApiError as err:
        return fail("doctor.slack_app_token_failed", error=_code(err))
    return ok("doctor.slack_app_token")


async def _channel(client: AsyncWebClient, channel_id: str) -> Finding:
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as err:
        return fail("doctor.slack_channel_unseen", channel=channel_id, error=_code(err))
    name = f"#{info.get('name') or channel_id}"
    if not info.get("is_member"):
        return fail("doctor.slack_not_member", channel=name)
    return ok("doctor.slack_channel", channel=name)


OPENING_SCOPES = ("chat:write", "reactions:write", "files:write")
"""Bot scopes a round needs besides reading its channel's history: post the sections and
copies, seed reactions, upload the digests' charts."""


async def missing_permissions(client: AsyncWebClient, channel_id: str, lang: str) -> tuple[str, ...]:
    """What the app lacks in ``channel_id`` before a round opens there, in ``lang``:
    membership (``is_member``), a channel open to its posts (``is_archived``;
    ``is_read_only``: posting restricted, where ``chat.postMessage`` answers
    ``restricted_action``) from ``conversations.info``, and the scopes
    :data:`OPENING_SCOPES` plus the history scope of the channel's kind from the
    ``x-oauth-scopes`` header every answer carries. A channel Slack does not show the app
    (``channel_not_found``: private, the app not in it) lacks membership. When the check
    itself fails otherwise, nothing is reported missing: the open then says what the
    platform refuses. Raises nothing of Slack's."""
    try:
        resp = await client.conversations_info(channel=channel_id)
    except SlackApiError as err:
        if _code(err) == "channel_not_found":
            return (translate("slack.perm.member", lang),)
        _log.warning("conversations.info failed: %s", _code(err))
        return ()
    info = resp.get("channel") or {}
    problems = {"slack.perm.member": not info.get("is_member"),
                "slack.perm.archived": bool(info.get("is_archived")),
                "slack.perm.read_only": bool(info.get("is_read_only"))}
    missing = [translate(msgid, lang) for msgid, lacking in problems.items() if lacking]
    header = {k.lower(): v for k, v in resp.headers.items()}.get("x-oauth-scopes")
    if header is not None:
        granted = {scope.strip() for scope in header.split(",")}
        needed = (*OPENING_SCOPES, "groups:history" if info.get("is_private") else "channels:history")
        missing += [translate("slack.perm.scope", lang, scope=scope)
                    for scope in needed if scope not in granted]
    return tuple(missing)
