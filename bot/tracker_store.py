"""Rasa's SQL tracker store, with the conversations it served last kept in memory.

Rasa's `SQLTrackerStore` reads a conversation's whole session from the database and replays
every event into a new tracker for each message, then counts the stored events again to find
which ones to write: about a quarter of the Rasa process's time per message in the load
benchmark (docs/benchmarks.md). This store keeps the tracker it saved last for each of the
most recent conversations and hands it back on the next message, after one indexed query that
finds no event of the sender newer than the last one it saw. When another Rasa process (with
`RASA_WORKERS` above 1 about every other message lands on the other process), a restart or an
API call appended events since, the same query returns them, and they are applied to the kept
tracker in order, which is what replaying the whole session would do with them; only a new
session or an event dated before the session's start makes it read the conversation from the
database as before. So the cache is safe with several Rasa instances sharing one database,
provided a lock store serialises each conversation (which Rasa needs anyway).

Every save still writes its new events to the database before returning: nothing lives only
in memory. The cache never changes what a retrieval returns: a tracker is kept only while it
equals what the database would give back (a save that starts a new session drops it, because
the database reads a conversation from its latest session on), and a tracker with events not
yet saved is never handed out.

On SQLite the database runs in write-ahead-log mode with `synchronous=NORMAL`: a commit no
longer waits for the disk twice, and a crash of the process loses nothing (a power cut may
lose the last commits; production runs PostgreSQL). Its connections are pooled.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from config.sql import pooled_engine
from config.tracker_events import EVENTS

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 1000


@dataclass
class _Kept:
    """A tracker as last saved: how many of its events are stored and the newest event id."""

    tracker: DialogueStateTracker
    stored: int
    last_id: int | None


class CachedSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    """`type: bot.tracker_store.CachedSQLTrackerStore` in endpoints.yml; SQL's other keys."""

    engine: sa.engine.Engine

    def __init__(
        self,
        domain: Domain | None = None,
        cache_size: int | str = DEFAULT_CACHE_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain=domain, **kwargs)
        size = int(cache_size)
        if size < 0:
            raise ValueError(f"tracker store cache_size must be 0 or more, not {size}")
        self.cache_size = size
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self.hits = 0
        self.caught_up = 0
        self.misses = 0
        created: sa.engine.Engine = self.engine
        if created.dialect.name == "sqlite" and created.url.database not in ("", None):
            # SQLAlchemy 1.4 opens and closes a file database's connection per session, and
            # closing the last one checkpoints the log into the database: a pool keeps them.
            created.dispose()
            self.engine = pooled_engine(created.url)
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    @property
    def domain(self) -> Domain:
        """The domain whose slots the trackers hold."""
        return self._domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        # A new model may bring other slots: trackers built on the old domain are dropped.
        self._domain = domain or Domain.empty()
        if hasattr(self, "_kept"):
            self._kept.clear()

    def _last_id(self, connection: sa.Connection, sender_id: str) -> int | None:
        query = sa.select(sa.func.max(EVENTS.c.id)).where(EVENTS.c.sender_id == sender_id)
        value = connection.execute(query).scalar()
        return None if value is None else int(value)

    def _newer(self, sender_id: str, last_id: int | None) -> list[Any]:
        """The sender's stored events after `last_id` (all of them for None), oldest first."""
        query = sa.select(EVENTS.c.id, EVENTS.c.data).where(EVENTS.c.sender_id == sender_id)
        if last_id is not None:
            query = query.where(EVENTS.c.id > last_id)
        with self.engine.connect() as connection:
            return list(connection.execute(query.order_by(EVENTS.c.id)))

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The kept tracker brought up to date if it can be, else Rasa's read and replay."""
        kept = self._kept.pop(sender_id, None)
        if kept is not None and len(kept.tracker.events) == kept.stored:
            rows = self._newer(sender_id, kept.last_id)
            if not rows:
                self.hits += 1
                self._kept[sender_id] = kept  # still the latest state; most recently used
                return kept.tracker
            newer = deserialise_events([json.loads(row.data) for row in rows])
            if len(newer) == len(rows) and _continues_session(kept.tracker, newer):
                for event in newer:  # as DialogueStateTracker.from_events replays them
                    kept.tracker.events.append(event)
                    event.apply_to(kept.tracker)
                self._kept[sender_id] = _Kept(
                    kept.tracker, len(kept.tracker.events), int(rows[-1].id)
                )
                self.caught_up += 1
                return kept.tracker
        self.misses += 1
        return self._read(sender_id)

    def _read(self, sender_id: str) -> DialogueStateTracker | None:
        """Rasa's read of the latest session, keeping the tracker with the newest id it holds."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            read = [(row.id, row.data) for row in rows]
        if not read or not self.domain:
            return None
        events = [json.loads(data) for _, data in read]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._remember(tracker, int(read[-1][0]))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the events the database lacks, stream them, and keep the tracker."""
        sender_id = tracker.sender_id
        kept = self._kept.get(sender_id)
        if kept is not None and kept.tracker is tracker:
            stored = kept.stored
        else:
            stored = self._count_stored(sender_id)
        events = list(itertools.islice(tracker.events, stored, None))
        with self.engine.begin() as connection:
            if events:
                connection.execute(EVENTS.insert(), [_row(sender_id, event) for event in events])
            last_id = self._last_id(connection, sender_id)
        if self.event_broker is not None and events:
            await self._stream_new_events(self.event_broker, events, sender_id)
        self._keep(tracker, events, last_id)
        log.debug("Tracker of %s saved with %d new events", sender_id, len(events))

    def _count_stored(self, sender_id: str) -> int:
        """Rasa's count: the stored events of the conversation's latest session."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            return int(query.count())

    def _keep(
        self, tracker: DialogueStateTracker, new: Sequence[Event], last_id: int | None
    ) -> None:
        sender_id = tracker.sender_id
        self._kept.pop(sender_id, None)
        if any(isinstance(event, SessionStarted) for event in new):
            return  # a new session: the database now reads from it on, the tracker holds more
        self._remember(tracker, last_id)

    def _remember(self, tracker: DialogueStateTracker, last_id: int | None) -> None:
        """Keep `tracker`, all of whose events are stored, as the newest is `last_id`."""
        if self.cache_size == 0:
            return
        self._kept[tracker.sender_id] = _Kept(tracker, len(tracker.events), last_id)
        while len(self._kept) > self.cache_size:
            self._kept.popitem(last=False)


def _continues_session(tracker: DialogueStateTracker, newer: Sequence[Event]) -> bool:
    """Whether Rasa's session read would return the tracker's events followed by `newer`.

    Rasa reads the events dated from the latest session start on: a new session, or an event
    dated before the current one began, changes which events that is.
    """
    started = [event.timestamp for event in tracker.events if isinstance(event, SessionStarted)]
    begun = started[-1] if started else None
    return not any(
        isinstance(event, SessionStarted) or (begun is not None and event.timestamp < begun)
        for event in newer
    )


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """The events table row Rasa's SQLTrackerStore writes for `event`."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
