"""The queue that carries widget events between Rasa processes. No Rasa imports.

`RASA_WORKERS` processes share the port, and a browser's socket is connected to one of them; a
support agent's reply arrives by HTTP at any of them. python-socketio solves this with a client
manager: an emit goes to the sockets of this process and onto a queue, from which every other
process delivers it to its own sockets in the room. `client_manager()` picks python-socketio's
Redis manager for a `redis://` URL, and otherwise `SQLPubSubManager`, which needs no service
beyond the SQL database the lock store already uses.

`SQLPubSubManager` keeps each published event as a row. Every process polls for rows newer than
the last it saw (`POLL_S`) and deletes rows older than the retention now and then, so the table
stays small. Ids are the order: SQLite has one writer at a time, and on PostgreSQL each insert
holds an advisory lock until it commits (as in `bot/lock_store.py`), so no row ever becomes
visible after a row with a larger id, which a poller would then have skipped.

Two things python-socketio leaves to us, both done by `start_listening()`, which the widget
channel calls in each Rasa process before it takes connections (Sanic's `before_server_start`):

- The listener starts with the manager's `initialize()`, which AsyncServer calls on the first
  connection. A process without sockets has nobody to deliver to, and publishing needs no
  listener, so that would work; but the listener learns where to start only some time after
  that first connection, and an event published meanwhile for the new socket would be lost.
  Starting when the server starts leaves no such window.
- The manager ignores events carrying its own `host_id` (it delivered them locally already).
  The id is drawn when the manager is built, and Rasa builds its channels before it forks its
  workers: every worker would carry the same id and drop the others' events as its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

import socketio
import sqlalchemy as sa
from socketio.async_pubsub_manager import AsyncPubSubManager

from config.sql import create_tables, pooled_engine

log = logging.getLogger(__name__)

CHANNEL = "larkspur-widget"
POLL_S = 0.1
DEFAULT_RETENTION_S = 60.0
PRUNE_EVERY_S = 10.0
BATCH = 500
ERROR_PAUSE_S = 1.0

_metadata = sa.MetaData()
_messages = sa.Table(
    "widget_pubsub",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    # Ids never reused: after pruning has emptied the table, the next id still follows the last.
    sqlite_autoincrement=True,
)
# Serialises PostgreSQL inserts, so that ids become visible in order.
_ADVISORY_KEY = zlib.crc32(b"widget_pubsub")


class SQLPubSubManager(AsyncPubSubManager):
    """python-socketio's pub/sub over a table in a SQLite file or a PostgreSQL database."""

    name = "sqlpubsub"

    def __init__(
        self,
        url: str,
        channel: str = CHANNEL,
        *,
        poll_s: float = POLL_S,
        retention_s: float = DEFAULT_RETENTION_S,
        write_only: bool = False,
        logger: Any = None,
    ) -> None:
        super().__init__(channel=channel, write_only=write_only, logger=logger)
        engine = pooled_engine(url)
        if engine.dialect.name not in ("sqlite", "postgresql"):
            # The dialect only: the URL may hold a password.
            raise ValueError(f"the widget's queue runs on SQLite or PostgreSQL, not {engine.name}")
        if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
            raise ValueError("the widget's queue needs a SQLite file that every process opens")
        self.engine = engine
        create_tables(_metadata, engine)
        # Rasa forks its workers after building the channels: no connection may cross a fork.
        engine.dispose()
        self.poll_s = poll_s
        self.retention_s = retention_s
        self.prune_every_s = min(PRUNE_EVERY_S, retention_s)
        self.last_id: int | None = None
        self.listening = asyncio.Event()  # set once events published from then on will come

    async def _publish(self, data: dict[str, Any]) -> None:
        """Add the event to the queue (python-socketio gives it as a JSON-ready dict)."""
        await asyncio.to_thread(self.publish_now, self.json.dumps(data))

    def publish_now(self, payload: str) -> int:
        """Insert one row (blocking); its id."""
        with self.engine.begin() as connection:
            return self.insert(connection, payload)

    def insert(self, connection: sa.Connection, payload: str) -> int:
        """Insert one row in `connection`'s transaction; its id.

        On PostgreSQL the queue's lock is held until that transaction ends, so that no smaller
        id can become visible after this one.
        """
        if connection.dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": _ADVISORY_KEY})
        result = connection.execute(
            _messages.insert().values(channel=self.channel, payload=payload, created_at=time.time())
        )
        inserted = result.inserted_primary_key
        assert inserted is not None  # an INSERT always has one
        return int(inserted[0])

    async def _listen(self) -> AsyncIterator[dict[str, Any]]:
        """The events published after the listener started, in order, each once."""
        while self.last_id is None:
            try:
                self.last_id = await asyncio.to_thread(self._newest_id)
            except sa.exc.SQLAlchemyError:
                log.exception("the widget's queue cannot be read; trying again")
                await asyncio.sleep(ERROR_PAUSE_S)
        self.listening.set()
        pruned_at = time.monotonic()
        while True:
            try:
                rows = await asyncio.to_thread(self._rows_after, self.last_id)
                if time.monotonic() - pruned_at >= self.prune_every_s:
                    pruned_at = time.monotonic()
                    await asyncio.to_thread(self.forget_before, time.time() - self.retention_s)
            except sa.exc.SQLAlchemyError:
                # The cursor is kept: nothing committed meanwhile is lost, unless it outlives
                # the retention first.
                log.exception("the widget's queue cannot be read; trying again")
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            for row_id, payload in rows:
                self.last_id = row_id
                try:
                    message = self.json.loads(payload)
                except ValueError:
                    log.error("widget queue row %s is not JSON; skipped", row_id)
                    continue
                if isinstance(message, dict):
                    yield message
            if len(rows) < BATCH:
                await asyncio.sleep(self.poll_s)

    def _newest_id(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(sa.select(sa.func.max(_messages.c.id))).scalar()
        return int(value or 0)

    def _rows_after(self, last_id: int) -> list[tuple[int, str]]:
        query = (
            sa.select(_messages.c.id, _messages.c.payload)
            .where(_messages.c.id > last_id, _messages.c.channel == self.channel)
            .order_by(_messages.c.id)
            .limit(BATCH)
        )
        with self.engine.connect() as connection:
            return [(int(i), str(p)) for i, p in connection.execute(query)]

    def forget_before(self, moment: float) -> int:
        """Delete the events published before `moment` (a Unix time); how many went."""
        with self.engine.begin() as connection:
            result = connection.execute(_messages.delete().where(_messages.c.created_at < moment))
        return int(result.rowcount or 0)


def client_manager(url: str) -> socketio.AsyncManager:
    """The manager for `WIDGET_PUBSUB_URL`: Redis for redis(s)://, else the SQL queue."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss"):
        return socketio.AsyncRedisManager(url, channel=CHANNEL)
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        backend = ""
    if backend in ("sqlite", "postgresql"):
        return SQLPubSubManager(url)
    # Only the scheme is named: the rest of a URL may hold a password.
    raise ValueError(
        "WIDGET_PUBSUB_URL must be a redis://, rediss://, sqlite:/// or postgresql:// URL, "
        f"not {scheme or 'an address without a scheme'}"
    )


def start_listening(sio: socketio.AsyncServer) -> None:
    """In a server process, before it accepts connections: start receiving the queue's events.

    Gives the manager an id of this process's own (see the module's docstring) and starts its
    listener now rather than on the first connection. Needs the running event loop.
    """
    manager = sio.manager
    if isinstance(manager, AsyncPubSubManager):
        manager.host_id = uuid.uuid4().hex
    if not sio.manager_initialized:
        sio.manager_initialized = True
        manager.initialize()


async def stop_listening(sio: socketio.AsyncServer) -> None:
    """Stop the listener that `start_listening` started, if any."""
    task = getattr(sio.manager, "thread", None)
    if isinstance(task, asyncio.Task) and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
