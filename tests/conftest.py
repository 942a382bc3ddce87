"""Fixtures shared by every test layer: the real embedding model, loaded once per session, and
the local PostgreSQL server (`CRM_TEST_POSTGRES_URL`). When the server is unreachable its tests
are skipped, unless `CI` is set, where a silent skip would hide a broken pipeline: they fail.
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

from crm.records.migrate import upgrade
from encoder.embedding import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/test"
)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2: small enough to load once for the whole run."""
    from config.settings import Settings

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

