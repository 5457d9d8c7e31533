"""A reply edited after it received stances: the stances given to its earlier text are kept,
reported apart ("2 agreed before the reply was edited"), and never counted or ranked with the
new text; the edit history says which version each stance was given to."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.digests.build import Period, build_digest
from bot.digests.model import Split
from bot.digests.render_html import render_html
from bot.digests.render_md import render_markdown
from bot.events import ReplyEdited
from storage.models import Stance, Statement, StatementEdit
from tests.bot.test_events_once import open_sample, react, reply, unreact
from tests.helpers import START, make_core

MINUTE = timedelta(minutes=1)


def on_reply(user, emoji="👍", at=START, remove=False):
    """A reaction added (or removed) on the reply 5000, in its thread 1000."""
    return replace((unreact if remove else react)(user, msg="5000", emoji=emoji, at=at),
                   channel_id="1000")


async def test_stances_before_an_edit_are_kept_and_reported_apart(tmp_path):
    core = make_core(tmp_path)
    round_id, _ = await open_sample(core)
    await core.handle(reply("u1", "5000", "Premier jet"))
    for user in ("u2", "u3", "u4"):
        assert await core.handle(on_reply(user))
    assert await core.handle(on_reply("u5", "👎"))
    assert await core.handle(ReplyEdited(
        platform="discord", workspace_id="g1", channel_id="1000", occurred_at=START + MINUTE,
        message_id="5000", text="Tout autre chose"))
    assert await core.handle(on_reply("u6", at=START + 2 * MINUTE))
    # u2 takes a stance on the new text; u3 withdraws the one given to the old text.
    assert await core.handle(on_reply("u2", at=START + 3 * MINUTE, remove=True))
    assert await core.handle(on_reply("u2", at=START + 4 * MINUTE))
    assert await core.handle(on_reply("u3", at=START + 5 * MINUTE, remove=True))

    (counts,) = [c for c in core.store.statement_counts(round_id) if c.kind == "reply"]
    assert (counts.text, counts.agree, counts.disagree) == ("Tout autre chose", 2, 0)
    assert core.store.earlier_stances(round_id) == {counts.id: (1, 1, 0)}
    votes, *_ = core.store.vote_triples(round_id)
    assert len([v for v in votes if v[1] == str(counts.id)]) == 2  # the analysis: new text only

    digest = build_digest(core.store, round_id, Period(START, START + timedelta(days=1)))
    (statement,) = [s for s in digest.statements if s.kind == "reply"]
    assert (statement.split, statement.earlier) == (Split(2, 0, 0), Split(1, 1, 0))
    en, fr = render_markdown(digest, "en"), render_markdown(digest, "fr")
    assert "Tout autre chose — 👍 2 (100%)" in en
    assert "1 agreed, 1 disagreed before the reply was edited" in en
    assert "1 d’accord, 1 en désaccord avant la modification de la réponse" in fr
    assert "1 agreed, 1 disagreed before the reply was edited" in render_html(digest, None, "en")

    # The history: which text each stance was given to.
    with core.store._tx() as s:
        (stmt,) = s.scalars(select(Statement).where(Statement.id == counts.id))
        (edit,) = s.scalars(select(StatementEdit).where(StatementEdit.statement_id == stmt.id))
        given = sorted((r.emoji_key != "", r.version, r.removed_at is None, r.is_current)
                       for r in s.scalars(select(Stance).where(Stance.statement_id == stmt.id)))
    assert (stmt.version, edit.version, edit.previous_text) == (2, 1, "Premier jet")
    # v1: u3 (withdrawn), u4, u5 present, none current; v2: u2 and u6 current.
    assert given == [(True, 1, False, False), (True, 1, True, False), (True, 1, True, False),
                     (True, 2, True, True), (True, 2, True, True)]
    core.close()
