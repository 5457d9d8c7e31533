"""SlackPlatform (the core's ChatPlatform) with the real AsyncWebClient against the local Slack."""

from __future__ import annotations

import re

import pytest

from bot.platform import ChannelRef, DigestPost, SectionPost
from integrations.slack import SlackPlatform, make_web_client
from integrations.slack.blocks import section_messages as slack_payloads
from integrations.slack.mrkdwn import markdown_to_mrkdwn
from tests.integrations.slack.conftest import ANA, CHANNEL

SEEDS = ("👍", "👎", "🤷\ufe0f")


@pytest.fixture
def platform(slack):
    return SlackPlatform(make_web_client(slack.bot_token, base_url=slack.base_url))


@pytest.fixture
def channel(slack):
    return ChannelRef("slack", slack.workspace.team_id, CHANNEL)


def _long_body(paragraphs: int) -> str:
    sentence = "La fibre **optique** relie les rangs & les lacs <vraiment>. "
    return "\n\n".join(f"Paragraphe {n}. " + sentence * 14 for n in range(paragraphs))


def _words(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text).strip().split(" ")


async def test_long_section_is_split_over_ordered_messages(slack, platform, channel):
    body = _long_body(200)  # about 180,000 characters: over 50 blocks of 3,000
    section = SectionPost(key="long", title="Un long titre", body=body, seed_emoji=SEEDS,
                          language="fr")

    posted = await platform.post_section(channel, section)

    assert len(posted) >= 2
    assert [p.part for p in posted] == list(range(len(posted)))
    assert {p.thread_id for p in posted} == {posted[0].message_id}
    stored = [slack.message(CHANNEL, p.message_id) for p in posted]
    assert [m.ts for m in stored] == sorted(m.ts for m in stored)
    assert all(len(m.blocks) <= 50 for m in stored)
    texts = [b["text"]["text"] for m in stored for b in m.blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts)
    assert _words(" ".join(texts)) == _words(f"*Un long titre*\n\n{markdown_to_mrkdwn(body)}")
    assert stored[0].reactions == {"+1": ["U0PLANBOT"], "-1": ["U0PLANBOT"],
                                   "shrug": ["U0PLANBOT"]}
    assert all(not m.reactions for m in stored[1:])


def test_payloads_respect_smaller_limits():
    section = SectionPost(key="k", title="T", body=_long_body(6), seed_emoji=(), language="fr")
    messages = slack_payloads(section, text_limit=500, blocks_per_message=3)
    assert len(messages) > 1
    assert all(len(m["blocks"]) <= 3 for m in messages)
    assert messages[-1]["text"] == f"T ({len(messages)}/{len(messages)})"


async def test_digest_parts_and_chart(slack, platform, channel):
    digest = DigestPost(parts=[{"text": "Bilan", "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": "*Bilan* de la semaine"}}]}, {"text": "Suite"}],
        files={"chart.png": b"\x89PNG\r\n\x1a\nfake"})

    posted = await platform.post_digest(channel, digest)

    assert [slack.message(CHANNEL, p.message_id).text for p in posted] == ["Bilan", "Suite"]
    shared = slack.thread_messages(posted[0].message_id)
    assert shared[0].files[0]["name"] == "chart.png"
    assert next(iter(slack.api.uploads.values()))["data"] == b"\x89PNG\r\n\x1a\nfake"


async def test_fetch_replies_pages_and_starts_after(slack, platform, channel):
    root = slack.workspace.post(CHANNEL, "U0PLANBOT", "section", bot_id="B0PLANBOT")
    ts = [slack.workspace.post(CHANNEL, ANA, f"r{n}", thread_ts=root.ts).ts for n in range(250)]
    slack.workspace.post(CHANNEL, "U0PLANBOT", "bot note", thread_ts=root.ts, bot_id="B0PLANBOT")

    everything = await platform.fetch_replies(channel, root.ts, None)
    later = await platform.fetch_replies(channel, root.ts, ts[199])

    assert [r.message_id for r in everything] == ts
    assert all(r.backfill and r.thread_id == root.ts for r in everything)
    assert [r.text for r in later] == [f"r{n}" for n in range(200, 250)]
    assert len(slack.calls("conversations.replies")) == 3


async def test_fetch_reactions_reports_the_bot_apart(slack, platform, channel):
    posted = await platform.post_section(channel, SectionPost(
        key="s", title="S", body="b", seed_emoji=SEEDS, language="fr"))
    await slack.user_reacts(ANA, CHANNEL, posted[0].message_id, "+1::skin-tone-5")

    states = {s.emoji.name: s for s in await platform.fetch_reactions(channel, posted[0].message_id)}

    assert states["+1"].user_ids == () and states["+1"].bot_user_ids == ("U0PLANBOT",)
    assert states["+1::skin-tone-5"].user_ids == (ANA,)
