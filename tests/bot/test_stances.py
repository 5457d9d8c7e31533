"""Emoji normalisation and the stance map."""

import pytest

from bot.config import ConfigError, Settings
from bot.errors import BadArgument
from bot.events import Emoji
from bot.stances import StanceMap, emoji_key


@pytest.mark.parametrize("name,custom,key", [
    ("👍", None, "👍"), ("👍🏽", None, "👍"), ("👍\ufe0f", None, "👍"),
    ("+1", None, "👍"), ("thumbsup", None, "👍"), ("+1::skin-tone-4", None, "👍"),
    (":-1:", None, "👎"), ("🤷\u200d♂\ufe0f", None, "🤷"), ("shrug::skin-tone-2", None, "🤷"),
    ("partyparrot", None, "slack:partyparrot"), ("oldname", "1234", "custom:1234"),
])
def test_emoji_key(name, custom, key):
    assert emoji_key(Emoji(name, custom)) == key


def test_default_map_and_custom_emoji_by_id():
    default = StanceMap.default()
    assert default.stance_of(Emoji("-1")) == ("👎", "disagree")
    assert default.stance_of(Emoji("🎉")) == ("🎉", None)
    custom = StanceMap.parse("agree=✅,custom:42;disagree=❌;pass=🤷")
    assert custom.stance_of(Emoji("renamed", "42"))[1] == "agree"
    assert custom.stance_of(Emoji("white_check_mark"))[1] == "agree"
    assert custom.seeds == ("✅", "❌", "🤷")


def test_bad_map_is_rejected():
    with pytest.raises(BadArgument):
        StanceMap.parse("love=❤️")


def test_an_emoji_for_two_stances_is_refused_and_only_unicode_is_seeded():
    with pytest.raises(BadArgument):
        StanceMap.parse("agree=👍;disagree=👍")
    only_custom = StanceMap.parse("agree=slack:party;disagree=custom:12")
    assert only_custom.mapping == {"slack:party": "agree", "custom:12": "disagree"}
    assert only_custom.seeds == ()


def test_seeds_keep_their_variation_selector():
    """Issue 11: Discord refuses ❤ without U+FE0F (10014); the seed keeps it as written."""
    hearts = StanceMap.parse("agree=❤️,👍🏽;disagree=👎;pass=1️⃣")
    assert hearts.seeds == ("❤\ufe0f", "👎", "1\ufe0f\u20e3")
    assert hearts.stance_of(Emoji("heart"))[0] == "slack:heart"
    assert hearts.stance_of(Emoji("❤"))[1] == "agree"  # counted however it is spelled


@pytest.mark.parametrize("spec,fixed", [
    ("agree=❤", "❤\ufe0f"), ("agree=👍\ufe0f", "👍"), ("agree=✅;disagree=x\u0301y", "👍"),
])
def test_an_emoji_discord_would_refuse_is_refused_when_settings_load(tmp_path, spec, fixed):
    with pytest.raises(ConfigError) as caught:
        Settings.load({"STANCE_EMOJI": spec, "PLANBOT_HOME": str(tmp_path)}, env_file=None)
    assert f"write {fixed} instead" in str(caught.value.problems["STANCE_EMOJI"])
