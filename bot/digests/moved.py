"""What moved between two digests, and statements' agree share over time.

Each digest stores a ``standing`` (statement id -> key, agree, votes, consensus, divisive) in
its JSON; the next digest of the round compares statements by id, and the next round of the
same plan compares them by key: a section by its plan key, a reply by its text (folded
whitespace, lower case), since a new round has new statements.

A statement is *in consensus* when its agreement is significant (smoothed pa > 1/2 with
Polis' z > 1.2816, at least ``min_votes`` votes) and, when there are opinion groups, every
group's smoothed agreement is above 1/2 (the common-ground rule of
``bot.analysis.highlights.common_ground``); it is *divisive* when some group mostly agrees
and another mostly disagrees (``bot.analysis.highlights.divisive`` before its significance
test).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.digests import model
from storage.records import StatementStance

SHOWN = 5
"""Statements listed per kind of change."""
TREND_POINTS = 40
"""Most points per statement in the consensus-over-time chart."""


def key_of(s: model.Statement) -> str:
    """The statement's identity across rounds of one plan."""
    if s.kind == "section" and s.section:
        return f"section:{s.section}"
    return "text:" + " ".join(s.text.lower().split())[:200]


def in_consensus(s: model.Statement, min_votes: int) -> bool:
    groups_agree = all(g.split.agree + 1 > (g.split.votes + 2) / 2 for g in s.groups)
    return s.significant and s.split.votes >= min_votes and groups_agree


def standing_of(statements: Iterable[model.Statement], divisive_ids: set[str],
                min_votes: int) -> dict[str, dict[str, Any]]:
    """Statement id -> {"key", "agree", "votes", "consensus", "divisive"} for every
    statement in the analysis."""
    return {s.id: {"key": key_of(s), "agree": s.split.agree, "votes": s.split.votes,
                   "consensus": in_consensus(s, min_votes), "divisive": s.id in divisive_ids}
            for s in statements if s.in_analysis}


def _people(content: dict[str, Any]) -> int:
    participation = content.get("participation")
    if isinstance(participation, dict):
        return int(participation.get("people", 0))
    return int((content.get("participants") or {}).get("all", 0))  # digests before issue 13


def compare(digest: model.Digest, before: dict[str, Any], against: str,
            label: str) -> model.Moved:
    """What changed since ``before`` (an earlier digest's JSON). ``against`` is ``digest``
    (same round: statements matched by id; one absent before counts as neither in consensus
    nor divisive then) or ``round`` (previous round: matched by key; unmatched ones skipped)."""
    then = before.get("standing") or {}
    if against == "round":
        then = {v["key"]: v for v in then.values()}
    changes: dict[str, list[str]] = {k: [] for k in ("in", "out", "div", "undiv")}
    texts = {s.id: s.text for s in digest.statements}
    for sid, now in digest.standing.items():
        old = then.get(now["key"] if against == "round" else sid)
        if old is None and against == "round":
            continue
        old = old or {"consensus": False, "divisive": False}
        text = texts[sid]
        for flag, gained, lost in (("consensus", "in", "out"), ("divisive", "div", "undiv")):
            if now[flag] and not old[flag]:
                changes[gained].append(text)
            elif old[flag] and not now[flag]:
                changes[lost].append(text)
    return model.Moved(
        against=against, label=label,
        entered_consensus=tuple(changes["in"][:SHOWN]),
        left_consensus=tuple(changes["out"][:SHOWN]),
        became_divisive=tuple(changes["div"][:SHOWN]),
        stopped_divisive=tuple(changes["undiv"][:SHOWN]),
        participants=(_people(before), digest.participation.people))


def trends(top: Sequence[model.Statement], db_ids: dict[str, int],
           rows: Sequence[StatementStance], end: datetime,
           min_votes: int) -> tuple[model.Trend, ...]:
    """Agree share (agree / votes among current stances cast by then) of each of ``top``
    at each time one of its stances came (``rows``: the store's ``stance_times``, oldest
    first), from its ``min_votes``-th vote on (fewer swing from 0 to 100 %), thinned to at
    most ``TREND_POINTS`` points, the last one at ``end``."""
    events: dict[int, list[tuple[datetime, str]]] = {}
    for statement_id, when, stance in rows:
        events.setdefault(statement_id, []).append(
            (when if when.tzinfo else when.replace(tzinfo=UTC), stance))
    out = []
    for s in top:
        seen = events.get(db_ids[s.id], [])
        if not seen:
            continue
        agree = votes = 0
        points: list[tuple[datetime, float]] = []
        for when, stance in seen:
            votes += 1
            agree += stance == "agree"
            if votes < min_votes:
                continue
            if points and points[-1][0] == when:  # one point per moment: no vertical jumps
                points.pop()
            points.append((when, agree / votes))
        if not points:
            continue
        step = max(1, len(points) // TREND_POINTS)
        kept = points[::step]
        kept.append((max(end, points[-1][0]), points[-1][1]))
        out.append(model.Trend(s, tuple(kept)))
    return tuple(out)
