"""The layers point one way, integrations -> bot -> storage, and only the demo uses the local
servers (import-linter contracts in pyproject.toml), checked by the suite itself as well as by
``make test``."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout
    assert "never imports the local servers (the demo excepted) KEPT" in result.stdout
