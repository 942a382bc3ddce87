"""bot.lock_store in the Rasa venv where it runs, on SQLite and on the PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from serve.run import process_env
from tests.unit.bot.rasa_side import run_in_rasa

pytestmark = pytest.mark.slow  # each test runs its check in the Rasa venv

CHECK = Path(__file__).parent / "rasa_side" / "check_lock_store.py"
CHECKS = [
    "processes take turns",
    "created beside another process",
    "in order",
    "conversations independent",
    "dead ticket expires",
    "waiting too long fails",
    "rasa interface",
    "endpoints.yml",
    "no url refused",
]


def run_check(tmp_path: Path, url: str) -> str:
    return run_in_rasa(
        str(CHECK), url, str(tmp_path / "counter"), env=process_env(Settings(var_dir=tmp_path))
    )


def test_sql_lock_store_on_sqlite(tmp_path: Path) -> None:
    out = run_check(tmp_path, f"sqlite:///{tmp_path / 'locks.db'}")
    for check in CHECKS:
        assert f"ok {check}\n" in out


@pytest.mark.postgres
def test_sql_lock_store_on_postgresql(tmp_path: Path, postgres_schema: str) -> None:
    url = f"postgresql://postgres@localhost:5432/test?options=-csearch_path%3D{postgres_schema}"
    out = run_check(tmp_path, url)
    for check in CHECKS:
        assert f"ok {check}\n" in out
