"""``planbot --help`` and configuration errors answer without loading the heavy libraries
(numpy, SciPy, scikit-learn, matplotlib): each is imported where it is used, so these
answers stay well under a second. Run in a fresh interpreter, as the console script runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "sklearn", "matplotlib")
PROBE = f"""
import json, sys
from bot.service.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
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
