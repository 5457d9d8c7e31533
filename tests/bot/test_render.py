"""Digest renderers: Discord parts, Slack blocks, HTML page and PNG chart within their rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.digests.build import Period, build_digest
from bot.digests.chart import render_chart
from bot.digests.render_discord import discord_parts, render_discord
from bot.digests.render_html import render_html
from bot.digests.render_slack import render_slack, slack_messages
from bot.findings import analyse_round
from tests.bot.digest_fixtures import busy_round
from tests.helpers import START, make_planbot

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def digest(tmp_path):
    pb = make_planbot(tmp_path)
    round_id, _ = await busy_round(
        pb, reply_text="<script>alert(1)</script> @everyone <!channel> idea {i}")
    d = build_digest(pb.store, round_id, Period(START, START + timedelta(days=7)),
                     analysis=analyse_round(pb.store, round_id).to_dict())
    pb.close()
    return d


def long_markdown(paragraphs: int = 400) -> str:
    return "\n\n".join(f"## Part {i}\n\n- " + "word " * 60 + f"end {i}." for i in range(paragraphs))


def test_discord_parts_fit_and_keep_order():
    text = long_markdown()
    parts = discord_parts(text)
    assert len(parts) > 10
    assert all(len(p["content"]) <= 2000 for p in parts)
    assert all(p["allowed_mentions"] == {"parse": []} for p in parts)
    joined = " ".join(p["content"] for p in parts)
    positions = [joined.index(f"end {i}.") for i in range(400)]
    assert positions == sorted(positions)


def test_slack_messages_fit_block_and_message_limits():
    text = long_markdown() + "\n\n" + "x" * 7000  # one paragraph longer than a block
    messages = slack_messages(text)
    blocks = [b for m in messages for b in m["blocks"]]
    assert len(messages) > 1
    assert all(len(m["blocks"]) <= 50 for m in messages)
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert all(m["text"] for m in messages)
    texts = [b["text"]["text"] for b in blocks]
    assert texts[0].startswith("*Part 0*")
    assert "".join(texts[-3:]) == "x" * 7000


def test_platform_renderings_escape_and_disable_mentions(digest):
    slack_text = "\n".join(b["text"]["text"] for m in render_slack(digest) for b in m["blocks"])
    assert "<!channel>" not in slack_text and "&lt;!channel&gt;" in slack_text
    for part in render_discord(digest):
        assert part["allowed_mentions"] == {"parse": []}


def test_html_is_escaped_and_embeds_the_chart(digest):
    chart = render_chart(digest, [(START, "agree"), (START + timedelta(hours=1), "pass")])
    html = render_html(digest, chart)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert 'src="data:image/png;base64,' in html
    assert html.startswith("<!doctype html>")
    assert '<html lang="fr">' in html


def test_rendering_follows_the_language(digest):
    assert "Synthèse" in render_html(digest, None, "fr")
    english = render_html(digest, None, "en")
    assert "Synthèse" not in english and '<html lang="en">' in english


def test_chart_is_a_png_with_and_without_activity(digest):
    assert render_chart(digest, []).startswith(PNG)
    assert render_chart(digest, [(START, "agree"), (START, "disagree")], "en").startswith(PNG)
