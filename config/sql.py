"""Engines and tables of the small coordination stores (locks, deliveries, tracker cache).

No Rasa imports. SQLAlchemy 1.4, which Rasa pins, opens and closes a SQLite file's connection
for every session, and closing the last one checkpoints the write-ahead log: these engines keep
their connections in a pool instead, with the log on and `synchronous=NORMAL` (a commit appends
to the log and does not wait for the disk twice; a crash of the process loses nothing).
PostgreSQL connections are checked before use, since a pool outlives server restarts. Tables
are created so that processes starting together on a new database do not fail each other.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)

# Tries at creating tables that another process starting beside this one may be creating too.
CREATE_TRIES = 20
CREATE_PAUSE_S = 0.02


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


def create_tables(metadata: sa.MetaData, engine: sa.engine.Engine) -> None:
    """Create the tables that do not exist, whoever else is creating them at that moment.

    `RASA_WORKERS` processes, or several Rasa instances, start together on a new database: two
    may both find a table missing, and the second CREATE fails. A Rasa worker it happened to
    died, and Rasa served on one core until restarted. Looking again finds what the other made.
    """
    for attempt in range(1, CREATE_TRIES + 1):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            if attempt == CREATE_TRIES:
                raise
            log.info("tables being created by another process; looking again")
            time.sleep(CREATE_PAUSE_S * attempt)
