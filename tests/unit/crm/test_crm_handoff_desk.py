"""The staff side of handoffs: who sees which queue, claiming, handing back, the customer panel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from crm.errors import HandoffNotFound, HandoffNotYours, HandoffTaken
from crm.handoffs import HandoffDesk
from crm.models import AuditLog, HandoffRequest
from crm.services import HandoffService
from crm.staff import StaffMember, StaffService

PASSWORD = "a long enough password"


@pytest.fixture
def desk(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> HandoffDesk:
    return HandoffDesk(sessions, clock=clock)


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> Callable[[str, str, str], StaffMember]:
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

    def create(name: str, role: str = "agent", team: str = "general") -> StaffMember:
        return staff.create_member(
            email=f"{name.lower()}@larkspur.test",
            name=name,
            password=PASSWORD,
            role=role,
            team=team,
            actor="test",
        )

    return create


def queue_for(
    sessions: sessionmaker[Session],
    conversation: str,
    *,
    team: str = "general",
    reason: str = "customer_request",
    customer_id: int | None = None,
    minutes_ago: int = 0,
) -> str:
    base = datetime(2025, 6, 2, 10, 0).astimezone()
    reference = HandoffService(
        sessions, clock=lambda: base - timedelta(minutes=minutes_ago)
    ).request_handoff(
        conversation_id=conversation,
        channel="web",
        reason=reason,
        customer_id=customer_id,
        transcript=[],
    )
    if team != "general":
        with sessions.begin() as session:
            request = session.get(HandoffRequest, reference.id)
            assert request is not None
            request.team = team
    return reference.reference


def test_agents_see_their_teams_queue_supervisors_see_all(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    general = queue_for(sessions, "c-general")
    billing = queue_for(sessions, "c-billing", team="billing")
    priya, tom = member("Priya"), member("Tom", team="billing")
    boss = member("Sue", role="supervisor", team="billing")
    assert [e.reference for e in desk.queue(priya)] == [general]
    assert [e.reference for e in desk.queue(tom)] == [billing]
    assert {e.reference for e in desk.queue(boss)} == {general, billing}
    with pytest.raises(HandoffNotFound):
        desk.entry(billing, priya)
    with pytest.raises(HandoffNotFound):
        desk.claim(billing, priya)
    with pytest.raises(HandoffNotFound):
        desk.entry("HO-NOSUCH", boss)


def test_the_queue_puts_upset_customers_first_then_the_longest_waiting(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    recent = queue_for(sessions, "c-1", minutes_ago=1)
    older = queue_for(sessions, "c-2", minutes_ago=30)
    upset = queue_for(sessions, "c-3", reason="negative_sentiment", minutes_ago=0)
    assert [e.reference for e in desk.queue(member("Priya"))] == [upset, older, recent]


def test_a_conversation_is_claimed_once_and_handed_back_by_its_holder(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    reference = queue_for(sessions, "c-1")
    priya, ravi = member("Priya"), member("Ravi")
    held = desk.claim(reference, priya)
    assert (held.status, held.assignee_name, held.claimed_at) == ("claimed", "Priya", clock_now)
    assert held.held_by(priya) and not held.held_by(ravi)
    with pytest.raises(HandoffTaken):
        desk.claim(reference, ravi)
    with pytest.raises(HandoffNotYours):
        desk.holding(reference, ravi)
    with pytest.raises(HandoffNotYours):
        desk.hand_back(reference, ravi)
    # What an agent holds stays in their queue.
    assert [e.reference for e in desk.queue(priya)] == [reference]

    closed = desk.hand_back(reference, priya)
    assert (closed.status, closed.reference) == ("closed", reference)
    assert desk.queue(priya) == []
    with sessions() as session:
        request = session.query(HandoffRequest).one()
        assert (request.outcome, request.closed_at) == ("handed_back", clock_now)
    actions = [row.action for row in audit_rows()]
    assert actions[-2:] == ["handoff.claim", "handoff.hand_back"]
    assert all(row.actor == f"staff:{priya.id}" for row in audit_rows()[-2:])


def test_a_claim_that_could_not_start_is_released(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    reference = queue_for(sessions, "c-1")
    priya = member("Priya")
    desk.claim(reference, priya)
    with pytest.raises(HandoffNotYours):
        desk.release(reference, member("Ravi"))
    waiting = desk.release(reference, priya)
    assert (waiting.status, waiting.assignee_id, waiting.claimed_at) == ("waiting", None, None)
    assert desk.claim(reference, priya).status == "claimed"


def test_the_customer_panel_shows_the_verified_customers_records(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    seeded: object,
    customer_id: Callable[[str], int],
) -> None:
    ada = customer_id("ada@example.com")
    verified = queue_for(sessions, "c-ada", customer_id=ada)
    anonymous = queue_for(sessions, "c-anon")
    priya = member("Priya")
    panel = desk.customer_panel(verified, priya)
    assert panel is not None
    assert (panel.name, panel.email) == ("Ada Lovelace", "ada@example.com")
    assert "100103" in {order.number for order in panel.orders}
    assert all(order.total.startswith("£") for order in panel.orders)
    assert desk.queue(priya)[0].customer_name == "Ada Lovelace"
    assert desk.customer_panel(anonymous, priya) is None
