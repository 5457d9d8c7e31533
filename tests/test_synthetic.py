"""The bundled synthetic conversation is exactly what its documented generator writes, and
its analysis finds the opinion groups of its model."""

from __future__ import annotations

from collections import Counter

from bot.analysis import VoteMatrix, analyse
from bot.polis import read_conversation
from bot.service.demo import DEFAULT_CONVERSATION, SYNTHETIC
from bot.synthetic import GROUPS, REPLIES, SECTIONS, write


def test_bundled_files_are_the_generators_output(tmp_path):
    write(tmp_path)
    for name in ("comments.csv", "votes.csv"):
        assert (tmp_path / name).read_bytes() == (SYNTHETIC / DEFAULT_CONVERSATION / name).read_bytes()


def test_replies_in_both_languages_under_every_section_and_groups_recovered():
    conv = read_conversation(SYNTHETIC / DEFAULT_CONVERSATION)
    by_section = Counter(s.section for s in conv.statements if s.role == "reply")
    assert by_section == {key: 3 for key, _ in SECTIONS}
    assert {lang for _s, lang, _l, _t in REPLIES} == {"fr", "en"}
    result = analyse(VoteMatrix.from_votes(conv.vote_triples(), statements=conv.statement_ids,
                                           excluded=conv.excluded))
    assert result.k == len(GROUPS)
    model = {str(i + 1): g for i, g in enumerate(g for g, n in GROUPS for _ in range(n))}
    # Each found group is mostly one group of the model (at most 2 of 60 placed otherwise).
    pairs = Counter((model[p], result.group_of(p)) for p in model)
    majority = sum(max(n for (m, g), n in pairs.items() if g == found)
                   for found in range(result.k))
    assert majority >= len(model) - 2
