"""Digest renderers: Discord parts, Slack blocks, HTML page and PNG chart within their rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import regex
from matplotlib.dates import date2num

from bot.digests.build import Period, build_digest
from bot.digests.chart import (
    COLOURS,
    INK,
    MAX_BINS,
    BabelDateFormatter,
    chart_figure,
    cumulative,
    render_chart,
    time_bins,
)
from bot.digests.render_discord import discord_parts, render_discord
from bot.digests.render_html import render_html
from bot.digests.render_md import quote
from bot.digests.render_slack import render_slack, slack_messages
from bot.findings import analyse_round
from bot.i18n import translate
from tests.bot.digest_fixtures import busy_round
from tests.helpers import START, make_core

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def digest(tmp_path):
    core = make_core(tmp_path)
    round_id, _ = await busy_round(
        core, reply_text="<script>alert(1)</script> @everyone <!channel> idea {i}")
    d = build_digest(core.store, round_id, Period(START, START + timedelta(days=7)),
                     analysis=analyse_round(core.store, round_id, core.clock.now()))
    core.close()
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
    assert f'alt="{translate("chart.alt", "fr")}"' in html


def test_rendering_follows_the_language(digest):
    assert "Synthèse" in render_html(digest, None, "fr")
    english = render_html(digest, None, "en")
    assert "Synthèse" not in english and '<html lang="en">' in english


def test_chart_is_a_png_with_and_without_activity(digest):
    assert render_chart(digest, []).startswith(PNG)
    assert render_chart(digest, [(START, "agree"), (START, "disagree")], "en").startswith(PNG)


TORONTO = ZoneInfo("America/Toronto")


def spread(n: int, start: datetime = START, every: timedelta = timedelta(hours=3)) -> list:
    """``n`` stances cycling agree / disagree / pass, one every ``every`` from ``start``."""
    return [(start + i * every, ("agree", "disagree", "pass")[i % 3]) for i in range(n)]


def test_date_ticks_are_in_the_language_and_the_zone():
    fr, en = BabelDateFormatter("fr_CA", TORONTO), BabelDateFormatter("en_CA", TORONTO)
    midnight_toronto = date2num(datetime(2026, 12, 2, 5, 0, tzinfo=UTC))
    assert fr(midnight_toronto) == "2 déc." and en(midnight_toronto) == "Dec 2"
    midnight_utc = date2num(datetime(2026, 12, 2, tzinfo=UTC))  # 19:00 the day before
    assert fr(midnight_utc) == "19 h 00" and en(midnight_utc) == "19:00"


def test_chart_axis_reads_in_french(digest):
    fig = chart_figure(digest, spread(50), "fr", TORONTO)
    fig.canvas.draw()
    top = fig.axes[0]
    ticks = [t.get_text() for t in top.get_xticklabels() if t.get_text()]
    assert len(ticks) >= 4 and all(t.endswith(" nov.") for t in ticks), ticks
    assert "UTC-05:00" in top.get_xlabel() and "nov." in top.get_xlabel()
    assert [t.get_text() for t in top.get_yticklabels()][-1].replace("\u202f", " ") != ""


def test_both_panels_use_the_whole_width_whatever_the_section_titles(digest):
    long = "Une section au titre très long qui déborderait de la marge de gauche " * 3
    digest = replace(digest, sections=tuple(replace(s, title=long) for s in digest.sections))
    fig = chart_figure(digest, spread(50), "fr", TORONTO)
    fig.canvas.draw()
    width = fig.bbox.width
    for ax in fig.axes:
        box = ax.get_window_extent()
        assert box.x0 < 0.15 * width and box.x1 > 0.95 * width
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert any(t.startswith("Une section au titre") and t.endswith("…") for t in texts)


def test_cumulative_counts_are_exact_at_each_edge_and_keep_a_late_burst(digest):
    end = START + timedelta(days=7)
    activity = spread(40) + [(end, "agree")] * 900 + [(end, "pass")] * 800
    edges = time_bins(START, end, TORONTO)
    counts = cumulative(activity, edges)
    assert edges[-1] == end and len(edges) <= MAX_BINS + 1
    for i, edge in enumerate(edges):
        for stance in ("agree", "disagree", "pass"):
            assert counts[stance][i] == sum(t <= edge and s == stance for t, s in activity)
    totals = [sum(c[i] for c in counts.values()) for i in range(len(edges))]
    assert totals[-1] - totals[-2] == 1700 and totals[-1] == len(activity)
    fig = chart_figure(digest, activity, "fr", TORONTO)
    labels = [t.get_text().replace("\u202f", " ").replace("\xa0", " ") for t in fig.axes[0].texts]
    assert "+1 700" in labels and "1 740" in labels


def test_daily_bins_start_at_local_midnight_across_a_dst_change():
    start = datetime(2026, 10, 20, 15, tzinfo=UTC)  # Toronto leaves DST on 1 November
    edges = time_bins(start, start + timedelta(days=50), TORONTO)
    assert edges[0] < start and len(edges) <= MAX_BINS + 1
    assert all(e.astimezone(TORONTO).time() == datetime.min.time() for e in edges[:-1])
    night = datetime(2026, 11, 1, 4, tzinfo=UTC)  # midnight EDT; 02:00 EDT is 01:00 EST
    edges = time_bins(night, night + timedelta(hours=20), TORONTO)
    assert {b - a for a, b in pairwise(edges[:-1])} == {timedelta(minutes=30)}


def test_pass_is_worded_as_in_the_digest_text(digest):
    for lang in ("fr", "en"):
        word = translate("chart.pass", lang)
        assert word in translate("digest.pass_pct", lang, pct="10 %")
        fig = chart_figure(digest, spread(9), lang)
        legends = [t.get_text() for ax in fig.axes if ax.get_legend()
                   for t in ax.get_legend().get_texts()]
        assert any(t.startswith(word) for t in legends)


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB ``#rrggbb`` or named black/white colour."""
    colour = {"white": "#ffffff", "black": "#000000"}.get(colour, colour)
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def test_stance_colours_differ_in_lightness_and_counts_are_legible():
    # Lightness survives every colour-vision deficiency and greyscale print; red/green does not.
    stances = list(COLOURS)
    for i, a in enumerate(stances):
        for b in stances[i + 1:]:
            assert contrast(COLOURS[a], COLOURS[b]) >= 1.3, (a, b)
    assert all(contrast(COLOURS[s], INK[s]) >= 4.5 for s in stances)  # WCAG AA text


def test_png_is_deterministic_without_software_stamp(digest):
    first = render_chart(digest, spread(30), "fr", TORONTO)
    assert first == render_chart(digest, spread(30), "fr", TORONTO)
    assert b"Software" not in first and b"matplotlib" not in first


def _grapheme_prefixes(text: str) -> set[str]:
    ends = [m.end() for m in regex.finditer(r"\X", text)]
    return {text[:end] for end in ends}


@pytest.mark.parametrize("text, limit", [
    ("🇨🇦🇫🇷🇨🇦🇫🇷🇨🇦🇫🇷", 4),  # a flag is two regional indicators
    ("👩‍👩‍👧‍👦👨‍👩‍👦👩‍👩‍👧‍👦", 9),  # ZWJ families: 7 and 5 code points
    ("e\u0301" * 6, 4),  # letters with a combining accent
    ("👍🏽👍🏽👍🏽", 4),  # skin-tone modifiers
])
def test_digest_quotes_are_cut_between_grapheme_clusters(text, limit):
    """Issue 11: a digest quote cut a flag in half. Texts without spaces, cut where the old
    code-point cut fell inside a cluster."""
    quoted = quote(text, limit)
    assert len(quoted) <= limit and quoted.endswith("…")
    assert quoted[:-1] in _grapheme_prefixes(text)


def test_digest_quotes_never_cut_a_url():
    url = "https://example.org/quartiers/plan-numérique#coût"
    text = f"Voir   le plan\n{url} pour 🇨🇦 les détails"
    quoted = quote(text, 40)  # the limit falls inside the URL
    assert quoted == "Voir le plan…"
    assert quote(text, 200) == " ".join(text.split())  # fits: folded, not cut
    assert quote(f"{url} et la suite", len(url) + 3) == f"{url}…"
