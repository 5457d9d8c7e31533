"""Private votes on the local Slack with the real slack-bolt (issue 14): the Vote button opens
a modal for its clicker only, stance buttons move it on in routing order, /planbot vote."""

from __future__ import annotations

import pytest

from tests.integrations.slack.conftest import ANA, BEN, CHANNEL, open_round, replies, sections


def visible(slack) -> list:
    """What members can see: every channel message (threads included), text, blocks and
    reactions."""
    return sorted((m.ts, m.text, repr(m.blocks), repr(m.reactions))
                  for channel in slack.workspace.channels
                  for m in slack.workspace.channel_messages(channel).values())


def modal_buttons(view: dict) -> list[tuple[str, str]]:
    return [(el["action_id"], el["value"]) for block in view["blocks"]
            for el in block.get("elements") or [] if el.get("type") == "button"]


async def vote_through(slack, bot, user: str, view_id: str, stance: str = "agree") -> list[int]:
    shown: list[int] = []
    while buttons := modal_buttons(slack.interactive.views[view_id]):
        statement = int(buttons[0][1])
        shown.append(statement)
        await slack.interactive.user_clicks_in_view(user, view_id, f"planbot_stance_{stance}")
        await bot.wait_until_idle()
    return shown


async def test_private_votes_in_a_modal_in_routing_order(socket_bot, slack, core):
    _, round_id, ts = await open_round(slack, core)
    ids = {key: row.id for key, row in (await sections(core, round_id)).items()}
    await slack.user_replies(BEN, CHANNEL, ts[0], "Et les rangs éloignés ?")
    await slack.settle()
    await socket_bot.wait_until_idle()
    reply = (await replies(core, round_id))[0].id
    before = visible(slack)

    await slack.interactive.user_clicks(ANA, CHANNEL, ts[0], "planbot_vote")
    await socket_bot.wait_until_idle()
    (view_id,) = slack.interactive.views
    assert slack.interactive.view_users[view_id] == ANA
    with pytest.raises(PermissionError):
        await slack.interactive.user_clicks_in_view(BEN, view_id, "planbot_stance_agree")

    shown = await vote_through(slack, socket_bot, ANA, view_id)

    assert shown == [ids["broadband"], ids["digital-skills"], reply]
    done = slack.interactive.views[view_id]["blocks"][0]["text"]["text"]
    assert "3" in done and "Nothing left" in done  # ana's Slack speaks English
    assert visible(slack) == before  # nothing posted, edited or reacted where others see
    counts = {c.id: c for c in core.store.statement_counts(round_id)}
    assert all(counts[i].agree == 1 for i in shown)


async def test_planbot_vote_opens_the_modal_and_a_reaction_is_the_same_stance(socket_bot, slack,
                                                                               core):
    _, round_id, ts = await open_round(slack, core)
    ids = {key: row.id for key, row in (await sections(core, round_id)).items()}
    await slack.user_reacts(BEN, CHANNEL, ts[0], "+1")
    await slack.settle()
    await socket_bot.wait_until_idle()

    await _slash_without_answer(slack, BEN)
    await socket_bot.wait_until_idle()
    (view_id,) = slack.interactive.views
    first = modal_buttons(slack.interactive.views[view_id])[0][1]
    assert int(first) == ids["digital-skills"]  # broadband already has ben's reaction
    # Ben changes his broadband stance privately, from the section's Vote button.
    await slack.interactive.user_clicks(BEN, CHANNEL, ts[0], "planbot_vote")
    await socket_bot.wait_until_idle()
    second = sorted(slack.interactive.views)[-1]
    assert "Tour n°" in slack.interactive.views[second]["blocks"][0]["text"]["text"]
    await slack.interactive.user_clicks_in_view(BEN, second, "planbot_stance_disagree")
    await socket_bot.wait_until_idle()
    bb = (await sections(core, round_id))["broadband"]
    assert (bb.agree, bb.disagree) == (0, 1)  # one stance: the latest, given privately


async def _slash_without_answer(slack, user: str) -> None:
    """``/planbot voter``: the app opens a modal and answers nothing in the channel."""
    import asyncio

    with pytest.raises(asyncio.TimeoutError):
        await slack.run_slash_command(user, CHANNEL, "voter", timeout=1.0)
