"""Fixtures: a local Slack, a core on a fresh store, and the real bolt app between them.

``slackbot`` runs once in Socket Mode and once in HTTP mode (signed Events API requests).
"""

from __future__ import annotations

import pytest

from integrations.sandbox.slack import LocalSlack
from integrations.slack import SlackBot, make_web_client
from storage.records import StatementCount
from tests.helpers import is_notice, make_core
from tests.integrations.conformance import slack_problems

FACILITATOR = "UFACIL"
GROUP_MEMBER = "UGROUP"
FACILITATOR_GROUP = "S0FACIL"
ANA, BEN, CHLOE = "UANA", "UBEN", "UCHLOE"
OTHER_BOT, OTHER_BOT_ID = "UOTHERBOT", "B0OTHER"
CHANNEL = "C0PLANNUM"


@pytest.fixture
async def slack():
    local = LocalSlack()
    await local.start()
    local.add_user(FACILITATOR, "fanny", locale="fr-CA")
    local.add_user(GROUP_MEMBER, "gus", locale="en-GB")
    local.add_user(ANA, "ana", locale="en-US")
    local.add_user(BEN, "ben", locale="fr-FR")
    local.add_user(CHLOE, "chloe", locale="fr-CA")
    local.add_user(OTHER_BOT, "otherbot", is_bot=True, bot_id=OTHER_BOT_ID)
    local.add_channel(CHANNEL, "plan-numerique")
    local.add_usergroup(FACILITATOR_GROUP, "animation", [GROUP_MEMBER])
    yield local
    await local.stop()
    assert slack_problems(local.requests) == [], "answers Slack would not give"


@pytest.fixture
def core(tmp_path):
    core = make_core(tmp_path, facilitator_ids=frozenset({FACILITATOR, FACILITATOR_GROUP}))
    yield core
    core.close()


async def start_bot(slack: LocalSlack, core, mode: str, **kwargs) -> SlackBot:
    """A SlackBot connected to ``slack`` in ``mode``, after its start-up reconciliation."""
    bot = SlackBot(core, make_web_client(slack.bot_token, base_url=slack.base_url),
                   app_token=slack.app_token, signing_secret=slack.signing_secret,
                   clock=core.clock, **kwargs)
    await bot.start(mode)
    if mode == "socket":
        await slack.wait_connected()
    else:
        slack.use_http(bot.url)
    await bot.wait_until_reconciled(1)
    return bot


@pytest.fixture(params=["socket", "http"])
async def slackbot(request, slack, core):
    bot = await start_bot(slack, core, request.param)
    yield bot
    await bot.stop()


@pytest.fixture
async def socket_bot(slack, core):
    """The app in Socket Mode only, for behaviour that does not depend on the transport."""
    bot = await start_bot(slack, core, "socket")
    yield bot
    await bot.stop()


def section_messages(slack: LocalSlack) -> list:
    """The bot's top-level messages in the plan channel but the opening announcement,
    oldest first."""
    return [m for m in slack.messages(CHANNEL) if m.bot_id and not is_notice(m.text)]


async def open_round(slack: LocalSlack, core, sections: str = "broadband,digital-skills"):
    """Open a round as the facilitator; returns (answer, round id, section ts list)."""
    answer = await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample",
                                           sections=sections, closes="7d")
    round_id = core.store.round_for_channel("slack", CHANNEL, open_only=True)
    await slack.settle()
    return answer, round_id, [m.ts for m in section_messages(slack)]


def sections(core, round_id: int) -> dict[str | None, StatementCount]:
    """Section statements of a round, with their current stance counts, by section key."""
    return {row.section_key: row for row in core.store.statement_counts(round_id)
            if row.kind == "section"}


def replies(core, round_id: int, *, live: bool = True) -> list[StatementCount]:
    """Reply statements of a round, oldest first (only those not deleted, if ``live``)."""
    return [row for row in core.store.statement_counts(round_id)
            if row.kind == "reply" and not (live and row.deleted_at is not None)]
