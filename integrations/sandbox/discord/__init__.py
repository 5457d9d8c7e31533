"""A local Discord that the real discord.py connects to (issue 3): see :mod:`.sandbox`."""

from integrations.sandbox.discord.sandbox import (
    CommandAnswer,
    DiscordSandbox,
    discord_py_pointed_at,
)

__all__ = ["CommandAnswer", "DiscordSandbox", "discord_py_pointed_at"]
