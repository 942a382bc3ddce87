"""Placing orders and changing their items: totals, delivery charges, refunds, refusals."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from crm.records.errors import (
    InvalidQuantity,
    ItemNotInOrder,
    NoDefaultAddress,
    OrderNotEditable,
    OrderNotFound,
    OrderWouldBeEmpty,
    OutOfStock,
    ProductNotFound,
)
from crm.records.models import AuditLog, Customer, Order, OrderStatusEvent, Product, Refund
from crm.records.orders import OrderService
from crm.records.views import ItemChange, OrderItemView
from crm.tools.demo import SeedReport
from tests.conftest import DEFAULTS

ADA = "ada@example.com"
GRACE = "grace@example.org"
PAY = "https://larkspur.example/checkout/pay/"


@pytest.fixture
def orders(
    sessions: sessionmaker[Session], seeded: SeedReport, clock: Callable[[], datetime]
) -> OrderService:
    return OrderService(sessions, site_url=DEFAULTS.site_url, clock=clock)


def _numbers(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Order.number)))


def _refunds(sessions: sessionmaker[Session], number: str) -> list[tuple[int, str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Refund.amount_pence, Refund.status, Refund.reason)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number == number)
            .order_by(Refund.id)
        ).all()
    return [(amount, status, reason) for amount, status, reason in rows]


def _items(change: ItemChange) -> list[tuple[str, int, int]]:
    return [(i.name, i.quantity, i.unit_price_pence) for i in change.order.items]


def _set_price(sessions: sessionmaker[Session], sku: str, pence: int) -> None:
    with sessions.begin() as session:
        session.execute(update(Product).where(Product.sku == sku).values(price_pence=pence))


# --- placing an order -------------------------------------------------------------------------


def test_place_order_under_the_free_delivery_threshold(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    existing = _numbers(sessions)
    placed = orders.place_order(
        customer_id(ADA), [("KIT-005", 1)], actor="agent", conversation_id="conv-p"
    )
    order = placed.order

    # £39.95 of goods + £3.95 UK Standard.
    assert order.total_pence == 4390
    assert order.total_display == "£43.90"
    assert order.items == (OrderItemView("Enamel Kettle", 1, 3995, "KIT-005"),)
    assert (order.status, order.delivery_method, order.currency) == ("placed", "UK Standard", "GBP")
    assert order.shipping_address == "12 Ancoats Way, Manchester, M4 6AB, GB"
    assert order.placed_at == clock_now
    assert order.paid_at is None and order.estimated_delivery is None
    assert len(order.number) == 6 and order.number.isdigit() and order.number[0] != "0"
    assert order.number not in existing
    assert placed.payment_url == PAY + order.number
    assert orders.get_order(order.number, customer_id(ADA)) == order

    with sessions() as session:
        events = session.execute(
            select(OrderStatusEvent.status, OrderStatusEvent.at, OrderStatusEvent.actor)
            .join(Order, Order.id == OrderStatusEvent.order_id)
            .where(Order.number == order.number)
        ).all()
    assert [tuple(event) for event in events] == [("placed", clock_now, "agent")]

    [row] = audit_rows()
    assert (row.action, row.entity, row.entity_id) == ("order.place", "order", order.number)
    assert (row.actor, row.conversation_id, row.at, row.before) == (
        "agent",
        "conv-p",
        clock_now,
        None,
    )
    assert row.after == {
        "status": "placed",
        "items": [{"sku": "KIT-005", "quantity": 1, "unit_price_pence": 3995}],
        "delivery_method": "UK Standard",
        "delivery_pence": 395,
        "total_pence": 4390,
    }


@pytest.mark.parametrize(
    ("items", "total"),
    [
        ([("KIT-005", 1), ("HOM-005", 1)], 5490),  # £54.90 of goods: over £50, free
        # Exactly £50.00 of goods (2 x £16 + £18): "over £50" is not met, so £3.95 is added.
        ([("KIT-006", 2), ("HOM-007", 1)], 5395),
        ([("KIT-006", 2), ("HOM-007", 1), ("OUT-004", 1)], 5950),  # £59.50: free
    ],
)
def test_place_order_free_delivery_threshold(
    orders: OrderService,
    customer_id: Callable[[str], int],
    items: list[tuple[str, int]],
    total: int,
) -> None:
    placed = orders.place_order(customer_id(ADA), items, actor="agent", conversation_id=None)
    assert placed.order.total_pence == total


def test_place_order_to_the_eu_uses_eu_standard(
    orders: OrderService, customer_id: Callable[[str], int]
) -> None:
    # Two enamel mugs to Paris: £19.00 + £9.95, whatever the basket (no free EU delivery).
    placed = orders.place_order(
        customer_id(GRACE), [("OUT-004", 2)], actor="agent", conversation_id=None
    )
    assert placed.order.delivery_method == "EU Standard"
    assert placed.order.total_pence == 2895
    assert placed.order.shipping_address == "5 Rue de Rivoli, Paris, 75001, FR"
    big = orders.place_order(customer_id(GRACE), [("OUT-005", 1)], actor="a", conversation_id=None)
    assert big.order.total_pence == 12900 + 995


def test_place_order_adds_up_repeated_skus(
    orders: OrderService, customer_id: Callable[[str], int]
) -> None:
    placed = orders.place_order(
        customer_id(ADA), [("KIT-006", 1), (" kit-006 ", 2)], actor="agent", conversation_id=None
    )
    assert placed.order.items == (OrderItemView("Linen Tea Towels (set of 3)", 3, 1600, "KIT-006"),)
    assert placed.order.total_pence == 4800 + 395


def test_place_order_skips_numbers_in_use(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    candidates: Iterator[str] = iter(["100101", "100201", "654321", "654322"])
    orders = OrderService(
        sessions, site_url=DEFAULTS.site_url, new_order_number=lambda: next(candidates)
    )
    first = orders.place_order(customer_id(ADA), [("KIT-003", 1)], actor="a", conversation_id=None)
    second = orders.place_order(customer_id(ADA), [("KIT-003", 1)], actor="a", conversation_id=None)
    assert (first.order.number, second.order.number) == ("654321", "654322")


def test_place_order_numbers_are_new_and_distinct(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    existing = _numbers(sessions)
    numbers = [
        orders.place_order(
            customer_id(ADA), [("KIT-003", 1)], actor="a", conversation_id=None
        ).order.number
        for _ in range(5)
    ]
    assert len(set(numbers)) == 5
    assert not set(numbers) & existing
    assert all(100000 <= int(number) <= 999999 for number in numbers)


@pytest.mark.parametrize(
    ("items", "error"),
    [
        ([("KIT-999", 1)], ProductNotFound),
        ([("KIT-005", 1), ("NOPE-1", 1)], ProductNotFound),
        ([("KIT-005", 0)], InvalidQuantity),
        ([("KIT-005", 21)], InvalidQuantity),
        ([("KIT-005", -1)], InvalidQuantity),
        ([("KIT-005", True)], InvalidQuantity),  # a bool is not a quantity
        ([("KIT-005", 15), ("KIT-005", 6)], InvalidQuantity),  # 21 once added up
        ([], OrderWouldBeEmpty),
    ],
)
def test_place_order_refusals_write_nothing(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    items: list[tuple[str, int]],
    error: type[Exception],
) -> None:
    before = _numbers(sessions)
    with pytest.raises(error):
        orders.place_order(customer_id(ADA), items, actor="agent", conversation_id=None)
    assert _numbers(sessions) == before
    assert audit_rows() == []


def test_place_order_names_the_unknown_sku(
    orders: OrderService, customer_id: Callable[[str], int]
) -> None:
    with pytest.raises(ProductNotFound) as caught:
        orders.place_order(customer_id(ADA), [("kit-999", 1)], actor="a", conversation_id=None)
    assert caught.value.sku == "KIT-999"
    assert "KIT-999" not in str(caught.value)  # messages reach logs; the attribute does not


def test_place_order_needs_a_default_address(
    orders: OrderService, sessions: sessionmaker[Session], audit_rows: Callable[[], list[AuditLog]]
) -> None:
    with sessions.begin() as session:
        homeless = Customer(first_name="No", last_name="Address", email="none@example.com")
        session.add(homeless)
        session.flush()
        homeless_id = homeless.id
    with pytest.raises(NoDefaultAddress):
        orders.place_order(homeless_id, [("KIT-005", 1)], actor="agent", conversation_id=None)
    assert audit_rows() == []


# --- changing items -------------------------------------------------------------------------


def test_remove_item_from_paid_order_refunds_the_difference(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    # 100102: kettle £39.95 + candle £14.95 = £54.90, free delivery. Without the candle the
    # goods are £39.95, under the threshold, so £3.95 delivery comes back: total £43.90.
    change = orders.change_item(
        "100102", customer_id(ADA), sku="HOM-005", quantity=0, actor="agent", conversation_id="c9"
    )
    assert _items(change) == [("Enamel Kettle", 1, 3995)]
    assert change.order.total_pence == 4390
    assert (change.difference_pence, change.refund_pence, change.payment_url) == (-1100, 1100, None)
    assert change.order.status == "paid"
    assert _refunds(sessions, "100102") == [(1100, "requested", "order changed")]

    [row] = audit_rows()
    assert (row.action, row.entity_id, row.actor, row.conversation_id, row.at) == (
        "order.change_item",
        "100102",
        "agent",
        "c9",
        clock_now,
    )
    assert row.before == {
        "items": [
            {"sku": "HOM-005", "quantity": 1, "unit_price_pence": 1495},
            {"sku": "KIT-005", "quantity": 1, "unit_price_pence": 3995},
        ],
        "total_pence": 5490,
    }
    assert row.after == {
        "items": [{"sku": "KIT-005", "quantity": 1, "unit_price_pence": 3995}],
        "total_pence": 4390,
        "refund_pence": 1100,
    }
    with sessions() as session:
        order = session.scalars(select(Order).where(Order.number == "100102")).one()
        assert order.updated_at == clock_now


def test_raise_quantity_on_paid_order_asks_for_the_balance(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    change = orders.change_item(
        "100102", customer_id(ADA), sku="KIT-005", quantity=2, actor="agent", conversation_id=None
    )
    assert _items(change) == [("Enamel Kettle", 2, 3995), ("Scented Soy Candle", 1, 1495)]
    assert change.order.total_pence == 9485
    assert (change.difference_pence, change.refund_pence) == (3995, 0)
    assert change.payment_url == PAY + "100102"
    assert change.order.status == "paid"
    assert _refunds(sessions, "100102") == []
    [row] = audit_rows()
    assert row.after is not None
    assert (row.after["total_pence"], row.after["balance_due_pence"]) == (9485, 3995)


def test_add_new_item_to_paid_order_at_the_current_price(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    _set_price(sessions, "OUT-004", 1000)  # the mug costs £10 now (£9.50 when seeded)
    change = orders.change_item(
        "100102", customer_id(ADA), sku="out-004", quantity=1, actor="agent", conversation_id=None
    )
    assert ("Enamel Camping Mug", 1, 1000) in _items(change)
    assert change.order.total_pence == 6490
    assert (change.difference_pence, change.payment_url) == (1000, PAY + "100102")


def test_existing_line_keeps_the_price_it_was_ordered_at(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    _set_price(sessions, "KIT-005", 4500)
    change = orders.change_item(
        "100102", customer_id(ADA), sku="KIT-005", quantity=2, actor="agent", conversation_id=None
    )
    assert ("Enamel Kettle", 2, 3995) in _items(change)
    assert change.order.total_pence == 2 * 3995 + 1495


def test_placed_order_changes_total_without_refund_or_payment_link(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    ada = customer_id(ADA)
    # 100101: tea towels 2 x £16 + board £18.50 = £50.50, free delivery; not paid yet.
    one_towel = orders.change_item(
        "100101", ada, sku="KIT-006", quantity=1, actor="agent", conversation_id=None
    )
    # £34.50 of goods + £3.95 delivery.
    assert one_towel.order.total_pence == 3845
    assert (one_towel.difference_pence, one_towel.refund_pence, one_towel.payment_url) == (
        -1205,
        0,
        None,
    )
    add_candle = orders.change_item(
        "100101", ada, sku="HOM-005", quantity=1, actor="agent", conversation_id=None
    )
    assert add_candle.order.total_pence == 4945 + 395  # £49.45: still under the threshold
    two_candles = orders.change_item(
        "100101", ada, sku="HOM-005", quantity=2, actor="agent", conversation_id=None
    )
    # £64.40 of goods: over £50 again, so the £3.95 goes.
    assert two_candles.order.total_pence == 6440
    assert two_candles.difference_pence == 6440 - 5340
    assert two_candles.payment_url is None
    assert _refunds(sessions, "100101") == []
    assert two_candles.order.status == "placed"


def test_change_does_not_charge_delivery_the_order_never_paid(
    orders: OrderService, customer_id: Callable[[str], int]
) -> None:
    # The demo's 100201 (EU Express to Paris) was charged goods only (£52.00). Another set of
    # cups adds £24.00; the express charge is the same before and after, so nothing else.
    change = orders.change_item(
        "100201", customer_id(GRACE), sku="KIT-007", quantity=2, actor="agent", conversation_id=None
    )
    assert change.order.total_pence == 7600
    assert (change.difference_pence, change.payment_url) == (2400, PAY + "100201")


def test_setting_the_same_quantity_changes_nothing(
    orders: OrderService,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    before = orders.get_order("100102", customer_id(ADA))
    change = orders.change_item(
        "100102", customer_id(ADA), sku="KIT-005", quantity=1, actor="agent", conversation_id=None
    )
    assert change == ItemChange(before, 0, 0, None)
    assert audit_rows() == []


@pytest.mark.parametrize(
    ("number", "status"), [("100103", "shipped"), ("100104", "delivered"), ("100105", "cancelled")]
)
def test_change_refused_once_the_order_has_left(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    number: str,
    status: str,
) -> None:
    before = orders.get_order(number, customer_id(ADA))
    with pytest.raises(OrderNotEditable) as caught:
        orders.change_item(
            number, customer_id(ADA), sku="KIT-005", quantity=1, actor="agent", conversation_id=None
        )
    assert caught.value.status == status
    assert orders.get_order(number, customer_id(ADA)) == before
    assert audit_rows() == []
    assert _refunds(sessions, number) == []


def test_change_someone_elses_order_is_not_found(
    orders: OrderService,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    before = orders.get_order("100201", customer_id(GRACE))
    with pytest.raises(OrderNotFound):
        orders.change_item(
            "100201",
            customer_id(ADA),
            sku="KIT-007",
            quantity=0,
            actor="agent",
            conversation_id=None,
        )
    assert orders.get_order("100201", customer_id(GRACE)) == before
    assert audit_rows() == []


def test_removing_the_last_item_is_refused(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    orders.change_item("100102", ada, sku="HOM-005", quantity=0, actor="a", conversation_id=None)
    with pytest.raises(OrderWouldBeEmpty):
        orders.change_item(
            "100102", ada, sku="KIT-005", quantity=0, actor="a", conversation_id=None
        )
    view = orders.get_order("100102", ada)
    assert view.items == (OrderItemView("Enamel Kettle", 1, 3995, "KIT-005"),)
    assert view.total_pence == 4390
    assert len(audit_rows()) == 1
    assert len(_refunds(sessions, "100102")) == 1


@pytest.mark.parametrize(
    ("sku", "quantity", "error"),
    [
        ("KIT-001", 0, ItemNotInOrder),  # removing what is not there
        ("KIT-999", 1, ProductNotFound),
        ("KIT-005", 21, InvalidQuantity),
        ("KIT-005", -1, InvalidQuantity),
    ],
)
def test_change_item_refusals(
    orders: OrderService,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    sku: str,
    quantity: int,
    error: type[Exception],
) -> None:
    before = orders.get_order("100102", customer_id(ADA))
    with pytest.raises(error):
        orders.change_item(
            "100102", customer_id(ADA), sku=sku, quantity=quantity, actor="a", conversation_id=None
        )
    assert orders.get_order("100102", customer_id(ADA)) == before
    assert audit_rows() == []


def test_concurrent_removals_never_empty_the_order(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    """Two removals at once: the row lock makes the second see one item left and refuse."""
    ada = customer_id(ADA)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    lock = threading.Lock()

    def remove(sku: str) -> None:
        barrier.wait()
        try:
            result: object = orders.change_item(
                "100102", ada, sku=sku, quantity=0, actor="a", conversation_id=None
            )
        except Exception as exc:  # handed back to the test
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=remove, args=(sku,)) for sku in ("HOM-005", "KIT-005")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "ItemChange",
        "OrderWouldBeEmpty",
    ]
    # Whichever removal won, one line is left and the refund matches it: without the candle
    # £43.90 is left (refund £11.00); without the kettle £14.95 + £3.95 (refund £36.00).
    left = orders.get_order("100102", ada)
    expected = {"Enamel Kettle": (4390, 1100), "Scented Soy Candle": (1890, 3600)}
    [item] = left.items
    total, refund = expected[item.name]
    assert left.total_pence == total
    assert _refunds(sessions, "100102") == [(refund, "requested", "order changed")]


def _set_stock(sessions: sessionmaker[Session], sku: str, stock: int | None) -> None:
    with sessions.begin() as session:
        session.execute(update(Product).where(Product.sku == sku).values(stock=stock))


@pytest.mark.parametrize(("stock", "wanted"), [(0, 1), (3, 4)])
def test_an_order_for_more_than_is_in_stock_is_refused_and_nothing_is_written(
    orders: OrderService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    stock: int,
    wanted: int,
) -> None:
    _set_stock(sessions, "KIT-005", stock)
    before = _numbers(sessions)
    with pytest.raises(OutOfStock) as refused:
        orders.quote_order(customer_id(ADA), [("KIT-005", wanted)])
    assert (refused.value.name, refused.value.available) == ("Enamel Kettle", stock)
    with pytest.raises(OutOfStock):
        orders.place_order(
            customer_id(ADA), [("KIT-005", wanted)], actor="agent", conversation_id=None
        )
    assert _numbers(sessions) == before
    # Exactly what is left, or a product whose stock is not tracked, is fine.
    _set_stock(sessions, "KIT-005", wanted)
    orders.place_order(customer_id(ADA), [("KIT-005", wanted)], actor="agent", conversation_id=None)
    _set_stock(sessions, "KIT-005", None)
    orders.place_order(customer_id(ADA), [("KIT-005", 20)], actor="agent", conversation_id=None)


def test_only_the_units_added_to_an_order_must_be_in_stock(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    placed = orders.place_order(
        customer_id(ADA), [("KIT-005", 2)], actor="agent", conversation_id=None
    )
    number = placed.order.number
    _set_stock(sessions, "KIT-005", 1)
    change = orders.change_item(
        number, customer_id(ADA), sku="KIT-005", quantity=3, actor="agent", conversation_id=None
    )
    assert [item.quantity for item in change.order.items] == [3]  # one more: one is left
    with pytest.raises(OutOfStock):
        orders.change_item(
            number, customer_id(ADA), sku="KIT-005", quantity=5, actor="a", conversation_id=None
        )
    _set_stock(sessions, "OUT-004", 0)
    with pytest.raises(OutOfStock):
        orders.change_item(
            number, customer_id(ADA), sku="OUT-004", quantity=1, actor="a", conversation_id=None
        )
    # Fewer never needs stock.
    change = orders.change_item(
        number, customer_id(ADA), sku="KIT-005", quantity=1, actor="agent", conversation_id=None
    )
    assert [item.quantity for item in change.order.items] == [1]
