"""Polis exports in and out: replay a conversation as a round, write a round as Polis files.

Format (compdemocracy/openData; docs/platform-facts.md): ``comments.csv`` (timestamp ms, datetime,
comment-id, author-id, agrees, disagrees, moderated, comment-body), ``votes.csv`` (timestamp,
datetime, comment-id, voter-id, vote) and ``participants-votes.csv`` (participant, group-id,
n-comments, n-votes, n-agree, n-disagree, then one column per comment id). Exports write agree
as 1, disagree as -1, pass as 0; a participant's last vote on a statement stands. Exports are
de-identified (:func:`export_conversation`).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import SystemRandom
from typing import TYPE_CHECKING

from bot.apply import clean_text
from bot.errors import BadArgument, Conflict
from bot.files import private_dir, write_csv
from bot.identity import Pseudonymizer
from storage.records import ImportedStatement
from storage.store import Store

if TYPE_CHECKING:
    from bot.analysis import AnalysisResult

_log = logging.getLogger(__name__)
STANCE_OF_VOTE = {1: "agree", -1: "disagree", 0: "pass"}
PLATFORM = "polis"


@dataclass(frozen=True, slots=True)
class Conversation:
    """A parsed Polis export: statements, final votes (one per pair) and its topic."""

    topic: str
    statements: list[ImportedStatement]
    votes: list[tuple[str, str, str, datetime]]
    participants: list[str]
    history: list[tuple[str, str, int, int]] = field(default_factory=list)
    """Every vote row as (participant, statement, 1 / -1 / 0, timestamp ms), in time order
    (file order on a tie): what :func:`replay_snapshots` replays."""

    def vote_triples(self) -> list[tuple[str, str, int]]:
        """The final votes as (participant, statement, 1 / -1 / 0), the analysis' input."""
        value = {stance: vote for vote, stance in STANCE_OF_VOTE.items()}
        return [(p, c, value[stance]) for p, c, stance, _ in self.votes]

    @property
    def statement_ids(self) -> list[str]:
        """Comment ids in file order."""
        return [s.external_id for s in self.statements]

    @property
    def excluded(self) -> frozenset[str]:
        """Comment ids moderated out (``moderated == -1``)."""
        return frozenset(s.external_id for s in self.statements if not s.moderated)


def _millis(value: str) -> datetime:
    """Polis' millisecond timestamps; raises ValueError, OverflowError or OSError."""
    return datetime.fromtimestamp(int(float(value)) / 1000, tz=UTC)


BAD_VALUE = (KeyError, ValueError, AttributeError, TypeError, OverflowError, OSError)


def _rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file (UTF-8, with or without the BOM spreadsheets add)."""
    if not path.is_file():
        raise BadArgument("error.bad_polis", path=str(path), problem="missing file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise BadArgument("error.bad_polis", path=f"{path}:{line}",
                          problem="not UTF-8 text") from None
    return list(csv.DictReader(text.splitlines()))


def fingerprint(folder: Path) -> str:
    """SHA-256 of ``comments.csv`` and ``votes.csv``: the same export imports only once."""
    digest = hashlib.sha256()
    for name in ("comments.csv", "votes.csv"):
        digest.update((Path(folder) / name).read_bytes())
    return digest.hexdigest()


def check_sizes(folder: Path, max_bytes: int) -> None:
    """Refuse an export whose ``comments.csv`` or ``votes.csv`` is larger than ``max_bytes``
    before anything is read (``POLIS_MAX_MB``): ``BadArgument`` naming the file, its size
    and the limit in MB."""
    for name in ("comments.csv", "votes.csv"):
        path = Path(folder) / name
        size = path.stat().st_size if path.is_file() else 0
        if size > max_bytes:
            raise BadArgument("error.polis_too_big", path=str(path),
                              size=f"{size / 2**20:.1f}", limit=f"{max_bytes / 2**20:g}")


def read_conversation(folder: Path, max_bytes: int | None = None) -> Conversation:
    """Read ``comments.csv`` and ``votes.csv`` (and ``summary.csv`` for the topic if present).

    Votes are reduced to each participant's last vote per statement, by timestamp then file
    order. Raises ``BadArgument`` naming the file and row for a missing file or column, or
    a vote that is not 1, -1 or 0, and, with ``max_bytes``, for a file larger than that
    (:func:`check_sizes`, before reading anything).
    """
    folder = Path(folder)
    if max_bytes is not None:
        check_sizes(folder, max_bytes)
    statements: list[ImportedStatement] = []
    known: set[str] = set()
    for line, row in enumerate(_rows(folder / "comments.csv"), start=2):
        where = f"{folder / 'comments.csv'}:{line}"
        try:
            statement = ImportedStatement(
                external_id=row["comment-id"].strip(), author=row["author-id"].strip() or None,
                text=clean_text(row["comment-body"]),
                moderated=(row.get("moderated") or "1").strip() != "-1",
                created_at=_millis(row["timestamp"]),
                # planbot's synthetic conversation (bot/synthetic.py) adds these two columns
                section=(row.get("section") or "").strip() or None,
                role=(row.get("role") or "reply").strip())
        except BAD_VALUE as err:
            raise BadArgument("error.bad_polis", path=where, problem=f"bad row ({err})") from None
        if not statement.external_id or statement.external_id in known:
            raise BadArgument("error.bad_polis", path=where,
                              problem=f"missing or repeated comment-id {statement.external_id!r}")
        known.add(statement.external_id)
        statements.append(statement)
    last: dict[tuple[str, str], tuple[int, int, str, datetime]] = {}
    history: list[tuple[int, int, str, str, int]] = []
    for line, row in enumerate(_rows(folder / "votes.csv"), start=2):
        try:
            vote = int(row["vote"])
            stance = STANCE_OF_VOTE[vote]
            ts = int(float(row["timestamp"]))
            at = _millis(row["timestamp"])
            key = (row["voter-id"].strip(), row["comment-id"].strip())
        except BAD_VALUE as err:
            raise BadArgument("error.bad_polis", path=f"{folder / 'votes.csv'}:{line}",
                              problem=f"bad vote ({err})") from None
        if not key[0]:
            raise BadArgument("error.bad_polis", path=f"{folder / 'votes.csv'}:{line}",
                              problem="missing voter-id")
        if key[1] not in known:
            raise BadArgument("error.bad_polis", path=f"{folder / 'votes.csv'}:{line}",
                              problem=f"vote on unknown comment {key[1]}")
        history.append((ts, line, key[0], key[1], vote))
        previous = last.get(key)
        if previous is None or (ts, line) >= previous[:2]:
            last[key] = (ts, line, stance, at)
    votes = [(p, c, stance, at) for (p, c), (_, _, stance, at) in last.items()]
    voters = {p for p, _ in last} | {s.author for s in statements if s.author}
    topic = folder.name
    summary = folder / "summary.csv"
    if summary.is_file():
        with summary.open(newline="", encoding="utf-8") as fh:
            topic = clean_text(next((r[1] for r in csv.reader(fh)
                                     if len(r) > 1 and r[0] == "topic"), topic))
    history.sort()
    return Conversation(topic, statements, votes, sorted(voters, key=_natural),
                        [(p, c, v, ts) for ts, _, p, c, v in history])


def read_groups(folder: Path) -> dict[str, int]:
    """The opinion group Polis itself assigned to each clustered participant
    (``participants-votes.csv``, ``group-id``, 0-based; blank for those not clustered).
    Empty when the file is absent. Raises ``BadArgument`` for a malformed file."""
    path = Path(folder) / "participants-votes.csv"
    if not path.is_file():
        return {}
    groups: dict[str, int] = {}
    for line, row in enumerate(_rows(path), start=2):
        try:
            if (row["group-id"] or "").strip():
                groups[row["participant"].strip()] = int(row["group-id"])
        except BAD_VALUE as err:
            raise BadArgument("error.bad_polis", path=f"{path}:{line}",
                              problem=f"bad row ({err})") from None
    return groups


def replay_snapshots(conv: Conversation, every: timedelta
                     ) -> Iterator[tuple[datetime, list[tuple[str, str, int]]]]:
    """The conversation's votes as they stood every ``every`` since its first vote.

    Yields ``(time, votes)``: at each multiple of ``every`` after the first vote, the last vote
    of each (participant, statement) pair cast before that time, as analysis triples; moments
    when nothing changed are skipped; the last snapshot holds the final votes (those of
    :meth:`Conversation.vote_triples`). Raises ValueError for a
    non-positive interval.
    """
    step = int(every.total_seconds() * 1000)
    if step <= 0:
        raise ValueError("the replay interval must be positive")
    current: dict[tuple[str, str], int] = {}
    rows = conv.history
    boundary = rows[0][3] + step if rows else 0
    changed = False
    for p, c, vote, ts in rows:
        if ts >= boundary:
            if changed:
                yield _millis(str(boundary)), [(a, b, v) for (a, b), v in current.items()]
                changed = False
            boundary += -(-(ts + 1 - boundary) // step) * step
        current[(p, c)] = vote
        changed = True
    if changed:
        yield _millis(str(rows[-1][3])), [(a, b, v) for (a, b), v in current.items()]


def _natural(value: str) -> tuple[int, int, str]:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def parse_interval(text: str) -> timedelta:
    """``30m``, ``12h``, ``1d`` or ``2w`` as a timedelta; raises ``BadArgument`` otherwise."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise BadArgument("error.bad_interval", value=text)
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def replay_analysis(conv: Conversation, every: timedelta) -> tuple[AnalysisResult | None, int]:
    """The analysis updated at each of :func:`replay_snapshots`, each update starting from the
    previous one's state (bot/analysis/history.py), as a live round would have been analysed.

    Returns ``(last result, number of updates)``; ``(None, 0)`` without votes.
    """
    from bot.analysis import VoteMatrix, analyse

    result: AnalysisResult | None = None
    updates = 0
    for _, votes in replay_snapshots(conv, every):
        matrix = VoteMatrix.from_votes(votes, statements=conv.statement_ids,
                                       excluded=conv.excluded)
        result = analyse(matrix, previous=result.state if result else None)
        updates += 1
    return result, updates


def import_conversation(store: Store, pseudonyms: Pseudonymizer, folder: Path, now: datetime,
                        progress: Callable[[int, int], None] | None = None,
                        language: str = "fr",
                        replay_every: timedelta | None = None,
                        max_bytes: int | None = None) -> tuple[int, Conversation]:
    """Replay a Polis export as a new round (source ``polis``); returns (round id, data).

    Statements become replies, votes stances. Polis' ids are kept (anonymous integers) so an
    export gives them back; pseudonym keys are scoped to the conversation folder's name.
    ``language`` is the round's: the language its digests are written in. With
    ``replay_every``, the votes are then replayed by their timestamps at that interval
    (:func:`replay_analysis`) and the last update's state saved for the round, so its groups
    carry the history a live round would have. All or nothing for the round: a failure leaves
    no round behind. Raises ``BadArgument`` for a bad file and ``Conflict`` when the same
    export was already imported; ``max_bytes`` refuses larger files unread
    (:func:`check_sizes`).
    """
    conv = read_conversation(folder, max_bytes)
    source_hash = fingerprint(folder)
    existing = store.round_by_source(source_hash)
    if existing is not None:
        rnd = store.get_round(existing)
        raise Conflict("error.polis_already", round=rnd.public_id if rnd else "")
    scope = Path(folder).resolve().name
    round_id = store.import_conversation(
        name=conv.topic, language=language, source_hash=source_hash,
        opened_at=min((s.created_at for s in conv.statements), default=now),
        closed_at=max([s.created_at for s in conv.statements]
                      + [at for *_, at in conv.votes], default=now),
        platform=PLATFORM,
        participants=[(pseudonyms.key(PLATFORM, f"{scope}:{p}"), p) for p in conv.participants],
        statements=conv.statements, votes=conv.votes, now=now,
        progress=(lambda n: progress(n, len(conv.votes))) if progress else None)
    _log.info("imported %s: %d statements, %d votes", folder, len(conv.statements),
              len(conv.votes))
    if replay_every is not None:
        result, updates = replay_analysis(conv, replay_every)
        if result is not None and result.state is not None:
            store.save_analysis_state(round_id, result.state.fingerprint,
                                      result.state.to_json(), now)
        _log.info("replayed round %d in %d analysis updates", round_id, updates)
    return round_id, conv


def _day(at: datetime, precise: bool) -> tuple[int, str]:
    """A Polis timestamp (ms) and datetime for ``at``: the start of its UTC day and the
    date, unless ``precise``."""
    if not precise:
        at = datetime(at.year, at.month, at.day, tzinfo=UTC)
        return int(at.timestamp() * 1000), at.date().isoformat()
    return int(at.timestamp() * 1000), at.isoformat()


def _shuffled_ids(people: set[str]) -> dict[str, str]:
    """A fresh random numbering ``0..n-1`` of ``people`` (from the system's random source):
    two calls give unrelated mappings."""
    order = sorted(people, key=_natural)
    numbers = SystemRandom().sample(range(len(order)), len(order))
    return {p: str(n) for p, n in zip(order, numbers, strict=True)}


def export_conversation(store: Store, round_id: int, folder: Path,
                        group_of: Callable[[str], int | None] | None = None,
                        precise_times: bool = False) -> None:
    """Write ``comments.csv``, ``votes.csv`` and ``participants-votes.csv`` for a round,
    de-identified, in a folder readable by its owner only (``bot.files``).

    ``author-id`` and ``voter-id`` come from two separate random numberings, so a statement's
    author cannot be linked to their votes (``participants-votes.csv`` is keyed by voter and
    its ``n-comments`` is left blank for the same reason). Timestamps are cut to the start of
    their UTC day and rows of a day are sorted by comment and voter, so their order tells no
    time either; ``precise_times`` keeps them (the operator's own use). Every text cell is
    written so that no spreadsheet runs it as a formula. ``group_of`` maps a participant id
    (as stored) to its opinion group (empty column when None or not clustered). Raises
    ``OSError`` if the folder cannot be written.
    """
    folder = private_dir(Path(folder))
    statements, votes = store.export_conversation(round_id)
    statements.sort(key=lambda st: _natural(st.id))
    authors = _shuffled_ids({st.author for st in statements if st.author})
    voters = _shuffled_ids({v.participant for v in votes})
    agrees = Counter(v.statement for v in votes if v.value == 1)
    disagrees = Counter(v.statement for v in votes if v.value == -1)
    write_csv(folder / "comments.csv",
              ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees",
               "moderated", "comment-body"],
              [[*_day(st.created_at, precise_times), st.id,
                authors[st.author] if st.author else "", agrees[st.id], disagrees[st.id],
                st.moderated, st.text] for st in statements])
    rows = [(*_day(at, precise_times), comment, voters[voter], vote)
            for at, comment, voter, vote in votes]
    if not precise_times:
        rows.sort(key=lambda r: (r[0], _natural(r[2]), _natural(r[3])))
    write_csv(folder / "votes.csv", ["timestamp", "datetime", "comment-id", "voter-id", "vote"],
              rows)
    ids = [st.id for st in statements]
    matrix: dict[str, dict[str, int]] = {}
    for _, comment, voter, vote in votes:
        matrix.setdefault(voter, {})[comment] = vote
    table = []
    for voter in sorted(matrix, key=lambda p: _natural(voters[p])):
        row = matrix[voter]
        group = group_of(voter) if group_of else None
        table.append([voters[voter], "" if group is None else group, "", len(row),
                      sum(1 for v in row.values() if v == 1),
                      sum(1 for v in row.values() if v == -1), *[row.get(i, "") for i in ids]])
    write_csv(folder / "participants-votes.csv",
              ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree",
               *ids], table)
