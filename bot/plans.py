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
from pathlib import Path

from bot.errors import PlanFileError
from bot.i18n import LANGUAGES

TITLE = re.compile(r"^#\s+(?P<title>\S.*?)(?:\s+#+)?\s*$")
# CommonMark ATX heading: optional closing sequence of #s; Pandoc's {#key} after the title.
SECTION = re.compile(r"^##\s+(?P<title>.*?)\s*(?:\{#(?P<key>[^}]*)\})?(?:\s+#+)?\s*$")
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FILE_NAME = re.compile(r"^(?P<slug>[A-Za-z0-9][A-Za-z0-9_-]*)(?:\.(?P<lang>[a-z]{2}))?\.md$")


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
    def section_hash(titles: dict, bodies: dict) -> str:
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
    raw = Path(path).read_bytes()
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
    lines = normalised.removesuffix("\n").split("\n")

    title = None
    sections: list[ParsedSection] = []
    current: tuple[str, str, int] | None = None
    body: list[str] = []
    fence: str | None = None  # the opening fence while inside a code block
    seen: dict[str, int] = {}

    def close() -> None:
        if current is None:
            return
        content = "\n".join(body).strip()
        if not content:
            raise PlanFileError("plan.empty_section", path=str(path), line=current[2],
                                key=current[0])
        sections.append(ParsedSection(current[0], current[1], content, current[2]))

    for number, line in enumerate(lines, start=1):
        opened_or_closed = False
        fence_match = FENCE.match(line)
        if fence_match:
            mark = fence_match["fence"]
            if fence is None and not (mark[0] == "`" and "`" in fence_match["info"]):
                fence, opened_or_closed = mark, True
            elif fence is not None and mark[0] == fence[0] and len(mark) >= len(fence) \
                    and not fence_match["info"].strip():
                fence, opened_or_closed = None, True
        if title is None:
            if not line.strip():
                continue
            match = TITLE.match(line)
            if not match or line.startswith("##"):
                raise PlanFileError("plan.no_title", path=str(path), line=number)
            title = match["title"]
            continue
        match = None if fence is not None or opened_or_closed else SECTION.match(line)
        if match is None:
            if current is not None:
                body.append(line)
            continue
        close()
        sec_title, key = match["title"].strip(), match["key"]
        if key is None:
            if keys_required:
                raise PlanFileError("plan.key_required", path=str(path), line=number)
            key = slugify(sec_title)
        key = key.strip()
        if not KEY.match(key) or not sec_title:
            raise PlanFileError("plan.bad_key", path=str(path), line=number, key=key)
        if key in seen:
            raise PlanFileError("plan.duplicate_key", path=str(path), line=number, key=key,
                                first=seen[key])
        seen[key] = number
        current, body = (key, sec_title, number), []
    close()
    if title is None:
        raise PlanFileError("plan.no_title", path=str(path), line=max(len(lines), 1))
    if not sections:
        raise PlanFileError("plan.no_sections", path=str(path), line=len(lines))
    return ParsedFile(str(path), language, title, sections)


def load_plan(paths: list[Path], default_language: str = "fr") -> PlanDocument:
    """Read one plan from its language files and align them by section key.

    All files must share one slug and name different languages; each language must have the
    same keys in the same order. Raises ``PlanFileError`` (file and line) otherwise.
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
    first = files[0]
    for other in files[1:]:
        for i in range(max(len(first.sections), len(other.sections))):
            a = first.sections[i] if i < len(first.sections) else None
            b = other.sections[i] if i < len(other.sections) else None
            if a is None or b is None or a.key != b.key:
                culprit, file = (b, other) if b is not None else (a, first)
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


def import_plan(store, paths: list[Path], now, default_language: str = "fr"):
    """Parse and store a plan; returns (``PlanVersionData``, created: bool).

    Nothing is written when a file is rejected: every file is parsed and checked before the
    single store transaction. Raises ``PlanFileError``.
    """
    doc = load_plan([Path(p) for p in paths], default_language)
    sections = [(key, titles, bodies, PlanDocument.section_hash(titles, bodies))
                for key, titles, bodies in doc.sections]
    return store.save_plan_version(doc.slug, doc.titles, doc.languages, doc.content_hash(),
                                   sections, now)
