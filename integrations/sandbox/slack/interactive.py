"""Block Kit buttons and modals on the local Slack (https://api.slack.com/interactivity).

A person clicks a button of a message: the app gets a ``block_actions`` payload with a
``trigger_id``; within 3 s of it the app may open a modal with ``views.open`` (later:
``expired_trigger_id``); the person submits the modal: the app gets a ``view_submission``
whose ``view.state.values`` holds ``{block_id: {action_id: {"type", "value"}}}``, and may
answer it in its ack (``response_action``). Payloads go over HTTP as a form field
``payload`` or in Socket Mode as ``interactive`` envelopes (:mod:`.delivery`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from integrations.sandbox.slack.delivery import AckResult
from integrations.sandbox.slack.workspace import SlackApiFailure

if TYPE_CHECKING:
    from integrations.sandbox.slack.server import LocalSlack

VIEW_BLOCKS, TITLE_LIMIT, BUTTON_TEXT_LIMIT, ACTIONS_ELEMENTS = 100, 24, 75, 25
"""A modal holds at most 100 blocks and a 24-character title
(https://api.slack.com/reference/surfaces/views); a button's text has at most 75 characters
and an ``actions`` block at most 25 elements whose ``action_id`` are unique within it
(https://api.slack.com/reference/block-kit/block-elements#button,
https://api.slack.com/reference/block-kit/blocks#actions)."""
TRIGGER_LIFETIME = 3.0
"""Seconds a ``trigger_id`` can open a modal (https://api.slack.com/interactivity/handling#modal_responses)."""


class Interactive:
    """Buttons, triggers and views of one local Slack."""

    def __init__(self, slack: LocalSlack) -> None:
        self.slack = slack
        self.triggers: dict[str, float] = {}
        self.trigger_users: dict[str, str] = {}
        self.views: dict[str, dict] = {}
        self.view_users: dict[str, str] = {}
        """Who each modal was opened for: a modal is seen by that person only."""
        self.closed_views: set[str] = set()
        """Modals a submission closed."""

    def methods(self) -> dict[str, Callable[[dict], dict]]:
        return {"views.open": self.views_open, "views.update": self.views_update}

    def new_trigger(self, user_id: str = "") -> str:
        trigger = f"{int(self.slack.clock())}.{secrets.token_hex(6)}"
        self.triggers[trigger] = self.slack.clock()
        self.trigger_users[trigger] = user_id
        return trigger

    def views_open(self, p: dict) -> dict:
        """``views.open``: a modal for the person whose action gave ``trigger_id``."""
        issued = self.triggers.pop(p.get("trigger_id") or "", None)
        if issued is None:
            raise SlackApiFailure("invalid_trigger_id")
        if self.slack.clock() - issued > TRIGGER_LIFETIME:
            raise SlackApiFailure("expired_trigger_id")
        view = p.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        _check_view(view)
        view_id = f"V{len(self.views) + 1:09d}"
        self.view_users[view_id] = self.trigger_users.pop(p.get("trigger_id") or "", "")
        api = self.slack.api
        self.views[view_id] = {
            "id": view_id, "team_id": self.slack.workspace.team_id, "type": "modal",
            "title": view["title"], "blocks": view.get("blocks", []),
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "submit": view.get("submit"), "close": view.get("close"),
            "state": {"values": {}}, "hash": f"{int(self.slack.clock())}.{secrets.token_hex(4)}",
            "root_view_id": view_id, "previous_view_id": None, "app_id": api.app_id,
            "external_id": "", "bot_id": api.bot_id, "clear_on_close": False,
            "notify_on_close": False,
        }
        return {"view": self.views[view_id]}

    def views_update(self, p: dict) -> dict:
        """``views.update``: replace an open modal's content (https://api.slack.com/methods/
        views.update); ``not_found`` for an unknown view, ``hash_conflict`` for a stale
        ``hash``."""
        current = self.views.get(p.get("view_id") or "")
        if current is None:
            raise SlackApiFailure("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise SlackApiFailure("hash_conflict")
        view = p.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        _check_view(view)
        current.update(title=view["title"], blocks=view.get("blocks", []),
                       callback_id=view.get("callback_id", ""),
                       private_metadata=view.get("private_metadata", ""),
                       submit=view.get("submit"), close=view.get("close"),
                       hash=f"{int(self.slack.clock())}.{secrets.token_hex(4)}")
        return {"view": current}

    async def user_clicks_in_view(self, user_id: str, view_id: str, action_id: str,
                                  block_id: str | None = None) -> AckResult:
        """Click the button ``action_id`` of the modal ``view_id`` (in the block ``block_id``,
        else the first such button): ``block_actions`` with a ``view`` container. Raises
        ``PermissionError`` for anyone but the person it was opened for, ``LookupError`` if
        the modal has no such button."""
        view = self.views[view_id]
        if self.view_users.get(view_id) != user_id:
            raise PermissionError("a modal is seen by the person it was opened for only")
        found = next(((block, el) for block, el in _elements(view["blocks"])
                      if el.get("type") == "button" and el.get("action_id") == action_id
                      and block_id in (None, block.get("block_id"))), None)
        if found is None:
            raise LookupError(f"no button {action_id!r} in view {view_id}")
        block, button = found
        payload = {
            **self._base("block_actions", user_id),
            "container": {"type": "view", "view_id": view_id},
            "view": view, "state": {"values": {}},
            "actions": [{"action_id": action_id, "block_id": block.get("block_id", ""),
                         "text": button.get("text"), "value": button.get("value", ""),
                         "type": "button", "action_ts": self.slack.workspace.next_ts()}],
        }
        return await self.slack.delivery.send_interactive(payload)

    async def user_clicks(self, user_id: str, channel_id: str, message_ts: str, action_id: str) -> AckResult:
        """Click the button ``action_id`` of a message: a ``block_actions`` payload. Raises
        ``LookupError`` if the message has no such button."""
        msg = self.slack.workspace.message(channel_id, message_ts)
        found = next(((block, el) for block, el in _elements(msg.blocks or [])
                      if el.get("type") == "button" and el.get("action_id") == action_id), None)
        if found is None:
            raise LookupError(f"no button {action_id!r} on message {message_ts}")
        block, button = found
        payload = {
            **self._base("block_actions", user_id),
            "container": {"type": "message", "message_ts": msg.ts, "channel_id": channel_id,
                          "is_ephemeral": False},
            "channel": {"id": channel_id, "name": self.slack.workspace.channels.get(channel_id, "")},
            "message": msg.to_api(),
            "state": {"values": {}},
            "response_url": f"{self.slack.url}/response/{secrets.token_hex(8)}",
            "actions": [{"action_id": action_id, "block_id": block.get("block_id", ""),
                         "text": button.get("text"), "value": button.get("value", ""),
                         "type": "button", "action_ts": self.slack.workspace.next_ts()}],
        }
        return await self.slack.delivery.send_interactive(payload)

    async def user_submits_view(self, user_id: str, view_id: str,
                                values: dict[tuple[str, str], str]) -> AckResult:
        """Submit an open modal with ``values`` ((block_id, action_id) -> text, or the
        ``value`` of the option chosen in a ``static_select``): a ``view_submission``
        payload whose ``view.state.values`` holds each element's state as Slack sends it
        (https://api.slack.com/reference/interaction-payloads/views#view_submission); the
        ack's body (``response_action``...) is returned. The modal then shows what the ack
        says: ``update`` replaces it, ``errors`` keeps it open, anything else closes it.
        Raises ``PermissionError`` for anyone but the person it was opened for,
        ``LookupError`` for an option the select does not offer and ``ValueError`` for what
        Slack's client refuses to send (a required input left empty, a text over its
        ``max_length``)."""
        view = self.views[view_id]
        if self.view_users.get(view_id) != user_id:
            raise PermissionError("a modal is seen by the person it was opened for only")
        view["state"] = {"values": _state(view["blocks"], values)}
        payload = {**self._base("view_submission", user_id), "view": view, "response_urls": []}
        result = await self.slack.delivery.send_interactive(payload)
        action = (result.body or {}).get("response_action")
        if action == "update":
            shown = (result.body or {}).get("view") or {}
            view.update(title=shown.get("title"), blocks=shown.get("blocks", []),
                        submit=shown.get("submit"), close=shown.get("close"),
                        callback_id=shown.get("callback_id", ""), state={"values": {}},
                        hash=f"{int(self.slack.clock())}.{secrets.token_hex(4)}")
        elif action != "errors" and result.acked:
            self.closed_views.add(view_id)
        return result

    def _base(self, kind: str, user_id: str) -> dict:
        ws = self.slack.workspace
        return {
            "type": kind, "token": "verification-token", "api_app_id": self.slack.app_id,
            "team": {"id": ws.team_id, "domain": "planbot"}, "enterprise": None,
            "is_enterprise_install": False, "trigger_id": self.new_trigger(user_id),
            "user": {"id": user_id, "username": ws.users[user_id].name,
                     "name": ws.users[user_id].name, "team_id": ws.team_id},
        }


def _check_view(view: Any) -> None:
    """Slack's refusal of a modal it cannot show: ``invalid_arguments`` (the Web API's
    answer to a view breaking Block Kit's limits, :data:`VIEW_BLOCKS`...)."""
    if not isinstance(view, dict) or view.get("type") != "modal" or "title" not in view:
        raise SlackApiFailure("invalid_arguments")
    blocks = view.get("blocks") or []
    if len(view["title"].get("text", "")) > TITLE_LIMIT or len(blocks) > VIEW_BLOCKS:
        raise SlackApiFailure("invalid_arguments")
    for block in blocks:
        elements = block.get("elements") or []
        ids = [el.get("action_id") for el in elements if el.get("action_id")]
        if block.get("type") == "actions" and (len(elements) > ACTIONS_ELEMENTS
                                               or len(ids) != len(set(ids))):
            raise SlackApiFailure("invalid_arguments")
        if any(len((el.get("text") or {}).get("text", "")) > BUTTON_TEXT_LIMIT
               for el in elements if el.get("type") == "button"):
            raise SlackApiFailure("invalid_arguments")


def _state(blocks: list[dict], values: dict[tuple[str, str], str]) -> dict[str, dict[str, Any]]:
    """``view.state.values`` for ``values`` given to the modal's input blocks: a text input's
    ``value``, a static select's ``selected_option`` (the option object offered)."""
    state: dict[str, dict[str, Any]] = {}
    for block in blocks:
        element = block.get("element") or {}
        if block.get("type") != "input" or not element.get("action_id"):
            continue
        key = (block.get("block_id", ""), element["action_id"])
        given = values.get(key)
        kind = element.get("type")
        if not given and not block.get("optional"):
            raise ValueError(f"Slack requires the input {key} before submitting")
        if kind == "static_select":
            option = next((o for o in element.get("options", []) if o.get("value") == given),
                          None)
            if given and option is None:
                raise LookupError(f"the select {key} offers no option {given!r}")
            entry: dict[str, Any] = {"type": kind, "selected_option": option}
        else:
            if given and element.get("max_length") and len(given) > element["max_length"]:
                raise ValueError(f"Slack allows at most {element['max_length']} characters in {key}")
            entry = {"type": kind, "value": given or None}
        state.setdefault(key[0], {})[key[1]] = entry
    return state


def _elements(blocks: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(block, interactive element) pairs: ``actions`` blocks' elements and section accessories."""
    for block in blocks:
        for element in block.get("elements") or []:
            yield block, element
        if block.get("accessory"):
            yield block, block["accessory"]
