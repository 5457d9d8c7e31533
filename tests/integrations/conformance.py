"""Check what the local Discord and Slack answer against the platforms' own API descriptions.

The descriptions are trimmed copies kept in ``tests/specs/`` (sources and licences in its
README): Discord's OpenAPI 3.1 document (JSON Schema 2020-12) and Slack's Web API Swagger 2.0
document (JSON Schema draft 4). Nothing is fetched.

``DISCORD.problems(method, path, status, body, headers)`` and
``SLACK.problems(method, status, body)`` return a list of readable problems (empty when the
answer conforms): no operation for the route, no documented response for the status, a body
that fails the schema, or (Discord) a missing or mistyped ``X-RateLimit-*`` header.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

SPECS = Path(__file__).parent.parent / "specs"


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)


class _Spec:
    def __init__(self, file: str, uri: str, validator: type, spec: Any) -> None:
        self.doc = json.loads((SPECS / file).read_text(encoding="utf-8"))
        self.uri = uri
        self._validator = validator
        # referencing's Resource is an attrs class whose fields mypy does not see.
        resource = Resource(contents=self.doc, specification=spec)  # type: ignore[call-arg]
        self._registry = Registry().with_resource(uri, resource)

    @cache  # noqa: B019 - two module-level instances live as long as the process
    def _compiled(self, pointer: str):
        return self._validator({"$ref": self.uri + pointer}, registry=self._registry)

    def schema_problems(self, pointer: str, body: Any) -> list[str]:
        errors = sorted(self._compiled(pointer).iter_errors(body), key=lambda e: list(e.path))
        return [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message[:300]}" for e in errors]

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self._registry.resolver(self.uri).lookup(self.uri + node["$ref"]).contents
        return node


class DiscordSpec(_Spec):
    """Discord's HTTP API v10 (discord/discord-api-spec, ``specs/openapi.json``)."""

    RATE_LIMIT_HEADERS: ClassVar[dict[str, type]] = {
        "X-RateLimit-Limit": int, "X-RateLimit-Remaining": int, "X-RateLimit-Reset": float,
        "X-RateLimit-Reset-After": float, "X-RateLimit-Bucket": str,
    }

    def __init__(self) -> None:
        super().__init__("discord-openapi.json", "urn:discord-openapi", Draft202012Validator, DRAFT202012)
        self._templates = sorted(
            ((t, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"))
             for t in self.doc["paths"]),
            key=lambda tr: tr[0].count("{"),  # /users/@me before /users/{user_id}
        )

    def template(self, path: str) -> str | None:
        """The route template matching ``path`` (``/channels/1/messages`` ->
        ``/channels/{channel_id}/messages``), literal segments preferred."""
        return next((t for t, rx in self._templates if rx.match(path)), None)

    def problems(self, method: str, path: str, status: int, body: Any,
                 headers: dict[str, str]) -> list[str]:
        template = self.template(path)
        op = self.doc["paths"].get(template or "", {}).get(method.lower())
        if op is None:
            return [f"{method} {path}: no such operation in Discord's API"]
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in op["responses"]), None)
        if key is None:
            return [f"{method} {template} -> {status}: not a documented answer"]
        response = self.resolve(op["responses"][key])
        found = self._header_problems(response, headers)
        content = response.get("content", {}).get("application/json")
        if content is None:
            if body not in (None, b"", ""):
                found.append(f"{status} documented without a body, got {body!r:.80}")
            return found
        pointer = _pointer("paths", template, method.lower(), "responses", key)
        if "$ref" in op["responses"][key]:
            pointer = op["responses"][key]["$ref"]
            pointer = "#/" + "/".join(quote(p, safe="~") for p in pointer[2:].split("/"))
        problems = self.schema_problems(pointer + "/content/application~1json/schema", body)
        return found + [f"{method} {template} -> {status}: {p}" for p in problems]

    def _header_problems(self, response: dict, headers: dict[str, str]) -> list[str]:
        found = []
        for name in response.get("headers", {}):
            kind = self.RATE_LIMIT_HEADERS.get(name)
            value = headers.get(name)
            if kind is None:
                continue
            if value is None:
                found.append(f"header {name} missing")
                continue
            try:
                kind(value)
            except ValueError:
                found.append(f"header {name}={value!r} is not {kind.__name__}")
        return found


class SlackSpec(_Spec):
    """Slack's Web API (slackapi/slack-api-specs, ``web-api/slack_web_openapi_v2.json``)."""

    def __init__(self) -> None:
        super().__init__("slack-web-api.json", "urn:slack-web-api", Draft4Validator, DRAFT4)

    def methods(self) -> set[str]:
        return {p.lstrip("/") for p in self.doc["paths"]}

    def problems(self, method: str, status: int, body: Any) -> list[str]:
        """``status`` 429 is checked as Slack documents rate limits
        (https://api.slack.com/docs/rate-limits): ``{"ok": false, "error": "ratelimited"}``."""
        operations = self.doc["paths"].get("/" + method)
        if operations is None:
            return [f"{method}: no such method in Slack's Web API description"]
        if status == 429:
            return [] if body == {"ok": False, "error": "ratelimited"} else [f"{method} 429: {body!r}"]
        if status != 200:
            return [f"{method}: Slack answers 200 (or 429), got {status}"]
        verb = next(iter(k for k in operations if k in ("get", "post")))
        key = "200" if isinstance(body, dict) and body.get("ok") else "default"
        pointer = _pointer("paths", "/" + method, verb, "responses", key, "schema")
        return [f"{method} ({key}): {p}" for p in self.schema_problems(pointer, body)]


DISCORD = DiscordSpec()
SLACK = SlackSpec()


def discord_problems(requests) -> list[str]:
    """Problems of every answer the local Discord recorded (``DiscordSandbox.requests``)."""
    return [p for r in requests if r.known
            for p in DISCORD.problems(r.method, r.path, r.status, r.response, r.headers or {})]


def slack_problems(calls) -> list[str]:
    """Problems of every Web API answer the local Slack recorded (``LocalSlack.requests``)."""
    return [p for c in calls if c.response is not None
            for p in SLACK.problems(c.method, c.status, c.response)]
