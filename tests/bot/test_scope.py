"""Rounds belong to the place where they were opened (issue 10): facilitators of another
Discord guild or Slack workspace cannot act on them and cannot tell them from rounds that do
not exist; another place joins only with an invitation, once, before it expires. And bad
input is refused clearly: a NUL character, plans over the limits, Polis exports too big."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import PlanFileError
from bot.events import Actor, CommandInvoked
from bot.platform import ChannelRef
from tests.helpers import START, RecordingPlatform, make_core

A = ChannelRef("discord", "guildA", "a1")
B = ChannelRef("discord", "guildB", "b1")
S = ChannelRef("slack", "T2", "C2")
NAMING = ("status", "close", "digest", "invite")


def command(channel: ChannelRef, action: str, lang: str = "en", **args: str) -> CommandInvoked:
    """``action`` run by a facilitator (Manage Server) in ``channel``."""
    return CommandInvoked(platform=channel.platform, workspace_id=channel.workspace_id,
                          channel_id=channel.channel_id, occurred_at=START,
                          actor=Actor("boss"), action=action, args=args, locale=lang,
                          is_admin=True)


@pytest.fixture
def core(tmp_path):
    core = make_core(tmp_path)
    yield core
    core.close()


async def open_in_a(core):
    platform = RecordingPlatform()
    core.attach(platform)
    answer = await core.run_command(command(A, "open", plan="sample"), platform)
    public_id = re.search(r"#([a-z0-9]+)", answer.text).group(1)
    return public_id, platform


async def test_another_places_facilitator_gets_the_answer_of_a_round_that_does_not_exist(core):
    public_id, platform = await open_in_a(core)
    rnd = core.store.round_by_public_id(public_id)
    assert rnd.home == ("discord", "guildA") and str(rnd.id) != public_id
    for lang in ("en", "fr"):
        for action in NAMING:
            for place in (B, S):
                refused = await core.run_command(command(place, action, lang, round=public_id),
                                                 platform)
                absent = await core.run_command(command(place, action, lang, round="zzzzzzzzzz"),
                                                platform)
                assert refused.text == absent.text.replace("zzzzzzzzzz", public_id), action
            # The row number is not an id people can use, even at home.
            by_row = await core.run_command(command(A, action, lang, round=str(rnd.id)), platform)
            assert by_row.text == (await core.run_command(
                command(A, action, lang, round="zzzzzzzzzz"), platform)).text.replace(
                "zzzzzzzzzz", str(rnd.id))
    assert core.store.get_round(rnd.id).status == "open" and platform.digests == []
    # At home the same commands work.
    status = await core.run_command(command(A, "status", round=f"#{public_id.upper()}"), platform)
    assert status.text.startswith(f"Round #{public_id} ")


async def test_an_invitation_works_once_and_expires(core):
    public_id, platform = await open_in_a(core)
    slack = RecordingPlatform("slack")
    core.attach(slack)
    answer = await core.run_command(command(A, "invite", "fr"), platform)
    code = re.search(r"`([a-z0-9-]{14})`", answer.text).group(1)
    assert "expire le 2026-11-04" in answer.text  # 48 h, in the digest time zone
    # Another guild's facilitator cannot make invitations to it, nor close it once joined.
    joined = await core.run_command(command(S, "open", join=code.upper()), slack)
    assert joined.text == (f"Round #{public_id} on this plan was already open (Discord): this "
                           f"channel joins it.\nRound #{public_id} opened: 8 sections posted.")
    assert len(slack.sections) == 8
    again = await core.run_command(command(S, "open", join=code), slack)  # the same, re-run
    assert "already posted" in again.text and len(slack.sections) == 8
    used = await core.run_command(command(B, "open", plan="sample", join=code), platform)
    assert used.text.startswith("This invitation code is unknown, expired or already used")
    status = await core.run_command(command(S, "status", round=public_id), slack)
    assert status.text.startswith(f"Round #{public_id} ")
    refused = await core.run_command(command(S, "close", round=public_id), slack)
    assert "opened in another server or workspace" in refused.text
    # Expired: two days and a minute later the next code is worth nothing.
    late = re.search(r"`([a-z0-9-]{14})`", (await core.run_command(
        command(A, "invite"), platform)).text).group(1)
    core.clock.advance(timedelta(hours=48, minutes=1))
    expired = await core.run_command(command(B, "open", plan="sample", join=late), platform)
    unknown = await core.run_command(command(B, "open", plan="sample", join="abcd-efgh-jkmn"),
                                     platform)
    assert expired.text == used.text == unknown.text
    assert core.store.round_by_public_id(public_id).places == {("discord", "guildA"),
                                                               ("slack", "T2")}


async def test_opening_a_plan_elsewhere_makes_that_places_own_round(core):
    public_id, platform = await open_in_a(core)
    answer = await core.run_command(command(B, "open", plan="sample"), platform)
    other = re.search(r"#([a-z0-9]+)", answer.text).group(1)
    assert other != public_id and len(core.store.rounds("open")) == 2
    code = re.search(r"`([a-z0-9-]{14})`", (await core.run_command(
        command(A, "invite"), platform)).text).group(1)
    refused = await core.run_command(command(B, "open", plan="sample", join=code), platform)
    assert refused.text.startswith(f"Round #{other} over this plan is already open")


async def test_a_nul_in_a_plan_name_is_refused_clearly_on_every_store(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    platform = RecordingPlatform()
    for lang, text in (("en", "The option “plan” contains a NUL character (U+0000)"),
                       ("fr", "L’option « plan » contient un caractère NUL (U+0000)")):
        answer = await core.run_command(command(A, "open", lang, plan="sam\x00ple"), platform)
        assert answer.text.startswith(text) and answer.ephemeral
    assert platform.sections == [] and core.store.rounds() == []
    answer = await core.run_command(command(A, "open", plan="sample"), platform)
    assert len(platform.sections) == 8, answer.text  # nothing was left half-done
    core.close()
    core.store.engine.dispose()


def write_plan(folder: Path, sections: int, body: str = "Texte.") -> Path:
    path = folder / "big.fr.md"
    path.write_text("# Grand plan\n\n" + "".join(
        f"## Section {i} {{#s{i}}}\n\n{body}\n\n" for i in range(sections)), encoding="utf-8")
    return path


def test_plans_over_the_limits_are_refused_naming_the_limit(tmp_path):
    from bot.plans import import_plan
    from tests.helpers import make_store

    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(PlanFileError) as err:
        import_plan(store, [write_plan(tmp_path, 4)], START, max_sections=3)
    assert err.value.message("en").endswith("4 sections, more than the limit of 3 "
                                            "(PLAN_MAX_SECTIONS).")
    assert "plus que la limite de 3" in err.value.message("fr")
    with pytest.raises(PlanFileError) as err:
        import_plan(store, [write_plan(tmp_path, 2, "x" * 101)], START, max_section_chars=100)
    assert err.value.message("en").endswith(
        "line 3: section “s0” has 101 characters, more than the limit of 100 "
        "(PLAN_MAX_SECTION_CHARS).")
    assert store.list_plans() == []
    import_plan(store, [write_plan(tmp_path, 3, "x" * 100)], START, max_sections=3,
                max_section_chars=100)
    assert [p.slug for p in store.list_plans()] == ["big"]


def test_a_polis_export_too_big_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from bot.errors import BadArgument
    from bot.identity import Pseudonymizer
    from bot.polis import import_conversation
    from tests.helpers import make_store

    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    folder = tmp_path / "huge"
    folder.mkdir()
    (folder / "comments.csv").write_text("comment-id,author-id,comment-body,timestamp\n")
    with (folder / "votes.csv").open("wb") as fh:
        fh.truncate(3 * 2**20 + 1)  # sparse: 3 MB and a byte on disk costs nothing

    def no_reading(*_args, **_kwargs):
        raise AssertionError("read before its size was checked")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "open", no_reading)
    with pytest.raises(BadArgument) as err:
        import_conversation(store, Pseudonymizer("s" * 20), folder, START,
                            max_bytes=3 * 2**20)
    assert err.value.message("en") == (f"{folder / 'votes.csv'}: 3.0 MB, more than the limit "
                                        "of 3 MB (POLIS_MAX_MB); nothing was read.")
    assert "rien n’a été lu" in err.value.message("fr")
    assert store.rounds() == []
