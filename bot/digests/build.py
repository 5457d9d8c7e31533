"""Build a round's digest (``bot.digests.model.Digest``) from SQL aggregates of the store and
the opinion-group analysis.

Rankings respect sample size as Polis does (``math/src/polismath/math/repness.clj``,
``select-consensus-comments``): smoothed agreement pa = (1 + agrees) / (2 + votes) with its
one-proportion z-test against 1/2 (``stats.clj`` ``prop-test``); a statement is "most agreed"
only with pa > 1/2, z > 1.2816 (90 %) and at least ``min_votes`` votes, ranked by pa x z.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.analysis import AnalysisResult
from bot.digests import model
from bot.digests.moved import compare, standing_of, trends
from bot.errors import NotFound
from bot.privacy import REDACTED
from storage.records import RoundData, RoundStatement, StatementCount
from storage.store import Store

_log = logging.getLogger(__name__)
TOP = 5
"""Statements in each headline list."""
NEW_SHOWN = 10
"""New replies listed (the count says how many there were)."""
MIN_VOTES = 5
"""Default fewest votes a statement needs to be ranked "most agreed" (``DIGEST_MIN_VOTES``)."""
MIN_GROUP = 5
"""Default fewest members an opinion group needs to be described in a digest
(``DIGEST_MIN_GROUP_SIZE``): a smaller group's shares and representative statements would
come close to describing its members' own stances."""
Z_90 = 1.2816
"""One-sided 90 % critical value of the normal distribution (Polis' ``z-sig-90``)."""


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime


def smoothed(successes: int, votes: int) -> float:
    """Polis' Laplace-smoothed proportion (1 + successes) / (2 + votes), in (0, 1)."""
    return (1 + successes) / (2 + votes)


def prop_z(successes: int, votes: int) -> float:
    """Polis' one-proportion z against 1/2 with a +1 pseudocount (stats.clj ``prop-test``):
    2 sqrt(n + 1) ((s + 1) / (n + 1) - 1/2)."""
    n = votes + 1
    return 2 * math.sqrt(n) * ((successes + 1) / n - 0.5)


def division_score(agree: int, disagree: int) -> float:
    """How evenly a statement splits voters, weighted by how many took a side:
    (1 - |pa - pd|) x log(1 + agree + disagree), so a 5-5 split outranks a 1-1 split."""
    votes = agree + disagree
    return (1 - abs(smoothed(agree, votes) - smoothed(disagree, votes))) * math.log1p(votes)


def letter(group_id: int) -> str:
    """Opinion groups are shown as letters, as Polis reports do (0 -> A)."""
    return chr(ord("A") + group_id)


def build_digest(store: Store, round_id: int, period: Period, *,
                 analysis: AnalysisResult | None = None, language: str | None = None,
                 min_votes: int = MIN_VOTES, final: bool = False,
                 min_group: int = MIN_GROUP) -> model.Digest:
    """The digest of round ``round_id`` over ``period``, in ``language`` (default the
    round's), compared with the round's previous digest and the plan's previous round.
    Opinion groups of fewer than ``min_group`` members are not described (no letter, shares,
    representative statements or map points); their members still count in the totals,
    the per-statement splits and the consensus figures.

    Raises ``NotFound`` when the round does not exist.
    """
    rnd = store.get_round(round_id)
    if rnd is None:
        raise NotFound("error.no_round", round=round_id)
    lang = language or rnd.language
    plan_titles = store.round_plan_titles(round_id)
    plan_title = plan_titles.get(lang) or rnd.name
    facts = _AnalysisFacts(analysis, min_group)
    rows = store.statement_counts(round_id)
    sections = store.round_sections(round_id) if rnd.source == "chat" else []
    titles = {s.statement_id: _pick(s.titles, lang) for s in sections}
    earlier = store.earlier_stances(round_id)
    statements = [_statement(row, titles, facts, earlier.get(row.id), purged=rnd.purged)
                  for row in rows]
    by_db_id = {row.id: s for row, s in zip(rows, statements, strict=True)}
    picker = _Picker(statements, facts, min_votes)
    new = [s for s in picker.replies if period.start <= s.created_at < period.end]
    new_ranked = sorted(new, key=lambda s: (-(s.consensus or s.pa), -s.pa, s.id))
    participants = store.participation(round_id)
    live = [s for s in statements if s.in_analysis]
    digest = model.Digest(
        round=model.RoundInfo(id=rnd.id, name=plan_title if rnd.source == "chat" else rnd.name,
                              plan=rnd.plan_slug, plan_title=plan_title, language=lang,
                              status=rnd.status, source=rnd.source),
        start=period.start, end=period.end, final=final,
        participation=model.Participation(
            people=participants.total, people_by_platform=participants.by_platform,
            stances=sum(s.split.votes for s in live),
            stances_by_platform=store.stances_by_platform(round_id),
            statements=len(live), replies=len(picker.replies),
            moderated_out=len(statements) - len(live)),
        statements=tuple(statements),
        sections=tuple(_sections(sections, by_db_id, statements, lang,
                                 store.removed_sections(round_id) if sections else {})),
        common_ground=picker.common_ground(),
        divides=picker.divides(),
        most_agreed=picker.most_agreed(),
        most_divided=picker.most_divided(),
        uncertain=picker.uncertain(),
        new_replies=picker.take((model.Highlight(s, s.consensus or s.pa) for s in new_ranked),
                                NEW_SHOWN),
        new_reply_count=len(new),
        top_replies=picker.top_replies(),
        groups=facts.groups(picker.by_id),
        clustered=facts.clustered,
        opinion_map=facts.opinion_map(),
        min_votes=min_votes,
        hidden_groups=facts.hidden,
        min_group=min_group,
        standing=standing_of(statements, facts.divisive_ids, min_votes),
    )
    return _with_history(store, digest, rnd, by_db_id)


def statement_texts(store: Store, round_id: int, language: str) -> dict[str, str | None]:
    """Statement id -> text (a section's title in ``language``) of every statement of a
    round, without counts or analysis (for ``planbot analyse``)."""
    titles = {s.statement_id: _pick(s.titles, language) for s in store.round_sections(round_id)}
    return {row.external_id or str(row.id):
            titles.get(row.id) if row.kind == "section" else row.text
            for row in store.statement_counts(round_id)}


def _with_history(store: Store, digest: model.Digest, rnd: RoundData,
                  by_db_id: dict[int, model.Statement]) -> model.Digest:
    """``digest`` with what moved since the round's previous digest and the plan's previous
    round, and the agree share over time of its top statements."""
    # The last scheduled digest (weekly or final) before this one: what readers last saw.
    earlier = [(d.period_end, d.content) for d in store.digests(rnd.id)
               if d.content and d.kind in ("weekly", "final")
               and _aware(d.period_end) < digest.end]
    moved = []
    if earlier:
        period_end, content = earlier[-1]
        moved.append(compare(digest, content, "digest", period_end.date().isoformat()))
    previous = _previous_round(store, rnd)
    if previous is not None:
        label, content = previous
        moved.append(compare(digest, content, "round", label))
    top = [h.statement for h in (*digest.common_ground, *digest.most_agreed)][:TOP]
    db_ids = {s.id: db for db, s in by_db_id.items()}
    rows = store.stance_times([db_ids[s.id] for s in top]) if top else []
    return replace(digest, moved=tuple(moved), trends=trends(top, db_ids, rows, digest.end,
                                                               digest.min_votes))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _previous_round(store: Store, rnd: RoundData) -> tuple[str, dict[str, Any]] | None:
    """(name, last digest content) of the newest earlier round of the same plan, opened in
    the same place (a round of another server or workspace is none of this one's business),
    that has a digest; None when there is none."""
    if rnd.plan_slug is None:
        return None
    for other in sorted((r for r in store.rounds() if r.plan_slug == rnd.plan_slug
                         and r.id < rnd.id and r.home == rnd.home), key=lambda r: -r.id):
        contents = [d.content for d in store.digests(other.id) if d.content]
        if contents:
            return f"#{other.public_id} {other.name}", contents[-1]
    return None


def _pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or next(iter(texts.values()), "")


def _statement(row: StatementCount, titles: dict[int, str], facts: _AnalysisFacts,
               earlier: tuple[int, int, int] | None = None, *,
               purged: bool) -> model.Statement:
    split = model.Split(row.agree, row.disagree, row.passes)
    sid = row.external_id or str(row.id)
    text = titles.get(row.id) if row.kind == "section" else row.text
    if text is None and row.kind == "reply" and not row.text_withheld and (
            purged or row.moderated):
        # No text for a reply of a purged round (its file names went too), or for one
        # counted (an erased or attachment reply is not): purged after the retention period.
        # A withheld one has its own words. The mark says so where an empty quote would read
        # as a blank statement.
        text = REDACTED
    return model.Statement(
        id=sid, kind=row.kind, section=row.section_key, text=text or "",
        withheld=bool(row.text_withheld), platform=row.platform,
        in_analysis=bool(row.moderated) and row.deleted_at is None,
        created_at=_aware(row.created_at),
        split=split, pa=round(smoothed(split.agree, split.votes), 4),
        z=round(prop_z(split.agree, split.votes), 4),
        significant=split.agree * 2 > split.votes and prop_z(split.agree, split.votes) > Z_90,
        consensus=facts.consensus.get(sid), groups=facts.group_splits.get(sid, ()),
        earlier=model.Split(*earlier) if earlier else None, broadcast=bool(row.broadcast))


def _group_share(statement: model.Statement, group: int, side: str, smoothed: float) -> float:
    """Share of ``group``'s votes on ``statement`` that are ``side`` (agree / disagree), in
    [0, 1]; ``smoothed`` when the statement carries no split for that group."""
    split = next((g.split for g in statement.groups if g.group == group), None)
    if split is None or not split.votes:
        return smoothed
    return (split.agree if side == "agree" else split.disagree) / split.votes


def _support(s: model.Statement) -> tuple[float, int, str]:
    """Ranking by support: smoothed agreement, then agrees, then id (stable)."""
    return (-s.pa, -s.split.agree, s.id)


def _sections(sections: Sequence[RoundStatement], by_db_id: dict[int, model.Statement],
              statements: list[model.Statement], lang: str,
              removed: dict[int, tuple[str, ...]]) -> Iterable[model.Section]:
    for s in sorted(sections, key=lambda s: s.position):
        replies = sorted((r for r in statements if r.kind == "reply" and r.in_analysis
                          and r.section == s.section_key), key=_support)
        yield model.Section(key=s.section_key, position=s.position, title=_pick(s.titles, lang),
                            body=_pick(s.bodies, lang), statement=by_db_id.get(s.statement_id),
                            replies=tuple(replies), removed_on=removed.get(s.statement_id, ()))


class _AnalysisFacts:
    """What the digest reads from an ``AnalysisResult`` (its JSON-ready summary, plus the
    projection for the opinion map), or nothing when there is no analysis."""

    def __init__(self, analysis: AnalysisResult | None, min_group: int = MIN_GROUP) -> None:
        self.result = analysis
        self.data: dict[str, Any] = analysis.to_dict() if analysis is not None else {}
        stats = self.data.get("statement_stats", {})
        self.k = self.data.get("k", 0)
        # Rows of the per-group arrays -> group ids (kept from digest to digest, so their
        # letters may skip one after a group disappears).
        self.ids = [g["id"] for g in self.data.get("groups", [])]
        self.shown = {g["id"] for g in self.data.get("groups", []) if g["size"] >= min_group}
        self.hidden = len(self.ids) - len(self.shown)
        self.clustered = len(self.data.get("clustered", []))
        self.consensus = {sid: st["consensus_agree"] for sid, st in stats.items()
                          if st.get("consensus_agree") is not None}
        self.group_splits = {
            sid: tuple(model.GroupSplit(g, letter(g), model.Split(
                gs["agree"], gs["disagree"], gs["votes"] - gs["agree"] - gs["disagree"]))
                for g, gs in zip(self.ids, st["groups"], strict=False) if g in self.shown)
            for sid, st in stats.items()}
        # Divisive in the analysis' sense: some group mostly agrees, another mostly
        # disagrees (described groups only: a small group's lean is not told even so).
        shown = {sid: [gs for g, gs in zip(self.ids, st["groups"], strict=False)
                       if g in self.shown] for sid, st in stats.items()}
        self.divisive_ids = {sid for sid, gs in shown.items()
                             if any((g["pa"] or 0) > 0.5 for g in gs)
                             and any((g["pd"] or 0) > 0.5 for g in gs)}

    def items(self, name: str, side: str | None = None) -> list[dict[str, Any]]:
        """The analysis' list ``name`` (e.g. ``divisive``), or its ``side`` (``agree`` /
        ``disagree``) for a list kept per side (``common_ground``); [] when absent."""
        found = self.data.get(name)
        if not found:
            return []
        items: list[dict[str, Any]] = found.get(side, []) if side else found
        return items

    def groups(self, by_id: dict[str, model.Statement]) -> tuple[model.Group, ...]:
        """The groups shown, each with its three most representative statements (Polis'
        repness order) and the group's plain share on the side it leans: the same figure
        the division list gives for that group, not repness' smoothed ``p_success``."""
        return tuple(
            model.Group(id=g["id"], letter=letter(g["id"]), size=g["size"], representative=tuple(
                (by_id[r["statement"]], r["repful_for"],
                 _group_share(by_id[r["statement"]], g["id"], r["repful_for"],
                              float(r["p_success"])))
                for r in g["representative"][:3] if r["statement"] in by_id))
            for g in self.data.get("groups", []) if g["id"] in self.shown)

    def opinion_map(self) -> tuple[model.MapPoint, ...]:
        if self.result is None or not self.k:
            return ()
        rows = self.result.clustered_rows
        coords = self.result.projection.coords[rows]
        return tuple(model.MapPoint(round(float(x), 4), round(float(y), 4), self.ids[int(g)])
                     for (x, y), g in zip(coords[:, :2], self.result.grouping.labels,
                                          strict=False) if self.ids[int(g)] in self.shown)


class _Picker:
    """Fills the headline lists in reading order; a statement shown once is not shown again."""

    def __init__(self, statements: list[model.Statement], facts: _AnalysisFacts,
                 min_votes: int) -> None:
        self.by_id = {s.id: s for s in statements}
        self.live = [s for s in statements if s.in_analysis]
        self.replies = [s for s in self.live if s.kind == "reply"]
        self.facts, self.min_votes = facts, min_votes
        self.used: set[str] = set()

    def take(self, candidates: Iterable[model.Highlight], n: int = TOP) -> tuple[model.Highlight, ...]:
        out: list[model.Highlight] = []
        for h in candidates:
            if len(out) == n:
                break
            if h.statement.id not in self.used:
                self.used.add(h.statement.id)
                out.append(h)
        return tuple(out)

    def _analysis(self, name: str, side: str | None, score: str) -> Iterable[model.Highlight]:
        for item in self.facts.items(name, side):
            s = self.by_id.get(item["statement"])
            if s is not None:
                yield model.Highlight(s, float(item.get(score) or 0), side or "agree")

    def common_ground(self) -> tuple[model.Highlight, ...]:
        return (self.take(self._analysis("common_ground", "agree", "consensus"), 3)
                + self.take(self._analysis("common_ground", "disagree", "consensus"), 2))

    def divides(self) -> tuple[model.Highlight, ...]:
        return self.take(self._analysis("divisive", None, "score"))

    def uncertain(self) -> tuple[model.Highlight, ...]:
        return self.take(self._analysis("uncertain", None, "pass_share"))

    def most_agreed(self) -> tuple[model.Highlight, ...]:
        ranked = sorted((s for s in self.live if s.split.votes >= self.min_votes
                         and s.significant and s.pa > 0.5), key=lambda s: (-s.pa * s.z, s.id))
        return self.take(model.Highlight(s, s.pa * s.z) for s in ranked)

    def most_divided(self) -> tuple[model.Highlight, ...]:
        scored = [(division_score(s.split.agree, s.split.disagree), s) for s in self.live
                  if s.split.votes >= self.min_votes and s.split.agree and s.split.disagree]
        scored.sort(key=lambda p: (-p[0], p[1].id))
        return self.take(model.Highlight(s, score) for score, s in scored)

    def top_replies(self) -> tuple[model.Highlight, ...]:
        ranked = sorted((s for s in self.replies if s.split.agree
                         and s.split.votes >= self.min_votes), key=_support)
        return self.take(model.Highlight(s, s.pa) for s in ranked)
