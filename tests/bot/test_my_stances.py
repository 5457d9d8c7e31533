"""``/my-stances`` in the core (issue 14): the caller's current stances in the channel's
round with how each was given, paged; a change or a withdrawal through the intake exactly
once; a reaction stance left to its reaction; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.errors import Conflict, NotFound
from bot.events import Actor, PrivateVote
from bot.my_stances import WITHDRAW
from tests.bot.test_events_once import react, reply
from tests.bot.test_private_stances import first_counts, open_round
from tests.helpers import START, make_core

SECOND = timedelta(seconds=1)


@pytest.fixture
async def core(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    yield core
    core.close()
    core.store.engine.dispose()


def click(user, statement_id, stance, key, at=START + 10 * SECOND):
    return PrivateVote(platform="discord", workspace_id="g1", channel_id="c1",
                       occurred_at=at, event_key=key, actor=Actor(user),
                       statement_id=statement_id, stance=stance)


async def test_lists_the_callers_stances_with_how_each_was_given(core):
    round_id, _ = await open_round(core)
    sections = [s.statement_id for s in core.store.round_sections(round_id)]
    await core.handle(reply("u9", "5000", "La fibre partout, même au bout des rangs éloignés "
                                          "où personne ne passe jamais sauf le facteur"))
    (rid,) = [c.id for c in core.store.statement_counts(round_id) if c.kind == "reply"]
    await core.handle(react("u1", at=START))
    await core.handle(click("u1", sections[1], "disagree", "k1", at=START + SECOND))
    await core.handle(click("u1", rid, "pass", "k2", at=START + SECOND))
    await core.handle(react("u2", emoji="👎"))  # someone else's: never listed

    mine = await core.my_stances.show("discord", "c1", "u1", "en", size=10)
    assert [(e.statement_id, e.stance, e.via) for e in mine.entries] == [
        (sections[0], "agree", "reaction"), (sections[1], "disagree", "private"),
        (rid, "pass", "private")]
    assert mine.entries[0].line.endswith("— Agree (reaction 👍)")
    assert mine.entries[1].line.endswith("— Disagree (private vote)")
    assert mine.entries[2].line.startswith("Reply “La fibre partout") and "…”" in mine.entries[2].line
    assert "seen by you alone (1–3 of 3)" in mine.text
    assert set(mine.entries[0].actions) == {"disagree", "pass", WITHDRAW}
    fr = await core.my_stances.show("discord", "c1", "u1", "fr", size=10)
    assert "vote privé" in fr.entries[1].line and fr.entries[1].actions[WITHDRAW] == "Retirer"
    nobody = await core.my_stances.show("discord", "c1", "u7", "en", size=10)
    assert nobody.entries == () and "no stance" in nobody.text


async def test_change_and_withdraw_go_through_the_intake_once(core):
    round_id, _ = await open_round(core)
    sid = core.store.round_sections(round_id)[0].statement_id
    await core.handle(react("u1", emoji="👎", at=START))
    mine = await core.my_stances.change(click("u1", sid, "agree", "discord:interaction:1"),
                                        "en", 0, 4)
    assert first_counts(core, round_id) == (1, 0, 0)
    assert "changed" in mine.text and mine.entries[0].via == "private"
    # The same interaction delivered again records nothing more.
    await core.my_stances.change(click("u1", sid, "agree", "discord:interaction:1"), "en", 0, 4)
    assert len([r for r in core.store.participant_data(
        core.pseudonyms.key("discord", "u1")).stances if r.via == "private"]) == 1
    # Withdrawing the private vote: the reaction counts again.
    mine = await core.my_stances.change(click("u1", sid, None, "discord:interaction:2",
                                              at=START + 20 * SECOND), "en", 0, 4)
    assert first_counts(core, round_id) == (0, 1, 0)
    assert "withdrawn" in mine.text and mine.entries[0].via == "reaction"
    # A reaction stance is the reaction's: the answer says how, and nothing changes.
    mine = await core.my_stances.change(click("u1", sid, None, "discord:interaction:3",
                                              at=START + 30 * SECOND), "en", 0, 4)
    assert first_counts(core, round_id) == (0, 1, 0)
    assert "remove your reaction" in mine.text


async def test_pages(core):
    round_id, _ = await open_round(core)
    for i in range(5):
        await core.handle(reply("u9", f"50{i}0", f"Idée {i}"))
    ids = [c.id for c in core.store.statement_counts(round_id)]
    for n, sid in enumerate(ids):
        await core.handle(click("u1", sid, "agree", f"k{n}"))
    first = await core.my_stances.show("discord", "c1", "u1", "en", size=4)
    assert (first.page, first.pages, list(first.nav)) == (0, -(-len(ids) // 4), [1])
    last = await core.my_stances.page("discord", "u1", round_id, 99, "en", size=4)
    assert last.page == last.pages - 1 and last.page - 1 in last.nav
    assert [e.statement_id for e in last.entries] == ids[last.page * 4:]
    assert f"{last.page * 4 + 1}. " in last.text


async def test_errors_are_clear(core):
    with pytest.raises(NotFound):
        await core.my_stances.show("discord", "c1", "u1", "en", size=4)
    round_id, _ = await open_round(core, "reactions")
    sid = core.store.round_sections(round_id)[0].statement_id
    await core.handle(react("u1"))
    mine = await core.my_stances.show("discord", "c1", "u1", "en", size=4)
    assert mine.entries[0].actions == {} and "reactions only" in mine.text
    with pytest.raises(Conflict):
        await core.my_stances.change(click("u1", sid, "pass", "k"), "en", 0, 4)
    await core.rounds.close(round_id)
    with pytest.raises(Conflict):
        await core.my_stances.show("discord", "c1", "u1", "en", size=4)
    with pytest.raises(Conflict):
        await core.my_stances.page("discord", "u1", round_id, 0, "en", size=4)
    with pytest.raises(NotFound):
        await core.my_stances.change(replace(click("u1", 999_999, "pass", "k2")), "en", 0, 4)
