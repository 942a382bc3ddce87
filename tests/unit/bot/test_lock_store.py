"""bot.lock_store in the Rasa venv where it runs, on SQLite and on the PostgreSQL server."""

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

CHECK = Path(__file__).parent / "rasa_side" / "check_lock_store.py"
CHECKS = [
    "processes take turns",
    "in order",
    "conversations independent",
    "dead ticket expires",
    "waiting too long fails",
    "rasa interface",
    "endpoints.yml",
    "no url refused",
]
POSTGRES_URL = os.environ.get(
    "CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/test"
)


def run_check(tmp_path: Path, url: str) -> str:
    result = subprocess.run(
        [str(RASA_PYTHON), str(CHECK), url, str(tmp_path / "counter")],
        cwd=ROOT,
        env=process_env(Settings(var_dir=tmp_path)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    return result.stdout


def test_sql_lock_store_on_sqlite(tmp_path: Path) -> None:
    out = run_check(tmp_path, f"sqlite:///{tmp_path / 'locks.db'}")
    for check in CHECKS:
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
    schema = f"lock_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_sql_lock_store_on_postgresql(tmp_path: Path, postgres_schema: str) -> None:
    url = f"postgresql://postgres@localhost:5432/test?options=-csearch_path%3D{postgres_schema}"
    out = run_check(tmp_path, url)
    for check in CHECKS:
        assert f"ok {check}\n" in out
