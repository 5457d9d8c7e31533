"""Settings report every bad key at once without secrets; catalogues agree across languages."""

import re
import string

from babel.messages.pofile import read_po

from bot.config import ConfigError, Settings
from bot.i18n import LOCALES, language_of, translate, translate_plural


def test_every_bad_key_reported_at_once_without_secret_values(tmp_path):
    env = {"PLANBOT_HOME": str(tmp_path), "SLACK_BOT_TOKEN": "not-a-token-SECRETVALUE",
           "SLACK_MODE": "carrier-pigeon", "DIGEST_TIME": "25:99",
           "DIGEST_TIMEZONE": "Mars/Olympus", "PARTICIPANT_SECRET": "short",
           "DISCORD_FACILITATOR_ROLE_IDS": "abc"}
    try:
        Settings.load(env, env_file=None)
    except ConfigError as err:
        text = str(err)
        assert set(err.problems) == {"SLACK_BOT_TOKEN", "SLACK_MODE", "DIGEST_TIME",
                                     "DIGEST_TIMEZONE", "PARTICIPANT_SECRET",
                                     "DISCORD_FACILITATOR_ROLE_IDS"}
        assert "SECRETVALUE" not in text and "short" not in text.split("PARTICIPANT_SECRET")[1][:5]
    else:
        raise AssertionError("bad settings were accepted")


def test_defaults_and_dotenv(tmp_path):
    (tmp_path / ".env").write_text("PLANBOT_LANGUAGE=en\nDIGEST_DAY=friday\n")
    settings = Settings.load({"PLANBOT_HOME": str(tmp_path)}, env_file=tmp_path / ".env")
    assert settings.language == "en" and settings.digest_day == "fri"
    assert str(settings.timezone) == "America/Montreal"
    assert settings.database_url.startswith("sqlite:///")
    assert len(settings.participant_secret) >= 32
    assert Settings.load({"PLANBOT_HOME": str(tmp_path)}, env_file=None) \
        .participant_secret == settings.participant_secret
    assert "participant_secret" not in repr(settings)


def test_repr_shows_no_secret_and_no_database_password(tmp_path):
    env = {"PLANBOT_HOME": str(tmp_path), "PARTICIPANT_SECRET": "pseudonym-key-TOPSECRET1",
           "DISCORD_TOKEN": "discord-TOPSECRET2", "SLACK_BOT_TOKEN": "xoxb-TOPSECRET3",
           "SLACK_APP_TOKEN": "xapp-TOPSECRET4", "SLACK_SIGNING_SECRET": "TOPSECRET5",
           "DATABASE_URL": "postgresql://planbot:TOPSECRET6@db:5432/planbot"}
    settings = Settings.load(env, env_file=None)
    assert settings.database_url == env["DATABASE_URL"]
    shown = repr(settings)
    assert "TOPSECRET" not in shown and "TOPSECRET" not in str(settings)
    assert "database_url='postgresql://planbot:***@db:5432/planbot'" in shown
    assert "slack_mode='socket'" in shown and "discord_token" not in shown
    query = Settings.load(dict(env, DATABASE_URL="postgresql://db/p?user=u&password=TOPSECRET7"),
                          env_file=None)
    assert "TOPSECRET" not in repr(query) and "user=u&password=***" in repr(query)
    local = Settings.load({"PLANBOT_HOME": str(tmp_path)}, env_file=None)
    assert f"database_url='{local.database_url}'" in repr(local)  # nothing to hide there


def test_every_key_group_reports_its_problems_together(tmp_path):
    (tmp_path / "file").write_text("")
    env = {"PLANBOT_HOME": str(tmp_path / "file"), "DATABASE_URL": "no-scheme",
           "PLANBOT_LANGUAGE": "de", "STANCE_EMOJI": "garbage", "DISCORD_GUILD_IDS": "1,x",
           "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "wrong", "SLACK_PORT": "70000",
           "DIGEST_DAY": "someday", "REMINDER_BEFORE": "soon", "LOG_FORMAT": "xml",
           "LOG_LEVEL": "loud", "DISCORD_API_BASE": "ftp://x", "SLACK_API_BASE": "nope"}
    try:
        Settings.load(env, env_file=None)
    except ConfigError as err:
        assert set(err.problems) == {
            "PLANBOT_HOME", "DATABASE_URL", "PLANBOT_LANGUAGE", "STANCE_EMOJI",
            "DISCORD_GUILD_IDS", "SLACK_APP_TOKEN", "SLACK_PORT", "DIGEST_DAY",
            "REMINDER_BEFORE", "LOG_FORMAT", "LOG_LEVEL", "DISCORD_API_BASE",
            "DISCORD_GATEWAY_URL", "SLACK_API_BASE"}
        assert "  DISCORD_GATEWAY_URL: set together with DISCORD_API_BASE, or neither" in \
            err.message("en").splitlines()
        # The details speak the heading's language (no English under a French heading).
        french = err.message("fr")
        assert "  DISCORD_GATEWAY_URL: se règle avec DISCORD_API_BASE, ou pas du tout" in \
            french.splitlines()
        assert "must" not in french and "STANCE_EMOJI: " in french
        for line in french.splitlines()[1:]:
            assert not line.split(": ", 1)[1].startswith("config."), line  # every id worded
    else:
        raise AssertionError("bad settings were accepted")


def test_settings_read_every_key(tmp_path):
    env = {"PLANBOT_HOME": str(tmp_path), "PLANBOT_LANGUAGE": "EN",
           "DISCORD_TOKEN": "t", "DISCORD_FACILITATOR_ROLE_IDS": "1, 2", "DISCORD_GUILD_IDS": "3",
           "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MODE": "HTTP", "SLACK_SIGNING_SECRET": "s",
           "SLACK_PORT": "8080", "SLACK_FACILITATOR_IDS": "U1,S2", "SLACK_HOST": "0.0.0.0",
           "DIGEST_DAY": "Wednesday", "DIGEST_TIME": "17:30", "DIGEST_TIMEZONE": "Europe/Paris",
           "REMINDER_BEFORE": "2d", "LOG_FORMAT": "JSON", "LOG_LEVEL": "debug",
           "DISCORD_API_BASE": "http://127.0.0.1:1/api", "DISCORD_GATEWAY_URL": "ws://127.0.0.1:2",
           "SLACK_API_BASE": "http://127.0.0.1:3/api/"}
    s = Settings.load(env, env_file=None, slack_host="127.0.0.2")
    assert (s.language, s.slack_mode, s.slack_port, s.log_format, s.log_level) == \
        ("en", "http", 8080, "json", "DEBUG")
    assert s.discord_facilitator_role_ids == {"1", "2"} and s.discord_guild_ids == {"3"}
    assert s.facilitator_ids == {"1", "2", "U1", "S2"} and s.slack_host == "127.0.0.2"
    assert (s.digest_day, s.digest_time.isoformat(), str(s.timezone)) == \
        ("wed", "17:30:00", "Europe/Paris")
    assert s.reminder_before.days == 2 and s.discord_enabled and s.slack_enabled
    assert (s.discord_api_base, s.discord_gateway_url, s.slack_api_base) == (
        "http://127.0.0.1:1/api", "ws://127.0.0.1:2", "http://127.0.0.1:3/api/")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


# "section(s)", "reply(ies)", "publiée(s)": a count's text that should be a plural entry
_CLUMSY = re.compile(r"\w\((?:s|es|ies|e)\)")


def _catalogue(lang: str):
    with open(LOCALES / lang / "LC_MESSAGES" / "planbot.po", "rb") as fh:
        return read_po(fh, locale=lang)


def test_catalogues_have_the_same_ids_and_fields():
    cats = {lang: _catalogue(lang) for lang in ("fr", "en")}
    texts = {lang: {m.id if isinstance(m.id, str) else m.id[0]: m for m in cat if m.id}
             for lang, cat in cats.items()}
    assert texts["fr"].keys() == texts["en"].keys()
    for key, fr in texts["fr"].items():
        en = texts["en"][key]
        assert fr.pluralizable == en.pluralizable, key
        if not fr.pluralizable:
            assert fr.string and en.string, key
            assert not _CLUMSY.search(fr.string + en.string), f"{key}: use a plural entry"
            assert _fields(fr.string) == _fields(en.string), key
            continue
        assert fr.id[1] == en.id[1] == f"{key}.plural", key
        forms = {lang: texts[lang][key].string for lang in cats}
        for lang, strings in forms.items():
            # every form of the language's rule (Babel's CLDR data: fr one/many/other, en
            # one/other), none empty, none still "(s)"-style
            assert len(strings) == cats[lang].num_plurals and all(strings), (lang, key)
            assert not any(_CLUMSY.search(s) for s in strings), (lang, key)
        fields = {frozenset(_fields(s)) for strings in forms.values() for s in strings}
        assert len(fields) == 1, key


def test_plural_forms_follow_each_language():
    assert [translate_plural("count.sections", n, "fr-CA") for n in (0, 1, 2, 1_000_000)] == [
        "0 section", "1 section", "2 sections", "1\u00a0000\u00a0000 de sections"]
    assert translate_plural("count.stances", 6808, "en") == "6,808 stances"
    assert [translate_plural("count.replies", n, "en") for n in (0, 1, 2)] == [
        "0 replies", "1 reply", "2 replies"]
    assert translate_plural("round.opened", 1, "en-CA", round=4) == "Round #4 opened: 1 section posted."
    assert translate_plural("no.such_id", 3, "en") == "no.such_id"


# a quoted dotted name under a catalogue prefix, except file names and logger names
_ID = (r"""(?<!getLogger\()["']((?:{prefixes})(?:\.[a-z_]*[a-z])+)"""
       r"""(?<!\.html)(?<!\.png)(?<!\.md)(?<!\.json)(?<!\.py)["']""")
_PLURAL_CALL = r"""(?<![\w.])(?:_n|translate_plural|tn)\(\s*["']([a-z_.]+)["']"""
_SINGULAR_CALL = r"""(?<![\w.])(?:_|translate|t)\(\s*["']([a-z_.]+)["']"""


def _code_files():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    for folder in ("bot", "integrations"):
        for pattern in ("*.py", "*.j2", "*.html"):
            yield from (root / folder).rglob(pattern)


def test_every_msgid_used_in_code_exists_and_plurals_are_read_as_plurals():
    cat = _catalogue("en")
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id}
    plural = {m.id[0] for m in cat if m.pluralizable}
    # every prefix the catalogue uses, so a new family of ids is scanned too
    prefixes = "|".join(sorted({msgid.split(".")[0] for msgid in known} | {"error", "discord", "slack"}))
    used, used_plural, used_singular = set(), set(), set()
    for path in _code_files():
        text = path.read_text()
        used |= set(re.findall(_ID.format(prefixes=prefixes), text))
        used_plural |= set(re.findall(_PLURAL_CALL, text))
        used_singular |= set(re.findall(_SINGULAR_CALL, text))
    assert {"discord.name.round", "slack.usage", "digest.new_replies"} <= used  # the scan sees
    assert used - known == set()
    # a plural entry read with translate() would come back as its id, and vice versa
    assert used_plural - plural == set() and used_singular & plural == set()
    assert (used & plural) - used_plural == set()


def test_language_tags():
    assert language_of("fr-CA") == "fr" and language_of("en_US") == "en"
    assert language_of("de") == "fr" and language_of(None, "en") == "en"
    assert translate("round.closed", "en-GB", round=3) == "Round #3 closed."


def test_env_example_documents_every_setting():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    documented = set(re.findall(r"^([A-Z_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    read = set(re.findall(r'get\("([A-Z_]+)"', (root / "bot" / "config.py").read_text()))
    read |= set(re.findall(r'"((?:DISCORD|SLACK)_[A-Z_]+)"', (root / "bot" / "config.py").read_text()))
    assert read - documented == set()


def test_language_names_read_as_words_in_each_language():
    from bot.i18n import language_names

    assert language_names(["fr", "en"], "fr") == "français et anglais"
    assert language_names(["en"], "en") == "English"
    assert language_names(["fr", "en"], "en") == "French and English"
