"""Fixtures for the customer-records tests: a fresh, migrated database per test.

Every database test runs twice, on SQLite (a file in ``tmp_path``) and on PostgreSQL (a
uniquely named schema, selected with ``search_path`` in the URL so Alembic, the ORM and raw SQL
all land in it, dropped afterwards). Schemas are built by the Alembic migrations, not
``create_all``, so the tests exercise what production runs.

On SQLite the migrations and the demo data are written once per run, into template files that
each test gets a copy of: the same bytes the migrations and ``seed`` would write again, at a
fraction of the time (`make check` runs these tests).

PostgreSQL comes from the fixtures of ``tests/conftest.py`` (``CRM_TEST_POSTGRES_URL``). When it
is unreachable those cases are skipped, unless ``CI`` is set, where a silent skip would hide a
broken pipeline, so they fail instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.records.models import AuditLog, Base, Customer
from crm.tools.demo import SeedReport, seed
from tests.conftest import copy_sqlite, postgres_url_in

# Demo data is seeded "now" = SEED_NOW; services are given CLOCK_NOW, a little later.
SEED_NOW = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)
CLOCK_NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SqliteTemplates:
    """Files made once per run: migrated to head, and migrated then seeded at SEED_NOW."""

    migrated: Path
    seeded: Path
    report: SeedReport
    rows: dict[str, int]  # rows per table in `seeded`


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


@pytest.fixture(scope="session")
def sqlite_templates(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> SqliteTemplates:
    seeded = tmp_path_factory.mktemp("templates") / "seeded.db"
    copy_sqlite(migrated_sqlite, seeded)
    engine = make_engine(f"sqlite:///{seeded}")
    try:
        report = seed(make_session_factory(engine), now=SEED_NOW)
        rows = _rows(engine)
    finally:
        engine.dispose()
    return SqliteTemplates(migrated_sqlite, seeded, report, rows)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of a database migrated to head, private to this test (seeded if it asks `seeded`)."""
    if request.param == "sqlite":
        templates: SqliteTemplates = request.getfixturevalue("sqlite_templates")
        path = tmp_path_factory.mktemp("records") / "records.db"
        wants_seed = "seeded" in request.fixturenames
        copy_sqlite(templates.seeded if wants_seed else templates.migrated, path)
        yield f"sqlite:///{path}"
        return

    schema = request.getfixturevalue("postgres_schema")
    url = postgres_url_in(schema)
    upgrade(url)
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def dialect(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def seeded(
    request: pytest.FixtureRequest, sessions: sessionmaker[Session], engine: Engine, dialect: str
) -> SeedReport:
    """The demo data, seeded at SEED_NOW (on SQLite, copied from the template)."""
    if dialect != "sqlite":
        return seed(sessions, now=SEED_NOW)
    templates: SqliteTemplates = request.getfixturevalue("sqlite_templates")
    # The copy was seeded before any other fixture could write: check nothing wrote first,
    # where seeding afterwards would have given other rows (ask for `seeded` earlier then).
    assert _rows(engine) == templates.rows, "a fixture wrote to the database before `seeded`"
    return templates.report


@pytest.fixture
def seed_now() -> datetime:
    return SEED_NOW


@pytest.fixture
def clock_now() -> datetime:
    return CLOCK_NOW


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: CLOCK_NOW


@pytest.fixture
def customer_id(sessions: sessionmaker[Session]) -> Callable[[str], int]:
    """Look up a customer's id by email (tests refer to demo people by email)."""

    def lookup(email: str) -> int:
        with sessions() as session:
            return session.scalars(select(Customer.id).where(Customer.email == email)).one()

    return lookup


@pytest.fixture
def audit_rows(sessions: sessionmaker[Session]) -> Callable[[], list[AuditLog]]:
    """Return all audit rows, oldest first, detached from their session."""

    def rows() -> list[AuditLog]:
        with sessions() as session:
            found = list(session.scalars(select(AuditLog).order_by(AuditLog.id)))
            session.expunge_all()
            return found

    return rows
