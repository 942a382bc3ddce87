"""Concurrent units of work: each must act on current data, none may fail with a lock error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.handoff_requests import HandoffRef, HandoffService
from crm.records.errors import OrderNotCancellable
from crm.records.models import AuditLog, HandoffRequest, OrderStatusEvent
from crm.records.orders import OrderService
from crm.records.views import OrderView
from crm.tools.demo import SeedReport
from tests.conftest import DEFAULTS

T = TypeVar("T")
THREADS = 6


def _race(work: Callable[[], T]) -> list[T | BaseException]:
    """Run ``work`` in THREADS threads released at the same moment; collect results/errors."""
    barrier = threading.Barrier(THREADS)
    results: list[T | BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome: T | BaseException = work()
        except BaseException as exc:  # handed back to the test
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_concurrent_cancels_cancel_once(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    orders = OrderService(sessions, site_url=DEFAULTS.site_url)
    ada = customer_id("ada@example.com")
    events_before = _count(sessions, OrderStatusEvent)

    results = _race(
        lambda: orders.cancel_order("100102", ada, actor="agent", conversation_id="race")
    )

    done = [r for r in results if isinstance(r, OrderView)]
    refused = [r for r in results if isinstance(r, OrderNotCancellable)]
    assert len(results) == THREADS
    assert len(done) == 1, results
    assert len(refused) == THREADS - 1, results
    assert all(r.status == "cancelled" for r in refused)
    assert _count(sessions, AuditLog) == 1
    assert _count(sessions, OrderStatusEvent) == events_before + 1


def test_concurrent_handoffs_share_one_request(sessions: sessionmaker[Session]) -> None:
    handoffs = HandoffService(sessions)

    results = _race(
        lambda: handoffs.request_handoff(
            conversation_id="conv-race", channel="web", reason="r", customer_id=None, transcript=[]
        )
    )

    refs = [r for r in results if isinstance(r, HandoffRef)]
    assert len(refs) == THREADS, results
    assert len({ref.reference for ref in refs}) == 1
    assert _count(sessions, HandoffRequest) == 1
    assert _count(sessions, AuditLog) == 1
