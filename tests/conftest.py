"""Suite-wide fixtures: fail any test during which a watched logger recorded an ERROR.

discord.py and slack-bolt only log exceptions raised in handlers, so without this a broken
handler leaves tests green (docs/platform-facts.md, "Errors raised in event handlers ...").
"""

from __future__ import annotations

import logging

import pytest

WATCHED = ("discord", "slack_bolt", "slack_sdk", "bot", "integrations", "storage")

E2E = ("tests/integrations/", "tests/test_run.py", "tests/test_demo.py", "tests/test_startup.py",
       "tests/test_doctor.py", "tests/test_chaos.py")
"""The end-to-end tests: the real discord.py or slack-bolt against the local servers, or
planbot started as a subprocess. Marked ``e2e`` here, so that ``make test-fast`` leaves them
out; a new module under tests/integrations/ is end to end unless listed in UNIT."""
UNIT = ("tests/integrations/discord/test_translate.py", "tests/integrations/slack/test_units.py",
        "tests/integrations/slack/test_manifest.py")
"""Modules under tests/integrations/ that start no server: payload translation, the manifest."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(E2E) and not item.nodeid.startswith(UNIT):
            item.add_marker(pytest.mark.e2e)

class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in WATCHED:
            self.records.append(record)

@pytest.fixture(autouse=True)
def fail_on_logged_errors(request):
    """Collect ERROR records from watched loggers; fail the test if any appeared.

    A test that expects an error marks itself ``@pytest.mark.allow_logged_errors``.
    """
    collector = _ErrorCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
    if request.node.get_closest_marker("allow_logged_errors") is None and collector.records:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in collector.records)
        pytest.fail(f"ERROR logged during test:\n{lines}")

@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """No test reads or writes the machine's planbot home (``~/.local/share/planbot``): the
    environment points PLANBOT_HOME and XDG_DATA_HOME at a fresh folder."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("PLANBOT_HOME", str(home / "planbot"))
    monkeypatch.delenv("PLANBOT_DATA_DIR", raising=False)
    return home / "planbot"

def pytest_configure(config):
    config.addinivalue_line("markers", "allow_logged_errors: the test expects ERROR log records")
    config.addinivalue_line("markers", "slow: installs packages or builds an image (minutes)")

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"

def _pg_available() -> bool:
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres",
                        connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False

@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, then a private PostgreSQL schema.

    PostgreSQL tests are skipped only outside CI when the server is down; in CI (CI=true)
    an unreachable server fails them, so they always run there.
    """
    import os
    import uuid

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable in CI")
        pytest.skip("PostgreSQL is not running")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres",
                             autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
