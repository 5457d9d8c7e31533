"""The digest chart (PNG): participation over time and each section's stance split.

Drawn with matplotlib's object API on a ``Figure`` (no pyplot, no display; the Agg canvas
renders in memory), so it is safe in a server process and in threads.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, tzinfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from bot.digests.render_md import helpers, quote

COLOURS = {"agree": "#2e7d32", "disagree": "#c62828", "pass": "#9e9e9e"}
STANCES = ("agree", "disagree", "pass")
LABELS = {"agree": "chart.agree", "disagree": "chart.disagree", "pass": "chart.pass"}
MAX_BARS = 12
"""Sections shown (a round over a whole plan rarely has more); the most voted otherwise."""


def _bars(digest: dict) -> list[dict]:
    sections = [s for s in digest["statements"] if s["kind"] == "section"]
    if not sections:  # a replayed Polis round has no sections: its most-voted statements
        sections = sorted((s for s in digest["statements"] if s["in_analysis"]),
                          key=lambda s: (-s["votes"], s["id"]))
    return sections[:MAX_BARS]


def render_chart(digest: dict, activity: list[tuple[datetime, str]],
                 lang: str | None = None, tz: tzinfo = UTC) -> bytes:
    """PNG bytes of two panels: cumulative stances over time by stance (``activity`` is the
    store's ``stance_activity``: (UTC time, stance) oldest first), and stacked agree /
    disagree / pass bars per section (or most-voted statements for a round without sections).
    Labels are in ``lang`` (default the round's language); times are shown in ``tz``."""
    lang = lang or digest["round"]["language"]
    _ = helpers(digest, lang)["_"]
    fig = Figure(figsize=(9, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    # Two sub-figures, so the section labels' width does not narrow the time panel.
    upper, lower = fig.subfigures(2, 1, height_ratios=(1, 1.3))
    top, bottom = upper.subplots(), lower.subplots()

    top.set_title(_("chart.participation"))
    if activity:
        times = [t for t, _s in activity]
        series = []
        for stance in STANCES:
            running, values = 0, []
            for _t, s in activity:
                running += s == stance
                values.append(running)
            series.append(values)
        end = datetime.fromisoformat(digest["period"]["end"])
        if end > times[-1]:  # hold the totals to the period's end, so the last step shows
            times.append(end)
            for values in series:
                values.append(values[-1])
        top.stackplot(times, *series, labels=[_(LABELS[s]) for s in STANCES],
                      colors=[COLOURS[s] for s in STANCES], step="post", alpha=0.85)
        top.legend(loc="upper left")
        locator = AutoDateLocator(tz=tz)
        top.xaxis.set_major_locator(locator)
        top.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=tz))
    else:
        top.text(0.5, 0.5, _("digest.none_yet"), ha="center", va="center",
                 transform=top.transAxes)
    top.set_ylabel(_("chart.stances"))

    bottom.set_title(_("chart.sections"))
    bars = _bars(digest)
    labels = [quote(s["text"] or s["section"] or s["id"], 48) for s in bars]
    left = [0] * len(bars)
    for stance in STANCES:
        values = [s[stance] for s in bars]
        bottom.barh(range(len(bars)), values, left=left, color=COLOURS[stance],
                    label=_(LABELS[stance]))
        left = [a + b for a, b in zip(left, values)]
    bottom.set_yticks(range(len(bars)), labels)
    bottom.invert_yaxis()
    bottom.set_xlabel(_("chart.stances"))
    if bars:
        bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, frameon=False)

    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
