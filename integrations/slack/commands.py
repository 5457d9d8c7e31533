"""Parse ``/planbot <action> [options]`` and say how to use it, in French or English.

Slack hands a slash command's arguments over as one string (``text``,
https://api.slack.com/interactivity/slash-commands#app_command_handling). Options are named
(``plan=sample sections=a,b closes=7d``) or positional in the order of :data:`POSITIONAL`
(``/planbot open sample a,b 7d``). With "escape channels" on in the manifest, a channel typed as
``#plan`` arrives as ``<#C123|plan>`` and is reduced to its id. The actions and their options
are the core's (notes/core_api.md); only the spelling is Slack's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integrations.slack.mrkdwn import escape

POSITIONAL: dict[str, tuple[str, ...]] = {
    "open": ("plan", "sections", "closes", "channel", "language"),
    "close": ("round",),
    "status": ("round",),
    "digest": ("round",),
    "plans": (),
}
ALIASES = {
    "ouvrir": "open", "fermer": "close", "statut": "status", "état": "status",
    "bilan": "digest", "résumé": "digest", "list": "plans", "liste": "plans",
    "aide": "help", "?": "help",
}
# Words that only make the command read naturally: "digest now", "list plans".
FILLERS = {"digest": {"now", "maintenant"}, "plans": {"plans"}}
_CHANNEL = re.compile(r"^<#(C[A-Z0-9]+)(?:\|[^>]*)?>$")


class UsageError(Exception):
    """The command text cannot be understood; ``problem`` says why, per language."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.problem = {"fr": fr, "en": en}


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
        raise UsageError(f"action inconnue « {words[0]} »", f"unknown action “{words[0]}”")
    args: dict[str, str] = {}
    positional = list(POSITIONAL[action])
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            if word.lower() in FILLERS.get(action, ()):
                continue
            key, value = _next_positional(positional, args, word)
        key = key.lower()
        if key not in POSITIONAL[action]:
            raise UsageError(f"option inconnue « {key} »", f"unknown option “{key}”")
        if key in args or not value:
            raise UsageError(f"option « {key} » vide ou répétée", f"option “{key}” empty or repeated")
        args[key] = _channel_id(value) if key == "channel" else value
    if action == "open" and "plan" not in args:
        raise UsageError("il manque le plan (plan=…)", "the plan is missing (plan=…)")
    return ParsedCommand(action, args)


def _next_positional(positional: list[str], args: dict[str, str], word: str) -> tuple[str, str]:
    while positional and positional[0] in args:
        positional.pop(0)
    if not positional:
        raise UsageError(f"argument en trop « {word} »", f"unexpected argument “{word}”")
    return positional.pop(0), word


def _channel_id(value: str) -> str:
    match = _CHANNEL.match(value)
    return match.group(1) if match else value.lstrip("#")


USAGE = {
    "fr": (
        "Utilisation : `/planbot <action> [options]`\n"
        "• `open plan=<plan> [sections=a,b] [closes=7d|2026-12-24] [channel=#canal] "
        "[language=fr|en]` : ouvrir une ronde\n"
        "• `close [round=<id>]` : fermer la ronde\n"
        "• `status [round=<id>]` : où en est la ronde\n"
        "• `digest [round=<id>]` : publier le bilan maintenant\n"
        "• `plans` : lister les plans\n"
        "• `help` : cette aide"
    ),
    "en": (
        "Usage: `/planbot <action> [options]`\n"
        "• `open plan=<plan> [sections=a,b] [closes=7d|2026-12-24] [channel=#channel] "
        "[language=fr|en]`: open a round\n"
        "• `close [round=<id>]`: close the round\n"
        "• `status [round=<id>]`: where the round stands\n"
        "• `digest [round=<id>]`: post the digest now\n"
        "• `plans`: list the plans\n"
        "• `help`: this help"
    ),
}
_NOT_UNDERSTOOD = {"fr": "Commande non comprise : {problem}.", "en": "Command not understood: {problem}."}


def usage_text(lang: str, error: UsageError | None = None) -> str:
    """The usage answer in ``lang`` (``fr``/``en``), led by what was wrong, escaped for Slack
    since the problem quotes what the user typed."""
    if error is None:
        return USAGE[lang]
    head = _NOT_UNDERSTOOD[lang].format(problem=escape(error.problem[lang]))
    return f"{head}\n{USAGE[lang]}"
