"""Refunds staff issue from the customer panel: the assistant's rule, audited as staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.handoff_requests import HandoffService
from crm.desk.handoffs import HandoffDesk
from crm.desk.panel import PanelRefunds, RefundableOrder
from crm.desk.staff import StaffMember, StaffService
from crm.records.errors import HandoffNotFound, HandoffNotYours, OrderNotFound, RefundNotAllowed
from crm.records.models import AuditLog, Order, Refund
from crm.records.money import RefundService
from crm.tools.demo import SeedReport


@pytest.fixture
def desk(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> HandoffDesk:
    return HandoffDesk(sessions, clock=clock)


@pytest.fixture
def panel(
    sessions: sessionmaker[Session], desk: HandoffDesk, clock: Callable[[], datetime]
) -> PanelRefunds:
    return PanelRefunds(sessions, desk, RefundService(sessions, clock=clock))


@pytest.fixture
def staff(sessions: sessionmaker[Session]) -> dict[str, StaffMember]:
    service = StaffService(
        sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    return {
        name: service.create_member(
            email=f"{name.lower()}@larkspur.test",
            name=name,
            password="a long enough password",
            role=role,
            team=team,
            actor="test",
        )
        for name, role, team in (
            ("Priya", "agent", "general"),
            ("Ravi", "agent", "general"),
            ("Tom", "agent", "billing"),
            ("Sue", "admin", "general"),
        )
    }


def handoff(sessions: sessionmaker[Session], conversation: str, customer: int | None) -> str:
    return (
        HandoffService(sessions)
        .request_handoff(
            conversation_id=conversation,
            channel="web",
            reason="customer_request",
            customer_id=customer,
            transcript=[],
        )
        .reference
    )


def refunds_of(sessions: sessionmaker[Session], number: str) -> list[tuple[int, str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Refund.amount_pence, Refund.status, Refund.reason)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number == number)
        ).all()
        return [(amount, status, reason) for amount, status, reason in rows]


@pytest.fixture
def held(
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    desk: HandoffDesk,
    staff: dict[str, StaffMember],
) -> str:
    """Ada's conversation, verified, held by Priya."""
    reference = handoff(sessions, "c-ada", customer_id("ada@example.com"))
    desk.claim(reference, staff["Priya"])
    return reference


def test_the_panel_offers_the_orders_the_assistants_rule_allows(
    panel: PanelRefunds, held: str, staff: dict[str, StaffMember]
) -> None:
    # Ada's orders: placed, paid, shipped, cancelled, and 100104 delivered on 16 May.
    expected = (RefundableOrder("100104", 10900, "£109.00", date(2025, 6, 15)),)
    assert panel.refundable(held, staff["Priya"]) == expected
    assert panel.refundable(held, staff["Ravi"]) == expected  # seeing is not acting
    with pytest.raises(HandoffNotFound):
        panel.refundable(held, staff["Tom"])  # another team's conversation


def test_the_holder_refunds_an_order_of_the_verified_customer_audited_as_staff(
    panel: PanelRefunds,
    held: str,
    staff: dict[str, StaffMember],
    sessions: sessionmaker[Session],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    priya = staff["Priya"]
    refund = panel.issue(held, priya, "100104", "arrived  broken")
    assert (refund.order_number, refund.amount_display, refund.status) == (
        "100104",
        "£109.00",
        "requested",
    )
    assert refunds_of(sessions, "100104") == [(10900, "requested", "return: arrived broken")]
    last = audit_rows()[-1]
    assert (last.actor, last.action, last.entity, last.entity_id) == (
        f"staff:{priya.id}",
        "refund.request",
        "order",
        "100104",
    )
    assert (last.conversation_id, last.at) == ("c-ada", clock_now)
    assert last.after is not None and last.after["amount_pence"] == 10900
    # Refunded in full: no longer offered, and a second refund is refused.
    assert panel.refundable(held, priya) == ()
    with pytest.raises(RefundNotAllowed) as refused:
        panel.issue(held, priya, "100104", "again")
    assert refused.value.reason == "already_refunded"
    assert len(refunds_of(sessions, "100104")) == 1


def test_refusals_follow_the_rule(
    panel: PanelRefunds, held: str, staff: dict[str, StaffMember]
) -> None:
    with pytest.raises(RefundNotAllowed) as shipped:
        panel.issue(held, staff["Priya"], "100103", "not here yet")
    assert shipped.value.reason == "not_delivered"
    with pytest.raises(RefundNotAllowed) as cancelled:
        panel.issue(held, staff["Priya"], "100105", "cancelled")
    assert cancelled.value.reason == "cancelled_refunded_automatically"


def test_only_orders_of_the_verified_customer(
    panel: PanelRefunds,
    held: str,
    staff: dict[str, StaffMember],
    sessions: sessionmaker[Session],
    desk: HandoffDesk,
) -> None:
    # 100301 is Alan's, delivered and refundable for him; for Ada's conversation it is missing.
    for number in ("100301", "999999", "not a number"):
        with pytest.raises(OrderNotFound):
            panel.issue(held, staff["Priya"], number, "wrong customer")
    assert refunds_of(sessions, "100301") == []
    # No customer verified in the conversation: no order is theirs.
    anonymous = handoff(sessions, "c-anon", None)
    desk.claim(anonymous, staff["Priya"])
    assert panel.refundable(anonymous, staff["Priya"]) == ()
    with pytest.raises(OrderNotFound):
        panel.issue(anonymous, staff["Priya"], "100104", "who?")


def test_only_the_member_holding_the_conversation(
    panel: PanelRefunds,
    held: str,
    staff: dict[str, StaffMember],
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    desk: HandoffDesk,
) -> None:
    with pytest.raises(HandoffNotYours):
        panel.issue(held, staff["Ravi"], "100104", "a colleague's chat")
    with pytest.raises(HandoffNotYours):
        panel.issue(held, staff["Sue"], "100104", "an admin does not hold it either")
    with pytest.raises(HandoffNotFound):
        panel.issue(held, staff["Tom"], "100104", "another team's chat")
    waiting = handoff(sessions, "c-ada-2", customer_id("ada@example.com"))
    with pytest.raises(HandoffNotYours):
        panel.issue(waiting, staff["Priya"], "100104", "nobody holds it")
    desk.hand_back(held, staff["Priya"])
    with pytest.raises(HandoffNotYours):
        panel.issue(held, staff["Priya"], "100104", "after handing back")
    assert refunds_of(sessions, "100104") == []
