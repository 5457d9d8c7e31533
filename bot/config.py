"""Settings read from the environment and a ``.env`` file (python-dotenv).

Every key is listed, with a comment, in ``.env.example``. ``Settings.load`` checks them all
and reports every missing or malformed key at once in one :class:`ConfigError`; values of
secret keys never appear in messages or in ``repr``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.errors import BadArgument
from bot.i18n import LANGUAGES
from bot.stances import StanceMap

SECRET_KEYS = frozenset({
    "PARTICIPANT_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET", "DATABASE_URL",
})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DURATION = re.compile(r"^(?P<n>[0-9]+)\s*(?P<unit>[mhdw])$")


class ConfigError(Exception):
    """One or more settings are missing or malformed; ``problems`` maps key -> reason."""

    def __init__(self, problems: Mapping[str, str], language: str = "fr") -> None:
        from bot.i18n import translate

        self.problems = dict(problems)
        lines = [f"  {key}: {reason}" for key, reason in sorted(self.problems.items())]
        super().__init__(translate("config.invalid", language) + "\n" + "\n".join(lines))


def parse_duration(text: str) -> timedelta:
    """``90m``, ``36h``, ``7d``, ``2w`` -> timedelta; raises ``ValueError``, or
    ``OverflowError`` for a duration beyond ``timedelta``'s range."""
    match = DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration like 36h or 7d: {text!r}")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match["unit"]]
    return timedelta(**{unit: int(match["n"])})


def _ids(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """All of planbot's settings. Build with :meth:`load`; tests may build one directly."""

    data_dir: Path
    database_url: str
    participant_secret: str = field(repr=False)
    language: str = "fr"
    stance_map: StanceMap = field(default_factory=StanceMap.default)
    discord_token: str | None = field(default=None, repr=False)
    discord_facilitator_role_ids: frozenset[str] = frozenset()
    discord_guild_ids: frozenset[str] = frozenset()
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_mode: str = "socket"
    slack_port: int = 3000
    slack_facilitator_ids: frozenset[str] = frozenset()
    digest_day: str = "mon"
    digest_time: time = time(9, 0)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Montreal"))
    digest_min_votes: int = 5
    reminder_before: timedelta = timedelta(hours=24)
    log_format: str = "text"
    log_level: str = "INFO"
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    slack_api_base: str | None = None
    slack_host: str = "127.0.0.1"

    @property
    def facilitator_ids(self) -> frozenset[str]:
        """Every role, user-group and user id that marks a facilitator, on any platform."""
        return self.discord_facilitator_role_ids | self.slack_facilitator_ids

    @property
    def discord_enabled(self) -> bool:
        return bool(self.discord_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: str | Path | None = ".env",
             **overrides: object) -> Settings:
        """Read settings from ``env`` (default ``os.environ``) over ``env_file``.

        Raises :class:`ConfigError` listing every bad key. Creates the data folder and, when
        ``PARTICIPANT_SECRET`` is unset, a random secret kept in ``<data>/participant.secret``
        (mode 0600) so pseudonyms stay stable across runs.
        """
        values: dict[str, str] = {}
        if env_file and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)

        def get(key: str, default: str = "") -> str:
            return (values.get(key) or default).strip()

        problems: dict[str, str] = {}
        kw: dict[str, object] = {}

        data_dir = Path(get("PLANBOT_DATA_DIR", ".planbot")).expanduser()
        kw["data_dir"] = data_dir
        if data_dir.exists() and not data_dir.is_dir():
            problems["PLANBOT_DATA_DIR"] = "exists and is not a folder"
        kw["database_url"] = get("DATABASE_URL") or f"sqlite:///{(data_dir / 'planbot.db').resolve()}"
        if not re.match(r"^[a-z][a-z0-9+]*://", kw["database_url"]):
            problems["DATABASE_URL"] = "not a SQLAlchemy URL (sqlite:///path or postgresql://...)"

        language = get("PLANBOT_LANGUAGE", "fr").lower()
        if language not in LANGUAGES:
            problems["PLANBOT_LANGUAGE"] = f"must be one of {', '.join(LANGUAGES)}"
        kw["language"] = language

        spec = get("STANCE_EMOJI")
        if spec:
            try:
                kw["stance_map"] = StanceMap.parse(spec)
            except BadArgument as err:
                problems["STANCE_EMOJI"] = err.message("en")

        kw["discord_token"] = get("DISCORD_TOKEN") or None
        kw["discord_facilitator_role_ids"] = _ids(get("DISCORD_FACILITATOR_ROLE_IDS"))
        kw["discord_guild_ids"] = _ids(get("DISCORD_GUILD_IDS"))
        for key in ("DISCORD_FACILITATOR_ROLE_IDS", "DISCORD_GUILD_IDS"):
            if any(not (i.isascii() and i.isdigit()) for i in _ids(get(key))):
                problems[key] = "must be comma-separated numeric Discord ids"

        kw["slack_bot_token"] = get("SLACK_BOT_TOKEN") or None
        kw["slack_app_token"] = get("SLACK_APP_TOKEN") or None
        kw["slack_signing_secret"] = get("SLACK_SIGNING_SECRET") or None
        kw["slack_facilitator_ids"] = _ids(get("SLACK_FACILITATOR_IDS"))
        mode = get("SLACK_MODE", "socket").lower()
        kw["slack_mode"] = mode
        if mode not in ("socket", "http"):
            problems["SLACK_MODE"] = "must be socket or http"
        if kw["slack_bot_token"]:
            if not str(kw["slack_bot_token"]).startswith("xoxb-"):
                problems["SLACK_BOT_TOKEN"] = "must be a bot token starting with xoxb-"
            if mode == "socket" and not kw["slack_app_token"]:
                problems["SLACK_APP_TOKEN"] = "required in Socket Mode (an xapp- token)"
            elif kw["slack_app_token"] and not str(kw["slack_app_token"]).startswith("xapp-"):
                problems["SLACK_APP_TOKEN"] = "must be an app-level token starting with xapp-"
            if mode == "http" and not kw["slack_signing_secret"]:
                problems["SLACK_SIGNING_SECRET"] = "required in HTTP mode"
        port = get("SLACK_PORT", "3000")
        if not port.isdigit() or not 0 < int(port) < 65536:
            problems["SLACK_PORT"] = "must be a TCP port number"
        else:
            kw["slack_port"] = int(port)

        day = get("DIGEST_DAY", "mon").lower()[:3]
        if day not in DAYS:
            problems["DIGEST_DAY"] = "must be a weekday (mon..sun)"
        kw["digest_day"] = day
        try:
            kw["digest_time"] = time.fromisoformat(get("DIGEST_TIME", "09:00"))
        except ValueError:
            problems["DIGEST_TIME"] = "must be HH:MM"
        try:
            kw["timezone"] = ZoneInfo(get("DIGEST_TIMEZONE", "America/Montreal"))
        except (ZoneInfoNotFoundError, ValueError):
            problems["DIGEST_TIMEZONE"] = "must be an IANA time zone such as America/Montreal"
        min_votes = get("DIGEST_MIN_VOTES", "5")
        if not min_votes.isdigit() or int(min_votes) < 1:
            problems["DIGEST_MIN_VOTES"] = "must be a whole number of votes, at least 1"
        else:
            kw["digest_min_votes"] = int(min_votes)
        try:
            kw["reminder_before"] = parse_duration(get("REMINDER_BEFORE", "24h"))
        except (ValueError, OverflowError):
            problems["REMINDER_BEFORE"] = "must be a duration such as 24h or 2d"

        log_format = get("LOG_FORMAT", "text").lower()
        if log_format not in ("text", "json"):
            problems["LOG_FORMAT"] = "must be text or json"
        kw["log_format"] = log_format
        level = get("LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems["LOG_LEVEL"] = "must be DEBUG, INFO, WARNING or ERROR"
        kw["log_level"] = level

        # Endpoints other than Discord's and Slack's own: local servers, in tests.
        for key in ("DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "SLACK_API_BASE"):
            value = get(key) or None
            if value and not re.match(r"^(https?|wss?)://", value):
                problems[key] = "must be an http(s):// or ws(s):// URL"
            kw[key.lower()] = value
        if bool(kw["discord_api_base"]) != bool(kw["discord_gateway_url"]):
            problems["DISCORD_GATEWAY_URL"] = "set together with DISCORD_API_BASE, or neither"
        kw["slack_host"] = get("SLACK_HOST", "127.0.0.1")

        secret = get("PARTICIPANT_SECRET")
        if secret and len(secret) < 16:
            problems["PARTICIPANT_SECRET"] = "must be at least 16 characters"
        kw.update(overrides)
        if problems:
            raise ConfigError(problems, language if language in LANGUAGES else "fr")
        kw["participant_secret"] = secret or _stored_secret(Path(kw["data_dir"]))
        return cls(**kw)


def _stored_secret(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "participant.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
