"""Anonymous proposals in the core (issue 14): the form, the checks of a submission (each
refusal in the author's language), exactly once, the author's stance (configurable), how the
relay posts a proposal by the round's stance mode, and the settings; on SQLite and
PostgreSQL. The adapters' modals are tested end to end in tests/integrations."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from bot.errors import BadArgument, Conflict, NotFound
from bot.events import Actor, ProposalSubmitted
from bot.platform import ChannelRef
from tests.helpers import START, RecordingPlatform, invitation, make_core

CHANNEL = ChannelRef("discord", "g1", "c1")
SLACK = ChannelRef("slack", "T1", "C1")


def core_fixture(**overrides):
    @pytest.fixture
    async def fixture(tmp_path, database_url):
        core = make_core(tmp_path, database_url=database_url, **overrides)
        yield core
        core.close()
        core.store.engine.dispose()
    return fixture


core = core_fixture()
silent_core = core_fixture(proposal_author_agrees=False)


async def open_round(core, mode=None):
    """A round on Discord joined from Slack: (round id, section statement ids, platforms)."""
    discord, slack = RecordingPlatform(), RecordingPlatform(name="slack")
    core.attach(discord)
    core.attach(slack)
    round_id, _, _ = await core.rounds.open(plan="sample", platform=discord, channel=CHANNEL,
                                            stance_mode=mode)
    await core.rounds.open(plan="sample", platform=slack, channel=SLACK,
                           join=invitation(core, round_id))
    await core.settle_relays()
    ids = [s.statement_id for s in core.store.round_sections(round_id)]
    return round_id, ids, {"discord": discord, "slack": slack}


def proposal(section_id, text="Des bornes Wi-Fi gratuites", key="k1", user="u1",
             channel="c1"):
    return ProposalSubmitted(platform="discord", workspace_id="g1", channel_id=channel,
                             occurred_at=START, event_key=key,
                             actor=Actor(user, "Ursula Secret"), round_id=0,
                             section_id=section_id, text=text)


def proposals_of(core, round_id):
    return [c for c in core.store.statement_counts(round_id)
            if c.kind == "reply" and c.text is not None]


async def test_the_form_offers_the_rounds_sections_in_the_callers_language(core):
    round_id, ids, _ = await open_round(core)
    form = await core.proposals.form("discord", "c1", "en")
    assert (form.round_id, form.max_chars, form.preselected) == (round_id, 500, None)
    assert [sid for sid, _ in form.sections] == ids
    assert form.sections[0][1] == "Internet haute vitesse partout"  # the round's language
    assert form.labels["text"] == "Your proposal (at most 500 characters)"
    assert (await core.proposals.form("discord", "c1", "fr")).labels["submit"] == "Proposer"
    with pytest.raises(NotFound) as nowhere:
        await core.proposals.form("discord", "elsewhere", "en")
    assert nowhere.value.message("en") == "No round is posted in this channel; give `round=N`."


async def test_a_proposal_is_recorded_once_with_its_author_agreeing(core):
    round_id, ids, platforms = await open_round(core)
    thanks = await core.proposals.submit(proposal(ids[1], text="  Des bornes\u0000 Wi-Fi  "),
                                         "en")
    await core.proposals.submit(proposal(ids[1]), "en")  # the same form again
    await core.settle_relays()
    assert "“Compétences numériques pour tous”" in thanks
    (made,) = proposals_of(core, round_id)
    assert (made.text, made.agree, made.disagree, made.parent_id) == (
        "Des bornes Wi-Fi", 1, 0, ids[1])
    posted = [p for platform in platforms.values() for p in platform.proposals]
    assert len(posted) == 2  # once in each channel of the round
    for _, _, post in posted:
        assert post.text == "**Proposition anonyme**\nDes bornes Wi-Fi"
        assert "Ursula" not in post.text and "u1" not in post.text
        assert post.seed_emoji == ("👍", "👎", "🤷") and post.vote_on is not None
    assert all(not platform.copies for platform in platforms.values())  # never as a copy
    data = core.store.participant_data(core.pseudonyms.key("discord", "u1"))
    assert [r.text for r in data.replies] == ["Des bornes Wi-Fi"]


async def test_the_author_does_not_agree_when_the_operator_says_so(silent_core):
    round_id, ids, _ = await open_round(silent_core)
    await silent_core.proposals.submit(proposal(ids[0]), "fr")
    (made,) = proposals_of(silent_core, round_id)
    assert (made.agree, made.disagree, made.passes) == (0, 0, 0)


@pytest.mark.parametrize(("text", "lang", "expected"), [
    (" \n ", "fr", "Votre proposition est vide : écrivez l’énoncé que vous proposez."),
    ("x" * 501, "en", "Your proposal has 501 characters; at most 500 are accepted. Shorten it "
                      "and propose it again."),
])
async def test_bad_text_is_refused_in_the_callers_language(core, text, lang, expected):
    round_id, ids, _ = await open_round(core)
    with pytest.raises(BadArgument) as refused:
        await core.proposals.submit(proposal(ids[0], text=text), lang)
    assert refused.value.message(lang) == expected
    assert proposals_of(core, round_id) == []


async def test_a_section_of_no_round_here_and_a_closed_round_are_refused(core):
    round_id, ids, _ = await open_round(core)
    with pytest.raises(NotFound) as unknown:
        await core.proposals.submit(proposal(ids[-1] + 1000), "fr")
    assert unknown.value.message("fr").startswith("Cette section n’est pas")
    with pytest.raises(NotFound):
        await core.proposals.submit(proposal(ids[0], channel="elsewhere"), "fr")
    await core.rounds.close(round_id)
    with pytest.raises(Conflict) as closed:
        await core.proposals.submit(proposal(ids[0]), "en")
    public = core.store.get_round(round_id).public_id
    assert closed.value.message("en") == f"Round #{public} is already closed."
    # Straight to the intake, as a late delivery would: the store refuses it too.
    assert not await core.handle(ProposalSubmitted(
        platform="discord", workspace_id="g1", channel_id="c1", occurred_at=START,
        event_key="late", actor=Actor("u2"), round_id=round_id, section_id=ids[0],
        text="Trop tard"))
    assert proposals_of(core, round_id) == []


@pytest.mark.parametrize(("mode", "seeds", "button"), [
    ("private", (), True), ("reactions", ("👍", "👎", "🤷"), False)])
async def test_a_proposal_is_posted_as_the_rounds_stance_mode_says(core, mode, seeds, button):
    """No seed reactions in a round of private votes; no Vote button in a round counting
    reactions only."""
    _, ids, platforms = await open_round(core, mode=mode)
    await core.proposals.submit(proposal(ids[0]), "fr")
    await core.settle_relays()
    posts = [post for _, _, post in platforms["discord"].proposals]
    assert [(p.seed_emoji, p.vote_on is not None) for p in posts] == [(seeds, button)]


@pytest.mark.parametrize(("env", "problem"), [
    ({"PROPOSAL_MAX_CHARS": "0"}, "PROPOSAL_MAX_CHARS"),
    ({"PROPOSAL_MAX_CHARS": "1801"}, "PROPOSAL_MAX_CHARS"),
    ({"PROPOSAL_MAX_CHARS": "many"}, "PROPOSAL_MAX_CHARS"),
    ({"PROPOSAL_AUTHOR_AGREES": "maybe"}, "PROPOSAL_AUTHOR_AGREES"),
])
def test_proposal_settings_are_checked(tmp_path, env, problem):
    with pytest.raises(ConfigError) as bad:
        Settings.load({"PLANBOT_HOME": str(tmp_path), **env}, env_file=None)
    assert problem in str(bad.value)


def test_proposal_settings_are_read(tmp_path):
    settings = Settings.load({"PLANBOT_HOME": str(tmp_path), "PROPOSAL_MAX_CHARS": "1800",
                              "PROPOSAL_AUTHOR_AGREES": "False"}, env_file=None)
    assert (settings.proposal_max_chars, settings.proposal_author_agrees) == (1800, False)
