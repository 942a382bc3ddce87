"""Engines for the small coordination stores (locks, deliveries, tracker cache). No Rasa imports.

SQLAlchemy 1.4, which Rasa pins, opens and closes a SQLite file's connection for every
session, and closing the last one checkpoints the write-ahead log: these engines keep their
connections in a pool instead, with the log on and `synchronous=NORMAL` (a commit appends to
the log and does not wait for the disk twice; a crash of the process loses nothing).
PostgreSQL connections are checked before use, since a pool outlives server restarts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def wal_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: readers never block the writer, and a commit is one sequential append."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def pooled_engine(url: str | sa.engine.URL) -> sa.engine.Engine:
    """An engine that keeps its connections: a SQLite file in WAL mode, or PostgreSQL."""
    if sa.engine.make_url(url).get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            # The pool hands a connection to one thread at a time.
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        sa.event.listen(engine, "connect", wal_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)
