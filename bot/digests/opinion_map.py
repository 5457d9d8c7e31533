"""The opinion map (PNG): clustered participants placed by the analysis' projection (Polis'
sparsity-aware PCA, ``bot.analysis.pca``), coloured and shaped by opinion group, each group's
letter at its centre. No identifier is drawn: only points, group letters and a legend.

Colours are Okabe-Ito (Okabe & Ito, "Color Universal Design", 2008), distinct under the
common colour-vision deficiencies; each group also has its own marker, so the map reads in
greyscale. Drawn on a ``Figure`` with the Agg canvas (no pyplot), safe in threads.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.digests.chart_text import escaped
from bot.digests.model import Digest
from bot.digests.render_md import helpers

GROUP_STYLES = (("#0072B2", "o"), ("#E69F00", "s"), ("#009E73", "^"), ("#CC79A7", "D"),
                ("#D55E00", "v"), ("#56B4E9", "P"), ("#000000", "X"), ("#F0E442", "*"))
"""(colour, marker) per group id; Polis makes at most 5 groups, the rest are spare."""
SIZE, DPI = (6.4, 5.2), 120
FONT = {"title": 14, "letter": 18, "legend": 11}


def map_figure(digest: Digest, lang: str | None = None) -> Figure | None:
    """The opinion map as a ``Figure``, or None when nobody is in a group. Marker size and
    opacity shrink as participants grow (thousands of points stay readable)."""
    if not digest.opinion_map:
        return None
    _ = helpers(lang or digest.round.language)["_"]
    points = np.array([(p.x, p.y) for p in digest.opinion_map])
    groups = np.array([p.group for p in digest.opinion_map])
    n = len(points)
    size = float(np.clip(1200 / np.sqrt(n), 6, 60))
    alpha = float(np.clip(12 / np.sqrt(n), 0.25, 0.85))
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_title(escaped(_("map.title")), fontsize=FONT["title"], loc="left")
    sizes = {g.id: g.size for g in digest.groups}
    for g in sorted(set(groups.tolist())):
        colour, marker = GROUP_STYLES[g % len(GROUP_STYLES)]
        mine = points[groups == g]
        ax.scatter(mine[:, 0], mine[:, 1], s=size, c=colour, marker=marker, alpha=alpha,
                   linewidths=0, label=escaped(_("map.group", name=chr(ord("A") + g))
                                               + f" ({sizes.get(g, len(mine))})"))
        cx, cy = mine.mean(axis=0)
        ax.annotate(chr(ord("A") + g), (cx, cy), ha="center", va="center",
                    fontsize=FONT["letter"], fontweight="bold", color="black",
                    bbox={"boxstyle": "circle,pad=0.25", "fc": "white", "ec": colour, "lw": 2})
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    legend = fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(len(sizes) or 1, 3),
                       frameon=False, fontsize=FONT["legend"], markerscale=1.5)
    for handle in legend.legend_handles:
        if handle is not None:
            handle.set_alpha(1)
    return fig


def render_map(digest: Digest, lang: str | None = None) -> bytes | None:
    """PNG bytes of :func:`map_figure` (None without groups); the bytes depend only on the
    digest (no software or time stamp in the PNG metadata)."""
    fig = map_figure(digest, lang)
    if fig is None:
        return None
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
