"""``planbot doctor``: checks an installation and says in plain words how to fix what is wrong.

Sections: settings; the store (database reachable, each failure told apart; schema version;
participant secret against the store's fingerprint, see ``bot.home``); Discord (token,
privileged intent, commands, per-channel permissions: ``integrations.discord.checks``);
Slack (tokens, scopes against the manifest, channel membership:
``integrations.slack.checks``). It reads only: nothing is migrated, posted or recorded, and
no database or participant secret is created (``Settings.load(create_secret=False)``).

Channels checked: those of the store's open rounds, and those given as ``PLATFORM:ID``
(``--channel discord:123`` before a first round). Exit status 0 only when no check fails.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.checkup import Finding, fail, ok, warn
from bot.config import Settings
from bot.i18n import translate, translate_plural
from bot.identity import secret_fingerprint
from storage.db import SqliteTooOld, create_store_engine, failure_kind, schema_revision
from storage.store import Store

Channels = dict[str, set[str]]
PLATFORMS = ("discord", "slack")
CHANNEL_IDS = {"discord": re.compile(r"[0-9]+"), "slack": re.compile(r"[CG][A-Z0-9]+")}
"""A channel id's form: on Discord a snowflake, digits (docs: reference#snowflakes); on
Slack a public (``C``) or private (``G``, older channels) channel id, upper-case letters
and digits (docs: api.slack.com/types/conversation)."""


def run_doctor(settings: Settings, channels: Sequence[str] = ()) -> int:
    """Print the report in the settings' language; 0 when nothing failed, else 1."""
    sections = asyncio.run(examine(settings, channels))
    print(report(sections, settings.language))
    return 1 if any(f.status == "fail" for _, found in sections for f in found) else 0


def report(sections: list[tuple[str, list[Finding]]], lang: str) -> str:
    """The findings under their section titles, then a one-line verdict."""
    lines: list[str] = []
    for title, found in sections:
        lines.append(translate(title, lang))
        lines += ["  " + f.text(lang) for f in found]
    failures = sum(f.status == "fail" for _, found in sections for f in found)
    lines.append(translate_plural("doctor.verdict_fail", failures, lang) if failures
                 else translate("doctor.verdict_ok", lang))
    return "\n".join(lines)


async def examine(settings: Settings, channels: Sequence[str] = ()
                  ) -> list[tuple[str, list[Finding]]]:
    """Every check, as ``(section title msgid, findings)``."""
    store_findings, known = store_checks(settings)
    settings_found = settings_checks(settings)
    for spec in channels:
        platform, _, channel_id = (part.strip() for part in spec.partition(":"))
        platform = platform.lower()
        if platform not in PLATFORMS or not channel_id:
            settings_found.append(fail("doctor.channel_bad", spec=spec))
        elif not CHANNEL_IDS[platform].fullmatch(channel_id):
            settings_found.append(fail(f"doctor.channel_id_{platform}", spec=spec))
        else:
            known[platform].add(channel_id)
    sections = [("doctor.section_settings", settings_found),
                ("doctor.section_store", store_findings)]
    if settings.discord_enabled:
        sections.append(("doctor.section_discord", await _discord(settings, known["discord"])))
    if settings.slack_enabled:
        sections.append(("doctor.section_slack", await _slack(settings, known["slack"])))
    return sections


def settings_checks(settings: Settings) -> list[Finding]:
    """Where planbot's state lives, which platforms are on, who may run facilitator commands
    on each, where the secret comes from (none yet before a first run: ``settings`` loaded
    with ``create_secret`` false)."""
    platforms = [p for p, on in (("Discord", settings.discord_enabled),
                                 ("Slack", settings.slack_enabled)) if on]
    found = [ok("doctor.settings", home=settings.data_dir)]
    found.append(ok("doctor.platforms", platforms=", ".join(platforms)) if platforms
                 else fail("doctor.no_platform"))
    found += [warn(f"doctor.no_facilitators_{platform}")
              for platform in settings.facilitator_gaps()]
    secret_file = Path(settings.data_dir) / "participant.secret"
    if not settings.participant_secret:
        found.append(warn("doctor.secret_none", path=secret_file))
    elif secret_file.is_file() and \
            secret_file.read_text().strip() == settings.participant_secret:
        mode = secret_file.stat().st_mode & 0o777
        found.append(ok("doctor.secret_file", path=secret_file) if mode & 0o077 == 0
                     else warn("doctor.secret_file_open", path=secret_file, mode=f"{mode:o}"))
    else:
        found.append(ok("doctor.secret_env"))
    return found


def store_checks(settings: Settings) -> tuple[list[Finding], defaultdict[str, set[str]]]:
    """The store's findings, and the channels of its open rounds by platform."""
    channels: defaultdict[str, set[str]] = defaultdict(set)
    absent = _absent_sqlite_file(settings.database_url)
    if absent is not None:
        return [warn("doctor.database_absent", path=absent)], channels
    try:
        engine = create_store_engine(settings.database_url)
    except (SQLAlchemyError, ImportError, OSError, SqliteTooOld) as err:
        return [_database_failure(err)], channels
    try:
        return _store_checks(settings, engine, channels), channels
    except SQLAlchemyError as err:
        return [_database_failure(err)], channels
    finally:
        engine.dispose()


def _absent_sqlite_file(database_url: str) -> Path | None:
    """The SQLite file the URL names when it does not exist yet (connecting would create it,
    and the doctor only reads); ``None`` for any other URL or an existing file."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path


def _database_failure(err: BaseException) -> Finding:
    return fail("db." + failure_kind(err), error=type(err).__name__)


def _store_checks(settings: Settings, engine: Engine, channels: Channels) -> list[Finding]:
    current, head, known = schema_revision(engine)
    found = [ok("doctor.database", backend=engine.dialect.name)]
    if current is None:
        return [*found, warn("doctor.schema_empty", head=head)]
    if not known:
        return [*found, fail("db.schema_newer")]
    found.append(ok("doctor.schema", revision=head) if current == head
                 else warn("doctor.schema_behind", current=current, head=head))
    store = Store(engine)
    if not inspect(engine).has_table("store_settings"):
        return [*found, warn("doctor.secret_unrecorded")]
    held = store.stored_secret_fingerprint()
    if held is None:
        found.append(warn("doctor.secret_unrecorded"))
    elif not settings.participant_secret \
            or held != secret_fingerprint(settings.participant_secret):
        found.append(fail("store.secret_mismatch", home=settings.data_dir))
    else:
        found.append(ok("doctor.secret_matches"))
    if current == head:
        for rnd in store.rounds():
            if rnd.status == "open":
                for channel in rnd.channels:
                    channels[channel.platform].add(channel.channel_id)
    return found


async def _discord(settings: Settings, channel_ids: set[str]) -> list[Finding]:
    from integrations.discord.checks import check_discord

    return await check_discord(settings.discord_token or "", channel_ids=sorted(channel_ids),
                               guild_ids=settings.discord_guild_ids,
                               api_base=settings.discord_api_base,
                               gateway_url=settings.discord_gateway_url)


async def _slack(settings: Settings, channel_ids: set[str]) -> list[Finding]:
    from integrations.slack import make_web_client
    from integrations.slack.checks import check_slack
    from integrations.slack.client import SLACK_API

    client = make_web_client(settings.slack_bot_token or "",
                             base_url=settings.slack_api_base or SLACK_API)
    return await check_slack(client, app_token=settings.slack_app_token,
                             mode=settings.slack_mode, channel_ids=sorted(channel_ids))
