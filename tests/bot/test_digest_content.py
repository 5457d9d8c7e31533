"""What the digest says (issue 13): section by section in the plan's order and the round's
language, rankings that respect sample size, no statement twice, per-group shares, each
index explained once, new replies ranked by bridging, what moved, the final report."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.digests.build import Period, build_digest
from bot.digests.chart import render_chart
from bot.digests.chart_text import drawable, escaped
from bot.digests.model import Trend
from bot.digests.opinion_map import map_figure
from bot.digests.render_html import render_html
from bot.digests.render_md import render_markdown
from bot.events import Actor, Emoji, ReactionAdded
from bot.findings import analyse_round
from bot.i18n import translate
from tests.bot.digest_fixtures import DISCORD, busy_round
from tests.helpers import START, make_core

WEEK = Period(START, START + timedelta(days=7))
EXPLAINED = ("consensus", "divides", "most_agreed", "division", "bridging", "map", "gap")


async def react(pb, message_id: str, user: str, emoji: str, at=START + timedelta(days=1),
                channel: str = DISCORD.channel_id) -> None:
    """``user`` reacts on Discord to a message (a section in the channel, or a reply in its
    section's thread, whose channel is the thread)."""
    await pb.handle(ReactionAdded(
        platform="discord", workspace_id=DISCORD.workspace_id, channel_id=channel,
        occurred_at=at, event_key=f"r-{message_id}-{user}-{emoji}", actor=Actor(user),
        message_id=message_id, emoji=Emoji(emoji)))


@pytest.fixture
async def pb(tmp_path):
    planbot = make_core(tmp_path)
    yield planbot
    planbot.close()


async def voted_round(pb):
    """The busy round, plus Discord votes on two replies in the first section's thread:
    reply 0 liked by 4 of 4 (100 %, too few votes), reply 1 by 9 of 10."""
    round_id, platforms = await busy_round(pb, people=16)
    for i in range(4):
        await react(pb, "rdiscord0", f"discord-u{i}", "👍", channel="1000")
    for i in range(10):
        await react(pb, "rdiscord1", f"discord-u{i}", "👍" if i < 9 else "👎", channel="1000")
    return round_id, platforms


def headline_ids(d) -> list[str]:
    lists = (d.common_ground, d.divides, d.most_agreed, d.most_divided, d.uncertain,
             d.new_replies, d.top_replies)
    return [h.statement.id for items in lists for h in items]


async def test_sections_in_plan_order_with_replies_ranked_and_titles_in_the_language(pb):
    round_id, _ = await voted_round(pb)
    analysis = analyse_round(pb.store, round_id, WEEK.end)
    fr = build_digest(pb.store, round_id, WEEK, analysis=analysis)
    en = build_digest(pb.store, round_id, WEEK, analysis=analysis, language="en")
    assert [s.key for s in fr.sections] == [s.key for s in en.sections]
    assert [s.position for s in fr.sections] == sorted(s.position for s in fr.sections)
    assert fr.round.name == "Plan numérique de la Vallée-des-Érables 2030"
    assert en.round.name == "Maple Valley Digital Plan 2030"
    assert en.sections[0].title == "High-speed Internet everywhere"
    first = en.sections[0]
    assert [r.text for r in first.replies[:2]] == ["Good idea, but 1", "Good idea, but 0"]
    assert first.replies[0].split.agree == 9 and first.replies[0].split.disagree == 1
    assert [r.pa for r in first.replies] == sorted((r.pa for r in first.replies), reverse=True)
    markdown = render_markdown(en)
    assert markdown.startswith("# Digest — Maple Valley Digital Plan 2030")
    assert "Vallée" not in markdown and "Section by section" in markdown
    assert "👍 9 (90%) · 👎 1 (10%) · 🤷 0 (0%)" in markdown
    positions = [markdown.index(f"### {i}. {s.title}") for i, s in enumerate(en.sections, 1)]
    assert positions == sorted(positions)


async def test_most_agreed_needs_enough_votes_and_ranks_like_polis(pb):
    round_id, _ = await voted_round(pb)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    ids = {s.text: s.id for s in d.statements if s.platform != "slack"}
    agreed = [h.statement.id for h in d.most_agreed]
    liked = next(s for s in d.statements if s.text == "Good idea, but 1")
    shown = set(headline_ids(d))
    assert ids["Good idea, but 0"] not in agreed  # 4 of 4 at 100 %, under 5 votes
    assert liked.significant and liked.id in shown
    looser = build_digest(pb.store, round_id, WEEK, min_votes=3)
    assert ids["Good idea, but 0"] in [h.statement.id for h in looser.most_agreed]
    # Polis' ranking: pa x z, so 9 of 10 outranks 4 of 4 despite a lower share.
    order = [h.statement.text for h in looser.most_agreed]
    assert order.index("Good idea, but 1") < order.index("Good idea, but 0")


async def test_no_statement_twice_and_division_shows_each_groups_shares(pb):
    round_id, _ = await voted_round(pb)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    ids = headline_ids(d)
    assert len(ids) == len(set(ids)) and ids
    assert d.divides and all(len(h.statement.groups) == len(d.groups) for h in d.divides)
    markdown = render_markdown(d)
    h = d.divides[0]
    for g in h.statement.groups:
        assert translate("digest.group_shares", "fr", name=g.letter,
                         agree=f"{round(100 * g.split.share('agree'))}\u00a0%",
                         disagree=f"{round(100 * g.split.share('disagree'))}\u00a0%") \
            in markdown.replace("\u202f", "\u00a0")


async def test_a_group_share_is_one_figure_wherever_it_appears(pb):
    """A group's representative statements give the group's plain share, the figure the
    division list gives for the same group and statement (not repness' smoothed one)."""
    round_id, _ = await voted_round(pb)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    checked = 0
    for group in d.groups:
        for statement, side, share in group.representative:
            split = next(g.split for g in statement.groups if g.group == group.id)
            assert share == split.share(side)
            checked += 1
    assert checked


async def test_each_index_is_explained_once_in_every_form(pb):
    round_id, _ = await voted_round(pb)
    for lang in ("fr", "en"):
        d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end),
                         language=lang)
        for text in (render_markdown(d), render_html(d)):
            for name in EXPLAINED:
                sentence = translate(f"digest.explain.{name}", lang, n=d.min_votes)
                assert text.count(sentence) == 1, (lang, name)


async def test_new_replies_rank_by_support_across_groups(pb):
    round_id, _ = await voted_round(pb)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    assert d.new_reply_count == 16 and len(d.new_replies) == 10
    scores = [h.score for h in d.new_replies]
    assert scores == sorted(scores, reverse=True)
    assert all(h.score == h.statement.consensus for h in d.new_replies)


async def test_chart_text_never_enters_math_mode_nor_needs_a_missing_glyph(pb):
    round_id, _ = await busy_round(pb, people=16)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    odd = r"$\undefined$ 🎉 fête"
    statement = replace(d.sections[0].statement, text=odd)
    d = replace(d, sections=tuple(replace(s, title=odd) for s in d.sections),
                trends=(Trend(statement, ((START, 0.5), (START + timedelta(days=1), 0.75))),))
    assert escaped(drawable(odd)) == r"\$\undefined\$ fête"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" is a warning
        for lang in ("fr", "en"):
            assert render_chart(d, [(START, "agree")], lang).startswith(b"\x89PNG")


async def test_opinion_map_has_groups_letters_and_no_identifier(pb):
    round_id, _ = await busy_round(pb, people=16)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    fig = map_figure(d, "en")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == [g.letter for g in d.groups]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [f"Group {g.letter} ({g.size})" for g in d.groups]
    styles = {(tuple(c.get_facecolor()[0]), c.get_paths()[0].vertices.shape) for c in ax.collections}
    assert len(styles) == len(d.groups)  # a colour and a marker each
    assert sum(len(c.get_offsets()) for c in ax.collections) == d.clustered
    assert not ax.get_xticklabels() or all(t.get_text() == "" for t in ax.get_xticklabels())
    assert map_figure(replace(d, opinion_map=()), "en") is None


async def test_what_moved_since_the_last_digest_and_the_last_round(pb):
    round_id, platforms = await busy_round(pb, people=16)
    pb.platforms.update(platforms)
    publisher = pb.digest_publisher
    first = await publisher.publish(round_id, "weekly", end=START + timedelta(days=7))
    assert first.rendered.digest.moved == ()
    for i in range(10):  # reply 1 in the first thread wins broad support
        await react(pb, "rdiscord1", f"discord-u{i % 8}" if i < 8 else f"new-{i}", "👍",
                    at=START + timedelta(days=8), channel="1000")
    pb.clock.set(START + timedelta(days=14))
    second = await publisher.publish(round_id, "weekly", end=START + timedelta(days=14))
    (moved,) = second.rendered.digest.moved
    assert moved.against == "digest" and "Good idea, but 1" in moved.entered_consensus
    assert moved.participants == (16, 18)
    assert "Good idea, but 1" in second.rendered.markdown.split("## Ce qui a bougé")[1]

    pb.store.close_round(round_id, START + timedelta(days=15))
    pb.clock.set(START + timedelta(days=16))
    new_round, _, _ = await pb.rounds.open(plan="sample", platform=platforms["discord"],
                                           channel=DISCORD)
    d = build_digest(pb.store, new_round, Period(START + timedelta(days=16),
                                                  START + timedelta(days=20)))
    (moved,) = d.moved
    assert moved.against == "round" and moved.label.startswith(f"#{pb.store.get_round(round_id).public_id} ")
    assert moved.participants == (18, 0)


async def test_final_digest_is_a_printable_report(pb):
    round_id, _ = await voted_round(pb)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end),
                     language="en", final=True)
    html = render_html(d)
    assert "@media print" in html and "@page" in html
    body = next(s.bodies["en"] for s in pb.store.round_sections(round_id))
    assert body.split("**")[0] in html  # the plan's text, its Markdown rendered
    assert "<strong>" in html and "**" not in html
    assert translate("digest.proposed_changes", "en") in html
    assert "https://github.com/compdemocracy/polis" in html
    assert html.count("<li>Good idea, but") >= 16  # every reply, in the report
    assert re.search(r"<h2>Method</h2>", html)
    assert "Method" not in render_html(replace(d, final=False))


async def test_json_form_is_asdict_made_plain(pb):
    """Digest.to_json (one pass, no deep copy) gives what dataclasses.asdict followed by a walk
    turning tuples into lists, keys into strings and datetimes into ISO strings gives."""
    import dataclasses
    from datetime import datetime

    def plain(value):
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value.isoformat() if isinstance(value, datetime) else value

    round_id, _ = await voted_round(pb)
    d = build_digest(pb.store, round_id, WEEK, analysis=analyse_round(pb.store, round_id, WEEK.end))
    assert d.trends and d.groups and d.sections and d.opinion_map
    assert d.to_json() == plain(dataclasses.asdict(d))


def test_the_report_renders_the_plans_markdown_and_nothing_live_but_web_links():
    """The plan's text reads as text in the printed report: emphasis and lists rendered, not
    ``**`` shown; raw HTML, images and javascript: links stay inert."""
    from bot.digests.render_html import plan_html

    html = str(plan_html("We propose **100 % of addresses** by 2028:\n\n- fibre\n- towers\n\n"
                         "<script>alert(1)</script> [site](https://quebec.ca) "
                         "[bad](javascript:alert(1)) ![x](https://evil/pixel.png)"))
    assert "<strong>100 % of addresses</strong>" in html and "**" not in html
    assert "<li>fibre</li>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://quebec.ca">site</a>' in html
    assert 'href="javascript' not in html and "<img" not in html
