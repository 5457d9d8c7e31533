"""A round on the sample plan with stances and replies on two platforms, for digest tests."""

from __future__ import annotations

from datetime import timedelta

from bot.events import Actor, Emoji, ReactionAdded, ReplyPosted
from bot.platform import ChannelRef
from tests.helpers import START, RecordingPlatform, invitation

DISCORD = ChannelRef("discord", "g1", "c1")
SLACK = ChannelRef("slack", "T1", "C1")
STANCE_EMOJI = ("👍", "👎", "🤷")


async def busy_round(core, *, people: int = 12, reply_text: str = "Good idea, but {i}"):
    """Open the sample round on a Discord and a Slack recording platform, then have
    ``people`` participants react to every section and post one reply each.

    Returns (round id, {"discord": platform, "slack": platform}).
    """
    platforms = {"discord": RecordingPlatform("discord"), "slack": RecordingPlatform("slack")}
    round_id, _, _ = await core.rounds.open(plan="sample", platform=platforms["discord"],
                                         channel=DISCORD)
    await core.rounds.open(plan="sample", platform=platforms["slack"], channel=SLACK,
                           join=invitation(core, round_id))
    for name, platform in platforms.items():
        channel = DISCORD if name == "discord" else SLACK
        for n, (_ch, _section) in enumerate(platform.sections):
            mid = str(1000 + n)
            for i in range(people // 2):
                user = f"{name}-u{i}"
                emoji = STANCE_EMOJI[(i + n) % 3]
                at = START + timedelta(hours=i + n)
                await core.handle(ReactionAdded(
                    platform=name, workspace_id=channel.workspace_id,
                    channel_id=channel.channel_id, occurred_at=at, event_key=f"{name}-{mid}-{i}",
                    actor=Actor(user), message_id=mid, emoji=Emoji(emoji)))
        for i in range(people // 2):
            await core.handle(ReplyPosted(
                platform=name, workspace_id=channel.workspace_id, channel_id="1000",
                occurred_at=START + timedelta(hours=i), event_key=f"{name}-reply-{i}",
                actor=Actor(f"{name}-u{i}"), message_id=f"r{name}{i}", thread_id="1000",
                text=reply_text.format(i=i)))
    return round_id, platforms
