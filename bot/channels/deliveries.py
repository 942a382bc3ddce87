"""Which platform deliveries were handled already, shared by every Rasa process.

Messaging platforms deliver again when they did not see a quick 200 (Telegram, Slack, Twilio,
Messenger all retry), and an attacker who captured a signed request can send it again. A
delivery id is recorded with a single INSERT into a table keyed by (channel, id): the first
process to record it handles the message, every later copy is acknowledged and dropped. Ids
are forgotten after `retention_s`, longer than any platform retries. No Rasa imports.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

DEFAULT_RETENTION_S = 3 * 24 * 3600  # platforms retry for a day at most
PRUNE_EVERY = 500

_metadata = sa.MetaData()
_deliveries = sa.Table(
    "channel_deliveries",
    _metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("delivery_id", sa.String(255), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class DeliveryLog:
    """Records delivery ids; `first_time` is true for exactly one copy of each."""

    def __init__(self, url: str, *, retention_s: float = DEFAULT_RETENTION_S) -> None:
        if not url:
            raise ValueError("the delivery log needs a database URL (LOCK_STORE_URL)")
        if url.startswith("sqlite"):
            self.engine = sa.create_engine(
                url,
                poolclass=sa.pool.QueuePool,
                connect_args={"check_same_thread": False, "timeout": 10},
            )
            sa.event.listen(self.engine, "connect", _sqlite_connect)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        _metadata.create_all(self.engine)
        self.retention_s = retention_s
        self._recorded = 0
        self._lock = threading.Lock()

    def first_time(self, channel: str, delivery_id: str) -> bool:
        """Record the delivery; false if any process recorded it before."""
        now = time.time()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    _deliveries.insert().values(
                        channel=channel, delivery_id=delivery_id[:255], received_at=now
                    )
                )
        except sa.exc.IntegrityError:
            return False
        with self._lock:
            self._recorded += 1
            prune = self._recorded % PRUNE_EVERY == 0
        if prune:
            self.forget_before(now - self.retention_s)
        return True

    def forget_before(self, moment: float) -> int:
        """Drop ids recorded before `moment` (a Unix time); how many went."""
        with self.engine.begin() as connection:
            result = connection.execute(
                _deliveries.delete().where(_deliveries.c.received_at < moment)
            )
        return int(result.rowcount or 0)
