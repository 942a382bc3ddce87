"""bot.tracker_store in the Rasa venv where it runs, on SQLite and on the PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from serve.run import process_env
from tests.unit.bot.rasa_side import run_in_rasa

pytestmark = pytest.mark.slow  # each test runs its check in the Rasa venv

CHECK = Path(__file__).parent / "rasa_side" / "check_tracker_store.py"
EVENTS_TABLE = Path(__file__).parent / "rasa_side" / "check_events_table.py"
CHECKS = [
    "memory equals database",
    "saved to the database",
    "stale detected",
    "caught up from another process",
    "unsaved events never handed out",
    "new session read again",
    "bounded",
    "new domain",
    "event broker",
    "endpoints.yml",
    "bad size refused",
]


def run_check(env: dict[str, str], *args: str) -> str:
    return run_in_rasa(str(CHECK), *args, env=env)


def test_cached_tracker_store_on_sqlite(tmp_path: Path) -> None:
    env = process_env(Settings(var_dir=tmp_path))
    out = run_check(env, "sqlite", str(tmp_path / "tracker.db"), str(tmp_path / "events.db"))
    for check in [*CHECKS, "wal", "pooled"]:
        assert f"ok {check}\n" in out


@pytest.mark.postgres
def test_cached_tracker_store_on_postgresql(tmp_path: Path, postgres_schema: str) -> None:
    env = process_env(Settings(var_dir=tmp_path))
    env["POSTGRESQL_SCHEMA"] = postgres_schema
    env["PGUSER"] = "postgres"
    env["PGHOST"] = "localhost"
    out = run_check(env, "postgresql", "test", str(tmp_path / "events.db"))
    for check in CHECKS:
        assert f"ok {check}\n" in out


def test_the_events_table_is_described_as_rasa_creates_it() -> None:
    # config/tracker_events.py is the one description, used by this store and by crm alike.
    out = run_in_rasa(str(EVENTS_TABLE))
    assert "ok name\nok columns\nok sqlalchemy 1.4" in out
