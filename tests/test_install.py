"""planbot installed exactly as the Dockerfile installs it, in a fresh virtual environment
without the test extras: ``planbot --version`` and ``planbot doctor`` against the local
Discord and Slack. The install command and the files copied are read from the Dockerfile's
build stage, so the two cannot drift apart; the pip cache is used (the image build passes
``--no-cache-dir`` to keep the image small). The image itself is built only where a
container engine answers."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.slack import LocalSlack

ROOT = Path(__file__).resolve().parents[1]
INSTALL_WAIT = 600.0


def build_stage() -> tuple[list[tuple[str, str]], str]:
    """The build stage's copies as ``(source, destination)`` pairs (Dockerfile ``COPY``
    rules: a destination ending in ``/`` is a folder) and its ``pip install`` command."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stage = text.split("FROM ")[1]
    copies = []
    for line in stage.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, target = line.split()[1:]
            copies += [(source, f"{target}{Path(source).name}" if target.endswith("/")
                        else target) for source in sources]
    (install,) = re.findall(r"(/opt/planbot/bin/pip install [^\n&]+)", stage)
    return copies, install.strip()


async def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
               timeout: float = 60.0) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.e2e
async def test_installed_as_the_dockerfile_does(tmp_path):
    copies, install = build_stage()
    assert "-c requirements/constraints.txt" in install and "[test]" not in install
    src = tmp_path / "src"
    for source, target in copies:
        origin, dest = ROOT / source, src / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, dest)
    venv = tmp_path / "venv"
    code, out = await _run(sys.executable, "-m", "venv", str(venv))
    assert code == 0, out
    command = install.replace("/opt/planbot", str(venv)).replace("--no-cache-dir", "").split()
    code, out = await _run(*command, "--quiet", cwd=src, timeout=INSTALL_WAIT)
    assert code == 0, out[-3000:]

    code, out = await _run(str(venv / "bin" / "python"), "-c", "import pytest")
    assert code != 0, "the test extras were installed"
    code, out = await _run(str(venv / "bin" / "planbot"), "--version")
    assert (code, out.strip()) == (0, "planbot 0.1.0")

    async with DiscordSandbox() as discord, LocalSlack() as slack:
        slack.seed_cast()
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PLANBOT_LANGUAGE": "en",
               "PLANBOT_HOME": str(tmp_path / "home"),
               "DISCORD_TOKEN": discord.token, "DISCORD_API_BASE": discord.api_base,
               "DISCORD_GATEWAY_URL": discord.gateway_url,
               "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token,
               "SLACK_API_BASE": slack.base_url}
        code, out = await _run(str(venv / "bin" / "planbot"), "doctor",
                               "--channel", f"discord:{discord.channel.id}",
                               "--channel", f"slack:{slack.channel_id}", env=env, cwd=tmp_path)
        assert code == 0, out
        assert "#plan-de-quartier: the bot has every permission it needs" in out
        assert "#plan-de-quartier: the bot is a member" in out
        slack.scopes.discard("reactions:write")
        code, out = await _run(str(venv / "bin" / "planbot"), "doctor", env=env, cwd=tmp_path)
        assert code == 1 and "scopes missing: reactions:write" in out


def _engine() -> str | None:
    for tool in ("docker", "podman"):
        if shutil.which(tool) and subprocess.run([tool, "info"], capture_output=True,
                                                 timeout=30).returncode == 0:
            return tool
    return None


@pytest.mark.slow
@pytest.mark.e2e
def test_the_image_builds_where_a_container_engine_runs():
    tool = _engine()
    if tool is None:
        pytest.skip("no container engine answers here (docker/podman info fails)")
    done = subprocess.run([tool, "build", "-t", "planbot:test", str(ROOT)], capture_output=True,
                          text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    version = subprocess.run([tool, "run", "--rm", "planbot:test", "--version"],
                             capture_output=True, text=True, timeout=120)
    assert version.stdout.strip() == "planbot 0.1.0"
    user = subprocess.run([tool, "run", "--rm", "--entrypoint", "id", "planbot:test", "-u"],
                          capture_output=True, text=True, timeout=120)
    assert user.stdout.strip() != "0", "the image runs as root"
