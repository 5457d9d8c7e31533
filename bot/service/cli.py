"""The ``planbot`` command line (argparse): the service, the demo, and facilitator tools.

Exit codes: 0 success, 1 a user error (bad file, unknown round...), 2 bad configuration or
usage. Errors are printed in the configured language; secrets are never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.clock import SystemClock
from bot.config import ConfigError, Settings
from bot.errors import NotFound, PlanbotError, SetupError, database_failure
from bot.i18n import translate, translate_plural

if TYPE_CHECKING:
    from storage.records import RoundData
    from storage.store import Store

_log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="planbot", description=(
        "Discuss a plan section by section on Discord and Slack; digests of where consensus "
        "sits and where opinion divides."))
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the bot on the configured platforms with the scheduler")
    demo = sub.add_parser("demo", help="run the whole flow on local Discord and Slack servers")
    demo.add_argument("--conversation", default="maple-valley", help=(
        "bundled conversation to replay: maple-valley (default; synthetic, written for the "
        "sample plan), or a real Polis conversation: brexit-consensus, "
        "canadian-electoral-reform, 15-per-hour-seattle, london.youth.policing, "
        "scoop-hivemind.ubi"))
    demo.add_argument("--platforms", default="discord,slack",
                      help="comma-separated: discord, slack (default both)")
    demo.add_argument("--out", type=Path, default=None,
                      help="output folder (default a fresh folder under PLANBOT_HOME/demo)")

    doctor = sub.add_parser("doctor", help="check the settings, the store and the platforms")
    doctor.add_argument("--channel", action="append", default=[], metavar="PLATFORM:ID",
                        help="also check this channel (discord:123..., slack:C0...)")

    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])

    plan = sub.add_parser("plan", help="plan documents")
    plan_sub = plan.add_subparsers(dest="plan_action", required=True)
    imp = plan_sub.add_parser("import", help="import <slug>.fr.md and/or <slug>.en.md")
    imp.add_argument("files", nargs="+", type=Path)
    plan_sub.add_parser("list", help="list imported plans")

    rnd = sub.add_parser("round", help="discussion rounds")
    rnd_sub = rnd.add_subparsers(dest="round_action", required=True)
    rnd_sub.add_parser("list", help="list rounds")
    for name in ("status", "close"):
        cmd = rnd_sub.add_parser(name, help=f"{name} a round")
        cmd.add_argument("round", type=int)

    digest = sub.add_parser("digest", help="print a digest of a round")
    digest.add_argument("--round", type=int, help="round id (default the newest round)")
    digest.add_argument("--format", choices=["md", "json"], default="md")
    digest.add_argument("--lang", choices=["fr", "en"], default=None)
    digest.add_argument("--out", type=Path, default=None,
                        help="write digest.md, digest.html, digest.png and digest.json there")

    analyse = sub.add_parser("analyse", help="print the opinion-group analysis of a round")
    analyse.add_argument("--round", type=int, help="round id (default the newest round)")
    analyse.add_argument("--format", choices=["json", "text"], default="text")
    analyse.add_argument("--lang", choices=["fr", "en"], default=None)

    polis = sub.add_parser("import-polis", help="replay a Polis export folder as a round")
    polis.add_argument("folder", type=Path)

    export = sub.add_parser("export", help="export a round")
    export.add_argument("--format", choices=["polis"], default="polis")
    export.add_argument("--round", type=int)
    export.add_argument("folder", type=Path)
    return parser


def analysis_text(analysis: dict[str, Any], texts: dict[str, str | None], lang: str) -> str:
    """A plain-text view of an analysis in ``lang``: groups with their representative
    statements, common ground, division and uncertainty, each statement quoted (``texts``:
    id -> text)."""
    from bot.digests.render_md import group_name, quote

    def said(statement: str) -> str:
        return f"[{statement}] {quote(texts.get(statement), 100)}"

    lines = [translate("analyse.summary", lang, participants=analysis["participants"],
                       clustered=len(analysis["clustered"]), statements=analysis["statements"],
                       k=analysis["k"], silhouette=f"{analysis['silhouette'] or 0:.2f}")]
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


def _find_round(store: Store, requested: int | None) -> RoundData:
    """The round asked for (default the newest); raises ``NotFound`` when there is none."""
    round_id = requested if requested is not None else store.latest_round()
    if round_id is None:
        raise NotFound("error.no_rounds")
    rnd = store.get_round(round_id) if 0 < round_id < 2**31 else None
    if rnd is None:
        raise NotFound("error.no_round", round=round_id)
    return rnd


def _round_id(store: Store, requested: int | None) -> int:
    return _find_round(store, requested).id


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``planbot`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load()
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    # Imported only now: ``--help`` and a configuration error answer without the database
    # and analysis libraries (tests/test_startup.py).
    from sqlalchemy.exc import SQLAlchemyError

    from bot.logs import configure_logging

    # One-shot commands print their result; their INFO logs would only drown it.
    level = settings.log_level if args.command == "run" or "LOG_LEVEL" in os.environ \
        else "WARNING"
    configure_logging(settings.log_format, level)
    try:
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
                        reason=err.strerror or err), file=sys.stderr)
        return 1
    except (SQLAlchemyError, ImportError) as err:
        print(database_failure(err).message(settings.language), file=sys.stderr)
        return 2


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


def _db(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    print(translate("cli.schema_ok", settings.language))
    return 0


def _plan(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    lang = settings.language
    if args.plan_action == "import":
        from bot.plans import import_plan

        version, created = import_plan(store, args.files, SystemClock().now(), lang)
        if created:
            print(translate_plural("plan.imported", len(version.sections), lang,
                                   slug=version.slug, version=version.number))
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
    if args.round_action != "list":
        return _round_action(store, settings, args)
    lang = settings.language
    rounds = store.rounds()
    print(translate("cli.rounds_header", lang) if rounds else translate("error.no_rounds", lang))
    for r in rounds:
        print(f"  {r.id}\t{translate('round.state_' + r.status, lang)}\t{r.source}\t{r.name}")
    return 0


def _analyse(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from bot.digests.build import statement_texts
    from bot.findings import analyse_round

    round_id = _round_id(store, args.round)
    result = analyse_round(store, round_id)
    if args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    chosen = args.lang or settings.language
    print(analysis_text(result.to_dict(), statement_texts(store, round_id, chosen), chosen))
    return 0


def _export(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from bot.findings import analyse_round
    from bot.polis import export_conversation

    round_id = _round_id(store, args.round)
    result = analyse_round(store, round_id)
    export_conversation(store, round_id, args.folder, group_of=result.group_of)
    print(translate("export.written", settings.language, path=args.folder))
    return 0


SERVICES: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _run, "demo": _demo, "doctor": _doctor}
"""Subcommands that open the store themselves (they run the whole service)."""

def _round_action(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from bot.errors import Conflict

    r = _find_round(store, args.round)
    if args.round_action == "close":
        if not store.close_round(r.id, SystemClock().now()):
            raise Conflict("error.round_closed", round=r.id)
        print(translate("round.closed", settings.language, round=r.id))
        return 0
    people = store.participation(r.id)
    print(json.dumps({"id": r.id, "name": r.name, "status": r.status, "source": r.source,
                      "opened_at": r.opened_at.isoformat(),
                      "closes_at": r.closes_at.isoformat() if r.closes_at else None,
                      "channels": r.channels, "participants": people.as_counts()},
                     ensure_ascii=False, indent=2))
    return 0


def _digest(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from bot.digests.build import Period
    from bot.publish import build_with_analysis, render_all

    rnd = _find_round(store, args.round)
    round_id = rnd.id
    start = store.last_digest_end(round_id) or rnd.opened_at
    end = rnd.closed_at or SystemClock().now()
    lang = args.lang or settings.language
    final, min_votes = rnd.status == "closed", settings.digest_min_votes
    if args.out:
        rendered = render_all(store, round_id, Period(start, end), lang, settings.timezone,
                              final=final, min_votes=min_votes)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "digest.md").write_text(rendered.markdown, encoding="utf-8")
        (args.out / "digest.html").write_text(rendered.html, encoding="utf-8")
        for name, png in rendered.files().items():
            (args.out / name).write_bytes(png)
        (args.out / "digest.json").write_text(
            json.dumps(rendered.digest.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
        print(translate("cli.digest_written", lang, path=args.out))
        return 0
    # Text or JSON only: no chart is drawn (nor every stance read for it).
    digest = build_with_analysis(store, round_id, Period(start, end), lang, final=final,
                                 min_votes=min_votes)
    if args.format == "json":
        print(json.dumps(digest.to_json(), ensure_ascii=False, indent=2))
    else:
        from bot.digests.render_md import render_markdown

        print(render_markdown(digest, lang))
    return 0


def _import_polis(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from bot.identity import Pseudonymizer
    from bot.polis import import_conversation

    with Progress(transient=True) as progress:
        task = progress.add_task("votes", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        round_id, conv = import_conversation(store, Pseudonymizer(settings.participant_secret),
                                             args.folder, SystemClock().now(), advance,
                                             language=settings.language)
    lang = settings.language
    print(translate("polis.imported", lang, round=round_id,
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
