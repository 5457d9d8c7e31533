"""What the benchmarks share: a core on a fresh store with the sample plan imported."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import SystemClock
from bot.config import Settings
from bot.core import Core
from bot.plans import import_plan, sample_plan_paths
from bot.service.build import build_core
from storage.db import create_store_engine, upgrade
from storage.store import Store


def make_core(tmp: Path, database_url: str | None, **settings: object) -> Core:
    """A core on ``database_url`` (default a SQLite file in ``tmp``), schema at head,
    sample plan imported; ``settings`` override Settings fields (facilitators...)."""
    config = Settings(data_dir=tmp, database_url=database_url or f"sqlite:///{tmp / 'bench.db'}",
                      participant_secret="bench-secret-0123456789", **settings)
    engine = create_store_engine(config.database_url)
    upgrade(engine)
    store = Store(engine)
    clock = SystemClock()
    import_plan(store, sample_plan_paths(), clock.now())
    return build_core(store, config, clock)
