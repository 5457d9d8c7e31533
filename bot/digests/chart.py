"""The digest chart (PNG): participation over time and each section's stance split.

Drawn with matplotlib's object API on a ``Figure`` (no pyplot, no display, no rcParams; the
Agg canvas renders in memory), so it is safe in a server process and in threads. Dates are
written by Babel (CLDR) in the digest's language and the configured time zone; colours are
the Okabe-Ito colour-blind-safe set (Okabe & Ito, "Color Universal Design", 2008).
"""

from __future__ import annotations

import io
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise

from babel.dates import format_datetime, format_interval, format_skeleton
from babel.numbers import format_decimal, format_percent
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator

from bot.digests.chart_text import drawable, escaped, fit
from bot.digests.model import Digest, Statement, Trend
from bot.digests.render_md import helpers, quote

COLOURS = {"agree": "#0072B2", "disagree": "#E69F00", "pass": "#CCCCCC"}
"""Okabe-Ito blue / orange and a light grey: distinct under every common colour-vision
deficiency and in greyscale (dark / mid / light)."""
INK = {"agree": "white", "disagree": "black", "pass": "black"}
"""Text colour for counts printed inside each stance's bar segment (contrast >= 4.5:1)."""
STANCES = ("agree", "disagree", "pass")
FIELD = {"agree": "agree", "disagree": "disagree", "pass": "passed"}
"""``Split`` attribute of each stance."""
LABELS = {"agree": "chart.agree", "disagree": "chart.disagree", "pass": "chart.pass"}
MAX_BARS = 12
"""Sections shown (a round over a whole plan rarely has more); the most voted otherwise."""
MAX_BINS = 48
"""Most time bins in the participation panel: about one per 4 hours over a weekly digest."""
BIN_STEPS = tuple(timedelta(minutes=m) for m in (5, 10, 15, 30)) + tuple(
    timedelta(hours=h) for h in (1, 2, 3, 6, 12)) + tuple(timedelta(days=d) for d in (1, 2, 7))
WIDTH = 8.0
"""Figure width in inches; at ``DPI`` 960 px, so text stays legible when a chat client
shows the image at half size."""
DPI = 120
TITLE_ROOM = 0.85
"""Share of the figure width a section title may take (the panel spans about 0.9 of it)."""
BURST = 0.2
"""Share of all stances in one bin above which that bin's rise is labelled."""
FONT = {"title": 14, "label": 12, "tick": 11, "section": 12, "count": 10}
"""Font sizes in points (passed to each call: no global rcParams)."""


class BabelDateFormatter(Formatter):
    """Tick labels for a matplotlib date axis written by Babel in ``locale`` (``fr_CA``...).

    A tick at local midnight in ``tz`` shows its day (CLDR skeleton ``MMMd``: "2 déc.",
    "Dec 2"), the first of a month over a long axis its month (``yMMM``), any other tick its
    time (``Hm``: "14 h 30", "14:30")."""

    def __init__(self, locale: str, tz: tzinfo):
        self.locale, self.tz = locale, tz

    def __call__(self, x: float, pos: int | None = None) -> str:
        when = num2date(x, tz=self.tz)
        if when.time() != datetime.min.time():
            skeleton = "Hm"
        else:
            low, high = self.axis.get_view_interval() if self.axis else (x, x)
            skeleton = "yMMM" if high - low > 120 and when.day == 1 else "MMMd"
        return format_skeleton(skeleton, when, tzinfo=self.tz, locale=self.locale)


def _count_axis(axis: Axis, locale: str) -> None:
    """Whole-number ticks written in the language's notation ("7 000", "7,000")."""
    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: format_decimal(v, locale=locale)))


def time_bins(start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """Edges of the participation panel's bins, from ``start`` to ``end`` (aware datetimes).

    The step is the smallest of ``BIN_STEPS`` giving at most ``MAX_BINS`` bins (a whole
    number of days beyond); edges start at local midnight in ``tz`` and whole-day steps
    follow the wall clock across DST changes. The first edge is the last one before
    ``start`` (so the curve rises from zero); the last edge is ``end`` itself, so the final
    value is the total at the period's end.
    """
    span = max(end - start, timedelta(minutes=1))
    step = next((s for s in BIN_STEPS if span / s <= MAX_BINS),
                timedelta(days=-(-span.days // MAX_BINS) or 1))
    midnight = start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    edges, k = [], 0
    while True:
        if step % timedelta(days=1):  # sub-day bins: elapsed time (UTC arithmetic)
            edge = midnight.astimezone(UTC) + k * step
        else:  # whole days: wall-clock midnights, 23 or 25 hours apart across DST changes
            edge = (midnight.replace(tzinfo=None) + k * step).replace(tzinfo=tz)
        if edge >= end:
            break
        if edge + step >= start:  # from the last edge before the first stance: 0 there
            edges.append(edge)
        k += 1
    return (edges or [end - step]) + [end]


@dataclass(frozen=True)
class Activity:
    """The participation panel's data: stances counted at the bin edges.

    ``first``/``last``: times of the first and last current stance (None without any);
    ``edges``: :func:`time_bins` edges; ``counts``: per stance, the stances added at or before
    each edge. The store counts them in SQL (``stance_counts_at``, see :func:`read_activity`
    in bot/publish.py); :meth:`from_rows` counts (time, stance) rows in Python.
    """

    first: datetime | None
    last: datetime | None
    edges: list[datetime]
    counts: dict[str, list[int]]

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[datetime, str]], end: datetime,
                  tz: tzinfo) -> Activity:
        """The activity of (time, stance) rows up to ``end``."""
        if not rows:
            return cls(None, None, [], {})
        times = [t if t.tzinfo else t.replace(tzinfo=UTC) for t, _s in rows]
        first, last = min(times), max(times)
        edges = time_bins(first, max(last, end), tz)
        return cls(first, last, edges, cumulative(rows, edges))


def cumulative(activity: Sequence[tuple[datetime, str]],
               edges: list[datetime]) -> dict[str, list[int]]:
    """For each stance, how many of ``activity`` (time, stance) came at or before each edge."""
    times: dict[str, list[datetime]] = {s: [] for s in STANCES}
    for when, stance in activity:
        times[stance].append(when if when.tzinfo else when.replace(tzinfo=UTC))
    for values in times.values():
        values.sort()
    return {s: [bisect_right(times[s], e) for e in edges] for s in STANCES}


def _bars(digest: Digest) -> list[tuple[str, Statement]]:
    """(title, statement) of each bar: the sections in plan order, or for a replayed Polis
    round (no sections) its most-voted statements."""
    bars = [(sec.title, sec.statement) for sec in digest.sections if sec.statement]
    if not bars:
        ranked = sorted((s for s in digest.statements if s.in_analysis),
                        key=lambda s: (-s.split.votes, s.id))
        bars = [(s.text or s.id, s) for s in ranked]
    return bars[:MAX_BARS]


def _participation(ax: Axes, digest: Digest, activity: Activity,
                   _: Callable[..., str], locale: str, tz: tzinfo) -> None:
    """Stacked cumulative stances sampled at bin edges and joined by lines (exact at each
    edge, a straight ramp within a bin); totals in the legend and at the end of the curve."""
    ax.set_title(_("chart.participation"), fontsize=FONT["title"], loc="left")
    ax.set_ylabel(_("chart.stances"), fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    if activity.first is None or activity.last is None:
        ax.text(0.5, 0.5, _("digest.none_yet"), ha="center", va="center",
                fontsize=FONT["label"], transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    first, edges, counts = activity.first, activity.edges, activity.counts
    end = edges[-1]

    def number(n: int) -> str:  # "6 812" in French, "6,812" in English
        return format_decimal(n, locale=locale)

    # matplotlib takes datetimes through its units registry; its stubs declare floats only.
    ax.stackplot(edges, *(counts[s] for s in STANCES),  # type: ignore[arg-type]
                 colors=[COLOURS[s] for s in STANCES],
                 labels=[f"{_(LABELS[s])} ({number(counts[s][-1])})" for s in STANCES],
                 edgecolor="white", linewidth=0.6)
    total = sum(counts[s][-1] for s in STANCES)
    totals = [sum(counts[s][i] for s in STANCES) for i in range(len(edges))]
    _label_burst(ax, edges, totals, number)
    ax.annotate(number(total), (edges[-1], total), xytext=(-4, 4), textcoords="offset points",
                ha="right", va="bottom", fontsize=FONT["label"], fontweight="bold")
    ax.set_xlim(edges[0], edges[-1])  # type: ignore[arg-type]  # datetimes, as above
    ax.set_ylim(0, total * 1.12 or 1)
    ax.legend(loc="upper left", fontsize=FONT["tick"], frameon=False)
    locator = AutoDateLocator(tz=tz, minticks=3, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(BabelDateFormatter(locale, tz))
    offsets = dict.fromkeys(format_datetime(t, "ZZZZ", tzinfo=tz, locale=locale)
                            for t in (first, end))
    ax.set_xlabel(f"{format_interval(first, end, 'yMMMd', tzinfo=tz, locale=locale)}"
                  f" ({' → '.join(offsets)})", fontsize=FONT["tick"])
    _count_axis(ax.yaxis, locale)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def _label_burst(ax: Axes, edges: list[datetime], totals: list[int],
                 number: Callable[[int], str]) -> None:
    """Write "+N" beside the steepest bin when it holds at least ``BURST`` of all stances and
    four times a median bin's (e.g. a section's stances all recorded at digest time), so the
    ramp is read as what it is: that many stances within that one bin."""
    rises = [b - a for a, b in pairwise(totals)]
    usual = sorted(r for r in rises if r)
    if not usual:
        return
    i = max(range(len(rises)), key=rises.__getitem__)
    if rises[i] >= BURST * totals[-1] and rises[i] >= 4 * usual[len(usual) // 2]:
        ax.annotate(f"+{number(rises[i])}", (edges[i + 1], (totals[i] + totals[i + 1]) / 2),
                    xytext=(-6, 0), textcoords="offset points", ha="right", va="center",
                    fontsize=FONT["label"])


def _sections(ax: Axes, bars: list[tuple[str, Statement]], _: Callable[..., str],
              locale: str) -> None:
    """Horizontal stacked bars, each titled above its bar (so titles use the full width and
    the panel lines up with the one above), counts inside segments wide enough to hold them."""
    ax.set_title(_("chart.sections"), fontsize=FONT["title"], loc="left")
    ax.tick_params(labelsize=FONT["tick"])
    if not bars:
        ax.text(0.5, 0.5, _("digest.none_yet"), ha="center", va="center",
                fontsize=FONT["label"], transform=ax.transAxes)
        ax.set_axis_off()
        return
    rows = range(len(bars))
    widest = max(s.split.votes for _t, s in bars) or 1
    left = [0] * len(bars)
    for stance in STANCES:
        values = [getattr(s.split, FIELD[stance]) for _t, s in bars]
        ax.barh(rows, values, left=left, height=0.5, color=COLOURS[stance],
                edgecolor="white", linewidth=0.6, label=_(LABELS[stance]))
        for row, start, value in zip(rows, left, values, strict=False):
            if value / widest >= 0.06:
                ax.text(start + value / 2, row, format_decimal(value, locale=locale),
                        ha="center", va="center", color=INK[stance], fontsize=FONT["count"])
        left = [a + b for a, b in zip(left, values, strict=False)]
    canvas = ax.figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # chart_figure draws on Agg
    renderer, font = canvas.get_renderer(), FontProperties(size=FONT["section"])
    room = TITLE_ROOM * ax.figure.bbox.width
    for row, (text, _s) in zip(rows, bars, strict=False):
        title = fit(quote(text, 200), room, renderer, font)
        ax.text(0, row - 0.32, title, ha="left", va="bottom", fontproperties=font)
    ax.set_yticks([])
    ax.set_ylim(len(bars) - 0.5, -0.95)  # inverted: first section on top, room for its title
    ax.set_xlim(0, widest * 1.02)
    ax.set_xlabel(_("chart.stances"), fontsize=FONT["label"])
    _count_axis(ax.xaxis, locale)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    # Above the panel on the right, level with its title: the panel below keeps the bottom.
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1.0), ncols=3, frameon=False,
              fontsize=FONT["tick"], borderaxespad=0.2)


TREND_STYLES = (("#0072B2", "-"), ("#D55E00", "--"), ("#009E73", ":"), ("#CC79A7", "-."),
                ("#000000", (0, (5, 1, 1, 1))))
"""Okabe-Ito colours with distinct dash patterns: lines stay apart in greyscale too."""
TREND_LABEL = 48
"""Characters of a statement's text in the trend panel's legend."""


def _trends(ax: Axes, trends: tuple[Trend, ...], _: Callable[..., str], locale: str,
            tz: tzinfo) -> None:
    """Each top statement's agree share (%) over time, one line each, legend below."""
    ax.set_title(_("chart.trends"), fontsize=FONT["title"], loc="left")
    ax.tick_params(labelsize=FONT["tick"])
    for trend, (colour, dash) in zip(trends, TREND_STYLES, strict=False):
        times = [t for t, _share in trend.points]
        shares = [100 * share for _t, share in trend.points]
        # Datetimes through matplotlib's units registry, as in _participation.
        ax.plot(times, shares, color=colour, linestyle=dash, linewidth=2,  # type: ignore[arg-type]
                label=escaped(quote(drawable(trend.statement.text), TREND_LABEL)))
    first = min(trend.points[0][0] for trend in trends)
    last = max(trend.points[-1][0] for trend in trends)
    # Never an empty date range; datetimes, as above.
    ax.set_xlim(min(first, last - timedelta(hours=1)), last)  # type: ignore[arg-type]
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _pos: format_percent(v / 100, locale=locale)))
    ax.set_ylabel(_("chart.share"), fontsize=FONT["label"])
    ax.xaxis.set_major_locator(AutoDateLocator(tz=tz, minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(BabelDateFormatter(locale, tz))
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=1, frameon=False,
              fontsize=FONT["tick"])


def chart_figure(digest: Digest, activity: Activity | Sequence[tuple[datetime, str]],
                 lang: str | None = None, tz: tzinfo = UTC) -> Figure:
    """The chart as a matplotlib ``Figure`` on an Agg canvas (see :func:`render_chart`);
    ``fig.axes`` is [participation panel, sections panel] and, when the digest has trends,
    the agree-share-over-time panel."""
    if not isinstance(activity, Activity):
        activity = Activity.from_rows(activity, digest.end, tz)
    lang = lang or digest.round.language
    _ = helpers(lang)["_"]
    locale = f"{lang}_CA"
    bars = _bars(digest)
    heights = [3.6, 1.4 + 0.62 * max(len(bars), 2)]
    if digest.trends:
        heights.append(3.0 + 0.25 * len(digest.trends))
    fig = Figure(figsize=(WIDTH, sum(heights)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    # One column: constrained layout gives the panels the same left and right edges; the
    # section titles sit above their bars, so no tick label widens the shared margin.
    axes = fig.subplots(len(heights), 1, height_ratios=heights)
    _participation(axes[0], digest, activity, _, locale, tz)
    _sections(axes[1], bars, _, locale)
    if digest.trends:
        _trends(axes[2], digest.trends, _, locale, tz)
    return fig


def render_chart(digest: Digest, activity: Activity | Sequence[tuple[datetime, str]],
                 lang: str | None = None, tz: tzinfo = UTC) -> bytes:
    """PNG bytes of the panels of :func:`chart_figure`: cumulative stances over time by
    stance (``activity``: an :class:`Activity`, or (UTC time, stance) rows counted here),
    stacked agree / disagree / pass bars per section (or most-voted statements for a round
    without sections), and the top statements' agree share over time.
    Labels are in ``lang`` (default the round's language); times are shown in ``tz``.
    The bytes depend only on the inputs (no software or time stamp in the PNG metadata)."""
    out = io.BytesIO()
    chart_figure(digest, activity, lang, tz).savefig(out, format="png",
                                                     metadata={"Software": None})
    return out.getvalue()
