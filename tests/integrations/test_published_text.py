"""What planbot publishes carries no attack from a reply, on both platforms end to end.

Replies written on Discord and on Slack (through the real discord.py and slack-bolt against
the local servers) hold link syntax whose text lies, HTML, a ``javascript:`` link, spreadsheet
formulas and matplotlib math text. They travel into the copies on the other platform, the
digest posted on Discord and on Slack, the Markdown and HTML digest, its chart, and the Polis
export: each shows them as text, and never as a live link, a tag, a formula or math; and the
logs at INFO and above carry neither the text nor the authors' ids.
"""

from __future__ import annotations

import csv
import logging
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from bot.clock import ManualClock
from bot.polis import export_conversation
from tests.helpers import START, invitation
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

BEN = "UBEN"
SECTIONS = "broadband,digital-skills"
FROM_DISCORD = ('=HYPERLINK("https://evil.example/d","x") [https://www.quebec.ca/d](https://evil.example/d)'
                ' <img src=x onerror=alert(1)> [clic](javascript:alert(1)) $\\undefined$ de $5 à $10')
# As Slack sends it: a masked link in Slack's own syntax, the user's < > & escaped.
FROM_SLACK_RAW = ("@SUM(1) <https://evil.example/s|https://www.quebec.ca/s> "
                  "&lt;script&gt;alert(2)&lt;/script&gt; [https://www.quebec.ca/m](https://evil.example/m)"
                  " javascript:alert(3)")
FROM_SLACK = ("@SUM(1) <https://evil.example/s|https://www.quebec.ca/s> "
              "<script>alert(2)</script> [https://www.quebec.ca/m](https://evil.example/m)"
              " javascript:alert(3)")


class Links(HTMLParser):
    """The tags and links of rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("href", "src")]


def rendered_markdown(text: str) -> Links:
    """``text`` as a CommonMark renderer (with GFM-like bare-URL links) shows it."""
    parser = Links()
    parser.feed(MarkdownIt("commonmark", {"linkify": False}).render(text))
    return parser


def assert_markdown_inert(text: str) -> None:
    """No tag a reply brought, no link to evil.example or to a non-http(s) scheme."""
    shown = rendered_markdown(text)
    assert not {"img", "script", "b"} & set(shown.tags), text
    assert not [u for u in shown.links if "evil" in u or not u.startswith(("http", "data:"))], text


def assert_mrkdwn_inert(text: str) -> None:
    """Slack mrkdwn: every ``<...>`` is planbot's (no link to evil.example, no script)."""
    for target in re.findall(r"<([^>]*)>", text):
        assert "evil" not in target and not target.startswith("javascript"), text
    assert "<script" not in text and "<img" not in text


@pytest.fixture
async def both(tmp_path):
    clock = ManualClock(START)
    users = [(SLACK_FACILITATOR, "ufacil", None), (BEN, "uben", None)]
    async with two_platforms(tmp_path, users, clock=clock) as (core, harness, slack, _app):
        yield core, harness, slack, clock


async def test_replies_travel_through_copies_digests_and_exports_neutralised(both, tmp_path,
                                                                           caplog):
    core, h, slack, clock = both
    caplog.set_level(logging.INFO)
    await h.run("alice", "open", plan="sample", sections=SECTIONS)
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections=SECTIONS, join=invitation(core))
    await slack.settle()
    round_id = h.round_id()
    discord_bb = h.first_parts(round_id)["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    await h.sandbox.user_replies(h.person("dan"), h.channel_id, discord_bb, FROM_DISCORD)
    await h.settle()
    await slack.user_replies(BEN, SLACK_CHANNEL, slack_bb, FROM_SLACK_RAW)
    await slack.settle()
    await core.settle_relays()
    await h.settle()
    await slack.settle()
    stored = {r.text for r in core.store.statement_counts(round_id) if r.kind == "reply"}
    assert stored == {FROM_DISCORD, FROM_SLACK}  # kept as typed; neutralised when shown

    # Copies: the Discord reply on Slack, the Slack reply on Discord, each saying whose.
    (on_slack,) = [m.text for m in slack.thread_messages(slack_bb, SLACK_CHANNEL) if m.bot_id]
    assert on_slack.startswith("💬 dan sur Discord : ")
    assert_mrkdwn_inert(on_slack)
    assert "[https://www.quebec.ca/d](https://evil.example/d)" in on_slack  # shown as typed
    (on_discord,) = [m.content for m in h.sandbox.thread_messages(discord_bb) if m.author.bot]
    assert on_discord.startswith("💬 un·e participant·e sur Slack : ")
    assert_markdown_inert(on_discord)
    assert "evil.example/s|https://www.quebec.ca/s" in on_discord.replace("\\", "")

    # The digest, posted on both platforms, and its Markdown, HTML and chart.
    clock.set(START + timedelta(days=1))
    result = await core.digest_publisher.publish(round_id, "on_demand")
    rendered = result.rendered
    assert rendered is not None and result.digest_id is not None
    for text in (FROM_DISCORD, FROM_SLACK):
        assert text[:12] in rendered.markdown.replace("\\", "")
    assert_markdown_inert(rendered.markdown)
    discord_digest = [m.content for m in h.sandbox.messages(h.channel_id)
                      if m.author.bot and "HYPERLINK" in m.content]
    assert discord_digest and all(assert_markdown_inert(c) is None for c in discord_digest)
    # Text blocks only: a section message also carries its Vote button (an actions block).
    slack_digest = [b["text"]["text"] for m in slack.messages(SLACK_CHANNEL) if m.blocks
                    for b in m.blocks if "HYPERLINK" in b.get("text", {}).get("text", "")]
    assert slack_digest and all(assert_mrkdwn_inert(t) is None for t in slack_digest)
    page = Links()
    page.feed(rendered.html)
    assert not {"script", "b"} & set(page.tags)
    assert [t for t in page.tags if t == "img"] == ["img"] * len(rendered.files())  # charts
    assert not [u for u in page.links if "evil" in u or u.startswith("javascript")]
    assert rendered.chart.startswith(b"\x89PNG")

    # The Polis export: formulas defused, nothing else changed.
    export_conversation(core.store, round_id, tmp_path / "export")
    with (tmp_path / "export" / "comments.csv").open(newline="", encoding="utf-8") as fh:
        bodies = {row["comment-body"] for row in csv.DictReader(fh)}
    assert {"'" + FROM_DISCORD, "'" + FROM_SLACK} <= bodies

    # Nothing of it in the logs at INFO and above: no reply text, no raw user id.
    logged = "\n".join(r.getMessage() + (logging.Formatter().formatException(r.exc_info)
                                          if r.exc_info else "")
                        for r in caplog.records if r.levelno >= logging.INFO)
    assert logged  # the round, the copies and the digest were logged
    for secret in ("HYPERLINK", "evil.example", "SUM(1)", h.person("dan"), BEN):
        assert secret not in logged
