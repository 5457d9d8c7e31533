"""``planbot --help`` and configuration errors answer without loading the heavy libraries
(numpy, SciPy, scikit-learn, matplotlib): each is imported where it is used, so these
answers stay well under a second. Run in a fresh interpreter, as the console script runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "scipy", "sklearn", "matplotlib")
UNUSED_BY_DIGESTS = ("alembic", "scipy.optimize", "scipy.spatial", "sklearn", "matplotlib",
                     "jinja2")
"""Not needed by ``analyse`` or ``digest --format json`` on a store at the schema's head."""
PROBE = f"""
import json, sys
from bot.service.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules],
                  "unused": [m for m in {UNUSED_BY_DIGESTS!r} if m in sys.modules]}}))
"""


def probe(args: list[str], tmp_path, **env: str) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=tmp_path,
        env={**keep, "PLANBOT_HOME": str(tmp_path / "data"), "PLANBOT_LANGUAGE": "en",
             **env}, timeout=60)
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"err": done.stderr}


@pytest.mark.parametrize("args", [["--help"], ["round", "--help"], ["digest", "--help"]])
def test_help_loads_no_heavy_library(tmp_path, args):
    result = probe(args, tmp_path)
    assert result["code"] == 0
    assert result["loaded"] == []


def test_bad_settings_exit_2_without_heavy_libraries(tmp_path):
    result = probe(["digest"], tmp_path, LOG_FORMAT="xml")
    assert result["code"] == 2 and "LOG_FORMAT" in result["err"]
    assert result["loaded"] == []


def test_unusable_database_url_exits_2_without_heavy_libraries(tmp_path):
    result = probe(["analyse"], tmp_path, DATABASE_URL="nosuchdriver://x")
    assert result["code"] == 2 and "DATABASE_URL" in result["err"]
    assert result["loaded"] == []


def test_analyse_and_json_digest_load_only_what_they_use(tmp_path):
    """On a store at the schema's head, ``analyse`` and ``digest --format json`` neither run
    Alembic nor load the libraries of the cold searches, the chart or the HTML page."""
    folder = Path(__file__).resolve().parents[1] / "bot" / "data" / "polis" / "15-per-hour-seattle"
    assert probe(["import-polis", str(folder)], tmp_path)["code"] == 0
    for args in (["analyse", "--format", "json"], ["analyse", "--format", "json"],
                 ["digest", "--format", "json"]):
        result = probe(args, tmp_path)
        assert result["code"] == 0, result["err"]
        assert result["unused"] == [], args
