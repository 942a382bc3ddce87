"""A lock store in SQL, so that several Rasa processes serve one conversation in turn.

Rasa serialises the messages of a conversation with ticket locks. Its in-memory lock store
works within one process only, which keeps Rasa on one core; its Redis store needs a server
and changes a lock by reading, changing and writing it back, so two processes issuing tickets
at the same moment can both be served. Here every ticket is a row: taking one is a single
INSERT, whose id orders the queue; a message is served when its ticket is the oldest living
one of its conversation; finishing deletes the row. Each write is one short statement, so
processes hardly ever wait on each other, and reading the queue never blocks on SQLite's
write-ahead log. On PostgreSQL an advisory lock held while a ticket is inserted makes the id
order the commit order. A ticket of a crashed process stops counting when its lifetime
(Rasa's `TICKET_LOCK_LIFETIME`, 60 s by default) has passed.

`type: bot.lock_store.SQLLockStore` with `url:` (an SQLAlchemy URL) in endpoints.yml; with it
`RASA_WORKERS` Rasa processes share the port and every core works.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from config.sql import create_tables, pooled_engine

log = logging.getLogger(__name__)

# How long a waiting message sleeps between looks at the queue (Rasa's stores wait a second).
POLL_SECONDS = 0.02

_metadata = sa.MetaData()
_tickets = sa.Table(
    "conversation_lock_tickets",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("expires", sa.Float, nullable=False),
    sqlite_autoincrement=True,  # ids never reused: a late ticket is never mistaken for an early
)


class SQLLockStore(LockStore):  # type: ignore[misc]
    """Ticket locks as rows of a SQL table, shared by every Rasa process using the database."""

    def __init__(
        self, endpoint_config: EndpointConfig | None = None, url: str | None = None
    ) -> None:
        url = url or (endpoint_config.url if endpoint_config else None)
        if not url:
            raise ValueError("the SQL lock store needs a database `url` in endpoints.yml")
        engine = pooled_engine(url)
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"the SQL lock store runs on SQLite or PostgreSQL, not {url!r}")
        self.engine = engine
        # Each Rasa worker makes its own lock store, and they start together.
        create_tables(_metadata, engine)
        super().__init__()

    def take_ticket(self, conversation_id: str, lifetime: float = LOCK_LIFETIME) -> int:
        """A place at the end of the conversation's queue."""
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                key = zlib.crc32(conversation_id.encode("utf-8"))
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            result = connection.execute(
                _tickets.insert().values(
                    conversation_id=conversation_id, expires=time.time() + lifetime
                )
            )
            inserted = result.inserted_primary_key
            assert inserted is not None  # an INSERT always has one
            return int(inserted[0])

    def now_serving(self, conversation_id: str) -> int | None:
        """The oldest living ticket of the conversation, if any."""
        query = sa.select(sa.func.min(_tickets.c.id)).where(
            _tickets.c.conversation_id == conversation_id, _tickets.c.expires > time.time()
        )
        with self.engine.connect() as connection:
            value = connection.execute(query).scalar()
        return None if value is None else int(value)

    def give_back(self, conversation_id: str, ticket: int) -> None:
        """Leave the queue, clearing the conversation's expired tickets on the way."""
        with self.engine.begin() as connection:
            connection.execute(
                _tickets.delete().where(
                    sa.or_(
                        _tickets.c.id == ticket,
                        sa.and_(
                            _tickets.c.conversation_id == conversation_id,
                            _tickets.c.expires <= time.time(),
                        ),
                    )
                )
            )

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        """Wait for the conversation's earlier messages, in any process, then hold it."""
        expires = time.time() + lock_lifetime
        try:
            ticket = self.take_ticket(conversation_id, lock_lifetime)
        except sa.exc.SQLAlchemyError as error:
            raise LockError(f"Could not take a ticket for '{conversation_id}': {error}") from error
        try:
            while True:
                serving = self.now_serving(conversation_id)
                if serving == ticket:
                    break
                if serving is None or serving > ticket or time.time() >= expires:
                    raise LockError(
                        f"Could not acquire lock for conversation_id '{conversation_id}': "
                        f"its ticket expired after {lock_lifetime} s of waiting"
                    )
                await asyncio.sleep(wait_time_in_seconds)
            held = self.get_lock(conversation_id)
            yield held or self.create_lock(conversation_id)
        finally:
            self.give_back(conversation_id, ticket)

    # Rasa's lock-store interface, for code that looks at a lock as a whole.
    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The conversation's living tickets as one of Rasa's `TicketLock`s."""
        query = (
            sa.select(_tickets.c.id, _tickets.c.expires)
            .where(_tickets.c.conversation_id == conversation_id, _tickets.c.expires > time.time())
            .order_by(_tickets.c.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        if not rows:
            return None
        return TicketLock(conversation_id, deque(Ticket(int(i), float(e)) for i, e in rows))

    def delete_lock(self, conversation_id: str) -> None:
        """Drop every ticket of the conversation."""
        with self.engine.begin() as connection:
            connection.execute(
                _tickets.delete().where(_tickets.c.conversation_id == conversation_id)
            )

    def save_lock(self, lock: TicketLock) -> None:
        """Keep only `lock`'s tickets, with their expiry times; new ones come from `take_ticket`."""
        numbers = [ticket.number for ticket in lock.tickets]
        with self.engine.begin() as connection:
            stored = set(
                connection.execute(
                    sa.select(_tickets.c.id).where(
                        _tickets.c.conversation_id == lock.conversation_id
                    )
                ).scalars()
            )
            unknown = set(numbers) - stored
            if unknown:
                raise ValueError(f"tickets {sorted(unknown)} were not issued by this store")
            connection.execute(
                _tickets.delete().where(
                    _tickets.c.conversation_id == lock.conversation_id,
                    _tickets.c.id.notin_(numbers),
                )
            )
            for ticket in lock.tickets:
                connection.execute(
                    _tickets.update()
                    .where(_tickets.c.id == ticket.number)
                    .values(expires=ticket.expires)
                )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Rasa's name for `take_ticket`."""
        return self.take_ticket(conversation_id, lock_lifetime)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's name for `give_back`."""
        self.give_back(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's name for `give_back`: a conversation with no tickets has no lock."""
        self.give_back(conversation_id, ticket_number)
