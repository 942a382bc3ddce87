"""Checks of bot.tracker_store, run inside the Rasa venv by test_tracker_store.py.

`python check_tracker_store.py DIALECT DB [EVENTS_DB]` prints `ok <check>` for each check that
held and stops at the first that did not. Every check compares the cached store with Rasa's
own SQLTrackerStore reading the same database: what the cache hands out must equal what a
fresh read would give.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import read_endpoint_config

from bot.tracker_store import CachedSQLTrackerStore

DOMAIN = Domain.load("domain.yml")


def state(tracker: DialogueStateTracker | None) -> dict[str, Any]:
    assert tracker is not None
    return dict(tracker.current_state(EventVerbosity.ALL))


async def message(store: TrackerStore, sender: str, text: str, order: str) -> DialogueStateTracker:
    """One turn as Rasa's processor plays it: retrieve, append, save."""
    tracker = await store.get_or_create_tracker(sender)
    if not any(isinstance(event, SessionStarted) for event in tracker.events):
        tracker.update(ActionExecuted("action_session_start"))
        tracker.update(SessionStarted())
        tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(text, {"name": "track_order", "confidence": 0.9}))
    tracker.update(SlotSet("order_number", order))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered(f"about {order}"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    return tracker


async def main(dialect: str, db: str, events_db: str | None) -> None:
    def cached(size: int = 100, broker: Any = None) -> CachedSQLTrackerStore:
        return CachedSQLTrackerStore(
            domain=DOMAIN, dialect=dialect, db=db, cache_size=size, event_broker=broker
        )

    store = cached()
    plain = SQLTrackerStore(domain=DOMAIN, dialect=dialect, db=db)

    # A conversation served from memory equals the database's, turn after turn.
    sender = f"c-{uuid.uuid4().hex}"
    for turn in range(5):
        await message(store, sender, f"turn {turn}", f"10010{turn}")
        assert state(await store.retrieve(sender)) == state(await plain.retrieve(sender)), turn
    assert store.hits >= 4, (store.hits, store.misses)
    kept = await store.retrieve(sender)
    assert kept is not None and kept.get_slot("order_number") == "100104"
    print("ok memory equals database")

    # Every save reached the database: a new store (a restart) reads every turn back.
    restarted = cached()
    again = await restarted.retrieve(sender)
    assert again is not None and restarted.misses == 1
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == [
        f"turn {turn}" for turn in range(5)
    ]
    print("ok saved to the database")

    # Another process writes to the conversation: this one applies its events, never hands
    # out a stale tracker.
    hits, misses = store.hits, store.misses
    await message(restarted, sender, "from elsewhere", "100200")
    fresh = await store.retrieve(sender)
    assert (store.hits, store.misses) == (hits, misses), "a stale tracker was handed out"
    assert state(fresh) == state(await plain.retrieve(sender))
    assert fresh is not None and fresh.get_slot("order_number") == "100200"
    print("ok stale detected")

    # Two processes taking turns on one conversation, as two Rasa workers do: each brings its
    # kept tracker up to date from the other's events instead of reading the whole session.
    sender = f"t-{uuid.uuid4().hex}"
    one, two = cached(), cached()
    for turn in range(6):
        serving = one if turn % 2 == 0 else two
        await message(serving, sender, f"turn {turn}", f"10030{turn}")
        for reader in (one, two):
            read = await reader.retrieve(sender)
            assert state(read) == state(await plain.retrieve(sender)), (turn, reader.caught_up)
            assert read is not None and read.get_slot("order_number") == f"10030{turn}"
    # Each read after the other's turn catches up. The only misses: `one` finds no
    # conversation, then reads back the turn that started the session (a save that starts a
    # session keeps nothing); `two` reads turn 0 from the database and keeps it.
    assert (one.caught_up, two.caught_up) == (3, 2), (one.caught_up, two.caught_up)
    assert (one.misses, two.misses) == (2, 1), (one.misses, two.misses)
    # The other process starts a new session, or appends an event dated before this session
    # began: what the database reads changes, so the conversation is read again.
    tracker = await two.retrieve(sender)
    assert tracker is not None
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    await two.save(tracker)
    misses = one.misses
    assert state(await one.retrieve(sender)) == state(await plain.retrieve(sender))
    assert one.misses == misses + 1
    tracker = await two.retrieve(sender)
    assert tracker is not None
    tracker.update(SlotSet("order_number", "100399", timestamp=1.0))
    await two.save(tracker)
    misses = one.misses
    read = await one.retrieve(sender)
    assert one.misses == misses + 1
    assert state(read) == state(await plain.retrieve(sender))
    assert read is not None and read.get_slot("order_number") != "100399"
    print("ok caught up from another process")

    # A turn that fails after appending events and never saves leaves nothing behind.
    sender = f"f-{uuid.uuid4().hex}"
    await message(store, sender, "first", "100101")
    await message(store, sender, "second", "100101")
    hits = store.hits
    broken = await store.retrieve(sender)
    assert broken is not None and store.hits == hits + 1
    broken.update(SlotSet("order_number", "999999"))
    retried = await store.retrieve(sender)
    assert retried is not broken and retried is not None
    assert retried.get_slot("order_number") == "100101"
    assert state(retried) == state(await plain.retrieve(sender))
    await message(store, sender, "third", "100102")
    assert state(await store.retrieve(sender)) == state(await plain.retrieve(sender))
    print("ok unsaved events never handed out")

    # A new session: the database reads from it on, so must the store.
    sender = f"s-{uuid.uuid4().hex}"
    await message(store, sender, "old session", "100101")
    tracker = await store.retrieve(sender)
    assert tracker is not None
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(SlotSet("order_number", "100555"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    misses = store.misses
    after = await store.retrieve(sender)
    assert store.misses == misses + 1
    assert state(after) == state(await plain.retrieve(sender))
    assert after is not None and not any(
        isinstance(e, UserUttered) and e.text == "old session" for e in after.events
    )
    print("ok new session read again")

    # Bounded: the least recently used conversation leaves memory first; size 0 keeps none.
    small = cached(size=2)
    senders = [f"l-{uuid.uuid4().hex}" for _ in range(3)]
    for sender in senders:
        await message(small, sender, "hello", "100101")
        await message(small, sender, "again", "100102")
    hits, misses = small.hits, small.misses
    await small.retrieve(senders[0])
    assert (small.hits, small.misses) == (hits, misses + 1)
    await small.retrieve(senders[2])
    assert small.hits == hits + 1
    none = cached(size=0)
    await message(none, senders[1], "third", "100103")
    assert state(await none.retrieve(senders[1])) == state(await plain.retrieve(senders[1]))
    assert none.hits == 0
    print("ok bounded")

    # A new model's domain drops every kept tracker.
    sender = f"d-{uuid.uuid4().hex}"
    await message(store, sender, "hello", "100101")
    await message(store, sender, "again", "100102")
    store.domain = DOMAIN
    misses = store.misses
    await store.retrieve(sender)
    assert store.misses == misses + 1
    print("ok new domain")

    # An event broker receives each new event exactly once, as with Rasa's store.
    if events_db is not None:
        broker = SQLEventBroker(db=events_db)
        streaming = cached(broker=broker)
        sender = f"b-{uuid.uuid4().hex}"
        for turn in range(3):
            await message(streaming, sender, f"turn {turn}", "100101")
        stored = await plain.retrieve_full_tracker(sender)
        assert stored is not None
        with broker.session_scope() as session:
            rows = session.query(broker.SQLBrokerEvent).filter_by(sender_id=sender).all()
        assert len(rows) == len(stored.events) == 1 + 3 + 3 * 5, (len(rows), len(stored.events))
        print("ok event broker")

    # endpoints.yml names this store, not Rasa's silent in-memory fallback.
    endpoint = read_endpoint_config("endpoints.yml", "tracker_store")
    created = TrackerStore.create(endpoint, DOMAIN)
    assert isinstance(created, CachedSQLTrackerStore), type(created)
    print("ok endpoints.yml")

    if dialect == "sqlite":
        with store.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal", mode
        print("ok wal")

        # Connections are pooled: turns after the first open none (each close checkpointed).
        opened: list[object] = []
        sa.event.listen(store.engine, "connect", lambda *_: opened.append(1))
        sender = f"p-{uuid.uuid4().hex}"
        for turn in range(4):
            await message(store, sender, f"turn {turn}", "100101")
        assert len(opened) <= 1, len(opened)
        assert len((await plain.retrieve(sender) or DialogueStateTracker(sender, [])).events) > 4
        print("ok pooled")

    try:
        cached(size=-1)
    except ValueError as error:
        assert "cache_size" in str(error)
    else:
        raise AssertionError("a negative cache size was taken")
    print("ok bad size refused")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
