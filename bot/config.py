"""Settings read from the environment and a ``.env`` file (python-dotenv).

Every key is listed, with a comment, in ``.env.example``. ``Settings.load`` checks them all
and reports every missing or malformed key at once in one :class:`ConfigError`; values of
secret keys never appear in messages or in ``repr``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.errors import BadArgument
from bot.files import private_dir
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_of
from bot.stances import StanceMap

SECRET_KEYS = frozenset({
    "PARTICIPANT_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET", "DATABASE_URL",
})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DURATION = re.compile(r"^(?P<n>[0-9]+)\s*(?P<unit>[mhdw])$")


class ConfigError(Exception):
    """One or more settings are missing or malformed; ``problems`` maps key -> reason, a
    catalogue id (``config.reason.*``) or an error that words itself (``BadArgument``).
    ``str()`` gives the report in ``language``; :meth:`message` in another."""

    def __init__(self, problems: Mapping[str, str | BadArgument], language: str = "fr") -> None:
        self.problems = dict(problems)
        super().__init__(self.message(language))

    def message(self, language: str) -> str:
        """Every problem, one per line under one heading, all in ``language``."""
        from bot.i18n import translate

        def reason(value: str | BadArgument) -> str:
            return value.message(language) if isinstance(value, BadArgument) \
                else translate(value, language)

        lines = [f"  {key}: {reason(value)}" for key, value in sorted(self.problems.items())]
        return translate("config.invalid", language) + "\n" + "\n".join(lines)


def parse_duration(text: str) -> timedelta:
    """``90m``, ``36h``, ``7d``, ``2w`` -> timedelta; raises ``ValueError``, or
    ``OverflowError`` for a duration beyond ``timedelta``'s range."""
    match = DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration like 36h or 7d: {text!r}")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match["unit"]]
    return timedelta(**{unit: int(match["n"])})


def parse_retention(text: str) -> timedelta:
    """A retention period in days or weeks (``365d``, ``52w``) -> timedelta. Minutes and
    hours are refused (``ValueError``): ``1m`` or ``1M`` would read as a minute to someone
    who means a month, and purge every text the same day."""
    if text.strip().lower()[-1:] not in ("d", "w"):
        raise ValueError(f"not a duration in days or weeks: {text!r}")
    return parse_duration(text)


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
    discord_shards: tuple[tuple[int, ...], int] | None = None
    """``PLANBOT_DISCORD_SHARDS``: the shard ids this process runs, and the shard count."""
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
    digest_min_group: int = 5
    proposal_max_chars: int = 500
    """``PROPOSAL_MAX_CHARS``: characters an anonymous proposal may hold (1 to 1,800)."""
    proposal_author_agrees: bool = True
    """``PROPOSAL_AUTHOR_AGREES``: a proposal's author counts as agreeing with it."""
    reminder_before: timedelta = timedelta(hours=24)
    retention_period: timedelta = timedelta(days=365)
    log_format: str = "text"
    log_level: str = "INFO"
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    slack_api_base: str | None = None
    slack_host: str = "127.0.0.1"
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    inbox_keep: timedelta = timedelta(days=7)
    journal_max_mb: int = 64
    invite_ttl: timedelta = timedelta(hours=48)
    copy_limit: int = 10
    copy_window: timedelta = timedelta(minutes=10)
    plan_max_sections: int = 60
    plan_max_section_chars: int = 20_000
    polis_max_bytes: int = 200 * 1024 * 1024

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

    def __repr__(self) -> str:
        """Every field but the secrets; a database URL's password shows as ``***``."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        values["database_url"] = _redact_url(self.database_url)
        shown = (f"{name}={value!r}" for name, value in values.items())
        return f"{type(self).__name__}({', '.join(shown)})"

    def facilitator_gaps(self) -> tuple[str, ...]:
        """The configured platforms (``discord``, ``slack``) given no facilitator setting:
        on Slack nobody can then run facilitator commands, on Discord only members with
        Manage Server (``Commands.is_facilitator``)."""
        return tuple(name for name, on, ids in (
            ("discord", self.discord_enabled, self.discord_facilitator_role_ids),
            ("slack", self.slack_enabled, self.slack_facilitator_ids)) if on and not ids)

    def with_secret(self) -> Settings:
        """These settings with a participant secret: the one they hold, else the one kept
        in ``<data_dir>/participant.secret``, created (mode 0600, with the home) when there
        is none yet."""
        if self.participant_secret:
            return self
        return replace(self, participant_secret=_stored_secret(Path(self.data_dir)))

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: str | Path | None = ".env",
             *, create_secret: bool = True, **overrides: object) -> Settings:
        """Read settings from ``env`` (default ``os.environ``) over ``env_file`` (the working
        directory's ``.env``) over ``<PLANBOT_HOME>/.env``.

        ``PLANBOT_HOME`` (``data_dir``) is taken from ``env``, else from ``env_file``, else
        ``PLANBOT_DATA_DIR`` (its 0.1 name), else :func:`default_home`; a relative path is made
        absolute. Raises :class:`ConfigError` listing every bad key. Creates the home and,
        when ``PARTICIPANT_SECRET`` is unset, a random secret kept in
        ``<home>/participant.secret`` (mode 0600) so pseudonyms stay stable across runs;
        with ``create_secret`` false nothing is created (``planbot doctor`` only reads, a
        command refused for its arguments leaves no trace): the secret is then the stored
        one, or empty until :meth:`with_secret`.
        """
        values = _raw_values(os.environ if env is None else env, env_file)
        reader = _Reader(values)
        for group in _GROUPS:
            group(reader)
        kw = reader.kw
        language = str(kw["language"])
        kw.update(overrides)
        if reader.problems:
            raise ConfigError(reader.problems, language if language in LANGUAGES else "fr")
        kw["participant_secret"] = reader.get("PARTICIPANT_SECRET") or _read_secret(
            Path(str(kw["data_dir"])))
        settings = cls(**kw)  # type: ignore[arg-type]
        return settings.with_secret() if create_secret else settings


class _Reader:
    """The raw values being read, the keyword arguments of :class:`Settings` built so far,
    and every problem found (key -> reason): each key group below adds to both."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.kw: dict[str, object] = {}
        self.problems: dict[str, str | BadArgument] = {}

    def get(self, key: str, default: str = "") -> str:
        """The stripped value of ``key``; ``default`` when unset or empty."""
        return (self.values.get(key) or default).strip()

    def choice(self, key: str, field_name: str, default: str, allowed: tuple[str, ...],
               reason: str, fold: Callable[[str], str] = str.lower) -> str:
        """Read a value that must be one of ``allowed`` once ``fold`` has set its case; the
        folded value is kept as the field even when refused (the error names the key)."""
        value = fold(self.get(key, default))
        if value not in allowed:
            self.problems[key] = reason
        self.kw[field_name] = value
        return value

    def parsed(self, key: str, field_name: str, default: str, parse: Callable[[str], object],
               errors: tuple[type[Exception], ...], reason: str) -> None:
        """Read a value through ``parse``; an exception in ``errors`` is reported as
        ``reason`` and the field keeps its default."""
        try:
            self.kw[field_name] = parse(self.get(key, default))
        except errors:
            self.problems[key] = reason


# Named in .env.example's comment on PLANBOT_HOME, not settings of their own: the XDG base
# folder, and the 0.1 name of PLANBOT_HOME, still honoured.
XDG_DATA_HOME, OLD_HOME_KEY = "XDG_DATA_HOME", "PLANBOT_DATA_DIR"


def default_home(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/planbot``, or ``~/.local/share/planbot`` when that is unset or not
    absolute (XDG Base Directory specification,
    https://specifications.freedesktop.org/basedir-spec/latest/)."""
    xdg = env.get(XDG_DATA_HOME, "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "planbot"


def _home(values: Mapping[str, str], environ: Mapping[str, str]) -> Path:
    raw = (values.get("PLANBOT_HOME") or values.get(OLD_HOME_KEY) or "").strip()
    return Path(raw).expanduser().absolute() if raw else default_home(environ)


def _dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.samefile(b)


def _storage(r: _Reader) -> None:
    data_dir = Path(r.get("PLANBOT_HOME"))
    r.kw["data_dir"] = data_dir
    if data_dir.exists() and not data_dir.is_dir():
        r.problems["PLANBOT_HOME"] = "config.reason.home_not_folder"
    url = r.get("DATABASE_URL") or f"sqlite:///{(data_dir / 'planbot.db').resolve()}"
    r.kw["database_url"] = url
    if not re.match(r"^[a-z][a-z0-9+]*://", url):
        r.problems["DATABASE_URL"] = "config.reason.database_url"


def preferred_language(values: Mapping[str, str]) -> str:
    """planbot's language by one rule for the bot's posts and the command line alike:
    ``PLANBOT_LANGUAGE``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in POSIX
    precedence) when it is French or English, else French. The value is not checked here
    (:meth:`Settings.load` reports a bad ``PLANBOT_LANGUAGE``)."""
    given = (values.get("PLANBOT_LANGUAGE") or "").strip().lower()
    if given:
        return given
    locale = next((values[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if values.get(k)), "")
    return language_of(locale.split(".")[0], DEFAULT_LANGUAGE)


def language_from_environment(environ: Mapping[str, str] | None = None,
                              env_file: str | Path | None = ".env") -> str:
    """:func:`preferred_language` over the sources :meth:`Settings.load` reads, before the
    settings are read (the command line's help); a bad value falls back to French."""
    lang = preferred_language(_raw_values(os.environ if environ is None else environ, env_file))
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _raw_values(environ: Mapping[str, str], env_file: str | Path | None) -> dict[str, str]:
    """``environ`` over ``env_file`` over ``<PLANBOT_HOME>/.env``, with ``PLANBOT_HOME``."""
    local = _dotenv(Path(env_file)) if env_file else {}
    home = _home({**local, **environ}, environ)
    values = {} if env_file and _same_file(Path(env_file), home / ".env") \
        else _dotenv(home / ".env")
    values.update(local)
    values.update(environ)
    values["PLANBOT_HOME"] = str(home)
    return values


def _language_and_stances(r: _Reader) -> None:
    r.choice("PLANBOT_LANGUAGE", "language", preferred_language(r.values), LANGUAGES,
             "config.reason.language")
    spec = r.get("STANCE_EMOJI")
    if spec:
        try:
            r.kw["stance_map"] = StanceMap.parse(spec)
        except BadArgument as err:
            r.problems["STANCE_EMOJI"] = err


def _discord(r: _Reader) -> None:
    r.kw["discord_token"] = r.get("DISCORD_TOKEN") or None
    for key in ("DISCORD_FACILITATOR_ROLE_IDS", "DISCORD_GUILD_IDS"):
        ids = _ids(r.get(key))
        r.kw[key.lower()] = ids
        if any(not (i.isascii() and i.isdigit()) for i in ids):
            r.problems[key] = "config.reason.discord_ids"
    if r.get("PLANBOT_DISCORD_SHARDS"):
        r.parsed("PLANBOT_DISCORD_SHARDS", "discord_shards", "", parse_shards, (ValueError,),
                 "config.reason.shards")


def parse_shards(text: str) -> tuple[tuple[int, ...], int]:
    """``0,1/4`` -> ((0, 1), 4): shard ids, then their count (docs: Discord's
    events/gateway#sharding). Raises ``ValueError`` for another form, an id not below the
    count, or an id given twice."""
    match = re.fullmatch(r"\s*(\d+(?:\s*,\s*\d+)*)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"not shard ids and their count like 0,1/4: {text!r}")
    ids = tuple(int(i) for i in match[1].split(","))
    count = int(match[2])
    if count < 1 or any(i >= count for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"shard ids must be distinct and below the count: {text!r}")
    return ids, count


def _slack(r: _Reader) -> None:
    bot_token = r.get("SLACK_BOT_TOKEN") or None
    app_token = r.get("SLACK_APP_TOKEN") or None
    signing_secret = r.get("SLACK_SIGNING_SECRET") or None
    r.kw.update(slack_bot_token=bot_token, slack_app_token=app_token,
                slack_signing_secret=signing_secret,
                slack_facilitator_ids=_ids(r.get("SLACK_FACILITATOR_IDS")),
                slack_host=r.get("SLACK_HOST", "127.0.0.1"))
    mode = r.choice("SLACK_MODE", "slack_mode", "socket", ("socket", "http"),
                    "config.reason.slack_mode")
    if bot_token:
        if not bot_token.startswith("xoxb-"):
            r.problems["SLACK_BOT_TOKEN"] = "config.reason.bot_token"
        if mode == "socket" and not app_token:
            r.problems["SLACK_APP_TOKEN"] = "config.reason.app_token_missing"
        elif app_token and not app_token.startswith("xapp-"):
            r.problems["SLACK_APP_TOKEN"] = "config.reason.app_token"
        if mode == "http" and not signing_secret:
            r.problems["SLACK_SIGNING_SECRET"] = "config.reason.signing_secret"
    port = r.get("SLACK_PORT", "3000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        r.problems["SLACK_PORT"] = "config.reason.port"
    else:
        r.kw["slack_port"] = int(port)


def _schedule(r: _Reader) -> None:
    day = r.get("DIGEST_DAY", "mon").lower()[:3]
    if day not in DAYS:
        r.problems["DIGEST_DAY"] = "config.reason.weekday"
    r.kw["digest_day"] = day
    r.parsed("DIGEST_TIME", "digest_time", "09:00", time.fromisoformat, (ValueError,),
             "config.reason.time")
    r.parsed("DIGEST_TIMEZONE", "timezone", "America/Montreal", ZoneInfo,
             (ZoneInfoNotFoundError, ValueError),
             "config.reason.timezone")
    r.parsed("REMINDER_BEFORE", "reminder_before", "24h", parse_duration,
             (ValueError, OverflowError), "config.reason.duration")
    r.parsed("RETENTION_PERIOD", "retention_period", "365d", parse_retention,
             (ValueError, OverflowError), "config.reason.retention")
    min_votes = r.get("DIGEST_MIN_VOTES", "5")
    if not min_votes.isdigit() or int(min_votes) < 1:
        r.problems["DIGEST_MIN_VOTES"] = "config.reason.min_votes"
    else:
        r.kw["digest_min_votes"] = int(min_votes)
    min_group = r.get("DIGEST_MIN_GROUP_SIZE", "5")
    if not min_group.isdigit() or int(min_group) < 1:
        r.problems["DIGEST_MIN_GROUP_SIZE"] = "config.reason.min_group"
    else:
        r.kw["digest_min_group"] = int(min_group)


PROPOSAL_CHARS_LIMIT = 1800
"""Most characters a proposal may be set to hold: with its heading it fits one Discord
message (2,000, docs: resources/message#create-message), within Slack's 3,000 of a text
input and of a section block."""


def _proposals(r: _Reader) -> None:
    size = r.get("PROPOSAL_MAX_CHARS", "500")
    if not size.isdigit() or not 1 <= int(size) <= PROPOSAL_CHARS_LIMIT:
        r.problems["PROPOSAL_MAX_CHARS"] = "config.reason.proposal_chars"
    else:
        r.kw["proposal_max_chars"] = int(size)
    agrees = r.choice("PROPOSAL_AUTHOR_AGREES", "proposal_author_agrees", "true",
                      ("true", "false"), "config.reason.true_false")
    r.kw["proposal_author_agrees"] = agrees == "true"


def _logging(r: _Reader) -> None:
    r.choice("LOG_FORMAT", "log_format", "text", ("text", "json"), "config.reason.log_format")
    r.choice("LOG_LEVEL", "log_level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"),
             "config.reason.log_level", fold=str.upper)


def _endpoints(r: _Reader) -> None:
    """Endpoints other than Discord's and Slack's own: local servers, in tests."""
    for key in ("DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "SLACK_API_BASE"):
        value = r.get(key) or None
        if value and not re.match(r"^(https?|wss?)://", value):
            r.problems[key] = "config.reason.endpoint"
        r.kw[key.lower()] = value
    if bool(r.kw["discord_api_base"]) != bool(r.kw["discord_gateway_url"]):
        r.problems["DISCORD_GATEWAY_URL"] = "config.reason.gateway"


def _health(r: _Reader) -> None:
    port = r.get("HEALTH_PORT")
    r.kw["health_host"] = r.get("HEALTH_HOST", "127.0.0.1")
    if not port:
        return
    if not port.isdigit() or not 0 < int(port) < 65536:
        r.problems["HEALTH_PORT"] = "config.reason.health_port"
    else:
        r.kw["health_port"] = int(port)


def _inbox(r: _Reader) -> None:
    """How long applied inbox rows are kept; how large the local journal may grow."""
    r.parsed("INBOX_KEEP", "inbox_keep", "7d", parse_duration, (ValueError, OverflowError),
             "must be a duration such as 7d or 12h")
    _positive(r, "JOURNAL_MAX_MB", "journal_max_mb", "64")


def _positive(r: _Reader, key: str, field_name: str, default: str, scale: int = 1) -> None:
    """A whole number of at least 1 (times ``scale``); reported under ``key`` otherwise."""
    value = r.get(key, default)
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        r.problems[key] = "must be a whole number, at least 1"
    else:
        r.kw[field_name] = int(value) * scale


def _limits(r: _Reader) -> None:
    """Limits against abuse (issue 10): invitations, copies per person, plans, imports."""
    for key, field_name, default in (("INVITE_TTL", "invite_ttl", "48h"),
                                     ("COPY_LIMIT_WINDOW", "copy_window", "10m")):
        r.parsed(key, field_name, default, parse_duration, (ValueError, OverflowError),
                 "must be a duration such as 48h or 10m")
    _positive(r, "COPY_LIMIT", "copy_limit", "10")
    _positive(r, "PLAN_MAX_SECTIONS", "plan_max_sections", "60")
    _positive(r, "PLAN_MAX_SECTION_CHARS", "plan_max_section_chars", "20000")
    _positive(r, "POLIS_MAX_MB", "polis_max_bytes", "200", scale=1024 * 1024)


def _participant_secret(r: _Reader) -> None:
    secret = r.get("PARTICIPANT_SECRET")
    if secret and len(secret) < 16:
        r.problems["PARTICIPANT_SECRET"] = "config.reason.secret"


# One reader per group of keys; each records its fields and its problems, so that every bad
# key is reported together.
_GROUPS: tuple[Callable[[_Reader], None], ...] = (
    _storage, _language_and_stances, _discord, _slack, _schedule, _logging, _endpoints,
    _participant_secret, _health, _limits, _proposals, _inbox,
)


def _redact_url(url: str) -> str:
    """A database URL with its password (``user:password@`` or ``password=`` in the query)
    shown as ``***``; the userinfo before ``@`` holds it
    (https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1)."""
    url = re.sub(r"(://[^/?#@:]*:)[^/?#@]*@", r"\1***@", url)
    return re.sub(r"([?&](?:password|passwd|pwd|pass)=)[^&#]*", r"\1***", url,
                  flags=re.IGNORECASE)


def _read_secret(data_dir: Path) -> str:
    """The secret kept in ``<data_dir>/participant.secret``; empty when there is none yet."""
    path = data_dir / "participant.secret"
    return path.read_text().strip() if path.is_file() else ""


def _stored_secret(data_dir: Path) -> str:
    private_dir(data_dir)
    path = data_dir / "participant.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
