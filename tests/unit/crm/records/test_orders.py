from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.addresses import parse_address
from crm.records.errors import AddressChangeNotAllowed, OrderNotCancellable, OrderNotFound
from crm.records.models import AuditLog, Order, OrderStatusEvent, Refund
from crm.records.orders import OrderService
from crm.records.views import OrderItemView, OrderView, format_money, is_changeable
from crm.tools.demo import SeedReport
from tests.conftest import DEFAULTS

ADA = "ada@example.com"
GRACE = "grace@example.org"
NEW_ADDRESS = parse_address("Flat 3, 7 Piccadilly, Manchester, M1 1LU")
ORDER_BY_STATUS = {
    "placed": "100101",
    "paid": "100102",
    "shipped": "100103",
    "delivered": "100104",
    "cancelled": "100105",
}


@pytest.fixture
def orders(
    sessions: sessionmaker[Session], seeded: SeedReport, clock: Callable[[], datetime]
) -> OrderService:
    return OrderService(sessions, site_url=DEFAULTS.site_url, clock=clock)


def _snapshot(sessions: sessionmaker[Session], number: str) -> tuple[object, ...]:
    """Everything a refused change must leave alone."""
    with sessions() as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        events = session.scalar(
            select(func.count())
            .select_from(OrderStatusEvent)
            .where(OrderStatusEvent.order_id == order.id)
        )
        refunds = session.scalar(
            select(func.count()).select_from(Refund).where(Refund.order_id == order.id)
        )
        return (
            refunds,
            order.status,
            order.cancelled_at,
            order.updated_at,
            order.ship_line1,
            order.ship_postcode,
            events,
        )


# --- reading --------------------------------------------------------------------------------


def test_get_own_shipped_order(
    orders: OrderService, customer_id: Callable[[str], int], seed_now: datetime
) -> None:
    view = orders.get_order("100103", customer_id(ADA))
    assert view.number == "100103"
    assert view.status == "shipped"
    assert view.carrier == "DPD"
    assert view.tracking_number == "15501234567890"
    assert view.estimated_delivery == seed_now.date() + timedelta(days=2)
    assert view.shipped_at == seed_now - timedelta(days=1)
    assert view.shipped_at is not None and view.shipped_at.tzinfo is not None
    assert view.cancelled_at is None
    assert view.shipping_address == "12 Ancoats Way, Manchester, M4 6AB, GB"
    assert view.items == (OrderItemView("Cast Iron Casserole 24cm", 1, 7900, "KIT-001"),)
    assert view.total_pence == 7900
    assert view.total_display == "£79.00"
    assert not view.can_change


def test_get_order_total_and_items(orders: OrderService, customer_id: Callable[[str], int]) -> None:
    view = orders.get_order("100102", customer_id(ADA))
    assert view.total_display == "£54.90"
    assert [(item.name, item.quantity) for item in view.items] == [
        ("Enamel Kettle", 1),
        ("Scented Soy Candle", 1),
    ]
    assert sum(item.quantity * item.unit_price_pence for item in view.items) == view.total_pence
    assert view.paid_at is not None and view.shipped_at is None
    assert view.can_change


@pytest.mark.parametrize("status", list(ORDER_BY_STATUS))
def test_one_rule_says_which_orders_can_change(
    orders: OrderService, customer_id: Callable[[str], int], status: str
) -> None:
    # The chat asks its questions by the status alone (`is_changeable`); the services refuse by
    # the same rule, and an order's view says the same.
    view = orders.get_order(ORDER_BY_STATUS[status], customer_id(ADA))
    assert is_changeable(status) == view.can_change == (status in ("placed", "paid"))


def test_an_unknown_order_cannot_change() -> None:
    assert not is_changeable(None)


@pytest.mark.parametrize("number", ["#100101", " 100101 ", "# 100101"])
def test_get_order_accepts_typed_variants(
    orders: OrderService, customer_id: Callable[[str], int], number: str
) -> None:
    assert orders.get_order(number, customer_id(ADA)).number == "100101"


@pytest.mark.parametrize("number", ["100201", "999999", "10010", "abc", ""])
def test_get_order_hides_others_and_missing_orders_alike(
    orders: OrderService, customer_id: Callable[[str], int], number: str
) -> None:
    # 100201 exists but is Grace's; the others do not exist or are not order numbers.
    with pytest.raises(OrderNotFound) as caught:
        orders.get_order(number, customer_id(ADA))
    assert str(caught.value) == "order not found for this customer"


def test_list_orders_newest_first(orders: OrderService, customer_id: Callable[[str], int]) -> None:
    views = orders.list_orders(customer_id(ADA), limit=3)
    assert [view.number for view in views] == ["100101", "100102", "100103"]


@pytest.mark.parametrize(
    ("pence", "currency", "expected"),
    [(5490, "GBP", "£54.90"), (5, "GBP", "£0.05"), (123456, "GBP", "£1,234.56"),
     (-150, "GBP", "-£1.50"), (1000, "EUR", "€10.00"), (1000, "CHF", "10.00 CHF")],
)  # fmt: skip
def test_format_money(pence: int, currency: str, expected: str) -> None:
    assert format_money(pence, currency) == expected


# --- cancelling -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["placed", "paid"])
def test_cancel_unshipped_order(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
    status: str,
) -> None:
    number = ORDER_BY_STATUS[status]
    view = orders.cancel_order(number, customer_id(ADA), actor="agent", conversation_id="conv-1")

    assert view.status == "cancelled"
    assert view.cancelled_at == clock_now
    assert orders.get_order(number, customer_id(ADA)) == view

    with sessions() as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        assert order.updated_at == clock_now
        last_event = order.events[-1]
        assert (last_event.status, last_event.at, last_event.actor) == (
            "cancelled",
            clock_now,
            "agent",
        )

    with sessions() as session:
        refunds = session.execute(
            select(Refund.amount_pence, Refund.status, Refund.requested_at)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number == number)
        ).all()
    # A paid order gets its money back; an unpaid one has nothing to refund.
    expected = [(view.total_pence, "requested", clock_now)] if status == "paid" else []
    assert [tuple(refund) for refund in refunds] == expected

    [row] = audit_rows()
    assert row.action == "order.cancel"
    assert row.actor == "agent"
    assert (row.entity, row.entity_id) == ("order", number)
    assert row.before == {"status": status}
    assert row.after == {"status": "cancelled"}
    assert row.conversation_id == "conv-1"
    assert row.at == clock_now


@pytest.mark.parametrize("status", ["shipped", "delivered", "cancelled"])
def test_cancel_refused_after_dispatch_changes_nothing(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    status: str,
) -> None:
    number = ORDER_BY_STATUS[status]
    before = _snapshot(sessions, number)

    with pytest.raises(OrderNotCancellable) as caught:
        orders.cancel_order(number, customer_id(ADA), actor="agent", conversation_id="conv-1")

    assert caught.value.status == status
    assert _snapshot(sessions, number) == before
    assert audit_rows() == []


def test_cancel_someone_elses_order_is_not_found(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    before = _snapshot(sessions, "100201")
    with pytest.raises(OrderNotFound):
        orders.cancel_order("100201", customer_id(ADA), actor="agent", conversation_id=None)
    assert _snapshot(sessions, "100201") == before
    assert orders.get_order("100201", customer_id(GRACE)).status == "paid"
    assert audit_rows() == []


def test_cancel_twice_is_refused_the_second_time(
    orders: OrderService,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    orders.cancel_order("100102", customer_id(ADA), actor="agent", conversation_id="c")
    with pytest.raises(OrderNotCancellable) as caught:
        orders.cancel_order("100102", customer_id(ADA), actor="agent", conversation_id="c")
    assert caught.value.status == "cancelled"
    assert len(audit_rows()) == 1


def test_cancel_without_conversation_by_staff(
    orders: OrderService,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    orders.cancel_order("100101", customer_id(ADA), actor="staff:42", conversation_id=None)
    [row] = audit_rows()
    assert (row.actor, row.conversation_id) == ("staff:42", None)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_cancel_waits_for_the_row_lock_and_rechecks_the_status(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
) -> None:
    """A cancel that races with dispatch must see the dispatched status, not the stale one."""
    ada = customer_id(ADA)
    outcome: list[BaseException | OrderView] = []

    def cancel() -> None:
        try:
            outcome.append(orders.cancel_order("100102", ada, actor="agent", conversation_id="x"))
        except BaseException as exc:  # reported to the main thread
            outcome.append(exc)

    with sessions.begin() as warehouse:
        order = warehouse.scalars(
            select(Order).where(Order.number == "100102").with_for_update()
        ).one()
        worker = threading.Thread(target=cancel)
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive(), "cancel_order did not wait for the row lock"
        order.status = "shipped"
    worker.join(timeout=10)

    assert len(outcome) == 1
    assert isinstance(outcome[0], OrderNotCancellable)
    assert outcome[0].status == "shipped"


# --- changing the delivery address ------------------------------------------------------------


@pytest.mark.parametrize("status", ["placed", "paid"])
def test_change_address_of_unshipped_order(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
    status: str,
) -> None:
    number = ORDER_BY_STATUS[status]
    view = orders.change_shipping_address(
        number, customer_id(ADA), NEW_ADDRESS, actor="agent", conversation_id="conv-2"
    )

    assert view.shipping_address == "Flat 3, 7 Piccadilly, Manchester, M1 1LU, GB"
    assert view.status == status
    with sessions() as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        assert (order.ship_line1, order.ship_line2, order.ship_postcode) == (
            "Flat 3",
            "7 Piccadilly",
            "M1 1LU",
        )
        assert order.updated_at == clock_now

    [row] = audit_rows()
    assert row.action == "order.change_address"
    assert row.conversation_id == "conv-2"
    assert row.before == {
        "line1": "12 Ancoats Way",
        "line2": None,
        "city": "Manchester",
        "postcode": "M4 6AB",
        "country": "GB",
    }
    assert row.after == {
        "line1": "Flat 3",
        "line2": "7 Piccadilly",
        "city": "Manchester",
        "postcode": "M1 1LU",
        "country": "GB",
    }


@pytest.mark.parametrize("status", ["shipped", "delivered", "cancelled"])
def test_change_address_refused_after_dispatch(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    status: str,
) -> None:
    number = ORDER_BY_STATUS[status]
    before = _snapshot(sessions, number)
    with pytest.raises(AddressChangeNotAllowed) as caught:
        orders.change_shipping_address(
            number, customer_id(ADA), NEW_ADDRESS, actor="agent", conversation_id="conv-2"
        )
    assert caught.value.status == status
    assert _snapshot(sessions, number) == before
    assert audit_rows() == []


def test_change_address_of_someone_elses_order_is_not_found(
    orders: OrderService,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    with pytest.raises(OrderNotFound):
        orders.change_shipping_address(
            "100201", customer_id(ADA), NEW_ADDRESS, actor="agent", conversation_id=None
        )
    assert orders.get_order("100201", customer_id(GRACE)).shipping_address.startswith("5 Rue")
    assert audit_rows() == []


def test_verification_still_works_with_the_new_order_postcode(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    from crm.records.customers import CustomerService

    orders.change_shipping_address(
        "100101", customer_id(ADA), NEW_ADDRESS, actor="agent", conversation_id=None
    )
    customers = CustomerService(sessions)
    assert customers.verify(ADA, "M1 1LU") is not None
    assert customers.verify(ADA, "M4 6AB") is not None
