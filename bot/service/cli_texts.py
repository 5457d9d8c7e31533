"""argparse's error messages and ``OSError`` reasons in the user's language (fr/en catalogue).

argparse builds its errors in English through the process-wide gettext domain (``argparse._``),
which a library should not take over. It hands the finished sentence to
``ArgumentParser.error``; :func:`argparse_error` reads it back against argparse's own
templates (CPython ``Lib/argparse.py``: the ``_('...')`` strings of ``parse_known_args``,
``_parse_known_args``, ``_match_argument``, ``_get_values``, ``_check_value`` and
``ArgumentError.__str__``) and writes it again from the catalogue. A sentence matching no
template (a later Python's new one) stays in English rather than being lost.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable

Texts = Callable[..., str]
"""``bot.i18n.translate`` bound to a language: ``texts(msgid, **fields) -> str``."""

_TEMPLATES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"\Z", re.DOTALL), msgid) for pattern, msgid in (
        (r"the following arguments are required: (?P<args>.*)", "cli.error.required"),
        (r"unrecognized arguments: (?P<args>.*)", "cli.error.unrecognized"),
        (r"invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)", "cli.error.choice"),
        (r"invalid (?P<type>\S+) value: (?P<value>.*)", "cli.error.type"),
        (r"expected one argument", "cli.error.expected_one"),
        (r"expected at most one argument", "cli.error.expected_at_most_one"),
        (r"expected at least one argument", "cli.error.expected_at_least_one"),
        (r"one of the arguments (?P<args>.*) is required", "cli.error.one_of"),
        (r"not allowed with argument (?P<argument>.*)", "cli.error.not_allowed"),
        (r"ambiguous option: (?P<option>\S+) could match (?P<matches>.*)", "cli.error.ambiguous"),
        (r"ignored explicit argument (?P<value>.*)", "cli.error.ignored"),
    ))
_ARGUMENT = re.compile(r"argument (?P<argument>[^:]+): (?P<message>.*)\Z", re.DOTALL)

_ERRNO = {errno.ENOENT: "cli.os.enoent", errno.EACCES: "cli.os.eacces",
          errno.EISDIR: "cli.os.eisdir", errno.ENOTDIR: "cli.os.enotdir"}


def argparse_error(message: str, texts: Texts) -> str:
    """``message`` (an argparse error, English) in the language of ``texts``; the names,
    values and choices it quotes are kept as the user typed them."""
    about = _ARGUMENT.match(message)
    if about is not None:
        return texts("cli.error.argument", argument=about["argument"],
                     message=argparse_error(about["message"], texts))
    for pattern, msgid in _TEMPLATES:
        found = pattern.match(message)
        if found is not None:
            return texts(msgid, **found.groupdict())
    return message


def os_error_reason(err: OSError, texts: Texts) -> str:
    """Why ``err`` happened, in the language of ``texts`` for the common ``errno`` values
    (no such file, permission denied, is a folder, not a folder); else the system's text."""
    msgid = _ERRNO.get(err.errno) if err.errno is not None else None
    return texts(msgid) if msgid else str(err.strerror or err)


_REACH = {"DNS": "cli.reach.dns", "connection refused": "cli.reach.refused",
          "timeout": "cli.reach.timeout", "network": "cli.reach.network"}


def platform_failure(platform: str, err: BaseException, lang: str) -> str:
    """One sentence in ``lang`` naming ``platform`` (``discord``, ``slack``) and why a
    one-shot command could not use it (``bot.service.build.OneShot.connect``'s error): the
    token it refused (``SetupError``'s own message, which names the key), the connection
    failure (``bot.reachability.unreachable``), else the error's type; never the error's
    text, which may quote an endpoint's query."""
    from bot.errors import SetupError
    from bot.i18n import translate
    from bot.reachability import unreachable

    if isinstance(err, SetupError):
        reason = err.message(lang)
    else:
        kind = unreachable(err)
        reason = translate(_REACH[kind], lang) if kind is not None else type(err).__name__
    return translate("cli.platform_not_reached", lang, platform=platform.capitalize(),
                     reason=reason)
