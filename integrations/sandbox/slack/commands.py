"""Slash commands on the local Slack: what a person runs and what the app answers.

Slack shows a command's answer in two steps (https://api.slack.com/interactivity/slash-commands,
"Responding to commands"): the acknowledgement, due within 3 s, may carry a message shown at
once (an interim answer such as "opening…"), and the ``response_url`` takes later answers, at
most 5 of them within 30 minutes of the command. Past that the local Slack answers 404 with
``expired_url`` or ``used_url`` (the wording is this sandbox's: Slack's pages name the limits,
not the error).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.sandbox.slack.delivery import Delivery
    from integrations.sandbox.slack.interactive import Interactive
    from integrations.sandbox.slack.workspace import Workspace

RESPONSE_URL_USES = 5
"""Answers a ``response_url`` takes."""
RESPONSE_URL_LIFETIME = 30 * 60
"""Seconds a ``response_url`` answers for, on the sandbox clock."""


@dataclass
class CommandAnswer:
    """What the app answered to a slash command (ack body or ``response_url`` post).

    ``calls_at_ack`` is how many Web API calls the app had made when its acknowledgement
    arrived: work done after the ack shows up at or after that index of ``requests``.
    ``interim`` is the text the acknowledgement carried, shown at once, when this answer
    came later through the ``response_url``.
    """

    text: str
    ephemeral: bool
    blocks: list[dict] | None = None
    calls_at_ack: int | None = None
    interim: str | None = None


def _answer_of(body: dict) -> CommandAnswer:
    return CommandAnswer(text=body.get("text") or "",
                         ephemeral=body.get("response_type", "ephemeral") != "in_channel",
                         blocks=body.get("blocks"))


@dataclass
class _Command:
    issued_at: float
    answers: list[CommandAnswer] = field(default_factory=list)
    later: list[CommandAnswer] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    calls_at_ack: int | None = None

    def respond(self, body: dict, now: float) -> str | None:
        """A ``response_url`` post; the error Slack answers instead, if any."""
        if now - self.issued_at > RESPONSE_URL_LIFETIME:
            return "expired_url"
        if len(self.later) >= RESPONSE_URL_USES:
            return "used_url"
        answer = _answer_of(body)
        self.answers.append(answer)
        self.later.append(answer)
        self.arrived.set()
        return None


class SlackCommands:
    """Slash commands for :class:`LocalSlack`; needs ``workspace``, ``delivery``,
    ``interactive``, ``requests``, ``url``, ``app_id`` and ``clock`` from it."""

    workspace: Workspace
    delivery: Delivery
    interactive: Interactive
    requests: list
    app_id: str
    clock: Callable[[], float]
    _commands: dict[str, _Command]

    @property
    def url(self) -> str:
        raise NotImplementedError  # LocalSlack.url

    def _answer(self, token: str, body: dict) -> str | None:
        """A post to the ``response_url`` of command ``token``; the error it is refused
        with (``expired_url``, ``used_url``), else None."""
        pending = self._commands.get(token)
        return None if pending is None else pending.respond(body, self.clock())

    async def user_runs_command(self, user_id: str, channel_id: str, action: str, *,
                                locale: str | None = None, **options: str) -> CommandAnswer:
        """``/planbot <action> key=value...``; returns the app's answer (see
        :meth:`run_slash_command`). ``locale`` (e.g. ``en-US``) first sets the user's Slack
        language, which users.info reports: Slack puts no locale in slash commands."""
        if locale is not None:
            self.workspace.users[user_id].locale = locale
        text = " ".join([action, *(f"{k}={v}" for k, v in options.items())])
        return await self.run_slash_command(user_id, channel_id, text)

    async def run_slash_command(self, user_id: str, channel_id: str, text: str, *,
                                command: str = "/planbot", timeout: float = 5.0) -> CommandAnswer:
        """Send a slash command with raw ``text`` and wait (bounded) for the app's answer:
        the first ``response_url`` post, carrying in ``interim`` the text of an ack that had
        one; an app that answers in its ack alone is waited for up to ``timeout`` seconds,
        then that ack is the answer. ``TimeoutError`` if no answer comes at all."""
        token = secrets.token_hex(8)
        pending = self._commands[token] = _Command(issued_at=self.clock())
        # The workspace the command was run in: the caller's own, on an org-wide install.
        team_id = self.workspace.users[user_id].team_id or self.workspace.team_id
        form = {
            "token": "verification-token", "team_id": team_id,
            "team_domain": "planbot", "channel_id": channel_id,
            "channel_name": self.workspace.channels.get(channel_id, ""),
            "user_id": user_id, "user_name": self.workspace.users[user_id].name,
            "command": command, "text": text, "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": f"{self.url}/response/{token}", "trigger_id": token,
        }
        self.interactive.triggers[token] = self.clock()
        self.interactive.trigger_users[token] = user_id
        result = await self.delivery.send_command(form)
        interim = None
        if result.acked:
            pending.calls_at_ack = len(self.requests)
            if result.body and result.body.get("text"):
                interim = _answer_of(result.body)
                pending.answers.insert(0, interim)
        try:
            await asyncio.wait_for(pending.arrived.wait(), timeout)
        except TimeoutError:
            if interim is None:
                raise
            return replace(interim, calls_at_ack=pending.calls_at_ack)
        return replace(pending.later[0], calls_at_ack=pending.calls_at_ack,
                       interim=interim.text if interim else None)

    def command_answers(self) -> list[CommandAnswer]:
        """Every answer to every slash command so far, the acks' included."""
        return [a for c in self._commands.values() for a in c.answers]
