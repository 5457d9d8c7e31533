"""``/planbot my-stances`` on the local Slack with the real slack-bolt (issue 14): the
caller's stances in a modal only they see, changed or withdrawn by its buttons exactly once,
and nothing visible to other members."""

from __future__ import annotations

import asyncio

import pytest

from tests.integrations.slack.conftest import ANA, BEN, CHANNEL, open_round, sections
from tests.integrations.slack.test_private_votes import visible


def modal_text(view: dict) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")


def modal_buttons(view: dict) -> list[tuple[str, str, str]]:
    return [(block["block_id"], el["action_id"], el["value"]) for block in view["blocks"]
            for el in block.get("elements") or [] if el.get("type") == "button"]


async def run_my_stances(slack, bot, user: str, word: str = "my-stances") -> str:
    """``/planbot my-stances`` as ``user``: the app opens a modal and answers nothing in the
    channel; returns the modal's id."""
    known = set(slack.interactive.views)
    with pytest.raises(asyncio.TimeoutError):
        await slack.run_slash_command(user, CHANNEL, word, timeout=1.0)
    await bot.wait_until_idle()
    (view_id,) = set(slack.interactive.views) - known
    assert slack.interactive.view_users[view_id] == user
    return view_id


async def test_my_stances_in_a_modal_change_and_withdraw(socket_bot, slack, core):
    _, round_id, ts = await open_round(slack, core)
    ids = {key: row.id for key, row in sections(core, round_id).items()}
    bb, ds = ids["broadband"], ids["digital-skills"]
    await slack.user_reacts(ANA, CHANNEL, ts[0], "+1")
    await slack.settle()
    await slack.interactive.user_clicks(ANA, CHANNEL, ts[1], "planbot_vote")
    await socket_bot.wait_until_idle()
    (vote_view,) = slack.interactive.views
    await slack.interactive.user_clicks_in_view(ANA, vote_view, "planbot_stance_disagree")
    await socket_bot.wait_until_idle()
    before = visible(slack)

    view_id = await run_my_stances(slack, socket_bot, ANA)
    view = slack.interactive.views[view_id]
    text = modal_text(view)
    assert "1. *Internet haute vitesse partout* — Agree (reaction :+1:)" in text
    assert "2. *Compétences numériques pour tous* — Disagree (private vote)" in text
    assert modal_buttons(view) == [
        (f"planbot_mine_{bb}", "planbot_mine_disagree", f"{bb}:0"),
        (f"planbot_mine_{bb}", "planbot_mine_pass", f"{bb}:0"),
        (f"planbot_mine_{bb}", "planbot_mine_withdraw", f"{bb}:0"),
        (f"planbot_mine_{ds}", "planbot_mine_agree", f"{ds}:0"),
        (f"planbot_mine_{ds}", "planbot_mine_pass", f"{ds}:0"),
        (f"planbot_mine_{ds}", "planbot_mine_withdraw", f"{ds}:0")]
    with pytest.raises(PermissionError):  # seen and clicked by ana alone
        await slack.interactive.user_clicks_in_view(BEN, view_id, "planbot_mine_pass",
                                                    f"planbot_mine_{bb}")

    async def click(action: str, statement: int) -> None:
        await slack.interactive.user_clicks_in_view(ANA, view_id, f"planbot_mine_{action}",
                                                    f"planbot_mine_{statement}")
        await socket_bot.wait_until_idle()

    await click("pass", bb)
    assert (sections(core, round_id)["broadband"].agree,
            sections(core, round_id)["broadband"].passes) == (0, 1)
    assert "Pass (private vote)" in modal_text(slack.interactive.views[view_id])
    await click("withdraw", ds)
    await click("withdraw", bb)  # the private vote goes, the reaction counts again
    counts = sections(core, round_id)
    assert (counts["broadband"].agree, counts["broadband"].passes) == (1, 0)
    assert (counts["digital-skills"].disagree, counts["digital-skills"].agree) == (0, 0)
    text = modal_text(slack.interactive.views[view_id])
    assert "Agree (reaction :+1:)" in text and "Compétences" not in text
    await click("withdraw", bb)
    assert "remove your reaction" in modal_text(slack.interactive.views[view_id])
    assert sections(core, round_id)["broadband"].agree == 1

    assert visible(slack) == before  # nothing posted, edited or reacted where others see


async def test_mes_positions_in_french_and_outside_a_round(socket_bot, slack, core):
    nothing = await slack.run_slash_command(BEN, CHANNEL, "mes-positions")
    assert nothing.ephemeral and "Aucun tour" in nothing.text and not slack.interactive.views
    _, _, ts = await open_round(slack, core)
    await slack.user_reacts(BEN, CHANNEL, ts[0], "-1")
    await slack.settle()
    view_id = await run_my_stances(slack, socket_bot, BEN, "mes-positions")
    text = modal_text(slack.interactive.views[view_id])
    assert "Tour n°" in text and "(1 à 1 sur 1)" in text and "réaction :-1:" in text
