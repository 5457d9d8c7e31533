"""Plan files: the sample parses; bad files name file and line; nothing written on rejection."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import PlanFileError
from bot.plans import import_plan, load_plan, sample_plan_paths
from tests.helpers import START, make_store

GOOD_FR = "# Plan\n\n## Réseau {#reseau}\n\nTout le monde branché.\n\n## Données {#donnees}\n\nOuvrir.\n"
GOOD_EN = "# Plan\n\n## Network {#reseau}\n\nEveryone online.\n\n## Data {#donnees}\n\nOpen.\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_sample_plan_is_bilingual_and_aligned():
    doc = load_plan(sample_plan_paths())
    assert doc.slug == "sample" and doc.languages == ["fr", "en"]
    assert 6 <= len(doc.sections) <= 10
    for _key, titles, bodies in doc.sections:
        assert set(titles) == set(bodies) == {"fr", "en"} and all(bodies.values())


@pytest.mark.parametrize("fr,line,msgid", [
    (GOOD_FR.replace("## Données {#donnees}\n\nOuvrir.\n", "## Données {#reseau}\n\nOuvrir.\n"),
     7, "plan.duplicate_key"),
    (GOOD_FR.replace("Ouvrir.\n", "\n"), 7, "plan.empty_section"),
    ("# Plan\n\nJuste du texte.\n", 3, "plan.no_sections"),
    ("Pas de titre\n## A {#a}\n\nx\n", 1, "plan.no_title"),
    (GOOD_FR.replace("{#donnees}", "{#Données!}"), 7, "plan.bad_key"),
    (GOOD_FR.replace("## Données {#donnees}", "## {#donnees}"), 7, "plan.section_no_title"),
    (GOOD_FR.replace("## Données {#donnees}", "## \u200b\u2060 {#donnees}"), 7,
     "plan.section_no_title"),
    (GOOD_FR.replace("{#donnees}", ""), 7, "plan.key_required"),
    (GOOD_FR.replace("{#donnees}", "{#autre}"), 7, "plan.mismatched_key"),  # names both files
    ("# Plan\n\n## A {#reseau}\n\nok\n\n## B {#donnees}\n\n\xe9t\xe9\n".encode("latin-1"), 9,
     "plan.not_utf8"),
])
def test_bad_plan_names_file_and_line_and_writes_nothing(tmp_path, fr, line, msgid):
    paths = [write(tmp_path, "p.fr.md", fr), write(tmp_path, "p.en.md", GOOD_EN)]
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(PlanFileError) as err:
        import_plan(store, paths, START)
    assert err.value.msgid == msgid
    assert err.value.line == line
    assert err.value.path.endswith(".md")
    for lang in ("fr", "en"):
        text = err.value.message(lang)
        assert "p.fr.md" in text and str(line) in text
    assert store.list_plans() == []


def test_mismatch_when_english_has_an_extra_section(tmp_path):
    en = GOOD_EN + "\n## Extra {#extra}\n\nMore.\n"
    paths = [write(tmp_path, "p.fr.md", GOOD_FR), write(tmp_path, "p.en.md", en)]
    with pytest.raises(PlanFileError) as err:
        load_plan(paths)
    assert err.value.msgid == "plan.mismatched_key" and err.value.path.endswith("p.en.md")
    assert err.value.line == 11


def test_headings_in_code_fences_are_text(tmp_path):
    fr = GOOD_FR.replace("Ouvrir.\n", "Ouvrir.\n\n```\n## pas une section\n```\n")
    doc = load_plan([write(tmp_path, "p.fr.md", fr)])
    assert [k for k, _, _ in doc.sections] == ["reseau", "donnees"]
    assert "## pas une section" in doc.sections[1][2]["fr"]


def test_reimport_edited_plan_makes_a_version_and_keeps_section_identity(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    paths = [write(tmp_path, "p.fr.md", GOOD_FR), write(tmp_path, "p.en.md", GOOD_EN)]
    v1, created = import_plan(store, paths, START)
    assert created and v1.number == 1
    _, again = import_plan(store, paths, START)
    assert not again
    write(tmp_path, "p.fr.md", GOOD_FR.replace("Ouvrir.", "Ouvrir les données publiques."))
    v2, created = import_plan(store, paths, START)
    assert created and v2.number == 2
    assert [s.section_id for s in v1.sections] == [s.section_id for s in v2.sections]
    assert v1.sections[0].content_hash == v2.sections[0].content_hash
    assert v1.sections[1].content_hash != v2.sections[1].content_hash


def test_fences_closing_hashes_and_odd_line_breaks(tmp_path):
    text = ("# T\n\n## One ##\n\nx\n\n~~~\n```\n## not a section {#no}\n~~~\n\n## Two {#two}\n\ny\n\n"
            "````\n```\n## fake {#fake}\n````\n\n## Three\n\nz\x0cw\u2028v\n## Four\n\nq\n")
    doc = load_plan([write(tmp_path, "p.md", text)])
    assert [(k, t["fr"]) for k, t, _ in doc.sections] == [
        ("one", "One"), ("two", "Two"), ("three", "Three"), ("four", "Four")]
    bad = text.replace("## Four\n\nq\n", "## Four\n\n")
    with pytest.raises(PlanFileError) as err:
        load_plan([write(tmp_path, "p.md", bad)])
    assert err.value.line == 24  # form feed and U+2028 do not shift line numbers


def test_reimporting_one_language_keeps_the_others(tmp_path):
    """A facilitator fixes a typo in the English file and imports it alone: the French text
    stays; when the sections no longer align, the import is refused, naming the languages."""
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    import_plan(store, [write(tmp_path, "p.fr.md", GOOD_FR), write(tmp_path, "p.en.md", GOOD_EN)],
                START)
    en_only = write(tmp_path, "p.en.md", GOOD_EN.replace("Open.", "Open data."))
    v2, created = import_plan(store, [en_only], START)
    assert created and v2.languages == ["fr", "en"]
    assert v2.sections[1].bodies == {"fr": "Ouvrir.", "en": "Open data."}
    assert v2.titles.keys() == {"fr", "en"}
    extra = write(tmp_path, "p.en.md", GOOD_EN + "\n## Extra {#extra}\n\nMore.\n")
    with pytest.raises(PlanFileError) as err:
        import_plan(store, [extra], START)
    assert err.value.msgid == "plan.partial_import" and "fr" in err.value.message("en")
    assert store.latest_plan_version("p").number == 2


def test_a_title_no_key_can_be_made_from_says_to_add_one(tmp_path):
    with pytest.raises(PlanFileError) as err:
        load_plan([write(tmp_path, "p.md", "# Plan\n\n## 🎉🎉\n\nFête.\n")])
    assert err.value.msgid == "plan.key_unmakeable" and err.value.line == 3
    assert "{#my-section}" in err.value.message("en") and "🎉🎉" in err.value.message("fr")
