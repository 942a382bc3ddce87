"""Engine and session factory construction; called by the application, never at import.

SQLite needs two adjustments to behave like the PostgreSQL we run in production:

* foreign keys are off by default and must be enabled on every new connection;
* Python's ``sqlite3`` driver only opens a transaction before INSERT/UPDATE/DELETE, so a SELECT
  that checks an order's status and the UPDATE that follows would not be atomic. Following the
  SQLAlchemy documentation ("Enabling Non-Legacy SQLite Transactional Modes"), the driver's
  own transaction handling is switched off and SQLAlchemy emits ``BEGIN IMMEDIATE`` itself.
  IMMEDIATE takes the database's write lock at the start, so concurrent units of work queue
  (up to the driver's 5 s busy timeout) instead of reading stale data, and two writers can
  never deadlock, as they can with a plain deferred ``BEGIN``. Our units of work last
  milliseconds, so queueing them costs little; PostgreSQL locks rows instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """Build an engine for ``url``; for a SQLite file, create its folder first."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see module docstring) and enforce foreign keys.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the factory services use for one session per unit of work.

    ``expire_on_commit=False`` because services copy what they need into frozen dataclasses
    before the session closes; nothing should lazily reload afterwards.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def retry_once_on_conflict(work: Callable[[], T]) -> T:
    """Run a unit of work; run it again once if a unique constraint refused it.

    The second run sees the row a concurrent call committed (or draws a new reference).
    """
    try:
        return work()
    except IntegrityError:
        return work()
