"""What planbot amplifies (issue 10, "Abuse"): one person's flood of replies is stored but
only so much of it is copied to the round's other channels, and copying a reply costs the
same in a round of 100 replies as in one of 4,000."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, insert, select

from bot.events import Actor, CommandInvoked, ReplyPosted
from bot.platform import ChannelRef
from storage.models import Participant, PlatformMessage, Statement
from tests.helpers import START, RecordingPlatform, make_core

D1 = ChannelRef("discord", "g1", "c1")
D2 = ChannelRef("discord", "g1", "c2")
THREAD = "1000"  # the first section's thread in D1 (RecordingPlatform ids count from 1000)


def reply(mid: int, who: str, at) -> ReplyPosted:
    return ReplyPosted(platform="discord", workspace_id="g1", channel_id=THREAD,
                       occurred_at=at, actor=Actor(who), message_id=str(mid),
                       thread_id=THREAD, text=f"reply {mid} by {who}")


async def two_channels(core):
    platform = RecordingPlatform()
    core.attach(platform)
    round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=platform)
    await core.rounds.open(plan="sample", channel=D2, platform=platform)
    await core.settle_relays()
    return round_id, platform


async def test_a_flood_is_stored_but_only_so_much_is_copied_and_facilitators_see_it(tmp_path):
    core = make_core(tmp_path, copy_limit=3, copy_window=timedelta(minutes=10))
    round_id, platform = await two_channels(core)
    for i in range(5):
        assert await core.handle(reply(7000 + i, "flooder", START + timedelta(seconds=i)))
    assert await core.handle(reply(7100, "calm", START + timedelta(seconds=9)))
    await core.settle_relays()
    copied = [text for _c, _t, text in platform.copies]
    said = "💬 un·e participant·e sur Discord : "
    assert copied == [f"{said}reply {7000 + i} by flooder" for i in range(3)] + [
        f"{said}reply 7100 by calm"]
    replies = [c for c in core.store.statement_counts(round_id) if c.kind == "reply"]
    assert len(replies) == 6  # every reply stored and counted
    status = CommandInvoked(platform="discord", workspace_id="g1", channel_id="c1",
                            occurred_at=START, actor=Actor("facilitator"), action="status",
                            locale="en", roles=frozenset({"facilitator"}))
    answer = await core.run_command(status, platform)
    assert answer.text.endswith("Not copied to the round’s other channels: 2 replies, whose "
                                "authors went over the copy limit (3 replies per person every "
                                "10 min).")
    status = CommandInvoked(**{**_fields(status), "locale": "fr"})
    assert "Non copiées dans les autres canaux du tour : 2 réponses" in (
        await core.run_command(status, platform)).text
    # Reconciliation does not copy what was held back; the window passed, the next is copied.
    assert await core.relay.copy_replies(round_id) == 0
    assert await core.handle(reply(7200, "flooder", START + timedelta(minutes=11)))
    await core.settle_relays()
    assert platform.copies[-1][2] == "💬 un·e participant·e sur Discord : reply 7200 by flooder"
    core.close()


def _fields(cmd: CommandInvoked) -> dict:
    return {f: getattr(cmd, f) for f in cmd.__dataclass_fields__}


def add_replies(core, round_id: int, count: int) -> None:
    """``count`` replies of as many people in the first section, each already copied."""
    store = core.store
    section = next(s for s in store.round_sections(round_id))
    with store.engine.begin() as conn:
        section_id = conn.scalar(select(Statement.section_id)
                                 .where(Statement.id == section.statement_id))
        first = conn.scalar(select(Participant.id).order_by(Participant.id.desc()).limit(1)) or 0
        conn.execute(insert(Participant), [
            dict(key_hash=f"bulk{i:060d}", platform="discord", first_seen_at=START)
            for i in range(count)])
        at = START - timedelta(days=1)
        conn.execute(insert(Statement), [
            dict(round_id=round_id, kind="reply", section_id=section_id,
                 parent_id=section.statement_id, author_id=first + 1 + i, platform="discord",
                 text=f"bulk {i}", created_at=at, source="live") for i in range(count)])
        ids = conn.scalars(select(Statement.id).where(Statement.text.like("bulk %"))
                           .order_by(Statement.id)).all()
        conn.execute(insert(PlatformMessage), [
            dict(platform="discord", workspace_id="g1", channel_id=chan, message_id=f"{chan}-{sid}",
                 thread_id=thread, part=0, statement_id=sid, is_copy=chan == "c2")
            for sid in ids for chan, thread in (("c1", THREAD), ("c2", "1008"))])


async def copy_cost(tmp_path, replies: int) -> tuple[int, int]:
    """(SQL statements, SQLite virtual-machine steps / 100) spent on storing one new reply
    and copying it, in a round that already holds ``replies`` replies."""
    core = make_core(tmp_path / str(replies))
    round_id, platform = await two_channels(core)
    add_replies(core, round_id, replies)
    counted = {"statements": 0, "steps": 0}

    def step() -> int:
        counted["steps"] += 1
        return 0

    @event.listens_for(core.store.engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        counted["statements"] += 1
        conn.connection.dbapi_connection.set_progress_handler(step, 100)

    assert await core.handle(reply(9000, "newcomer", START))
    await core.settle_relays()
    assert [text for _c, _t, text in platform.copies] == [
        "💬 un·e participant·e sur Discord : reply 9000 by newcomer"]
    core.close()
    return counted["statements"], counted["steps"]


async def test_copying_one_reply_costs_the_same_at_100_and_4000_replies(tmp_path):
    small = await copy_cost(tmp_path, 100)
    large = await copy_cost(tmp_path, 4000)
    assert small[0] == large[0]
    # The database's own work (virtual-machine steps) is flat too: no read scans the round.
    assert large[1] <= small[1] * 1.2 + 5, (small, large)
