"""Rounds belong to the workspace where they were opened (issue 10), with the real bolt app
on an org-wide install of the local Slack spanning three workspaces: a facilitator of another
workspace cannot act on a round and cannot tell it from one that does not exist; an
invitation lets their workspace join once, and expires."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from integrations.sandbox.slack import LocalSlack
from tests.helpers import is_notice, make_core
from tests.integrations.conformance import slack_problems
from tests.integrations.slack.conftest import CHANNEL, FACILITATOR, start_bot

OTHER, THIRD = "UOTHERFAC", "UTHIRDFAC"
OTHER_CHANNEL, THIRD_CHANNEL = "C0OTHERWS", "C0THIRDWS"
CODE = re.compile(r"`([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})`")


@pytest.fixture
async def org(tmp_path):
    slack = LocalSlack()
    await slack.start()
    slack.add_user(FACILITATOR, "fanny", locale="fr-CA")
    slack.add_user(OTHER, "olga", locale="en-US", team_id="T0OTHER")
    slack.add_user(THIRD, "theo", locale="en-US", team_id="T0THIRD")
    for channel, name, team in ((CHANNEL, "plan", None), (OTHER_CHANNEL, "plan-olga", "T0OTHER"),
                                (THIRD_CHANNEL, "plan-theo", "T0THIRD")):
        slack.add_channel(channel, name, team_id=team)
    # Facilitators of every workspace, as one organisation's operator would configure them.
    core = make_core(tmp_path, facilitator_ids=frozenset({FACILITATOR, OTHER, THIRD}))
    bot = await start_bot(slack, core, "socket")
    yield slack, core
    await bot.stop()
    core.close()
    await slack.stop()
    assert slack_problems(slack.requests) == [], "answers Slack would not give"


async def test_another_workspaces_facilitator_is_refused_then_joins_once_by_invitation(org):
    slack, core = org

    async def run(user: str, channel: str, action: str, **options: str) -> str:
        answer = await slack.user_runs_command(user, channel, action, **options)
        await slack.settle()
        assert answer.ephemeral
        return answer.text

    opened = await run(FACILITATOR, CHANNEL, "open", plan="sample", sections="broadband")
    public_id = re.search(r"n° ([a-z0-9]{10}) ouvert", opened).group(1)
    round_id = core.store.round_for_channel("slack", CHANNEL, open_only=True)
    for action in ("status", "close", "digest", "invite", "moderate"):
        refused = await run(OTHER, OTHER_CHANNEL, action, round=public_id)
        absent = await run(OTHER, OTHER_CHANNEL, action, round="zzzzzzzzzz")
        assert refused == absent.replace("zzzzzzzzzz", public_id) == f"No round #{public_id}."
        assert await run(OTHER, OTHER_CHANNEL, action, round=str(round_id)) == \
            f"No round #{round_id}."
    bad = await run(OTHER, OTHER_CHANNEL, "open", join="abcd-efgh-jkmn")
    assert bad.startswith("This invitation code is unknown, expired or already used")
    assert core.store.get_round(round_id).status == "open"
    assert core.store.digests(round_id) == []
    assert [m for m in slack.messages(OTHER_CHANNEL) if m.bot_id] == []

    code = CODE.search(await run(FACILITATOR, CHANNEL, "invite")).group(1)
    answer = await slack.user_runs_command(OTHER, OTHER_CHANNEL, "open", join=code)
    await slack.settle()
    # The plan comes with the code: the acknowledgement cannot name it yet.
    assert answer.interim == ("Joining the round of this invitation… I will answer here once "
                              "the sections are posted.")
    joined = answer.text
    assert joined == (f"Round #{public_id} on this plan was already open (Slack): this "
                      f"channel joins it.\nRound #{public_id} opened: 1 section posted.")
    assert len([m for m in slack.messages(OTHER_CHANNEL)
                if m.bot_id and not is_notice(m.text)]) == 1
    assert (await run(OTHER, OTHER_CHANNEL, "status")).startswith(f"Round #{public_id} ")
    assert "opened in another server or workspace" in await run(OTHER, OTHER_CHANNEL, "close")
    assert await run(THIRD, THIRD_CHANNEL, "open", plan="sample", join=code) == bad  # once
    late = CODE.search(await run(FACILITATOR, CHANNEL, "invite")).group(1)
    core.clock.advance(timedelta(hours=48, minutes=1))
    assert await run(THIRD, THIRD_CHANNEL, "open", join=late) == bad  # expired
    assert [m for m in slack.messages(THIRD_CHANNEL) if m.bot_id] == []
    assert core.store.get_round(round_id).places == {("slack", "T0PLANBOT"),
                                                     ("slack", "T0OTHER")}


async def test_a_round_is_never_posted_into_another_workspaces_channel(org):
    """``channel=`` naming a channel of another workspace of the organisation (which the
    org-wide bot could post in) is refused, both ways: that workspace's members' replies
    never feed another's round."""
    slack, core = org
    for user, here, there, said in (
            (OTHER, OTHER_CHANNEL, CHANNEL, "That channel is in another server or workspace"),
            (FACILITATOR, CHANNEL, THIRD_CHANNEL,
             "Ce canal est dans un autre serveur ou espace de travail")):
        answer = await slack.user_runs_command(user, here, "open", plan="sample",
                                               sections="broadband", channel=f"<#{there}>")
        await slack.settle()
        assert answer.ephemeral and answer.text.startswith(said), answer.text
    assert core.store.rounds() == []
    assert not [m for c in (CHANNEL, THIRD_CHANNEL) for m in slack.messages(c) if m.bot_id]
    # A channel of one's own workspace named the same way is used.
    answer = await slack.user_runs_command(OTHER, CHANNEL, "open", plan="sample",
                                           sections="broadband", channel=f"<#{OTHER_CHANNEL}>")
    await slack.settle()
    assert answer.text.startswith("Round #"), answer.text
    assert [m for m in slack.messages(OTHER_CHANNEL) if m.bot_id]
