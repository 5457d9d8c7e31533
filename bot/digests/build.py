"""Build a digest of a round as plain, JSON-ready data, from SQL aggregates of the store.

Smoothed agreement follows Polis (``math/src/polismath/math/repness.clj``, ``p-success``):
pa = (1 + agrees) / (2 + votes), votes counting agrees, disagrees and passes seen.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.errors import NotFound
from storage.store import Store

_log = logging.getLogger(__name__)
TOP = 5
MIN_VOTES_TO_RANK = 3


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime


def smoothed(successes: int, votes: int) -> float:
    """Polis' Laplace-smoothed proportion (1 + successes) / (2 + votes), in (0, 1)."""
    return (1 + successes) / (2 + votes)


def division_score(agree: int, disagree: int) -> float:
    """How evenly a statement splits voters, weighted by how many took a side.

    1 - |pa - pd| (1 when agree and disagree balance) times log(1 + agree + disagree), so a
    5-5 split outranks a 1-1 split. A first ranking; the analysis adds who divides.
    """
    votes = agree + disagree
    return (1 - abs(smoothed(agree, votes) - smoothed(disagree, votes))) * math.log1p(votes)


def build_digest(store: Store, round_id: int, period: Period, *, analysis: dict[str, Any] | None = None,
                 language: str | None = None) -> dict[str, Any]:
    """The digest of round ``round_id`` over ``period`` as a JSON-ready dict.

    Keys: ``round`` (id, name, plan, language, status), ``period`` (ISO start/end),
    ``participants`` (``all`` and per platform), ``totals`` (statements and replies in the
    analysis, those moderated out or deleted, stances overall and per platform),
    ``statements`` (every statement with agree / disagree / pass / votes / pa),
    ``consensus`` and ``division`` (first rankings, ids),
    ``new_replies`` (created in the period), ``top_replies`` (most agreed), and ``analysis``
    when given. Raises ``NotFound`` when the round does not exist.
    """
    rnd = store.get_round(round_id)
    if rnd is None:
        raise NotFound("error.no_round", round=round_id)
    lang = language or rnd.language
    titles = {s.statement_id: s.titles.get(lang) or next(iter(s.titles.values()))
              for s in store.round_sections(round_id)} if rnd.source == "chat" else {}
    statements: list[dict[str, Any]] = []
    for row in store.statement_counts(round_id):
        votes = row.agree + row.disagree + row.passes
        text = titles.get(row.id) if row.kind == "section" else row.text
        statements.append({
            "id": row.external_id or str(row.id),
            "kind": row.kind,
            "section": row.section_key,
            "text": text,
            "text_withheld": bool(row.text_withheld),
            "platform": row.platform,
            "in_analysis": bool(row.moderated) and row.deleted_at is None,
            "created_at": row.created_at.isoformat(),
            "agree": row.agree, "disagree": row.disagree, "pass": row.passes,
            "votes": votes,
            "pa": round(smoothed(row.agree, votes), 4),
        })
    live = [s for s in statements if s["in_analysis"] and s["votes"] >= MIN_VOTES_TO_RANK]
    # Ranked by the share people see (then by how many voted), among statements enough
    # people voted on: a plain ranking a reader can check against the counts.
    consensus = sorted(live, key=lambda s: (-s["agree"] / s["votes"], -s["votes"], s["id"]))[:TOP]
    division = sorted((s for s in live if s["agree"] and s["disagree"]),
                      key=lambda s: (-division_score(s["agree"], s["disagree"]), s["id"]))[:TOP]
    replies = [s for s in statements if s["kind"] == "reply" and s["in_analysis"]]
    new = [s for s in replies
           if period.start.isoformat() <= s["created_at"] < period.end.isoformat()]
    # "Most agreed" counts people: the replies with the most 👍 (consensus ranks by share).
    top_replies = sorted((s for s in replies if s["agree"]),
                         key=lambda s: (-s["agree"], -s["pa"], s["id"]))[:TOP]
    return {
        "round": {"id": rnd.id, "name": rnd.name, "plan": rnd.plan_slug, "language": lang,
                  "status": rnd.status, "source": rnd.source},
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "participants": store.participation(round_id).as_counts(),
        "totals": {
            "statements": sum(1 for s in statements if s["in_analysis"]),
            "replies": len(replies),
            "moderated_out": sum(1 for s in statements if not s["in_analysis"]),
            "stances": sum(s["votes"] for s in statements if s["in_analysis"]),
            "stances_by_platform": store.stances_by_platform(round_id),
        },
        "statements": statements,
        "consensus": [s["id"] for s in consensus],
        "division": [s["id"] for s in division],
        "new_replies": [s["id"] for s in sorted(new, key=lambda s: s["created_at"])],
        "top_replies": [s["id"] for s in top_replies],
        "analysis": analysis,
    }
