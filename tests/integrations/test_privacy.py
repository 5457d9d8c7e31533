"""A participant's own data (issue 10), end to end on both platforms: the real discord.py bot
and slack-bolt app against the local servers around one core on a SQLite file.

``/my-data`` answers privately with exactly the caller's data; ``/forget-me`` (after its
confirmation code) leaves no trace of the caller's reply texts in the database file or the
data directory, stored digests included; a reply its author deletes loses its text; the
retention purge runs on the controlled clock; the opening announcement carries the privacy
notice in French and English.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from tests.helpers import START, invitation
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

pytestmark = pytest.mark.e2e

ANA, BEN = "UANA", "UBEN"
SECTIONS = "broadband,digital-skills"


@pytest.fixture
async def both(tmp_path):
    users = [(SLACK_FACILITATOR, "ufacil", None), (ANA, "uana", "en-US"), (BEN, "uben", None)]
    async with two_platforms(tmp_path, users, clock=ManualClock(START)) as (core, h, slack, app):
        slack.app = app
        yield core, h, slack, tmp_path


async def open_both(core, h, slack, language: str | None = None):
    """The round opened on Discord then joined from Slack; (Discord broadband id, Slack
    broadband ts)."""
    options = {"language": language} if language else {}
    await h.run("alice", "open", plan="sample", sections=SECTIONS, **options)
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, join=invitation(core), **options)
    await slack.settle()
    discord_bb = h.first_parts(h.round_id())["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    return discord_bb, slack_bb


async def settle(core, h, slack) -> None:
    for _ in range(2):
        await h.settle()
        await slack.settle()
        await core.settle_relays()


def traces(folder: Path, marker: str) -> list[str]:
    """Files under ``folder`` (the data directory: SQLite database, WAL, secret...) whose
    bytes hold ``marker``."""
    needle = marker.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_my_data_answers_privately_with_exactly_the_callers_data(both):
    core, h, slack, _ = both
    discord_bb, slack_bb = await open_both(core, h, slack)
    dan, bob = h.person("dan"), h.person("bob")
    reply = await h.sandbox.user_replies(dan, h.channel_id, discord_bb, "Fibre d’abord DAN-1")
    await h.sandbox.user_reacts(dan, h.channel_id, discord_bb, "👍")
    await h.sandbox.user_reacts(bob, h.channel_id, discord_bb, "👎")
    await h.sandbox.user_replies(bob, h.channel_id, discord_bb, "Et les routes BOB-1")
    await settle(core, h, slack)
    await h.sandbox.user_edits(dan, discord_bb, reply, "La fibre d’abord DAN-2")
    await slack.user_reacts(ANA, SLACK_CHANNEL, slack_bb, "shrug")
    await slack.user_replies(ANA, SLACK_CHANNEL, slack_bb, "Cell service ANA-1")
    await settle(core, h, slack)

    answer = await h.sandbox.user_runs_command(dan, h.channel_id, "my-data", locale="fr")
    assert answer.ephemeral
    ((name, body, _type),) = answer.record.followups[0][1]["_files"]
    data = json.loads(body)
    assert name == "planbot-my-data.json" and data["user_id"] == dan
    assert [r["text"] for r in data["replies"]] == ["La fibre d’abord DAN-2"]
    assert [e["text"] for e in data["replies"][0]["edits"]] == ["Fibre d’abord DAN-1"]
    places = {(m["platform"], m["copy_by_planbot"]) for m in data["replies"][0]["messages"]}
    assert places == {("discord", False), ("slack", True)}  # where its copy was posted
    assert [(s["target"]["section"], s["stance"]) for s in data["stances"]] == [
        ("broadband", "agree")]
    public_id = core.store.get_round(h.round_id()).public_id  # the id people see
    assert [r["id"] for r in data["rounds"]] == [public_id]
    assert {s["round"] for s in data["stances"]} == {r["round"] for r in data["replies"]} == {
        public_id}
    assert "BOB" not in body.decode() and "ANA" not in body.decode()
    assert "1 réponse" in answer.text and "1 position" in answer.text

    slack_answer = await slack.user_runs_command(ANA, SLACK_CHANNEL, "my-data")
    await slack.app.wait_until_idle()
    assert slack_answer.ephemeral and "1 reply" in slack_answer.text
    carried = [a.text for a in slack.command_answers() if "planbot-my-data.json" in a.text]
    (carried,) = carried
    assert all(a.ephemeral for a in slack.command_answers())
    ana = json.loads(re.search(r"```(.*)```", carried, re.S).group(1)
                     .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert [r["text"] for r in ana["replies"]] == ["Cell service ANA-1"]
    assert [(s["stance"], s["platform"]) for s in ana["stances"]] == [("pass", "slack")]
    assert "DAN" not in carried and "BOB" not in carried
    assert [r.kind for r in core.store.privacy_requests()] == ["export", "export"]


async def test_forget_me_leaves_no_trace_of_the_callers_replies(both):
    """Discord's dan and Slack's Ana erase themselves after a digest quoting them was
    stored: no byte of their texts (current or earlier) stays in the data directory, their
    copies are gone from the other platform, Ben's reply and stances stay."""
    core, h, slack, home = both
    discord_bb, slack_bb = await open_both(core, h, slack)
    dan = h.person("dan")
    reply = await h.sandbox.user_replies(dan, h.channel_id, discord_bb, "Zq7 MARKDAN first words")
    await h.sandbox.user_reacts(dan, h.channel_id, discord_bb, "👍")
    await settle(core, h, slack)
    await h.sandbox.user_edits(dan, discord_bb, reply, "Zq7 MARKDAN & <b>later</b> words")
    await slack.user_replies(ANA, SLACK_CHANNEL, slack_bb, "Wx9 MARKANA on Slack")
    await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Ben keeps MARKBEN here")
    await slack.user_reacts(BEN, SLACK_CHANNEL, slack_bb, "+1")
    await settle(core, h, slack)
    await h.run("alice", "digest")
    assert traces(home, "MARKDAN") and traces(home, "MARKANA")  # quoted in the digest too
    assert core.store.participation(h.round_id()).as_counts() == {
        "discord": 1, "slack": 2, "all": 3}

    ask = await h.sandbox.user_runs_command(dan, h.channel_id, "forget-me", locale="fr")
    code = re.search(r"confirm(?:ation)?:(\d{6})", ask.text).group(1)
    wrong = await h.sandbox.user_runs_command(dan, h.channel_id, "forget-me", confirm="000000")
    assert "000000" in wrong.text and traces(home, "MARKDAN")
    done = await h.sandbox.user_runs_command(dan, h.channel_id, "forget-me", locale="fr",
                                             confirm=code)
    assert done.ephemeral and "effacées" in done.text
    slack_ask = await slack.user_runs_command(ANA, SLACK_CHANNEL, "forget-me")
    slack_code = re.search(r"forget-me (\d{6})", slack_ask.text).group(1)
    await slack.user_runs_command(ANA, SLACK_CHANNEL, "forget-me", confirm=slack_code)
    await settle(core, h, slack)

    assert traces(home, "MARKDAN") == [] and traces(home, "MARKANA") == []
    # Later digests count without them.
    assert core.store.participation(h.round_id()).as_counts() == {"slack": 1, "all": 1}
    assert traces(home, "later") == []  # the earlier version's words too
    assert traces(home, "MARKBEN")  # others' replies stay
    slack_thread = [m.text for m in slack.thread_messages(slack_bb, SLACK_CHANNEL)]
    assert not any("MARKDAN" in t for t in slack_thread)
    assert any("MARKBEN" in t for t in slack_thread)
    discord_thread = [m.content for m in h.sandbox.thread_messages(discord_bb) if m.author.bot]
    assert not any("MARKANA" in t for t in discord_thread)
    assert any("MARKBEN" in t for t in discord_thread)
    assert core.store.participant_data(core.pseudonyms.key("discord", dan)) is None
    assert core.store.participant_data(core.pseudonyms.key("slack", ANA)) is None
    assert core.store.participant_data(core.pseudonyms.key("slack", BEN)) is not None
    assert [r.kind for r in core.store.privacy_requests()] == ["erase", "erase"]
    assert (await h.sandbox.user_runs_command(dan, h.channel_id, "my-data", locale="fr")).text == \
        "planbot ne garde rien sur vous."


async def test_a_deleted_reply_keeps_only_a_tombstone(both):
    core, h, slack, home = both
    discord_bb, slack_bb = await open_both(core, h, slack)
    dan = h.person("dan")
    reply = await h.sandbox.user_replies(dan, h.channel_id, discord_bb, "Qv3 GONEDAN soon")
    await settle(core, h, slack)
    await h.sandbox.user_edits(dan, discord_bb, reply, "Qv3 GONEDAN edited")
    ts = await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, "Hj5 GONEBEN soon")
    await settle(core, h, slack)
    await h.run("alice", "digest")
    assert traces(home, "GONEDAN") and traces(home, "GONEBEN")

    await h.sandbox.user_deletes(dan, discord_bb, reply)
    await slack.user_deletes(BEN, SLACK_CHANNEL, ts)
    await settle(core, h, slack)

    assert traces(home, "GONEDAN") == [] and traces(home, "GONEBEN") == []
    tombstones = [c for c in core.store.statement_counts(h.round_id()) if c.kind == "reply"]
    assert [(c.text, c.deleted_at is not None) for c in tombstones] == [(None, True)] * 2


async def test_retention_purge_after_the_round_closes(both):
    """A year after the close (the default period) the daily job purges reply texts,
    earlier versions and display names; counts and stances stay."""
    core, h, slack, home = both
    discord_bb, slack_bb = await open_both(core, h, slack)
    dan = h.person("dan")
    reply = await h.sandbox.user_replies(dan, h.channel_id, discord_bb, "Rt8 KEEPDAN one")
    await settle(core, h, slack)
    await h.sandbox.user_edits(dan, discord_bb, reply, "Rt8 KEEPDAN two")
    await slack.user_replies(ANA, SLACK_CHANNEL, slack_bb, "Rt8 KEEPANA one")
    await slack.user_reacts(BEN, SLACK_CHANNEL, slack_bb, "+1")
    await settle(core, h, slack)
    await h.run("alice", "close")
    round_id = h.round_id()
    before = core.store.statement_counts(round_id)

    core.clock.advance(timedelta(days=364))
    assert await core.privacy.purge(dry_run=False) == []
    core.clock.advance(timedelta(days=2))
    (due,) = await core.privacy.purge(dry_run=True)
    assert (due.round_id, due.replies, due.edits) == (round_id, 2, 1)
    assert traces(home, "KEEPDAN")  # a dry run changes nothing
    from bot.scheduling import SERVICES, purge_expired

    SERVICES["privacy-test"] = type("Svc", (), {"core": core})()
    try:
        await purge_expired("privacy-test")
    finally:
        SERVICES.pop("privacy-test")

    assert traces(home, "KEEPDAN") == [] and traces(home, "KEEPANA") == []
    after = core.store.statement_counts(round_id)
    assert [(c.id, c.agree, c.disagree, c.passes) for c in after] == \
        [(c.id, c.agree, c.disagree, c.passes) for c in before]
    assert [c.text for c in after if c.kind == "reply"] == [None, None]
    assert core.store.participant_data(core.pseudonyms.key("slack", ANA)).display_name is None
    assert await core.privacy.purge(dry_run=True) == []


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", ("Confidentialité", "/mes-données", "/oublie-moi", "365 jours", "/planbot my-data")),
    ("en", ("Privacy", "/my-data", "/forget-me", "365 days", "/planbot forget-me")),
])
async def test_the_opening_announcement_carries_the_privacy_notice(both, language, expected):
    core, h, slack, _ = both
    await open_both(core, h, slack, language)
    discord_text = h.sandbox.messages(h.channel_id)[-1].content
    slack_text = slack.messages(SLACK_CHANNEL)[-1].text
    for word in expected[:4]:
        assert word in discord_text
    assert expected[4] in slack_text and expected[0] in slack_text
    assert "👍 👎 🤷" in discord_text
