"""planbot on Discord: the discord.py bot, its slash commands and the ChatPlatform adapter, and
its lifecycle (:class:`DiscordAdapter`)."""

from integrations.discord.adapter import DiscordAdapter
from integrations.discord.client import PlanbotDiscord, planbot_intents, run_discord
from integrations.discord.endpoints import use_endpoints
from integrations.discord.platform import DiscordPlatform

__all__ = ["DiscordAdapter", "DiscordPlatform", "PlanbotDiscord", "planbot_intents",
           "run_discord", "use_endpoints"]
