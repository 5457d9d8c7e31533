"""The digest page in a real headless browser (Debian's chromium), in French and in English:
a screenshot of the expected size with the page's text and its charts drawn, and a print to
PDF (the final digest is the round's printable report).

Skipped only when chromium is absent outside CI; in CI (``CI`` set) a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from bot.digests.build import Period, build_digest
from bot.digests.chart import COLOURS, render_chart
from bot.digests.opinion_map import GROUP_STYLES, render_map
from bot.digests.render_html import render_html
from bot.findings import analyse_round
from tests.bot.digest_fixtures import busy_round
from tests.helpers import START, make_core

WIDTH, HEIGHT = 1000, 2400
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def _browser() -> str:
    if BROWSER is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install -y chromium; see .ci/run)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return BROWSER


def _run(args: list[str], tmp_path: Path) -> None:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    done = subprocess.run([_browser(), *flags, *args], capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The final digest of a busy round as HTML in fr and en, with chart and opinion map."""
    import asyncio

    folder = tmp_path_factory.mktemp("browser")

    async def build():
        pb = make_core(folder)
        round_id, _ = await busy_round(pb, people=16, reply_text="Idée $\\undefined$ 🎉 n° {i}")
        period = Period(START, START + timedelta(days=7))
        analysis = analyse_round(pb.store, round_id, period.end)
        digests = {lang: build_digest(pb.store, round_id, period, analysis=analysis,
                                      language=lang, final=True) for lang in ("fr", "en")}
        activity = pb.store.stance_activity(round_id)
        pb.close()
        return digests, activity

    digests, activity = asyncio.run(build())
    found = {}
    for lang, digest in digests.items():
        html = render_html(digest, render_chart(digest, activity, lang), lang,
                           render_map(digest, lang))
        path = folder / f"digest.{lang}.html"
        path.write_text(html, encoding="utf-8")
        found[lang] = path
    return found


def _has_colour(pixels: np.ndarray, hex_colour: str, tolerance: float = 0.04) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.all(np.abs(pixels[:, :, :3] - rgb) < tolerance, axis=2).sum())


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_digest_page_renders_in_a_real_browser(pages, lang, tmp_path):
    shot = tmp_path / f"shot.{lang}.png"
    _run([f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}",
          pages[lang].as_uri()], tmp_path)
    pixels = imread(shot)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    ink = np.any(pixels[:, :, :3] < 0.6, axis=2)  # text, bars, points: not paper
    assert ink.mean() > 0.02, "the page looks blank"
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows[-1] - rows[0] > HEIGHT / 2  # content runs down the page, not one line
    # The embedded PNGs were decoded and drawn: the chart's agree blue and the opinion map's
    # second group colour are on screen (the HTML text uses neither).
    assert _has_colour(pixels, COLOURS["agree"]) > 2000
    assert _has_colour(pixels, GROUP_STYLES[1][0]) > 50
    html = pages[lang].read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in html
    assert ("Plan numérique de la Vallée-des-Érables" in html) == (lang == "fr")
    assert ("Maple Valley Digital Plan" in html) == (lang == "en")


def test_final_digest_prints_as_a_report(pages, tmp_path):
    pdf = tmp_path / "report.pdf"
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", pages["en"].as_uri()], tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    printed = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 2 <= printed <= 30
