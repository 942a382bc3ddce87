"""Fixtures shared by every test layer: the real embedding model, loaded once per session, and
the local PostgreSQL server (`CRM_TEST_POSTGRES_URL`). When the server is unreachable its tests
are skipped, unless `CI` is set, where a silent skip would hide a broken pipeline: they fail.

Also what keeps `make check` fast (it runs `-m "not slow and not postgres"`): a test that runs
code in the Rasa venv or starts Rasa processes must be marked `slow` (`require_slow` fails it
otherwise), and in such a run any unmarked test slower than `SLOW_SECONDS` is named at the end.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from config.settings import Settings
from crm.records.migrate import upgrade
from encoder.embedding import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parent.parent
# The settings object with its own defaults, whatever this shell's environment holds: what unit
# tests pass where a service takes a setting (they assert on these values, e.g. SITE_URL's links).
DEFAULTS = Settings.model_construct()
# A test whose own run (not its fixtures) takes longer than this on an idle machine is `slow`.
SLOW_SECONDS = 2.0
POSTGRES_URL = os.environ.get(
    "CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/test"
)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2: small enough to load once for the whole run."""
    return SentenceTransformerEmbedder(Settings().model_path)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A records database migrated to head by Alembic, once per run; tests take a copy of it.

    A copy holds the same bytes the migrations would write again, in a millisecond instead of
    a few hundred.
    """
    path = tmp_path_factory.mktemp("templates") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database through SQLite's backup API (consistent, whatever its journal)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the PostgreSQL server's default schema, used to create/drop test schemas."""
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        message = f"PostgreSQL not reachable at {where}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set, so PostgreSQL tests must run)")
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema(postgres_admin: Engine) -> Iterator[str]:
    """A private schema on the PostgreSQL server, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with postgres_admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def postgres_url_in(schema: str) -> str:
    """`POSTGRES_URL` with `schema` first on the search path."""
    return (
        make_url(POSTGRES_URL)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


# --- the fast loop (`make check`) ------------------------------------------------------------

_running: list[pytest.Item] = []
_slow_unmarked: list[tuple[str, float]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


def require_slow(what: str) -> None:
    """Fail the running test unless it is marked `slow`: `make check` must not wait for `what`."""
    if _running and _running[-1].get_closest_marker("slow") is None:
        pytest.fail(f"{_running[-1].nodeid} {what}: mark it @pytest.mark.slow", pytrace=False)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration > SLOW_SECONDS and "slow" not in report.keywords:
        _slow_unmarked.append((report.nodeid, report.duration))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """In a run without the slow tests, name the unmarked ones that were slow all the same."""
    if not _slow_unmarked or "not slow" not in terminalreporter.config.option.markexpr:
        return
    terminalreporter.write_sep("=", f"tests over {SLOW_SECONDS:g} s not marked slow", yellow=True)
    for nodeid, seconds in sorted(_slow_unmarked, key=lambda row: -row[1]):
        terminalreporter.write_line(f"{seconds:6.2f}s {nodeid}")
    terminalreporter.write_line(
        "make check runs every test not marked slow: make these faster or mark them "
        "@pytest.mark.slow (on a busy machine, rerun before deciding)."
    )
