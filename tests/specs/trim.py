"""Copy the parts of Discord's and Slack's API descriptions that planbot's conformance tests use.

Run by hand when the upstream descriptions or the routes planbot uses change::

    python tests/specs/trim.py DISCORD_OPENAPI_JSON SLACK_WEB_API_JSON

It keeps the operations listed in :data:`DISCORD_ROUTES` and :data:`SLACK_METHODS` and every
component they reference (transitively), then applies :data:`SLACK_PATCHES` (fields Slack's
current documentation shows that its 2021 description lacks), and writes
``tests/specs/discord-openapi.json`` and ``tests/specs/slack-web-api.json``. Sources and
licences: ``tests/specs/README.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

DISCORD_ROUTES: dict[str, tuple[str, ...]] = {
    "/users/@me": ("get",),
    "/users/@me/channels": ("post",),
    "/oauth2/applications/@me": ("get",),
    "/gateway/bot": ("get",),
    "/applications/{application_id}/commands": ("get", "put"),
    "/applications/{application_id}/guilds/{guild_id}/commands": ("get", "put"),
    "/channels/{channel_id}": ("get", "patch"),
    "/channels/{channel_id}/messages": ("get", "post"),
    "/channels/{channel_id}/messages/{message_id}": ("get", "patch", "delete"),
    "/channels/{channel_id}/messages/{message_id}/threads": ("post",),
    "/channels/{channel_id}/threads": ("post",),
    "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me": ("put", "delete"),
    "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}": ("get",),
    "/guilds/{guild_id}/members/{user_id}": ("get",),
    "/users/{user_id}": ("get",),
    "/interactions/{interaction_id}/{interaction_token}/callback": ("post",),
    "/webhooks/{webhook_id}/{webhook_token}": ("post",),
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original": ("patch",),
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": ("patch",),
}
"""Route template -> methods: every route the local Discord serves (those planbot calls)."""

SLACK_METHODS = (
    "auth.test", "chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral",
    "reactions.add", "reactions.remove", "reactions.get", "conversations.replies",
    "conversations.history", "conversations.info", "users.info", "usergroups.list",
    "views.open", "views.update",
)
"""Web API methods the local Slack serves that Slack's description has. Three it serves are
not in that 2021 description (``apps.connections.open``, ``files.getUploadURLExternal``,
``files.completeUploadExternal``); :data:`SLACK_EXTRA` describes them from their method pages."""

SLACK_EXTRA = {
    "apps.connections.open": {
        "source": "https://api.slack.com/methods/apps.connections.open",
        "ok": {"url": {"type": "string"}},
        "required": ["url"],
        "errors": ["not_authed", "invalid_auth", "ratelimited", "missing_scope"],
    },
    "files.getUploadURLExternal": {
        "source": "https://api.slack.com/methods/files.getUploadURLExternal",
        "ok": {"upload_url": {"type": "string"}, "file_id": {"type": "string"}},
        "required": ["upload_url", "file_id"],
        "errors": ["not_authed", "invalid_auth", "invalid_arguments", "ratelimited"],
    },
    "files.completeUploadExternal": {
        "source": "https://api.slack.com/methods/files.completeUploadExternal",
        "ok": {"files": {"type": "array", "items": {"type": "object",
                                                      "required": ["id"],
                                                      "properties": {"id": {"type": "string"}}}}},
        "required": ["files"],
        "errors": ["not_authed", "invalid_auth", "file_not_found", "channel_not_found",
                   "not_in_channel", "is_archived", "ratelimited"],
    },
}

SLACK_PATCHES: dict[str, dict[str, Any]] = {
    # https://api.slack.com/events/message/message_changed: an edited message carries
    # ``edited: {user, ts}``; https://api.slack.com/events/message/thread_broadcast carries
    # ``root``; https://api.slack.com/events/message/message_replied ``latest_reply`` is there.
    "objs_message": {
        "edited": {"type": "object", "required": ["user", "ts"],
                   "properties": {"user": {"type": "string"}, "ts": {"type": "string"}}},
        "root": {"type": "object"},
        "hidden": {"type": "boolean"},
        "app_id": {"type": "string"},
    },
}
"""Definition -> properties added (each from the Slack page cited above it)."""

SLACK_RESPONSE_PATCHES = {
    # https://api.slack.com/docs/pagination: cursor-paginated methods answer
    # ``response_metadata.next_cursor``.
    "conversations.history": {"response_metadata": {"$ref": "#/definitions/objs_response_metadata"}},
    "conversations.replies": {"response_metadata": {"$ref": "#/definitions/objs_response_metadata"}},
}
"""Method -> properties added to its success answer."""

SLACK_ERROR_PATCHES = {
    # Error codes the current method pages list (https://api.slack.com/methods/<method>) and
    # the 2021 description lacks; ``ratelimited`` is the HTTP 429 answer of every method
    # (https://api.slack.com/docs/rate-limits).
    "chat.postMessage": ["invalid_blocks", "invalid_blocks_format", "internal_error", "ratelimited",
                         "restricted_action", "not_allowed_token_type"],
    "chat.update": ["invalid_blocks", "is_archived", "internal_error", "ratelimited"],
    "chat.delete": ["internal_error", "ratelimited"],
    "reactions.add": ["is_archived", "channel_not_found", "internal_error", "ratelimited"],
    "conversations.history": ["internal_error", "ratelimited"],
    "conversations.replies": ["internal_error", "ratelimited"],
    "users.info": ["internal_error", "ratelimited"],
}
"""Method -> error codes added to its error answer's enum."""


def _refs(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _closure(doc: dict, roots: object) -> dict:
    """The components (``#/a/b/c`` refs) reachable from ``roots``, as a nested dict."""
    kept: dict = {}
    todo: set[str] = set()
    _refs(roots, todo)
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = ref[2:].split("/")
        node = doc
        for part in parts:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        target = kept
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = node
        _refs(node, todo)
    return kept


def trim_discord(doc: dict) -> dict:
    paths = {
        template: {m: doc["paths"][template][m] for m in methods}
        | ({"parameters": doc["paths"][template]["parameters"]}
           if "parameters" in doc["paths"][template] else {})
        for template, methods in DISCORD_ROUTES.items()
    }
    return {"openapi": doc["openapi"], "info": doc["info"], "paths": paths,
            **_closure(doc, paths)}


def trim_slack(doc: dict) -> dict:
    paths = {f"/{m}": doc["paths"][f"/{m}"] for m in SLACK_METHODS}
    for method, props in SLACK_RESPONSE_PATCHES.items():
        next(iter(paths[f"/{method}"].values()))["responses"]["200"]["schema"]["properties"].update(props)
    for method, codes in SLACK_ERROR_PATCHES.items():
        error = next(iter(paths[f"/{method}"].values()))["responses"]["default"]["schema"]
        error["properties"]["error"]["enum"] += [c for c in codes if c not in error["properties"]["error"]["enum"]]
    out: dict[str, Any] = {"swagger": doc["swagger"], "info": doc["info"], "paths": paths,
           **_closure(doc, paths)}
    for name, props in SLACK_PATCHES.items():
        out["definitions"][name]["properties"].update(props)
    for method, extra in SLACK_EXTRA.items():
        ok = {"type": "object", "required": ["ok", *extra["required"]],
              "properties": {"ok": {"enum": [True]}, **extra["ok"]}}
        error = {"type": "object", "required": ["ok", "error"], "additionalProperties": False,
                 "properties": {"ok": {"enum": [False]}, "error": {"enum": extra["errors"]}}}
        paths[f"/{method}"] = {"post": {"x-source": extra["source"], "responses": {
            "200": {"schema": ok}, "default": {"schema": error}}}}
    return out


def main(discord_path: str, slack_path: str) -> None:
    for source, trim, name in ((discord_path, trim_discord, "discord-openapi.json"),
                               (slack_path, trim_slack, "slack-web-api.json")):
        doc = json.loads(Path(source).read_text(encoding="utf-8"))
        text = json.dumps(trim(doc), indent=1, sort_keys=True, ensure_ascii=False)
        (HERE / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
