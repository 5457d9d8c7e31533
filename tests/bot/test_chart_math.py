"""Text drawn into a digest's chart never enters matplotlib's math mode: a reply such as
``$\\undefined$`` would make drawing fail, and ``$5 … $10`` would be set as math."""

from __future__ import annotations

from datetime import timedelta

from bot.digests.build import Period, build_digest
from bot.digests.chart import chart_figure, render_chart
from bot.identity import Pseudonymizer
from bot.polis import import_conversation
from tests.bot.test_polis import polis_folder
from tests.helpers import START, make_store

MATH = ["$\\undefined$", "de $5 à $10 par mois", "\\$ puis $x^2$"]


def test_math_like_replies_are_drawn_as_plain_text(tmp_path):
    comments = [(str(i), "1", text) for i, text in enumerate(MATH)]
    votes = [(1_793_712_345_678 + i, str(i % 3), str(i), 1) for i in range(9)]
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20),
                                      polis_folder(tmp_path / "src", comments, votes), START)
    rnd = store.get_round(round_id)
    digest = build_digest(store, round_id, Period(rnd.opened_at,
                                                  rnd.closed_at + timedelta(days=1)))
    assert render_chart(digest, []).startswith(b"\x89PNG")  # drawing does not fail
    fig = chart_figure(digest, [], "fr")
    fig.canvas.draw()
    texts = [t for ax in fig.axes for t in ax.texts]
    shown = [t._preprocess_math(t.get_text()) for t in texts]
    assert not [s for s, math in shown if math]
    drawn = " ".join(s for s, _ in shown)
    assert "$\\undefined$" in drawn and "de $5 à $10" in drawn
