"""People's text inside the Markdown planbot writes (digests, copies of replies): shown as
typed, never run as markup.

A reply is quoted into Markdown that Discord renders, that becomes Slack ``mrkdwn``
(``bot.digests.render_slack.to_mrkdwn``) and that is saved as ``digest.md``, which any
CommonMark viewer may render. Left as it is, a reply's ``[https://www.quebec.ca/x](https://evil)``
would become a live link whose text lies, ``<img src=x onerror=...>`` raw HTML, and
``<javascript:...>`` an autolink. :func:`inert` backslash-escapes the characters that open
links, HTML, autolinks, code spans and block markers (CommonMark 0.31, "Backslash escapes":
any ASCII punctuation may be escaped, and an escaped character is literal; Discord's Markdown
honours the same escapes), and the colon of a URI scheme other than http(s), so that no
renderer turns ``javascript:``, ``data:`` or ``file:`` text into a link. Emphasis (``*``,
``_``, ``~``) is left alone: it can change how text looks, never where a click goes.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"[\\`\[\]<>&|]")
_SCHEME = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*):(?=\S)")
_BLOCK_START = re.compile(r"^([ \t]*)([#>+=-]|\d+(?=[.)]))", re.MULTILINE)
SAFE_SCHEMES = frozenset({"http", "https"})


def inert(text: str) -> str:
    """``text`` escaped for Markdown: it reads the same once rendered, and carries no link,
    HTML, autolink, code span, heading, quote or list marker of its own."""
    out = _SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    out = _SCHEME.sub(lambda m: m.group(0) if m.group(1).lower() in SAFE_SCHEMES
                      else m.group(1) + "\\:", out)
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2)
                            if not m.group(2)[0].isdigit()
                            else m.group(1) + m.group(2) + "\\", out)
