"""What the services return: frozen views of customers and orders, never ORM objects.

A view is built inside the unit of work that read the records and is safe to use after the
session has closed; callers cannot lazy-load or change a record through it. Money is kept in
minor units and formatted for people here (`format_money`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.records.addresses import AddressDict, AddressInput
from crm.records.models import (
    Address,
    Order,
    OrderItem,
    Product,
)

_CURRENCY_SYMBOLS: Final = {"GBP": "£", "EUR": "€"}


def format_money(pence: int, currency: str = "GBP") -> str:
    """Format integer minor units for people: ``5490`` -> ``"£54.90"``, ``-150`` -> ``"-£1.50"``."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    symbol = _CURRENCY_SYMBOLS.get(currency)
    amount = f"{pounds:,}.{rest:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


@dataclass(frozen=True)
class CustomerRef:
    """A verified customer: enough to greet them and to scope later look-ups."""

    id: int
    first_name: str


@dataclass(frozen=True)
class OrderItemView:
    """One line of an order as the customer sees it."""

    name: str
    quantity: int
    unit_price_pence: int
    sku: str


@dataclass(frozen=True)
class OrderView:
    """An order as the assistant may describe it to its owner."""

    number: str
    status: str
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    estimated_delivery: date | None
    delivery_method: str
    carrier: str | None
    tracking_number: str | None
    total_pence: int
    currency: str
    shipping_address: str
    items: tuple[OrderItemView, ...]

    @property
    def total_display(self) -> str:
        """Total formatted for people, e.g. ``"£54.90"``."""
        return format_money(self.total_pence, self.currency)

    @property
    def can_change(self) -> bool:
        """Whether the order can still be cancelled, re-addressed or have its items changed."""
        return is_changeable(self.status)


# Orders that have not left the warehouse; only these can be cancelled, re-addressed or have
# their items changed.
CHANGEABLE_STATUSES: Final = frozenset({"placed", "paid"})


def is_changeable(status: str | None) -> bool:
    """Whether an order in `status` can still change: the one rule, for services and the chat."""
    return status in CHANGEABLE_STATUSES


@dataclass(frozen=True)
class DeliveryEstimate:
    """When an order arrives, and what the answer is based on.

    ``basis`` is ``carrier`` (the carrier's estimate of a shipped order: ``earliest`` and
    ``latest`` are that day), ``rules`` (a window from the shop's delivery rules), ``delivered``
    (``delivered_on`` is set) or ``cancelled`` (no dates).
    """

    order_number: str
    status: str
    method: str
    earliest: date | None
    latest: date | None
    delivered_on: date | None
    basis: Literal["carrier", "rules", "delivered", "cancelled"]


@dataclass(frozen=True)
class CancellationQuote:
    """What it costs to undo an order now: cancel it, return it, or nothing to do.

    Cancelling is free until the order ships; after that the route is a return, free from the
    UK and £6.95 (taken from the refund) from the EU, until ``return_deadline`` (unknown until
    delivery).
    """

    order_number: str
    status: str
    fee_pence: int
    route: Literal["cancel", "return", "none"]
    return_cost_pence: int | None
    return_deadline: date | None


@dataclass(frozen=True)
class OrderQuote:
    """What an order would cost and where it would go, before it is placed."""

    goods_pence: int
    delivery_pence: int
    total_pence: int
    delivery_method: str
    shipping_address: str

    @property
    def total_display(self) -> str:
        """Total formatted for people, e.g. ``"£43.90"``."""
        return format_money(self.total_pence)

    @property
    def delivery_display(self) -> str:
        """Delivery charge formatted for people; ``"free"`` when nothing is charged."""
        return format_money(self.delivery_pence) if self.delivery_pence else "free"


@dataclass(frozen=True)
class PlacedOrder:
    """A new order and the page where the customer pays for it."""

    order: OrderView
    payment_url: str


@dataclass(frozen=True)
class ItemChange:
    """The order after an item change and what it means for the customer's money.

    ``difference_pence`` is the new total minus the old. For a paid order, a lower total gives
    a refund of ``refund_pence``; a higher one gives ``payment_url`` for the balance. A placed
    order has not been charged yet, so it gets neither.
    """

    order: OrderView
    difference_pence: int
    refund_pence: int
    payment_url: str | None


def order_address(order: Order) -> AddressDict:
    """The order's delivery address as the address fields (for views and audit rows)."""
    return AddressDict(
        line1=order.ship_line1,
        line2=order.ship_line2,
        city=order.ship_city,
        postcode=order.ship_postcode,
        country=order.ship_country,
    )


def address_dict(address: Address) -> AddressDict:
    """A saved address as the address fields (for views and audit rows)."""
    return AddressDict(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postcode=address.postcode,
        country=address.country,
    )


def order_view(session: Session, order: Order) -> OrderView:
    """The view of `order` with its items, read in the caller's unit of work."""
    rows = session.execute(
        select(Product.name, OrderItem.quantity, OrderItem.unit_price_pence, Product.sku)
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id == order.id)
        .order_by(Product.name)
    ).all()
    address = AddressInput(**order_address(order))
    return OrderView(
        number=order.number,
        status=order.status,
        placed_at=order.placed_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        estimated_delivery=order.estimated_delivery,
        delivery_method=order.delivery_method,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        total_pence=order.total_pence,
        currency=order.currency,
        shipping_address=address.formatted(),
        items=tuple(
            OrderItemView(name=name, quantity=quantity, unit_price_pence=price, sku=sku)
            for name, quantity, price, sku in rows
        ),
    )
