"""bot.tracker_store in the Rasa venv where it runs, on SQLite and on the PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.run import RASA_PYTHON, process_env
from bot.settings import ROOT, Settings

CHECK = Path(__file__).parent / "rasa_side" / "check_tracker_store.py"
CHECKS = [
    "memory equals database",
    "saved to the database",
    "stale detected",
    "unsaved events never handed out",
    "new session read again",
    "bounded",
    "new domain",
    "event broker",
    "endpoints.yml",
    "bad size refused",
]
POSTGRES_URL = os.environ.get(
    "CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/test"
)


def run_check(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(RASA_PYTHON), str(CHECK), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    return result.stdout


def test_cached_tracker_store_on_sqlite(tmp_path: Path) -> None:
    env = process_env(Settings(var_dir=tmp_path))
    out = run_check(env, "sqlite", str(tmp_path / "tracker.db"), str(tmp_path / "events.db"))
    for check in [*CHECKS, "wal", "pooled"]:
        assert f"ok {check}\n" in out


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A private schema on the PostgreSQL server, dropped afterwards."""
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable (CI is set, so it must be): {exc.orig}")
        pytest.skip(f"PostgreSQL not reachable: {exc.orig}")
    schema = f"tracker_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_cached_tracker_store_on_postgresql(tmp_path: Path, postgres_schema: str) -> None:
    env = process_env(Settings(var_dir=tmp_path))
    env["POSTGRESQL_SCHEMA"] = postgres_schema
    env["PGUSER"] = "postgres"
    env["PGHOST"] = "localhost"
    out = run_check(env, "postgresql", "test", str(tmp_path / "events.db"))
    for check in CHECKS:
        assert f"ok {check}\n" in out
