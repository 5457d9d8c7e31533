"""French and English texts from gettext message catalogues (Babel ``.po`` files).

Catalogues live in ``bot/locales/<lang>/LC_MESSAGES/planbot.po`` with symbolic message ids
(``round.opened``...), read with Babel and served through the standard ``gettext`` machinery.
The default language is Quebec French (``fr-CA``), the community planbot was built for.

Texts that hold a count are plural entries (``msgid`` + ``msgid_plural`` ``<msgid>.plural``, one
``msgstr[i]`` per form of the language's ``Plural-Forms`` rule, which Babel takes from CLDR:
English has ``one``/``other``; French ``one`` (0 and 1), ``many`` (exact millions, "1 000 000 de
sections") and ``other``). Read them with :func:`translate_plural`, never :func:`translate`.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DOMAIN = "planbot"


def language_of(tag: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a platform locale tag (``fr``, ``fr-CA``, ``en_US``, ``en-GB``...) to ``fr``/``en``."""
    if not tag:
        return default
    base = tag.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else default


@cache
def catalogue(lang: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``lang``; raises ``FileNotFoundError`` if it is missing."""
    with open(LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translate(msgid: str, lang: str | None = None, **params: object) -> str:
    """The text of ``msgid`` in ``lang`` with ``{name}`` fields filled from ``params``.

    An id missing from the catalogue comes back as the id itself (gettext's rule), which the
    catalogue test catches.
    """
    text = catalogue(language_of(lang)).gettext(msgid)
    return text.format(**params) if params else text


def translate_plural(msgid: str, n: int, lang: str | None = None, **params: object) -> str:
    """The form of the plural entry ``msgid`` that suits the count ``n``, in ``lang``.

    The form is chosen by the catalogue's ``Plural-Forms`` rule through ``ngettext`` (French:
    0 and 1 are singular). ``n`` also fills the ``{n}`` field, written the language's way by
    Babel (``6 808`` in French, ``6,808`` in English); ``params`` fill the others. A missing
    id comes back as the id itself, as with :func:`translate`.
    """
    code = language_of(lang)
    text = catalogue(code).ngettext(msgid, msgid, n)
    return text.format(n=format_decimal(n, locale=f"{code}_CA"), **params)


def language_names(codes: list[str], lang: str | None = None) -> str:
    """Languages ``codes`` (``["fr", "en"]``) named in ``lang`` as a list: "French and
    English", "français et anglais" (CLDR's names and list pattern, through Babel), where a
    code would read badly ("en fr, en")."""
    code = language_of(lang)
    names = Locale.parse(code).languages
    return format_list([names.get(c, c) for c in codes], locale=code)
