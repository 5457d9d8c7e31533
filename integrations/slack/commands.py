"""Parse ``/planbot <action> [options]`` and say how to use it, in French or English.

Slack hands a slash command's arguments over as one string (``text``,
https://api.slack.com/interactivity/slash-commands#app_command_handling). Options are named
(``plan=sample sections=a,b closes=7d``) or positional in the order of :data:`POSITIONAL`
(``/planbot open sample a,b 7d``). With "escape channels" on in the manifest, a channel typed as
``#plan`` arrives as ``<#C123|plan>`` and is reduced to its id. The actions and their options
are the core's (:data:`bot.commands.ACTIONS`); only the spelling is Slack's. Answers come
from the core's catalogues (``slack.*`` ids); the French action aliases are input words,
kept here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.i18n import translate
from integrations.slack.mrkdwn import escape

POSITIONAL: dict[str, tuple[str, ...]] = {
    "open": ("plan", "sections", "closes", "channel", "language"),
    "invite": ("round",),
    "close": ("round",),
    "status": ("round",),
    "digest": ("round",),
    "plans": (),
    "vote": (),
    "my-stances": (),
    "propose": (),
    "my-data": (),
    "forget-me": ("confirm",),
    "moderate": ("mode", "round"),
}
NAMED_ONLY: dict[str, tuple[str, ...]] = {"open": ("join", "stances", "moderation")}
"""Options given by name only (``join=<code>``, ``stances=private``): an invitation code is
never guessed from its place among the words, and a positional one more would turn a stray
word into a setting."""
ALIASES = {
    "ouvrir": "open", "fermer": "close", "statut": "status", "état": "status",
    "bilan": "digest", "résumé": "digest", "list": "plans", "liste": "plans",
    "aide": "help", "?": "help", "inviter": "invite", "invitation": "invite", "voter": "vote",
    "mes-positions": "my-stances",
    "proposer": "propose",
    "mes-données": "my-data", "mes-donnees": "my-data", "oublie-moi": "forget-me",
    "modérer": "moderate", "moderer": "moderate",
}
# Words that only make the command read naturally: "digest now", "list plans".
FILLERS = {"digest": {"now", "maintenant"}, "plans": {"plans"}}
_CHANNEL = re.compile(r"^<#(C[A-Z0-9]+)(?:\|[^>]*)?>$")


class UsageError(Exception):
    """The command text cannot be understood; ``msgid`` (a ``slack.*`` catalogue id) and
    ``params`` say why, read in a language with :meth:`problem`."""

    def __init__(self, msgid: str, **params: str) -> None:
        super().__init__(translate(msgid, "en", **params))
        self.msgid = msgid
        self.params = params

    def problem(self, lang: str) -> str:
        """What was wrong, in ``lang`` (``fr``/``en``)."""
        return translate(self.msgid, lang, **self.params)


@dataclass(frozen=True)
class ParsedCommand:
    """``action`` is a core action or ``help``; ``args`` the named options, as strings."""

    action: str
    args: dict[str, str] = field(default_factory=dict)


def parse_command(text: str) -> ParsedCommand:
    """Parse the text after ``/planbot``; raises :class:`UsageError` on anything unknown.

    An empty text means ``help``.
    """
    words = text.split()
    if not words:
        return ParsedCommand("help")
    action = ALIASES.get(words[0].lower(), words[0].lower())
    if action == "help":
        return ParsedCommand("help")
    if action not in POSITIONAL:
        raise UsageError("slack.unknown_action", word=words[0])
    args: dict[str, str] = {}
    positional = list(POSITIONAL[action])
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            if word.lower() in FILLERS.get(action, ()):
                continue
            key, value = _next_positional(positional, args, word)
        key = key.lower()
        if key not in POSITIONAL[action] + NAMED_ONLY.get(action, ()):
            raise UsageError("slack.unknown_option", key=key)
        if key in args or not value:
            raise UsageError("slack.bad_option", key=key)
        args[key] = _channel_id(value) if key == "channel" else value
    if action == "open" and "plan" not in args and "join" not in args:
        raise UsageError("slack.plan_missing")
    return ParsedCommand(action, args)


def _next_positional(positional: list[str], args: dict[str, str], word: str) -> tuple[str, str]:
    while positional and positional[0] in args:
        positional.pop(0)
    if not positional:
        raise UsageError("slack.extra_argument", word=word)
    return positional.pop(0), word


def _channel_id(value: str) -> str:
    match = _CHANNEL.match(value)
    return match.group(1) if match else value.lstrip("#")


def usage_text(lang: str, error: UsageError | None = None) -> str:
    """The usage answer in ``lang`` (``fr``/``en``), led by what was wrong, escaped for Slack
    since the problem quotes what the user typed."""
    usage = translate("slack.usage", lang)
    if error is None:
        return usage
    head = translate("slack.not_understood", lang, problem=escape(error.problem(lang)))
    return f"{head}\n{usage}"
