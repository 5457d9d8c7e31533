"""Every route the local Discord serves and every method the local Slack serves is described by
the platform's own API description, so the conformance checks cover all of them."""

from __future__ import annotations

from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.discord.rest import API, Rest
from integrations.sandbox.slack import LocalSlack
from tests.integrations.conformance import DISCORD, SLACK


def test_every_local_discord_route_is_an_operation_of_discords_api():
    sandbox = DiscordSandbox()
    served = {(r.method, r.path.removeprefix(API)) for r in Rest(sandbox).routes()}

    def operations(path: str) -> dict:
        return DISCORD.doc["paths"].get(DISCORD.template(path.replace("{", "").replace("}", "")) or "", {})

    missing = [(m, p) for m, p in served if m.lower() not in operations(p)]

    assert len(served) >= 20 and missing == []


def test_every_local_slack_method_is_in_slacks_description():
    slack = LocalSlack()
    served = set(slack.api.methods()) | set(slack.interactive.methods())

    assert served - SLACK.methods() == set()
