"""Issue 11: a reply stored as withheld (the bot ran without the message-content intent) gets
its text once content is available: the next start's reconciliation reads the thread again
and stores the text on the same reply, once; the real discord.py against the local Discord."""

from __future__ import annotations

from sqlalchemy import func, select

from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at
from storage.models import Statement
from tests.helpers import make_core
from tests.integrations.conformance import discord_problems
from tests.integrations.discord.harness import start_bot, stop_bot

TEXT = "Il faut la fibre jusqu'aux rangs"


def reply_rows(core) -> list[tuple[int, str | None, bool]]:
    with core.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Statement.id, Statement.text, Statement.text_withheld)
            .where(Statement.kind == "reply"))]


async def test_a_withheld_reply_gets_its_text_once_content_is_available(tmp_path):
    async with DiscordSandbox(message_content_enabled=False) as sb:
        with discord_py_pointed_at(sb):
            core = make_core(tmp_path, facilitator_ids=frozenset({sb.facilitator_role.id}))
            try:
                h = await start_bot(sb, core, message_content=False)
                try:
                    await h.run("alice", "open", plan="sample", sections="broadband")
                    bb = h.first_parts(h.round_id())["broadband"]
                    await sb.user_replies(h.person("bob"), h.channel_id, bb, TEXT)
                    await h.settle()
                    ((reply_id, _, _),) = rows = reply_rows(core)
                    assert rows == [(reply_id, None, True)]
                finally:
                    await stop_bot(h)

                sb.message_content_enabled = True  # the intent granted in the portal
                h = await start_bot(sb, core, message_content=True)  # reconciles at start
                try:
                    assert reply_rows(core) == [(reply_id, TEXT, False)]
                    assert h.replies() == {("bob", TEXT, False, False)}
                    again = await core.reconcile(h.bot.platform)  # nothing more to do
                    assert (again.replies_added, again.replies_edited) == (0, 0)
                finally:
                    await stop_bot(h)
                with core.store.engine.connect() as conn:
                    assert conn.scalar(select(func.count()).select_from(Statement)
                                       .where(Statement.kind == "reply")) == 1
            finally:
                core.close()
        assert sb.unknown_requests() == []
        assert discord_problems(sb.requests) == []
