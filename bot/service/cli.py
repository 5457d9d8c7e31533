"""The ``planbot`` command line (argparse): the service, the demo, and facilitator tools.

Exit codes: 0 success, 1 a user error (bad file, unknown round...), 2 bad configuration or
usage, 3 done in the store but something left for the operator to do by hand on a platform
not configured here or not reached (``privacy erase``: copies of the person's replies;
``round close``: the final digest, in channels it was not posted in). Errors are printed
in the configured language; secrets are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.clock import SystemClock
from bot.config import ConfigError, Settings, language_from_environment
from bot.errors import (
    Conflict,
    NotAllowed,
    NotFound,
    PlanbotError,
    SetupError,
    database_failure,
)
from bot.files import private_dir, write_private
from bot.i18n import language_names, translate, translate_plural
from bot.service.cli_texts import Texts, argparse_error, os_error_reason, platform_failure
from bot.service.privacy_cli import PARTIAL, add_privacy_parser, run_privacy

if TYPE_CHECKING:
    from concurrent.futures import Future

    from storage.activity import VoteColumns
    from storage.records import RoundData
    from storage.store import Store

EXPORT_FILES = ("comments.csv", "votes.csv", "participants-votes.csv")
"""What ``planbot export --format polis`` writes (``bot.polis.export_conversation``)."""

_log = logging.getLogger(__name__)


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand, its texts in ``lang`` (default
    ``bot.config.language_from_environment``)."""
    t = partial(translate, lang=lang or language_from_environment())
    parser = _Parser(prog="planbot", description=t("cli.description"))
    parser.add_argument("--version", action=_VersionAction, help=t("cli.help.version"))
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help=t("cli.help.run"))
    demo = sub.add_parser("demo", help=t("cli.help.demo"))
    demo.add_argument("--conversation", default="maple-valley",
                      help=t("cli.help.demo_conversation"))
    demo.add_argument("--platforms", default="discord,slack", help=t("cli.help.demo_platforms"))
    demo.add_argument("--out", type=Path, default=None, help=t("cli.help.demo_out"))

    doctor = sub.add_parser("doctor", help=t("cli.help.doctor"))
    doctor.add_argument("--channel", action="append", default=[], metavar="PLATFORM:ID",
                        help=t("cli.help.doctor_channel"))
    backup = sub.add_parser("backup", help=t("cli.help.backup"))
    backup.add_argument("folder", type=Path, help=t("cli.help.backup_folder"))

    db = sub.add_parser("db", help=t("cli.help.db"))
    db.add_argument("action", choices=["upgrade"], help=t("cli.help.db_action"))

    plan = sub.add_parser("plan", help=t("cli.help.plan"))
    plan_sub = plan.add_subparsers(dest="plan_action", required=True)
    imp = plan_sub.add_parser("import", help=t("cli.help.plan_import"))
    imp.add_argument("files", nargs="+", type=Path, help=t("cli.help.plan_files"))
    plan_sub.add_parser("list", help=t("cli.help.plan_list"))

    rnd = sub.add_parser("round", help=t("cli.help.round"))
    rnd_sub = rnd.add_subparsers(dest="round_action", required=True)
    rnd_sub.add_parser("list", help=t("cli.help.round_list"))
    status = rnd_sub.add_parser("status", help=t("cli.help.round_status"))
    status.add_argument("round", help=t("cli.help.round_id"))
    status.add_argument("--format", choices=["table", "json"], default="table",
                        help=t("cli.help.format"))
    close = rnd_sub.add_parser("close", help=t("cli.help.round_close"))
    close.add_argument("round", help=t("cli.help.round_id"))
    close.add_argument("--no-post", action="store_true", help=t("cli.help.no_post"))

    digest = sub.add_parser("digest", help=t("cli.help.digest"))
    digest.add_argument("--round", help=t("cli.help.round_option"))
    digest.add_argument("--format", choices=["md", "json"], default="md", help=t("cli.help.format"))
    digest.add_argument("--lang", choices=["fr", "en"], default=None, help=t("cli.help.lang"))
    digest.add_argument("--out", type=Path, default=None, help=t("cli.help.digest_out"))

    analyse = sub.add_parser("analyse", help=t("cli.help.analyse"))
    analyse.add_argument("--round", help=t("cli.help.round_option"))
    analyse.add_argument("--format", choices=["json", "text"], default="text",
                         help=t("cli.help.format"))
    analyse.add_argument("--lang", choices=["fr", "en"], default=None, help=t("cli.help.lang"))

    polis = sub.add_parser("import-polis", help=t("cli.help.import_polis"))
    polis.add_argument("folder", type=Path, help=t("cli.help.import_folder"))
    polis.add_argument("--replay-every", default=None, metavar="INTERVAL",
                       help=t("cli.help.replay_every"))

    export = sub.add_parser("export", help=t("cli.help.export"))
    export.add_argument("--format", choices=["polis"], default="polis", help=t("cli.help.format"))
    export.add_argument("--round", help=t("cli.help.round_option"))
    export.add_argument("--force", action="store_true", help=t("cli.help.export_force"))
    export.add_argument("--precise-times", action="store_true",
                        help=t("cli.help.precise_times"))
    export.add_argument("folder", type=Path, help=t("cli.help.export_folder"))
    add_privacy_parser(sub, t)
    _localise(parser, t)
    return parser


def _localise(parser: argparse.ArgumentParser, t: Texts) -> None:
    """Give ``parser`` and its subcommands' parsers argparse's own texts (usage prefix,
    section titles, ``--help``, errors) in the chosen language. argparse reads them through
    the process-wide gettext domain, which a library should not take over; these attributes
    are the ones argparse's documentation names (``formatter_class``) or has kept since 3.2."""
    prefix = t("cli.usage")
    if isinstance(parser, _Parser):
        parser.texts = t

    class Formatter(_Formatter):
        usage_prefix = prefix

    parser.formatter_class = Formatter
    parser._positionals.title = t("cli.positionals")
    parser._optionals.title = t("cli.options")
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = t("cli.help.help")
        elif isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _localise(child, t)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are written in the language of ``texts``
    (:func:`bot.service.cli_texts.argparse_error`); its subcommands' parsers are of this
    class too (argparse builds them with the parent's class)."""

    texts: Texts = staticmethod(partial(translate, lang="en"))

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``message`` in the parser's language, exit with status 2
        (argparse's contract for ``error``)."""
        self.print_usage(sys.stderr)
        self.exit(2, self.texts("cli.error", prog=self.prog,
                                message=argparse_error(message, self.texts)) + "\n")


class _Formatter(argparse.HelpFormatter):
    usage_prefix = "usage: "

    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, prefix or self.usage_prefix)


class _VersionAction(argparse.Action):
    """``--version``: prints ``planbot <version>`` and exits 0, as argparse's own action, but
    looks the version up only when asked (importlib.metadata reads the installed
    distributions: a few hundredths of a second every command would pay)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
                         help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"planbot {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("planbot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def analysis_text(analysis: dict[str, Any], texts: dict[str, str | None], lang: str) -> str:
    """A plain-text view of an analysis in ``lang``: groups with their representative
    statements, common ground, division and uncertainty, each statement quoted (``texts``:
    id -> text)."""
    from babel.numbers import format_decimal

    from bot.digests.render_md import group_name, quote

    def said(statement: str) -> str:
        return f"[{statement}] {quote(texts.get(statement), 100)}"

    lines = [translate("analyse.summary", lang, participants=analysis["participants"],
                       clustered=len(analysis["clustered"]), statements=analysis["statements"],
                       k=analysis["k"], silhouette=format_decimal(
                           analysis["silhouette"] or 0, "0.00", locale=f"{lang}_CA"))]
    for group in analysis["groups"]:
        lines.append("\n" + translate("analyse.group", lang, name=group_name(group["id"]),
                                      n=group["size"]))
        lines += [f"  {translate('analyse.' + r['repful_for'], lang):>14}  {said(r['statement'])}"
                  for r in group["representative"]]
    for title, items in (("analyse.common_agree", analysis["common_ground"]["agree"]),
                         ("analyse.common_disagree", analysis["common_ground"]["disagree"]),
                         ("analyse.divisive", analysis["divisive"]),
                         ("analyse.uncertain", analysis["uncertain"])):
        lines.append("\n" + translate(title, lang))
        lines += [f"  {said(i['statement'])}" for i in items] or ["  -"]
    return "\n".join(lines)


def open_store(settings: Settings) -> Store:
    """The store on ``DATABASE_URL``, schema upgraded, checked against the participant secret
    (``bot.home.open_store``; raises its ``SetupError``)."""
    from bot.home import open_store as open_home_store

    return open_home_store(settings.database_url, settings.participant_secret,
                           settings.data_dir, SystemClock().now())


def _find_round(store: Store, requested: str | None) -> RoundData:
    """The round asked for by its public id (``#`` optional; default the newest round);
    raises ``NotFound`` when there is none. A row number is not a round id: like any id that
    names no round it gets the same answer, so ids cannot be guessed here either."""
    if requested is None:
        latest = store.latest_round()
        rnd = store.get_round(latest) if latest is not None else None
        if rnd is None:
            raise NotFound("error.no_rounds")
        return rnd
    wanted = requested.strip().lstrip("#").lower()
    found = store.round_by_public_id(wanted) if 0 < len(wanted) <= 64 \
        and "\x00" not in wanted else None
    if found is None:
        raise NotFound("error.no_round", round=requested)
    return found


def _round_id(store: Store, requested: str | None) -> int:
    return _find_round(store, requested).id


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``planbot`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        # No secret is created yet: the doctor only reads, and a command refused for its
        # arguments must leave a fresh PLANBOT_HOME as it found it (_prepare).
        settings = Settings.load(create_secret=False)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    # Imported only now: ``--help`` and a configuration error answer without the database
    # and analysis libraries (tests/test_startup.py).
    from sqlalchemy.exc import SQLAlchemyError

    try:
        _prepare(args, settings)
        if args.command not in READ_ONLY:
            settings = settings.with_secret()
        _configure_logging(args, settings)
        return _dispatch(args, settings)
    except SetupError as err:
        print(err.message(settings.language), file=sys.stderr)
        return 2
    except PlanbotError as err:
        print(err.message(settings.language), file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``planbot digest | head``): nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        print(translate("cli.os_error", settings.language, path=err.filename or "",
                        reason=os_error_reason(err, partial(translate, lang=settings.language))),
              file=sys.stderr)
        return 1
    except (SQLAlchemyError, ImportError) as err:
        print(database_failure(err).message(settings.language), file=sys.stderr)
        return 2


READ_ONLY = frozenset({"doctor"})
"""Subcommands that create nothing in PLANBOT_HOME, not even the participant secret."""


def _prepare(args: argparse.Namespace, settings: Settings) -> None:
    """Read the files a subcommand is given before anything is created or opened, so that a
    file missing or malformed leaves no store and no secret behind: ``plan import`` parses
    its plan into ``args.plan`` (raises ``PlanFileError`` or ``OSError``)."""
    if args.command == "plan" and args.plan_action == "import":
        from bot.plans import load_plan

        args.plan = load_plan(args.files, settings.language,
                              max_sections=settings.plan_max_sections,
                              max_section_chars=settings.plan_max_section_chars)


def _configure_logging(args: argparse.Namespace, settings: Settings) -> None:
    from bot.logs import configure_logging

    # One-shot commands print their result; their INFO logs would only drown it.
    level = settings.log_level if args.command == "run" or "LOG_LEVEL" in os.environ \
        else "WARNING"
    configure_logging(settings.log_format, level, secrets=(
        settings.discord_token or "", settings.slack_bot_token or "",
        settings.slack_app_token or "", settings.slack_signing_secret or "",
        settings.participant_secret))


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.run import run

    return run(settings)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.demo import run_demo

    return run_demo(settings, conversation=args.conversation,
                    platforms=[p.strip() for p in args.platforms.split(",") if p.strip()],
                    out=args.out)


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.doctor import run_doctor

    return run_doctor(settings, args.channel)


async def close_and_post(settings: Settings, requested: str, *, post: bool = True) -> int:
    """``planbot round close ROUND`` as the chat command does it: connect to the round's
    platforms that are configured (each within ``bot.service.build.CONNECT_TIMEOUT``),
    close the round, post its final digest in every channel of the round on the platforms
    connected, disconnect. With none of the round's platforms configured it refuses
    (``NotAllowed``, nothing closed) unless ``post`` is false (``--no-post``): a round closed
    here would never have its final digest posted. A platform configured but not reached
    (or refusing its token) does not keep the round open: it is named, and the exit status
    is :data:`PARTIAL` when the final digest did not reach every platform of the round
    (``planbot digest`` prints it, to post by hand). Raises ``NotFound``, ``Conflict``
    (already closed)."""
    from bot.service.build import one_shot

    lang = settings.language
    async with one_shot(settings, SystemClock(), "planbot-round-close") as shot:
        r = _find_round(shot.core.store, requested)
        if r.status != "open":
            raise Conflict("error.round_closed", round=r.public_id)
        on = {platform for platform, _workspace, _channel in r.channels}
        configured = {adapter.name for adapter in shot.service.adapters} & on
        if post and on and not configured:
            raise NotAllowed("cli.close_needs_platform", round=r.public_id,
                             platforms=", ".join(sorted(on)))
        tried = await shot.connect(on) if post else {}
        if not await shot.core.rounds.close(r.id):
            raise Conflict("error.round_closed", round=r.public_id)
        print(translate("round.closed", lang, round=r.public_id))
        if not post:
            print(translate("cli.final_skipped", lang, round=r.public_id))
            return 0
        for name, err in tried.items():
            if err is not None:
                print(platform_failure(name, err, lang))
        if connected := {name for name, err in tried.items() if err is None}:
            result = await shot.core.digest_publisher(r.id, "final")
            print(translate_plural("cli.final_posted", len(result.posted), lang))
        if missing := sorted(on - configured):
            print(translate("cli.final_not_posted", lang, platforms=", ".join(missing)))
        if unreached := sorted(configured - connected):
            print(translate("cli.final_not_reached", lang, round=r.public_id,
                            platforms=", ".join(unreached)))
        return PARTIAL if missing or unreached else 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.backup import backup

    lang = settings.language
    done = backup(settings, args.folder, SystemClock().now())
    if done.database is not None:
        print(translate("cli.backup_written", lang, path=done.database))
    if done.command is not None:
        print(translate("cli.backup_pg_dump", lang) + "\n  " + done.command)
    print(translate("cli.backup_secret", lang, path=done.secret) if done.secret
          else translate("cli.backup_secret_env", lang))
    return 0


def _db(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    print(translate("cli.schema_ok", settings.language))
    return 0


def _plan(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    lang = settings.language
    if args.plan_action == "import":
        from bot.plans import store_plan

        version, created = store_plan(store, args.plan, SystemClock().now(), str(args.files[0]))
        if created:
            print(translate_plural("plan.imported", len(version.sections), lang,
                                   slug=version.slug, version=version.number,
                                   languages=language_names(version.languages, lang)))
        else:
            print(translate("plan.unchanged", lang, slug=version.slug, version=version.number))
        return 0
    plans = store.list_plans()
    print(translate("plans.header", lang) if plans else translate("plans.none", lang))
    for plan in plans:
        title = plan.titles.get(lang) or next(iter(plan.titles.values()))
        print(f"  {plan.slug}\tv{plan.version}\t{title}")
    return 0


def _round(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    if args.round_action == "close":
        store.engine.dispose()
        return asyncio.run(close_and_post(settings, args.round, post=not args.no_post))
    if args.round_action != "list":
        return _round_action(store, settings, args)
    lang = settings.language
    rounds = store.rounds()
    print(translate("cli.rounds_header", lang) if rounds else translate("error.no_rounds", lang))
    for r in rounds:
        print(f"  {r.public_id}\t{translate('round.state_' + r.status, lang)}\t{r.source}"
              f"\t{r.name}")
    return 0


def votes_meanwhile(store: Store, round_id: int) -> Future[VoteColumns]:
    """Start reading a round's votes (``store.vote_columns``) on another thread and return at
    once: the database builds the votes' string without the interpreter's lock while this
    thread imports numpy, SciPy and the analysis, side by side on two cores (each takes a
    few tenths of a second at Bowling Green size). ``result()`` gives the votes or raises
    what the read raised."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planbot-votes")
    try:
        return pool.submit(store.vote_columns, round_id)
    finally:
        pool.shutdown(wait=False)


def _analyse(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    round_id = _round_id(store, args.round)
    votes = votes_meanwhile(store, round_id)
    from bot.findings import analyse_round

    result = analyse_round(store, round_id, SystemClock().now(), votes.result())
    if args.format == "json":
        print(_json(result.to_dict()))
        return 0
    from bot.digests.build import statement_texts  # the texts only the plain view quotes

    chosen = args.lang or settings.language
    print(analysis_text(result.to_dict(), statement_texts(store, round_id, chosen), chosen))
    return 0


def _export(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from bot.findings import analyse_round
    from bot.polis import export_conversation

    round_id = _round_id(store, args.round)
    present = sorted(name for name in EXPORT_FILES if (args.folder / name).exists())
    if present and not args.force:
        raise Conflict("cli.export_exists", path=args.folder, files=", ".join(present))
    result = analyse_round(store, round_id, SystemClock().now())
    export_conversation(store, round_id, args.folder, group_of=result.group_of,
                        precise_times=args.precise_times)
    print(translate("export.written", settings.language, path=args.folder))
    return 0


SERVICES: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _run, "demo": _demo, "doctor": _doctor, "backup": _backup, "privacy": run_privacy}
"""Subcommands that open the store themselves (they run the whole service)."""

def _round_action(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    r = _find_round(store, args.round)
    people = store.participation(r.id)
    if args.format == "json":
        print(json.dumps({"id": r.public_id, "name": r.name, "status": r.status, "source": r.source,
                          "opened_at": r.opened_at.isoformat(),
                          "closes_at": r.closes_at.isoformat() if r.closes_at else None,
                          "closed_at": r.closed_at.isoformat() if r.closed_at else None,
                          "channels": r.channels, "participants": people.as_counts()},
                         ensure_ascii=False, indent=2))
    else:
        print(status_table(r, people.as_counts(), settings))
    return 0


def status_table(r: RoundData, people: Mapping[str, int], settings: Settings) -> str:
    """A round as a two-column table for people: times in the digest time zone, counts
    written the language's way."""
    from babel.numbers import format_decimal

    lang = settings.language

    def when(moment: datetime | None) -> str:
        return moment.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    def count(n: int) -> str:
        return format_decimal(n, locale=f"{lang}_CA")

    def platform(name: str) -> str:
        return translate("cli.status_all", lang) if name == "all" else name

    rows = [("state", translate(f"round.state_{r.status}", lang)),
            ("source", translate(f"cli.source_{r.source}", lang)),
            ("opened", when(r.opened_at)),
            ("closed", when(r.closed_at)) if r.closed_at else ("closes", when(r.closes_at)),
            ("channels", ", ".join(f"{p}:{c}" for p, _w, c in r.channels) or "—"),
            ("participants", ", ".join(f"{platform(p)} {count(n)}" for p, n in people.items())
             or "0")]
    labels = [(translate(f"cli.status_{key}", lang), value) for key, value in rows]
    width = max(len(label) for label, _ in labels)
    return "\n".join([translate("cli.status_round", lang, id=r.public_id, name=r.name)]
                     + [f"  {label:<{width}}  {value}" for label, value in labels])


def _json(data: dict[str, Any]) -> str:
    """JSON for stdout: indented for a person at a terminal; compact into a pipe or file,
    where the C encoder writes a Bowling Green-size digest about ten times faster."""
    if sys.stdout.isatty():
        return json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def _digest(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    rnd = _find_round(store, args.round)
    round_id = rnd.id
    votes = votes_meanwhile(store, round_id)
    from bot.digests.build import Period
    from bot.publish import build_with_analysis, render_all

    end = rnd.closed_at or SystemClock().now()
    start = store.last_digest_end(round_id) or rnd.opened_at
    if start > end:  # the last digest was dated by a clock ahead of this one (the demo's)
        start = min(rnd.opened_at, end)
    lang = args.lang or settings.language
    final, min_votes = rnd.status == "closed", settings.digest_min_votes
    if args.out:
        rendered = render_all(store, round_id, Period(start, end), lang, settings.timezone,
                              final=final, min_votes=min_votes,
                              min_group=settings.digest_min_group, votes=votes.result())
        private_dir(args.out)
        write_private(args.out / "digest.md", rendered.markdown)
        write_private(args.out / "digest.html", rendered.html)
        for name, png in rendered.files().items():
            write_private(args.out / name, png)
        write_private(args.out / "digest.json",
                      json.dumps(rendered.digest.to_json(), ensure_ascii=False, indent=2))
        print(translate("cli.digest_written", lang, path=args.out))
        return 0
    # Text or JSON only: no chart, page or message is drawn (nor matplotlib loaded).
    with store.snapshot() as snapshot:  # totals that agree while the service writes
        digest = build_with_analysis(snapshot, round_id, Period(start, end), lang,
                                     final=final, min_votes=min_votes,
                                     min_group=settings.digest_min_group, votes=votes.result())
    if args.format == "json":
        print(_json(digest.to_json()))
    else:
        from bot.digests.render_md import render_markdown

        print(render_markdown(digest, lang))
    return 0


def _import_polis(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from bot.identity import Pseudonymizer
    from bot.polis import import_conversation, parse_interval

    every = parse_interval(args.replay_every) if args.replay_every is not None else None

    with Progress(transient=True) as progress:
        task = progress.add_task("votes", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        round_id, conv = import_conversation(store, Pseudonymizer(settings.participant_secret),
                                             args.folder, SystemClock().now(), advance,
                                             language=settings.language, replay_every=every,
                                             max_bytes=settings.polis_max_bytes)
    lang = settings.language
    imported = store.get_round(round_id)
    print(translate("polis.imported", lang, round=imported.public_id if imported else "",
                    statements=translate_plural("count.statements", len(conv.statements), lang),
                    participants=translate_plural("count.participants", len(conv.participants),
                                                  lang),
                    votes=translate_plural("count.votes", len(conv.votes), lang)))
    return 0


TOOLS: dict[str, Callable[[Store, Settings, argparse.Namespace], int]] = {
    "db": _db, "plan": _plan, "round": _round, "digest": _digest, "analyse": _analyse,
    "import-polis": _import_polis, "export": _export}
"""Subcommands run on the store (schema upgraded first), then exit."""


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in SERVICES:
        return SERVICES[args.command](args, settings)
    return TOOLS[args.command](open_store(settings), settings, args)
