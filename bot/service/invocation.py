"""The ``planbot`` command as the user runs it, for messages that suggest a next command.

A README install puts the script in ``.venv/bin/planbot``; a ``pip install`` elsewhere puts
it in that environment's ``bin`` (often on ``PATH``). A hint naming ``.venv/bin/planbot``
fails after the second, and plain ``planbot`` fails after the first when the venv is not
activated: the hint names the running script instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def planbot_command(argv0: str | None = None, search_path: str | None = None) -> str:
    """``planbot`` when the ``planbot`` found on ``search_path`` (default ``$PATH``) is the
    running script ``argv0`` (default ``sys.argv[0]``); else ``argv0`` as it was typed
    (``.venv/bin/planbot``); ``python -m bot`` when started so; ``planbot`` when started
    by neither (a test runner)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if Path(argv0).parts[-2:] == ("bot", "__main__.py"):
        return "python -m bot"
    if Path(argv0).name != "planbot":
        return "planbot"
    on_path = shutil.which("planbot", path=os.environ.get("PATH") if search_path is None
                           else search_path)
    if on_path is not None and Path(on_path).resolve() == Path(argv0).resolve():
        return "planbot"
    return argv0
