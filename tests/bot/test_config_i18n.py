"""Settings report every bad key at once without secrets; catalogues agree across languages."""

import re
import string

from babel.messages.pofile import read_po

from bot.config import ConfigError, Settings
from bot.i18n import LOCALES, language_of, translate


def test_every_bad_key_reported_at_once_without_secret_values(tmp_path):
    env = {"PLANBOT_DATA_DIR": str(tmp_path), "SLACK_BOT_TOKEN": "not-a-token-SECRETVALUE",
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
    settings = Settings.load({"PLANBOT_DATA_DIR": str(tmp_path)}, env_file=tmp_path / ".env")
    assert settings.language == "en" and settings.digest_day == "fri"
    assert str(settings.timezone) == "America/Montreal"
    assert settings.database_url.startswith("sqlite:///")
    assert len(settings.participant_secret) >= 32
    assert Settings.load({"PLANBOT_DATA_DIR": str(tmp_path)}, env_file=None) \
        .participant_secret == settings.participant_secret
    assert "participant_secret" not in repr(settings)


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogues_have_the_same_ids_and_fields():
    cats = {}
    for lang in ("fr", "en"):
        with open(LOCALES / lang / "LC_MESSAGES" / "planbot.po", "rb") as fh:
            cats[lang] = {m.id: m.string for m in read_po(fh) if m.id}
    assert cats["fr"].keys() == cats["en"].keys()
    for msgid, fr in cats["fr"].items():
        assert fr and cats["en"][msgid], msgid
        assert _fields(fr) == _fields(cats["en"][msgid]), msgid


def test_every_msgid_used_in_code_exists():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    used = set()
    for path in list((root / "bot").rglob("*.py")) + list((root / "bot").rglob("*.j2")):
        used |= set(re.findall(r"""["']((?:error|plan|round|digest|plans|help|polis|export)\.(?!(?:html|png|md|json)\b)[a-z_]*[a-z])["']""",
                               path.read_text()))
    with open(LOCALES / "en" / "LC_MESSAGES" / "planbot.po", "rb") as fh:
        known = {m.id for m in read_po(fh)}
    assert used - known == set()


def test_language_tags():
    assert language_of("fr-CA") == "fr" and language_of("en_US") == "en"
    assert language_of("de") == "fr" and language_of(None, "en") == "en"
    assert translate("round.closed", "en-GB", round=3) == "Round #3 closed."


def test_env_example_documents_every_setting():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    documented = set(re.findall(r"^([A-Z_]+)=", (root / ".env.example").read_text(), re.M))
    read = set(re.findall(r'get\("([A-Z_]+)"', (root / "bot" / "config.py").read_text()))
    read |= set(re.findall(r'"((?:DISCORD|SLACK)_[A-Z_]+)"', (root / "bot" / "config.py").read_text()))
    assert read - documented == set()
