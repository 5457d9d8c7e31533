"""``planbot privacy``: the operator serves a person's request received by other means (an
email to the privacy officer) as the chat commands do (``bot.privacy``).

* ``export --platform P --user ID [--out FILE]``: everything held about the person, as JSON
  (a file is created readable by its owner only);
* ``erase --platform P --user ID [--dry-run] [--yes]``: erase the person, for good, after
  saying what is held and asking to confirm (``--yes`` in a script; ``--dry-run`` only says);
  the store first, then planbot's copies of their replies are deleted on the configured
  platforms it can reach; a platform it cannot use is named and the copies left are listed
  (exit status 3);
* ``purge [--dry-run] [--yes]``: the retention purge the scheduler runs daily, after saying
  what it removes and asking to confirm as ``erase`` does (``--yes`` in a script;
  ``--dry-run`` only says).

Each request served is written to the audit log (``privacy_requests``), via ``cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.clock import SystemClock
from bot.config import Settings
from bot.i18n import translate, translate_plural
from bot.service.cli_texts import platform_failure

if TYPE_CHECKING:
    from bot.core import Core
    from bot.service.build import OneShot
    from storage.records import PurgeCandidate

PLATFORMS = ("discord", "slack")

PARTIAL = 3
"""Exit status of an erasure done in the store with copies left on a platform (not
configured here, not reached, or refusing), which the operator deletes by hand."""


def add_privacy_parser(sub: argparse._SubParsersAction[Any],
                       t: Callable[[str], str]) -> None:
    """Add ``privacy export|erase|purge`` to the ``planbot`` parser (texts through ``t``)."""
    privacy = sub.add_parser("privacy", help=t("cli.help.privacy"))
    actions = privacy.add_subparsers(dest="privacy_action", required=True)
    for name in ("export", "erase"):
        action = actions.add_parser(name, help=t(f"cli.help.privacy_{name}"))
        action.add_argument("--platform", required=True, choices=PLATFORMS,
                            help=t("cli.help.privacy_platform"))
        action.add_argument("--user", required=True, help=t("cli.help.privacy_user"))
        if name == "export":
            action.add_argument("--out", type=Path, default=None, help=t("cli.help.privacy_out"))
        else:
            action.add_argument("--dry-run", action="store_true", help=t("cli.help.erase_dry_run"))
            action.add_argument("--yes", action="store_true", help=t("cli.help.erase_yes"))
    purge = actions.add_parser("purge", help=t("cli.help.privacy_purge"))
    purge.add_argument("--dry-run", action="store_true", help=t("cli.help.dry_run"))
    purge.add_argument("--yes", action="store_true", help=t("cli.help.purge_yes"))


def run_privacy(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``planbot privacy ...``; returns the exit code (0; ``erase``: 1 not confirmed,
    :data:`PARTIAL` copies left to delete by hand)."""
    return asyncio.run(_serve(args, settings))


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.build import one_shot

    async with one_shot(settings, SystemClock(), "planbot-privacy") as shot:
        if args.privacy_action == "erase":
            return await _erase(shot, args, settings)
        return await ACTIONS[args.privacy_action](shot.core, args, settings)


async def _export(core: Core, args: argparse.Namespace, settings: Settings) -> int:
    from bot.privacy import personal_data_json

    data = await core.privacy.export(args.platform, args.user, "cli")
    body = personal_data_json(data, args.platform, args.user)
    if args.out is None:
        print(body.decode())
        return 0
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    print(translate("privacy.cli_exported", settings.language, path=args.out))
    return 0


async def _erase(shot: OneShot, args: argparse.Namespace, settings: Settings) -> int:
    """Say what is held, confirm (``--yes``, or "yes"/"oui" typed at a terminal; refused
    without either when no one can answer), then erase in the store, and only then connect
    to the platforms holding copies of their replies (each within
    ``bot.service.build.CONNECT_TIMEOUT``) to delete them; a platform not reached is named,
    and the copies left listed. Exit status 1 when not confirmed, :data:`PARTIAL` when
    copies are left."""
    lang, person = settings.language, f"{args.platform}:{args.user}"
    held = await shot.core.privacy.held(args.platform, args.user)
    # Events waiting in the inbox are theirs too: someone whose first stance is not applied
    # yet is erased all the same (the erasure discards it).
    pending = await shot.core.privacy.pending(args.platform, args.user)
    if held is None and not pending:
        print(translate("privacy.cli_nothing_held", lang, person=person))
        return 0
    if held is not None:
        print(translate("privacy.cli_would_erase", lang, person=person,
                        replies=translate_plural("count.replies", len(held.replies), lang),
                        stances=translate_plural("count.stances", len(held.stances), lang)))
    if pending:
        print(translate_plural("privacy.cli_pending", pending, lang, person=person))
    if args.dry_run:
        return 0
    if not args.yes and not await _confirmed(lang, "privacy.cli_confirm",
                                             "privacy.cli_confirm_needed",
                                             "privacy.cli_not_erased"):
        return 1
    # The store first, whatever the platforms do: a platform that cannot be reached must
    # never keep the person's data held.
    report = await shot.core.privacy.erase(args.platform, args.user, "cli")
    deleted, left = report.copies_deleted, report.copies_left
    if left:
        print(translate("privacy.cli_erased_in_store", lang), flush=True)
        tried = await shot.connect({copy.platform for copy in left})
        for name, err in tried.items():
            if err is not None:
                print(platform_failure(name, err, lang))
        done, left = await shot.core.privacy.delete_copies(left)
        deleted += done
    print(translate("privacy.cli_erased", lang,
                    replies=translate_plural("count.replies", report.replies, lang),
                    stances=translate_plural("count.stances", report.stances, lang),
                    copies=translate_plural("count.copies", deleted, lang)))
    if report.pending:
        print(translate_plural("privacy.cli_pending_discarded", report.pending, lang))
    for copy in left:
        print(translate("privacy.cli_copy_left", lang, message=copy.message_id,
                        platform=copy.platform, channel=copy.channel_id))
    if left:
        print(translate("privacy.cli_partial", lang))
        return PARTIAL
    return 0


async def _confirmed(lang: str, ask: str, needed: str, refused: str) -> bool:
    """True when the operator types "yes" or "oui" at the terminal after the question
    ``ask``; False, having said ``needed`` (on stderr) when there is no terminal to ask at,
    or ``refused`` for any other answer. Message ids are the catalogue's."""
    if not sys.stdin.isatty():
        print(translate(needed, lang), file=sys.stderr)
        return False
    answer = await asyncio.to_thread(input, translate(ask, lang) + " ")
    if answer.strip().casefold() not in ("yes", "oui"):
        print(translate(refused, lang))
        return False
    return True


async def _purge(core: Core, args: argparse.Namespace, settings: Settings) -> int:
    """Say what the purge removes; unless ``--dry-run``, confirm as :func:`_erase` does
    (``--yes``, or "yes"/"oui" at a terminal), then purge; exit status 1 when not
    confirmed. The scheduler's daily purge asks no one (``bot.scheduling``)."""
    lang, days = settings.language, settings.retention_period.days
    due = await core.privacy.purge(dry_run=True, via="cli")
    if not due:
        print(translate("privacy.purge_none", lang, days=days))
        return 0
    _print_due(due, lang, days, settings, "privacy.purge_would")
    if args.dry_run:
        return 0
    if not args.yes and not await _confirmed(lang, "privacy.purge_confirm",
                                             "privacy.purge_confirm_needed",
                                             "privacy.purge_not_done"):
        return 1
    # What is due now: a round may have come due, or been purged by the daily job, while
    # the operator read the list.
    done = await core.privacy.purge(dry_run=False, via="cli")
    if done:
        _print_due(done, lang, days, settings, "privacy.purge_done")
    else:
        print(translate("privacy.purge_none", lang, days=days))
    return 0


def _print_due(due: list[PurgeCandidate], lang: str, days: int, settings: Settings,
               heading: str) -> None:
    """Print ``heading`` then one line per round of ``due``."""
    print(translate(heading, lang, days=days))
    for c in due:
        print(translate("privacy.purge_line", lang, round=c.public_id, name=c.name,
                        closed=c.closed_at.astimezone(settings.timezone).strftime("%Y-%m-%d"),
                        replies=c.replies, edits=c.edits, names=c.names))


ACTIONS = {"export": _export, "purge": _purge}
