"""Checks of bot.lock_store, run inside the Rasa venv by test_lock_store.py.

`python check_lock_store.py URL COUNTER_FILE` prints `ok <check>` for each check that held and
stops at the first that did not.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from collections import deque
from pathlib import Path

import sqlalchemy as sa
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import read_endpoint_config

from bot.lock_store import SQLLockStore, _tickets

TURNS = 25


def read_count(counter: Path) -> int:
    return int(counter.read_text())


def write_count(counter: Path, value: int) -> None:
    counter.write_text(str(value))


async def count(url: str, conversation: str, counter: Path) -> None:
    """Read, pause, write: without the lock, two processes lose each other's increments."""
    store = SQLLockStore(url=url)
    for _ in range(TURNS):
        async with store.lock(conversation):
            value = read_count(counter)
            await asyncio.sleep(0.002)
            write_count(counter, value + 1)


def worker(url: str, conversation: str, counter: str) -> None:
    asyncio.run(count(url, conversation, Path(counter)))


def processes_take_turns(url: str, counter: Path) -> None:
    """Two processes, one conversation: its turns never overlap and none is lost."""
    store = SQLLockStore(url=url)
    conversation = f"c-{uuid.uuid4().hex}"
    write_count(counter, 0)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=worker, args=(url, conversation, str(counter))) for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0, process.exitcode
    assert read_count(counter) == 2 * TURNS, read_count(counter)
    assert store.get_lock(conversation) is None, "tickets were left behind"
    print("ok processes take turns")


def created_beside_another(url: str) -> None:
    """Two processes starting on a new database: the one whose CREATE TABLE loses still starts.

    The other process's CREATE runs in the gap between this one finding no table and creating
    it, as it did when two Rasa workers started together.
    """
    other = sa.create_engine(url)
    _tickets.drop(other, checkfirst=True)
    raced: list[bool] = []

    def the_other_first(table: sa.Table, connection: object, **_: object) -> None:
        if not raced:
            raced.append(True)
            with other.begin() as elsewhere:
                table.create(elsewhere)

    sa.event.listen(_tickets, "before_create", the_other_first)
    try:
        store = SQLLockStore(url=url)
    finally:
        sa.event.remove(_tickets, "before_create", the_other_first)
    assert raced, "the race was not staged"
    assert sa.inspect(store.engine).has_table(_tickets.name)
    other.dispose()
    print("ok created beside another process")


async def main(url: str) -> None:
    created_beside_another(url)
    store = SQLLockStore(url=url)

    # Messages are served in the order they arrived.
    conversation = f"o-{uuid.uuid4().hex}"
    served: list[int] = []

    async def message(number: int) -> None:
        async with store.lock(conversation):
            await asyncio.sleep(0.01)
            served.append(number)

    tasks = []
    for number in range(5):
        tasks.append(asyncio.create_task(message(number)))
        await asyncio.sleep(0.002)  # each takes its ticket before the next arrives
    await asyncio.gather(*tasks)
    assert served == list(range(5)), served
    print("ok in order")

    # Other conversations do not wait.
    busy, free = f"b-{uuid.uuid4().hex}", f"f-{uuid.uuid4().hex}"
    async with store.lock(busy):
        started = time.monotonic()
        async with store.lock(free):
            pass
        assert time.monotonic() - started < 1.0
    print("ok conversations independent")

    # A ticket of a process that died stops counting when its lifetime is over.
    conversation = f"d-{uuid.uuid4().hex}"
    store.take_ticket(conversation, lifetime=0.2)
    started = time.monotonic()
    async with store.lock(conversation):
        waited = time.monotonic() - started
    assert 0.1 <= waited < 5.0, waited
    assert store.get_lock(conversation) is None
    print("ok dead ticket expires")

    # A waiting message whose own ticket expires gets Rasa's LockError.
    conversation = f"e-{uuid.uuid4().hex}"
    first = store.take_ticket(conversation, lifetime=60)
    try:
        async with store.lock(conversation, lock_lifetime=0.1):
            raise AssertionError("served while an earlier ticket was held")
    except LockError as error:
        assert "expired" in str(error)
    store.give_back(conversation, first)
    assert store.get_lock(conversation) is None
    print("ok waiting too long fails")

    # Rasa's view of a lock: living tickets in order; save_lock keeps only known tickets.
    conversation = f"v-{uuid.uuid4().hex}"
    a, b = store.take_ticket(conversation), store.take_ticket(conversation)
    lock = store.get_lock(conversation)
    assert lock is not None and [t.number for t in lock.tickets] == [a, b]
    assert lock.now_serving == a and lock.is_locked(b) and not lock.is_locked(a)
    assert store.is_someone_waiting(conversation)
    lock.remove_ticket_for(a)
    store.save_lock(lock)
    assert store.get_lock(conversation).now_serving == b  # type: ignore[union-attr]
    try:
        store.save_lock(TicketLock(conversation, deque([Ticket(b + 1000, time.time() + 60)])))
    except ValueError as error:
        assert "not issued" in str(error)
    else:
        raise AssertionError("a ticket this store never issued was saved")
    store.cleanup(conversation, b)
    assert not store.is_someone_waiting(conversation)
    print("ok rasa interface")

    # endpoints.yml names this store, and Rasa then runs the workers asked for.
    os.environ["LOCK_STORE_URL"] = url
    endpoint = read_endpoint_config("endpoints.yml", "lock_store")
    created = LockStore.create(endpoint)
    assert isinstance(created, SQLLockStore), type(created)
    os.environ["SANIC_WORKERS"] = "2"
    assert number_of_sanic_workers(endpoint) == 2
    print("ok endpoints.yml")

    try:
        SQLLockStore(url="")
    except ValueError as error:
        assert "url" in str(error)
    else:
        raise AssertionError("a lock store without a database was made")
    print("ok no url refused")


if __name__ == "__main__":
    processes_take_turns(sys.argv[1], Path(sys.argv[2]))
    asyncio.run(main(sys.argv[1]))
