"""Which platform deliveries were handled already, and which buttons were offered last.

Both are shared by every Rasa process through one SQL database (`LOCK_STORE_URL`).

Messaging platforms deliver again when they did not see a quick 200 (Telegram, Slack, Twilio,
Messenger all retry), and an attacker who captured a signed request can send it again. A
delivery id is recorded with a single INSERT into a table keyed by (channel, id): the first
process to record it handles the message, every later copy is acknowledged and dropped. Ids
are forgotten after `retention_s`, longer than any platform retries.

A channel without buttons (SMS) shows them as a numbered list; the payloads of the list last
shown are kept, so that a customer who answers "2" chooses the second. Any other bot message
clears them, so a later "2" (a quantity, say) stays a number. No Rasa imports.
"""

from __future__ import annotations

import json
import threading
import time

import sqlalchemy as sa

from config.sql import create_tables, pooled_engine

DEFAULT_RETENTION_S = 3 * 24 * 3600  # platforms retry for a day at most
PRUNE_EVERY = 500

_metadata = sa.MetaData()
_offered = sa.Table(
    "channel_offered_buttons",
    _metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("payloads", sa.Text, nullable=False),
)
_deliveries = sa.Table(
    "channel_deliveries",
    _metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("delivery_id", sa.String(255), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
)


class DeliveryLog:
    """Records delivery ids; `first_time` is true for exactly one copy of each."""

    def __init__(self, url: str, *, retention_s: float = DEFAULT_RETENTION_S) -> None:
        if not url:
            raise ValueError("the delivery log needs a database URL (LOCK_STORE_URL)")
        self.engine = pooled_engine(url)
        create_tables(_metadata, self.engine)
        # Channels are built before Rasa forks its workers: a pooled connection opened here
        # would be shared by every worker (a SQLite file handle across fork is unsafe), so
        # each process opens its own on first use.
        self.engine.dispose()
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

    def offer(self, conversation_id: str, payloads: list[str]) -> None:
        """Remember the buttons a text-only channel showed as a numbered list ([]: none)."""
        with self.engine.begin() as connection:
            updated = connection.execute(
                _offered.update()
                .where(_offered.c.conversation_id == conversation_id)
                .values(payloads=json.dumps(payloads))
            )
            if updated.rowcount == 0:
                connection.execute(
                    _offered.insert().values(
                        conversation_id=conversation_id, payloads=json.dumps(payloads)
                    )
                )

    def choice(self, conversation_id: str, text: str) -> str:
        """The payload of option `text` ("2") of the last list offered; else `text` itself."""
        number = text.strip().rstrip(".)")
        if not number.isdigit():
            return text
        with self.engine.connect() as connection:
            stored = connection.execute(
                sa.select(_offered.c.payloads).where(_offered.c.conversation_id == conversation_id)
            ).scalar()
        payloads = json.loads(stored) if stored else []
        index = int(number) - 1
        return str(payloads[index]) if 0 <= index < len(payloads) else text
