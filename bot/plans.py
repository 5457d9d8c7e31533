"""Markdown plan documents -> ordered sections with stable keys, in French and English.

Convention (documented in the README): one file per language, named ``<slug>.<lang>.md``
(``sample.fr.md``, ``sample.en.md``). Each file starts with ``# Title``; each section starts
with ``## Section title {#key}``. The explicit ``{#key}`` (Pandoc's heading-identifier syntax)
aligns the languages; a single-language plan may omit it and the key is made from the title.
Deeper headings (``###``) belong to the section; headings inside code fences are text.
Anything between the title and the first section is the plan's preamble and is not posted.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import PlanFileError
from bot.i18n import LANGUAGES

if TYPE_CHECKING:
    from storage.records import PlanVersionData, SavedPlanVersion
    from storage.store import Store

TITLE = re.compile(r"^#\s+(?P<title>\S.*?)(?:\s+#+)?\s*$")
# CommonMark ATX heading: optional closing sequence of #s; Pandoc's {#key} after the title.
SECTION = re.compile(r"^##\s+(?P<title>.*?)\s*(?:\{#(?P<key>[^}]*)\})?(?:\s+#+)?\s*$")
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FILE_NAME = re.compile(r"^(?P<slug>[A-Za-z0-9][A-Za-z0-9_-]*)(?:\.(?P<lang>[a-z]{2}))?\.md$")



def visible(text: str) -> bool:
    """True when ``text`` shows at least one character: spaces, separators, format and control
    characters (zero-width space U+200B, joiners, bidi marks) do not count (Unicode general
    categories Z*, Cf, Cc)."""
    return any(not unicodedata.category(ch).startswith(("Z", "Cf", "Cc")) for ch in text)

@dataclass(frozen=True, slots=True)
class ParsedSection:
    """One section in one language; ``line`` is its heading's 1-based line number."""

    key: str
    title: str
    body: str
    line: int


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A plan file in one language."""

    path: str
    language: str
    title: str
    sections: list[ParsedSection]


@dataclass(frozen=True, slots=True)
class PlanDocument:
    """A plan with its languages merged: ``sections`` are (key, titles, bodies) in order,
    ``titles``/``bodies`` mapping language -> text."""

    slug: str
    languages: list[str]
    titles: dict[str, str]
    sections: list[tuple[str, dict[str, str], dict[str, str]]]

    def content_hash(self) -> str:
        """SHA-256 of the whole document's content, to tell an edited plan from the same one."""
        return _hash([self.titles, self.sections])

    @staticmethod
    def section_hash(titles: dict[str, str], bodies: dict[str, str]) -> str:
        """SHA-256 of one section's content in every language."""
        return _hash([titles, bodies])


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def slugify(text: str) -> str:
    """A key from a title: ASCII letters and digits joined by hyphens (``Accès au réseau`` ->
    ``acces-au-reseau``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:100]


def split_file_name(path: Path, default_language: str) -> tuple[str, str]:
    """(slug, language) from ``<slug>.<lang>.md``; raises ``PlanFileError`` otherwise."""
    match = FILE_NAME.match(path.name)
    if not match:
        raise PlanFileError("plan.bad_file_name", path=str(path))
    lang = match["lang"] or default_language
    if lang not in LANGUAGES:
        raise PlanFileError("plan.bad_language", path=str(path), language=lang)
    return match["slug"], lang


def parse_file(path: Path, language: str, *, keys_required: bool) -> ParsedFile:
    """Parse one plan file.

    Raises ``PlanFileError`` naming the file and line for: bytes that are not UTF-8, a missing
    ``# `` title, a section without a usable key, a duplicate key, an empty section, no
    section at all.
    """
    lines = _read_lines(Path(path))
    parser = _FileParser(str(path), keys_required)
    for number, line in enumerate(lines, start=1):
        parser.feed(number, line)
    return parser.finish(language, len(lines))


def _read_lines(path: Path) -> list[str]:
    """The file's lines, NFC-normalised; raises ``PlanFileError`` for bytes that are not
    UTF-8 or for a NUL character (not a text file)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise PlanFileError("plan.not_utf8", path=str(path), line=line) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise PlanFileError("plan.not_text", path=str(path), line=line)
    # Only \n, \r\n and \r end lines in Markdown; str.splitlines would also split on form
    # feeds and U+2028, shifting every line number after them.
    normalised = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return normalised.removesuffix("\n").split("\n")


def _fence_after(fence: str | None, line: str) -> tuple[str | None, bool]:
    """The open code fence after ``line`` (None outside a code block), and whether ``line``
    opened or closed one. A backtick fence's info string has no backtick; a closing fence is
    of the same character, at least as long, with no info string
    (https://spec.commonmark.org/0.31.2/#fenced-code-blocks)."""
    match = FENCE.match(line)
    if not match:
        return fence, False
    mark = match["fence"]
    if fence is None and not (mark[0] == "`" and "`" in match["info"]):
        return mark, True
    if fence is not None and mark[0] == fence[0] and len(mark) >= len(fence) \
            and not match["info"].strip():
        return None, True
    return fence, False


class _FileParser:
    """One file's lines fed in order: the title, then sections with their bodies."""

    def __init__(self, path: str, keys_required: bool) -> None:
        self.path = path
        self.keys_required = keys_required
        self.title: str | None = None
        self.sections: list[ParsedSection] = []
        self.current: tuple[str, str, int] | None = None  # key, title, heading line
        self.body: list[str] = []
        self.fence: str | None = None  # the opening fence while inside a code block
        self.seen: dict[str, int] = {}  # key -> heading line

    def feed(self, number: int, line: str) -> None:
        self.fence, opened_or_closed = _fence_after(self.fence, line)
        if self.title is None:
            self._title(number, line)
            return
        match = None if self.fence is not None or opened_or_closed else SECTION.match(line)
        if match is None:
            if self.current is not None:
                self.body.append(line)
            return
        self._close()
        sec_title = match["title"].strip()
        self.current, self.body = (self._key(number, sec_title, match["key"]), sec_title,
                                   number), []

    def _title(self, number: int, line: str) -> None:
        if not line.strip():
            return
        match = TITLE.match(line)
        if not match or line.startswith("##"):
            raise PlanFileError("plan.no_title", path=self.path, line=number)
        self.title = match["title"]

    def _key(self, number: int, sec_title: str, key: str | None) -> str:
        """The section's key, checked: well-formed, titled, not seen before."""
        if key is None:
            if self.keys_required:
                raise PlanFileError("plan.key_required", path=self.path, line=number)
            key = slugify(sec_title)
            if not key and visible(sec_title):  # only emoji or non-Latin letters
                raise PlanFileError("plan.key_unmakeable", path=self.path, line=number,
                                    title=sec_title)
        key = key.strip()
        if not visible(sec_title):
            raise PlanFileError("plan.section_no_title", path=self.path, line=number, key=key)
        if not KEY.match(key):
            raise PlanFileError("plan.bad_key", path=self.path, line=number, key=key)
        if key in self.seen:
            raise PlanFileError("plan.duplicate_key", path=self.path, line=number, key=key,
                                first=self.seen[key])
        self.seen[key] = number
        return key

    def _close(self) -> None:
        if self.current is None:
            return
        key, title, line = self.current
        content = "\n".join(self.body).strip()
        if not content:
            raise PlanFileError("plan.empty_section", path=self.path, line=line, key=key)
        self.sections.append(ParsedSection(key, title, content, line))

    def finish(self, language: str, line_count: int) -> ParsedFile:
        self._close()
        if self.title is None:
            raise PlanFileError("plan.no_title", path=self.path, line=max(line_count, 1))
        if not self.sections:
            raise PlanFileError("plan.no_sections", path=self.path, line=line_count)
        return ParsedFile(self.path, language, self.title, self.sections)


def check_limits(file: ParsedFile, max_sections: int | None, max_section_chars: int | None
                 ) -> None:
    """Refuse a plan file with more than ``max_sections`` sections or a section body longer
    than ``max_section_chars`` characters (``PLAN_MAX_SECTIONS``, ``PLAN_MAX_SECTION_CHARS``):
    ``PlanFileError`` naming the limit."""
    if max_sections is not None and len(file.sections) > max_sections:
        raise PlanFileError("plan.too_many_sections", path=file.path,
                            count=len(file.sections), limit=max_sections)
    for sec in file.sections:
        if max_section_chars is not None and len(sec.body) > max_section_chars:
            raise PlanFileError("plan.section_too_long", path=file.path, line=sec.line,
                                key=sec.key, length=len(sec.body), limit=max_section_chars)


def load_plan(paths: list[Path], default_language: str = "fr", *,
              max_sections: int | None = None,
              max_section_chars: int | None = None) -> PlanDocument:
    """Read one plan from its language files and align them by section key.

    All files must share one slug and name different languages; each language must have the
    same keys in the same order, and keep within the limits given (:func:`check_limits`).
    Raises ``PlanFileError`` (file and line) otherwise.
    """
    if not paths:
        raise PlanFileError("plan.no_files", path="")
    named = [(p, *split_file_name(Path(p), default_language)) for p in paths]
    slugs = {slug for _, slug, _ in named}
    if len(slugs) > 1:
        raise PlanFileError("plan.mixed_slugs", path=str(named[1][0]), slugs=", ".join(sorted(slugs)))
    langs = [lang for _, _, lang in named]
    for p, _, lang in named:
        if langs.count(lang) > 1:
            raise PlanFileError("plan.duplicate_language", path=str(p), language=lang)
    files = [parse_file(Path(p), lang, keys_required=len(named) > 1) for p, _, lang in named]
    for file in files:
        check_limits(file, max_sections, max_section_chars)
    first = files[0]
    for other in files[1:]:
        for i in range(max(len(first.sections), len(other.sections))):
            a = first.sections[i] if i < len(first.sections) else None
            b = other.sections[i] if i < len(other.sections) else None
            if a is None or b is None or a.key != b.key:
                culprit, file = (b, other) if b is not None else (a, first)
                assert culprit is not None  # one of the two files has a section here
                raise PlanFileError("plan.mismatched_key", path=file.path, line=culprit.line,
                                    key=culprit.key,
                                    other=Path(first.path if file is other else other.path).name)
    ordered = sorted(files, key=lambda f: LANGUAGES.index(f.language))
    sections = []
    for i, sec in enumerate(first.sections):
        titles = {f.language: f.sections[i].title for f in ordered}
        bodies = {f.language: f.sections[i].body for f in ordered}
        sections.append((sec.key, titles, bodies))
    return PlanDocument(
        slug=named[0][1],
        languages=[f.language for f in files],
        titles={f.language: f.title for f in ordered},
        sections=sections,
    )


def sample_plan_paths() -> list[Path]:
    """The bundled bilingual sample plan (French first)."""
    folder = Path(__file__).parent / "data" / "plans"
    return [folder / "sample.fr.md", folder / "sample.en.md"]


def import_plan(store: Store, paths: list[Path], now: datetime,
                default_language: str = "fr", *, max_sections: int | None = None,
                max_section_chars: int | None = None) -> SavedPlanVersion:
    """Parse and store a plan; returns the version and whether it is new.

    Nothing is written when a file is rejected: every file is parsed and checked (limits
    included, :func:`check_limits`) before the single store transaction. Importing some of a
    stored plan's languages updates those and keeps the others (:func:`keep_other_languages`).
    Raises ``PlanFileError``.
    """
    doc = load_plan([Path(p) for p in paths], default_language, max_sections=max_sections,
                    max_section_chars=max_section_chars)
    return store_plan(store, doc, now, str(paths[0]))


def store_plan(store: Store, doc: PlanDocument, now: datetime,
               source: str) -> SavedPlanVersion:
    """Store a plan read by :func:`load_plan` from files whose first is ``source``; returns
    the version and whether it is new. Raises ``PlanFileError`` (naming ``source``) when it
    holds only some of a stored plan's languages and its sections differ."""
    latest = store.latest_plan_version(doc.slug)
    if latest is not None:
        doc = keep_other_languages(doc, latest, source)
    sections = [(key, titles, bodies, PlanDocument.section_hash(titles, bodies))
                for key, titles, bodies in doc.sections]
    return store.save_plan_version(doc.slug, doc.titles, doc.languages, doc.content_hash(),
                                   sections, now)


def keep_other_languages(doc: PlanDocument, latest: PlanVersionData, path: str) -> PlanDocument:
    """``doc`` completed with the languages of the stored ``latest`` version it lacks, so that
    re-importing ``sample.en.md`` alone updates the English text and keeps the French one.

    The sections must be the same keys in the same order as the stored version's, since the
    languages are aligned by key; raises ``PlanFileError`` (``plan.partial_import``, naming
    ``path`` and the languages left out) otherwise: the files must then be imported together.
    """
    missing = [lang for lang in latest.languages if lang not in doc.languages]
    if not missing:
        return doc
    if [key for key, _, _ in doc.sections] != [s.key for s in latest.sections]:
        raise PlanFileError("plan.partial_import", path=path, slug=doc.slug,
                            languages=", ".join(missing))
    languages = [*latest.languages, *(lang for lang in doc.languages if lang not in missing
                                      and lang not in latest.languages)]

    def merged(new: dict[str, str], old: dict[str, str]) -> dict[str, str]:
        both = {**{lang: old[lang] for lang in missing if lang in old}, **new}
        return {lang: both[lang] for lang in LANGUAGES if lang in both}

    return PlanDocument(
        slug=doc.slug, languages=languages, titles=merged(doc.titles, latest.titles),
        sections=[(key, merged(titles, old.titles), merged(bodies, old.bodies))
                  for (key, titles, bodies), old in zip(doc.sections, latest.sections,
                                                        strict=True)])
