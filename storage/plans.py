"""Plans and their versions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    and_,
    func,
    select,
)
from sqlalchemy.orm import Session

from storage.base import StoreBase
from storage.models import (
    Plan,
    PlanVersion,
    Section,
    SectionVersion,
)
from storage.records import (
    PlanSummary,
    PlanVersionData,
    SavedPlanVersion,
    SectionData,
)


class PlanQueries(StoreBase):
    """Plan documents: versions and sections (identity kept across versions by key)."""

    def save_plan_version(
        self,
        slug: str,
        titles: dict[str, str],
        languages: list[str],
        content_hash: str,
        sections: Sequence[tuple[str, dict[str, str], dict[str, str], str]],
        now: datetime,
    ) -> SavedPlanVersion:
        """Store a parsed plan; ``sections`` are (key, titles, bodies, content_hash) in order.

        Returns the version and whether it is new: importing the same content as the latest
        version creates nothing. Sections keep their identity (plan, key) across versions.
        """
        with self._tx() as s:
            plan = s.scalar(select(Plan).where(Plan.slug == slug))
            if plan is None:
                plan = Plan(slug=slug, created_at=now)
                s.add(plan)
                s.flush()
            latest = s.scalar(
                select(PlanVersion)
                .where(PlanVersion.plan_id == plan.id)
                .order_by(PlanVersion.number.desc())
                .limit(1)
            )
            if latest is not None and latest.content_hash == content_hash:
                return SavedPlanVersion(self._plan_version(s, plan, latest), created=False)
            version = PlanVersion(
                plan_id=plan.id,
                number=(latest.number + 1) if latest else 1,
                titles=titles,
                languages=list(languages),
                content_hash=content_hash,
                imported_at=now,
            )
            s.add(version)
            s.flush()
            known = {k: i for k, i in s.execute(
                select(Section.key, Section.id).where(Section.plan_id == plan.id))}
            for position, (key, s_titles, s_bodies, s_hash) in enumerate(sections):
                if key not in known:
                    section = Section(plan_id=plan.id, key=key)
                    s.add(section)
                    s.flush()
                    known[key] = section.id
                s.add(SectionVersion(
                    plan_version_id=version.id, section_id=known[key], position=position,
                    titles=s_titles, bodies=s_bodies, content_hash=s_hash))
            s.flush()
            return SavedPlanVersion(self._plan_version(s, plan, version), created=True)

    def _plan_version(self, s: Session, plan: Plan, version: PlanVersion) -> PlanVersionData:
        rows = s.execute(
            select(SectionVersion, Section.key)
            .join(Section, Section.id == SectionVersion.section_id)
            .where(SectionVersion.plan_version_id == version.id)
            .order_by(SectionVersion.position)
        ).all()
        return PlanVersionData(
            plan_id=plan.id, slug=plan.slug, version_id=version.id, number=version.number,
            titles=version.titles, languages=version.languages,
            content_hash=version.content_hash,
            sections=[SectionData(sv.section_id, key, sv.position, sv.titles, sv.bodies,
                                  sv.content_hash) for sv, key in rows],
        )

    def latest_plan_version(self, slug: str) -> PlanVersionData | None:
        """The newest version of plan ``slug``, or None if no such plan."""
        with self._tx() as s:
            plan = s.scalar(select(Plan).where(Plan.slug == slug))
            if plan is None:
                return None
            version = s.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id)
                               .order_by(PlanVersion.number.desc()).limit(1))
            return self._plan_version(s, plan, version) if version is not None else None

    def list_plans(self) -> list[PlanSummary]:
        """All plans with their latest version, by slug."""
        with self._tx() as s:
            latest = (select(PlanVersion.plan_id, func.max(PlanVersion.number).label("n"))
                      .group_by(PlanVersion.plan_id).subquery())
            rows = s.execute(
                select(Plan.slug, PlanVersion.number, PlanVersion.titles)
                .join(latest, latest.c.plan_id == Plan.id)
                .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id,
                                        PlanVersion.number == latest.c.n))
                .order_by(Plan.slug)
            ).all()
            return [PlanSummary(slug, n, titles) for slug, n, titles in rows]
