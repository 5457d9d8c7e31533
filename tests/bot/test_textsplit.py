"""Properties of bot.textsplit.split_text on French text, emoji sequences and URLs."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.textsplit import split_text, split_under_heading

# Tokens chosen to hit every rule: accents precomposed and combining, ZWJ families, skin
# tones, flags, keycaps, rainbow flag (ZWJ + VS16), URLs, Markdown links, French punctuation
# preceded by a plain or non-breaking space.
TOKENS = [
    "Bonjour",
    "à",
    "élève",
    "Noe\u0308l",  # combining diaeresis
    "e\u0301te\u0301",  # combining acute accents
    "cœur",
    "l'été",
    "👨\u200d👩\u200d👧\u200d👦",
    "👍🏽",
    "🤷🏿\u200d♀️",
    "🇫🇷🇨🇦",
    "1️⃣",
    "🏳️\u200d🌈",
    "https://example.org/plan?section=3&lang=fr#débat",
    "[le plan](https://example.org/p/1)",
    "<https://example.org/sans-apercu>",
    "vraiment\u00a0?",
    "« oui »",
    "fin.",
    "ok !",
    "etc…",
    ";",
]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", ". ", " \n\n  ", "\u00a0"]

_GRAPHEME = regex.compile(r"\X")
# A URL ends before trailing punctuation ("voir https://x.org/a." ends at "a"), the rule
# bot.textsplit documents: a cut between the URL and its full stop is outside the URL.
_URL = regex.compile(r"https?://[^\s<>)]*[^\s<>.,;:!?»\"')\]]")


def _texts() -> st.SearchStrategy[str]:
    piece = st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS))
    return st.lists(piece, min_size=1, max_size=120).map(lambda ps: "".join(t + s for t, s in ps))


def _offsets(text: str, parts: list[str]) -> list[tuple[int, int]]:
    """Where each part sits in ``text``; asserts that only whitespace lies between parts."""
    spans = []
    pos = 0
    for part in parts:
        start = text.index(part, pos)
        assert text[pos:start].strip() == "", f"non-whitespace dropped: {text[pos:start]!r}"
        spans.append((start, start + len(part)))
        pos = start + len(part)
    assert text[pos:].strip() == ""
    return spans


def _boundaries(text: str) -> set[int]:
    return {m.start() for m in _GRAPHEME.finditer(text)} | {len(text)}


@settings(max_examples=300, deadline=None, database=None)
@given(text=_texts(), limit=st.integers(min_value=8, max_value=400))
def test_parts_fit_rejoin_and_cut_only_between_graphemes_and_outside_urls(text, limit):
    parts = split_text(text, limit)

    assert parts, "non-blank text gives at least one part"
    assert all(len(p) <= limit for p in parts)
    assert all(p.strip() for p in parts)
    spans = _offsets(text, parts)
    boundaries = _boundaries(text)
    urls = [m.span() for m in _URL.finditer(text) if m.end() - m.start() <= limit]
    for start, end in spans:
        assert start in boundaries and end in boundaries
        for u_start, u_end in urls:
            assert not (u_start < start < u_end), "part starts inside a URL"
            assert not (u_start < end < u_end), "part ends inside a URL"


@settings(max_examples=100, deadline=None, database=None)
@given(text=_texts())
def test_text_within_limit_is_one_part_unchanged(text):
    assert split_text(text, len(text)) == [text]


def test_paragraphs_are_preferred_to_sentences_and_words():
    para = "Première phrase du paragraphe. Deuxième phrase, avec des accents éèà. "
    text = "\n\n".join([(para * 3).strip()] * 4)

    parts = split_text(text, 2 * len(para) * 3)

    assert parts == [(para * 3).strip() + "\n\n" + (para * 3).strip()] * 2


def test_sentences_are_preferred_to_words():
    text = "Le vote est ouvert jusqu'au 24 décembre. Répondez dans le fil ! Merci."

    assert split_text(text, 45) == [
        "Le vote est ouvert jusqu'au 24 décembre.",
        "Répondez dans le fil ! Merci.",
    ]


def test_no_cut_before_french_spaced_punctuation():
    text = "Êtes-vous d'accord ? Oui « tout à fait » ; vraiment !"

    parts = split_text(text, 22)

    assert all(not p.lstrip().startswith(("?", "!", ";", "»")) for p in parts), parts


def test_a_long_unbreakable_token_is_cut_at_grapheme_boundaries():
    token = "👨\u200d👩\u200d👧\u200d👦" * 10  # 70 code points, 10 graphemes of 7
    parts = split_text(token, 20)

    assert "".join(parts) == token
    assert parts == ["👨\u200d👩\u200d👧\u200d👦" * 2] * 5


def test_a_url_longer_than_the_limit_is_cut_as_a_last_resort():
    url = "https://example.org/" + "a" * 100
    parts = split_text(f"voir {url} fin", 50)

    assert all(len(p) <= 50 for p in parts)
    assert "".join(parts).replace(" ", "") == f"voir{url}fin"


def test_a_grapheme_longer_than_the_limit_is_cut_between_code_points():
    zalgo = "e" + "\u0301" * 30

    parts = split_text(zalgo, 10)

    assert "".join(parts) == zalgo and all(len(p) <= 10 for p in parts)


def test_blank_text_gives_no_part_and_bad_limit_raises():
    assert split_text(" \n\n ", 10) == []
    try:
        split_text("abc", 0)
    except ValueError:
        pass
    else:
        raise AssertionError("limit 0 accepted")


def test_discord_sized_french_section_with_emoji():
    sentence = "Nous proposons d'élargir l'accès au café 👩🏽\u200d🍳 ; qu'en pensez-vous ? "
    text = "\n\n".join(sentence * 12 for _ in range(7))  # about 5,700 code points

    parts = split_text(text, 2000)

    assert len(text) > 5000 and len(parts) >= 3
    assert all(len(p) <= 2000 for p in parts)
    _offsets(text, parts)
    for p in parts:
        assert p.count("👩🏽\u200d🍳") == p.count("\u200d")  # no ZWJ sequence cut apart


def test_one_message_marks_a_cut():
    from bot.textsplit import one_message

    assert one_message("court", 10) == "court"
    cut = one_message("mot " * 1000, 2000)
    assert len(cut) <= 2000 and cut.endswith("…") and "mot" in cut


def test_a_heading_always_shares_its_part_with_the_start_of_the_body():
    sentence = "Une phrase de vingt-neuf mots. "
    body = (sentence * 10).strip() + "\n\nSecond paragraphe."
    parts = split_under_heading("## Titre", body, 100)
    assert parts[0].startswith("## Titre\n\nUne phrase") and all(len(p) <= 100 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == \
        ("## Titre" + body).replace("\n", "").replace(" ", "")
    assert split_text("## Titre\n\n" + body, 100)[0] == "## Titre"  # what a plain split does
    assert split_under_heading("## Titre", "  ", 100) == ["## Titre"]
    assert split_under_heading("## Titre", "Court.", 100) == ["## Titre\n\nCourt."]
    assert split_under_heading("#" * 99, body, 100)[0] == "#" * 99  # no room beside it
