"""Hints name the ``planbot`` command as the user ran it, not the README's ``.venv`` path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.service.invocation import planbot_command


def _script(folder: Path) -> Path:
    folder.mkdir(parents=True)
    script = folder / "planbot"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    return script


def test_planbot_on_path_is_named_plainly(tmp_path):
    script = _script(tmp_path / "env" / "bin")
    assert planbot_command(str(script), search_path=str(script.parent)) == "planbot"


def test_a_script_off_path_is_named_by_its_path(tmp_path):
    script = _script(tmp_path / "env" / "bin")
    other = _script(tmp_path / "other" / "bin")
    assert planbot_command("env/bin/planbot", search_path="") == "env/bin/planbot"
    assert planbot_command(str(script), search_path=str(other.parent)) == str(script)


def test_python_m_bot_is_named_so():
    assert planbot_command("/x/bot/__main__.py", search_path="") == "python -m bot"
    assert planbot_command("/x/bin/pytest", search_path="") == "planbot"


def test_run_without_platform_suggests_the_running_script(tmp_path):
    """The real script of this venv, run by a path, off PATH: the hint repeats that path."""
    script = Path(sys.executable).parent / "planbot"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DISCORD_", "SLACK_", "DATABASE_URL"))}
    env.update(PATH="/usr/bin:/bin", PLANBOT_LANGUAGE="en", PLANBOT_HOME=str(tmp_path))
    done = subprocess.run([str(script), "run"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert f"try: {script} demo" in done.stderr
