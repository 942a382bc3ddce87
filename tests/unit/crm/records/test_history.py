"""A customer's past conversations: recorded when they verify, listed in the staff panel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.handoff_requests import HandoffService
from crm.desk.handoffs import HandoffDesk
from crm.desk.staff import StaffMember, StaffService
from crm.records.customers import CustomerService
from crm.records.history import HISTORY_LIMIT, remember_conversation
from crm.records.models import CustomerConversation, HandoffRequest
from crm.tools.demo import SeedReport


@pytest.fixture
def customers(sessions: sessionmaker[Session], seeded: SeedReport) -> CustomerService:
    return CustomerService(sessions)


def recorded(sessions: sessionmaker[Session]) -> list[tuple[str, int, str]]:
    with sessions() as session:
        rows = session.execute(
            select(
                CustomerConversation.conversation_id,
                CustomerConversation.customer_id,
                CustomerConversation.channel,
            ).order_by(CustomerConversation.id)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_verifying_records_the_conversation_once(
    customers: CustomerService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
) -> None:
    ada, grace = customer_id("ada@example.com"), customer_id("grace@example.org")
    assert customers.verify("ada@example.com", "M4 6AB", conversation_id="c-1", channel="web")
    # Verifying again in the same conversation, even on another channel, keeps the one row.
    assert customers.verify("ADA@example.com", "m46ab", conversation_id="c-1", channel="slack")
    assert customers.verify("ada@example.com", "M4 6AB", conversation_id="c-2", channel="telegram")
    # Another customer proving who they are in the same chat (a shared device) is theirs.
    assert customers.verify("grace@example.org", "75001", conversation_id="c-1", channel="web")
    assert recorded(sessions) == [
        ("c-1", ada, "web"),
        ("c-2", ada, "telegram"),
        ("c-1", grace, "web"),
    ]


def test_a_failed_or_anonymous_verification_records_nothing(
    customers: CustomerService, sessions: sessionmaker[Session]
) -> None:
    assert customers.verify("ada@example.com", "M4 6AC", conversation_id="c-1") is None
    assert customers.verify("ada@example.com", "M4 6AB") is not None  # no conversation given
    assert recorded(sessions) == []


def test_concurrent_verifications_in_one_conversation_record_it_once(
    customers: CustomerService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    # On PostgreSQL the look-ups all miss and the inserts collide on the unique constraint:
    # each loser's savepoint rolls back and its verification still succeeds.
    threads = 6
    barrier = threading.Barrier(threads)
    results: list[object] = []

    def verify() -> None:
        barrier.wait()
        try:
            found: object = customers.verify(
                "ada@example.com", "M4 6AB", conversation_id="c-race", channel="web"
            )
        except Exception as error:  # handed to the assertion below
            found = error
        results.append(found)

    workers = [threading.Thread(target=verify) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert [getattr(r, "id", r) for r in results] == [customer_id("ada@example.com")] * threads
    assert recorded(sessions) == [("c-race", customer_id("ada@example.com"), "web")]


# --- the panel's list --------------------------------------------------------------------


@pytest.fixture
def priya(sessions: sessionmaker[Session]) -> StaffMember:
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    return staff.create_member(
        email="priya@larkspur.test",
        name="Priya",
        password="a long enough password",
        role="agent",
        actor="test",
    )


def verified_at(
    sessions: sessionmaker[Session], customer: int, conversation: str, channel: str, at: datetime
) -> None:
    with sessions.begin() as session:
        remember_conversation(session, customer, conversation, channel, at)


def handoff(
    sessions: sessionmaker[Session],
    conversation: str,
    customer: int | None,
    at: datetime,
    channel: str = "web",
) -> str:
    return (
        HandoffService(sessions, clock=lambda: at)
        .request_handoff(
            conversation_id=conversation,
            channel=channel,
            reason="customer_request",
            customer_id=customer,
            transcript=[],
        )
        .reference
    )


def test_the_panel_lists_past_conversations_newest_first_with_the_current_one_marked(
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    clock_now: datetime,
    priya: StaffMember,
) -> None:
    ada, grace = customer_id("ada@example.com"), customer_id("grace@example.org")
    day = timedelta(days=1)
    desk = HandoffDesk(sessions, clock=lambda: clock_now - 3 * day + timedelta(minutes=5))
    # Three days ago on Telegram: verified, then a person resolved it and got a 4.
    verified_at(sessions, ada, "c-old", "telegram", clock_now - 3 * day)
    old = handoff(sessions, "c-old", ada, clock_now - 3 * day + timedelta(minutes=1), "telegram")
    desk.claim(old, priya)
    with sessions.begin() as session:
        request = session.scalars(select(HandoffRequest).where(HandoffRequest.reference == old))
        row = request.one()
        closed = clock_now - 3 * day + timedelta(minutes=30)
        row.status, row.outcome, row.closed_at = "closed", "resolved", closed
        row.csat_score, row.csat_at = 4, closed
    # Two days ago, signed in on the website: never verified, handed off, nobody took it.
    signed_in = handoff(sessions, "c-signed-in", ada, clock_now - 2 * day)
    # Yesterday on the web: verified, the assistant alone.
    verified_at(sessions, ada, "c-yesterday", "web", clock_now - day)
    # Now: verified a minute ago, waiting for a person. Grace's conversation is not Ada's.
    verified_at(sessions, ada, "c-now", "web", clock_now - timedelta(minutes=1))
    current = handoff(sessions, "c-now", ada, clock_now)
    verified_at(sessions, grace, "c-grace", "web", clock_now)

    panel = HandoffDesk(sessions).customer_panel(current, priya)
    assert panel is not None
    listed = [
        (c.conversation_id, c.channel, c.started_at, c.current, c.handled_by_person)
        for c in panel.conversations
    ]
    assert listed == [
        ("c-now", "web", clock_now - timedelta(minutes=1), True, False),
        ("c-yesterday", "web", clock_now - day, False, False),
        ("c-signed-in", "web", clock_now - 2 * day, False, False),
        ("c-old", "telegram", clock_now - 3 * day, False, True),
    ]
    [taken] = panel.conversations[3].handoffs
    assert (taken.reference, taken.assignee_name, taken.outcome, taken.csat_score) == (
        old,
        "Priya",
        "resolved",
        4,
    )
    [waiting] = panel.conversations[0].handoffs
    assert (waiting.reference, waiting.status, waiting.handled) == (current, "waiting", False)
    assert [h.reference for h in panel.conversations[2].handoffs] == [signed_in]
    assert panel.conversations[1].handoffs == ()


def test_the_panel_lists_at_most_ten_conversations(
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    clock_now: datetime,
    priya: StaffMember,
) -> None:
    ada = customer_id("ada@example.com")
    for days in range(1, 13):
        verified_at(sessions, ada, f"c-{days}", "web", clock_now - timedelta(days=days))
    current = handoff(sessions, "c-13", ada, clock_now - timedelta(days=13))
    panel = HandoffDesk(sessions).customer_panel(current, priya)
    assert panel is not None
    assert len(panel.conversations) == HISTORY_LIMIT == 10
    assert [c.conversation_id for c in panel.conversations] == [f"c-{d}" for d in range(1, 11)]
    # The current conversation is older than the ten listed, so none is marked.
    assert not any(c.current for c in panel.conversations)
