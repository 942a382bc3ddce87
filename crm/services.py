"""Services the action server calls: verify a customer, read, place and change orders, hand off.

Each public method is one unit of work (one transaction) and returns frozen dataclasses, never
ORM objects, so callers cannot lazy-load or mutate records after the session has closed.
Nothing here knows about Rasa; errors are the small named exceptions of :mod:`crm.errors`,
which the action layer maps to responses.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal, TypedDict

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.addresses import AddressDict, AddressInput, normalise_postcode
from crm.delivery import (
    DeliveryMethod,
    default_method,
    delivery_window,
    method_for,
    return_cost_pence,
    return_deadline,
    transit_window,
    uk_date,
)
from crm.errors import (
    AddressChangeNotAllowed,
    CRMError,
    InvalidQuantity,
    ItemNotInOrder,
    NoDefaultAddress,
    OrderNotCancellable,
    OrderNotEditable,
    OrderNotFound,
    OrderWouldBeEmpty,
    OutOfStock,
    ProductNotFound,
    UnknownTeam,
)
from crm.history import remember_conversation
from crm.models import (
    STAFF_TEAMS,
    Address,
    AuditLog,
    Customer,
    HandoffRequest,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    Refund,
    StaffSession,
    StaffUser,
    normalise_email,
    utcnow,
)

__all__ = [
    "AddressChangeNotAllowed",
    "CRMError",
    "CancellationQuote",
    "CustomerRef",
    "CustomerService",
    "DeliveryEstimate",
    "HandoffRef",
    "HandoffService",
    "InvalidQuantity",
    "ItemChange",
    "ItemNotInOrder",
    "NoDefaultAddress",
    "OrderItemView",
    "OrderNotCancellable",
    "OrderNotEditable",
    "OrderNotFound",
    "OrderQuote",
    "OrderService",
    "OrderView",
    "OrderWouldBeEmpty",
    "PlacedOrder",
    "ProductNotFound",
    "TranscriptLine",
    "format_money",
]

Clock = Callable[[], datetime]

# Orders that have not left the warehouse; only these can be cancelled or re-addressed.
CHANGEABLE_STATUSES: Final = frozenset({"placed", "paid"})

_ORDER_NUMBER_RE: Final = re.compile(r"#?\s*(\d{6})")

DEFAULT_SITE_URL: Final = "https://larkspur.example"
# Quantities one order line may hold, when placing or changing an order.
MIN_QUANTITY: Final = 1
MAX_QUANTITY: Final = 20
# Reason of the refund a paid order gets when a change lowers its total. Refunds with this
# reason are not returns (the order's items already reflect them); crm.money tells them apart
# by this exact text, and customers' own refund reasons are stored with a prefix.
ORDER_CHANGE_REFUND_REASON: Final = "order changed"
_NUMBER_ATTEMPTS: Final = 20
_REFERENCE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud
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
        """Whether the order can still be cancelled or re-addressed."""
        return self.status in CHANGEABLE_STATUSES


class TranscriptLine(TypedDict):
    """One turn of a conversation, as handed to staff with a handoff request."""

    role: Literal["customer", "agent", "staff"]
    text: str
    at: str  # ISO 8601 timestamp


@dataclass(frozen=True)
class HandoffRef:
    """A queued handoff; ``reference`` (e.g. ``HO-7F3K2Q``) can be read out to the customer."""

    id: int
    reference: str
    created_at: datetime
    team: str = "general"


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


def _normalised_postcode_sql(column: Any) -> ColumnElement[str]:
    """Build the SQL twin of :func:`crm.addresses.normalise_postcode` for a column."""
    return func.replace(func.upper(column), " ", "")


def _clean_order_number(number: str) -> str | None:
    """Accept "100101", " #100101 "; anything else cannot name an order."""
    match = _ORDER_NUMBER_RE.fullmatch(number.strip())
    return match.group(1) if match else None


def _audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    conversation_id: str | None,
) -> None:
    if not actor:
        raise ValueError("actor is required for audited changes")
    session.add(
        AuditLog(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            conversation_id=conversation_id,
        )
    )


def _order_address(order: Order) -> AddressDict:
    return AddressDict(
        line1=order.ship_line1,
        line2=order.ship_line2,
        city=order.ship_city,
        postcode=order.ship_postcode,
        country=order.ship_country,
    )


def _default_address(session: Session, customer_id: int) -> Address:
    """The customer's default saved address; ``NoDefaultAddress`` if they have none."""
    address = session.scalars(
        select(Address)
        .where(Address.customer_id == customer_id, Address.is_default.is_(True))
        .order_by(Address.id)
        .limit(1)
    ).one_or_none()
    if address is None:
        raise NoDefaultAddress()
    return address


def _address_dict(address: Address) -> AddressDict:
    return AddressDict(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postcode=address.postcode,
        country=address.country,
    )


def _order_view(session: Session, order: Order) -> OrderView:
    rows = session.execute(
        select(Product.name, OrderItem.quantity, OrderItem.unit_price_pence, Product.sku)
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id == order.id)
        .order_by(Product.name)
    ).all()
    address = AddressInput(**_order_address(order))
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


class CustomerService:
    """Identify customers without revealing whether an email has an account."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def verify(
        self,
        email: str,
        postcode: str,
        *,
        conversation_id: str | None = None,
        channel: str = "unknown",
    ) -> CustomerRef | None:
        """Return the customer owning ``email`` if ``postcode`` is one of theirs, else ``None``.

        A postcode counts if it is on a saved address or was the destination of one of the
        customer's orders (people move); an erased account never verifies. Unknown email and
        wrong postcode run the same single
        query and both return ``None``, so the answer does not tell which part was wrong.
        With ``conversation_id``, a success is recorded in the same unit of work as one of the
        customer's conversations (once per conversation), for their history in the console.
        """
        wanted_email = normalise_email(email)
        wanted_postcode = normalise_postcode(postcode)
        if not wanted_email or not wanted_postcode:
            return None
        on_address = exists().where(
            Address.customer_id == Customer.id,
            _normalised_postcode_sql(Address.postcode) == wanted_postcode,
        )
        on_order = exists().where(
            Order.customer_id == Customer.id,
            _normalised_postcode_sql(Order.ship_postcode) == wanted_postcode,
        )
        with self._sessions.begin() as session:
            row = session.execute(
                select(Customer.id, Customer.first_name).where(
                    Customer.email == wanted_email,
                    # An erased account keeps no identity that could be proven.
                    Customer.status != "erased",
                    or_(on_address, on_order),
                )
            ).one_or_none()
            if row is not None and conversation_id:
                remember_conversation(session, row.id, conversation_id, channel)
        return CustomerRef(id=row.id, first_name=row.first_name) if row else None


class OrderService:
    """Read, place and change a verified customer's orders; every change is audited.

    ``new_order_number`` draws candidate order numbers (random six digits by default; tests
    pass a predictable one); numbers already used are skipped.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = utcnow,
        site_url: str = DEFAULT_SITE_URL,
        new_order_number: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._site_url = site_url.rstrip("/")
        self._new_order_number = new_order_number or _random_order_number

    def get_order(self, number: str, customer_id: int) -> OrderView:
        """Return the customer's order ``number``; ``OrderNotFound`` if missing or not theirs."""
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=False)
            return _order_view(session, order)

    def list_orders(self, customer_id: int, *, limit: int = 5) -> tuple[OrderView, ...]:
        """Return the customer's most recent orders, newest first (for "which order?")."""
        with self._sessions.begin() as session:
            orders = session.scalars(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.placed_at.desc(), Order.id.desc())
                .limit(limit)
            ).all()
            return tuple(_order_view(session, order) for order in orders)

    def cancel_order(
        self,
        number: str,
        customer_id: int,
        *,
        actor: str,
        conversation_id: str | None,
    ) -> OrderView:
        """Cancel an order that has not shipped; raise ``OrderNotCancellable`` otherwise.

        The status change, its history event, a refund request if the order was paid, and the
        audit record commit together or not at all. The order row is locked before its status
        is read, so two concurrent requests cannot both act on a "paid" order.
        """
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=True)
            if order.status not in CHANGEABLE_STATUSES:
                raise OrderNotCancellable(order.status)
            now = self._clock()
            before = {"status": order.status}
            order.status = "cancelled"
            order.cancelled_at = now
            order.updated_at = now
            session.add(
                OrderStatusEvent(
                    order_id=order.id,
                    status="cancelled",
                    at=now,
                    note="cancelled by staff"
                    if actor.startswith("staff:")
                    else "cancelled at the customer's request",
                    actor=actor,
                )
            )
            if order.paid_at is not None:
                # The customer is told the money goes back; record it for the payments team.
                session.add(
                    Refund(
                        order_id=order.id,
                        amount_pence=order.total_pence,
                        status="requested",
                        reason="order cancelled before dispatch",
                        requested_at=now,
                    )
                )
            _audit(
                session,
                at=now,
                actor=actor,
                action="order.cancel",
                entity="order",
                entity_id=order.number,
                before=before,
                after={"status": order.status},
                conversation_id=conversation_id,
            )
            session.flush()
            return _order_view(session, order)

    def change_shipping_address(
        self,
        number: str,
        customer_id: int,
        address: AddressInput,
        *,
        actor: str,
        conversation_id: str | None,
    ) -> OrderView:
        """Send an unshipped order to ``address``; raise ``AddressChangeNotAllowed`` otherwise."""
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=True)
            if order.status not in CHANGEABLE_STATUSES:
                raise AddressChangeNotAllowed(order.status)
            now = self._clock()
            before = _order_address(order)
            order.ship_line1 = address.line1
            order.ship_line2 = address.line2
            order.ship_city = address.city
            order.ship_postcode = address.postcode
            order.ship_country = address.country
            order.updated_at = now
            _audit(
                session,
                at=now,
                actor=actor,
                action="order.change_address",
                entity="order",
                entity_id=order.number,
                before=dict(before),
                after=dict(address.as_dict()),
                conversation_id=conversation_id,
            )
            session.flush()
            return _order_view(session, order)

    def delivery_estimate(self, number: str, customer_id: int) -> DeliveryEstimate:
        """When the order should arrive; ``OrderNotFound`` if missing or not theirs.

        A shipped order with a carrier estimate gives that day (basis ``carrier``); without
        one, the method's transit time from the day it shipped. A placed or paid order gets
        the method's window counted from now or from when it was placed, whichever is later,
        with the 14:00 cut-off (basis ``rules``).
        """
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=False)
            return _delivery_estimate(order, self._clock())

    def cancellation_quote(self, number: str, customer_id: int) -> CancellationQuote:
        """What undoing the order costs now; ``OrderNotFound`` if missing or not theirs.

        Placed or paid: cancel, free (``orders-cancel-an-order``). Shipped or delivered: the
        order can only be returned, free from the UK and £6.95 from the EU, until 30 days after
        delivery (unknown while shipped). Cancelled: nothing to do.
        """
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=False)
            return _cancellation_quote(order)

    def quote_order(self, customer_id: int, items: Sequence[tuple[str, int]]) -> OrderQuote:
        """Price ``items`` as :meth:`place_order` would, without writing anything.

        Lets the assistant show the total and the address before the customer confirms. Raises
        what :meth:`place_order` raises for the same input.
        """
        wanted = _merge_items(items)
        with self._sessions.begin() as session:
            address = _default_address(session, customer_id)
            products = _products_by_sku(session, wanted)
            _check_stock(products, wanted)
            method = method_for(default_method(address.country), address.country)
            goods = sum(products[sku].price_pence * quantity for sku, quantity in wanted.items())
            delivery = method.cost_pence(goods)
            return OrderQuote(
                goods_pence=goods,
                delivery_pence=delivery,
                total_pence=goods + delivery,
                delivery_method=method.name,
                shipping_address=AddressInput(**_address_dict(address)).formatted(),
            )

    def place_order(
        self,
        customer_id: int,
        items: Sequence[tuple[str, int]],
        *,
        actor: str,
        conversation_id: str | None,
    ) -> PlacedOrder:
        """Place an order for ``items`` (SKU, quantity 1–20) to the customer's default address.

        The method is the country's default (UK Standard or EU Standard) and the total is the
        goods plus its delivery charge. Repeated SKUs are added together. Raises
        ``InvalidQuantity``, ``OrderWouldBeEmpty`` (no items), ``ProductNotFound``,
        ``OutOfStock`` (fewer in stock than wanted; stock is read, never changed) or
        ``NoDefaultAddress``. The order, its "placed" event and the audit record commit
        together; the order is unpaid until the customer uses ``payment_url``.
        """
        wanted = _merge_items(items)
        for attempt in range(2):
            try:
                return self._place_once(customer_id, wanted, actor, conversation_id)
            except IntegrityError:
                # Another unit of work took the same new number between our check and insert.
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _place_once(
        self,
        customer_id: int,
        wanted: dict[str, int],
        actor: str,
        conversation_id: str | None,
    ) -> PlacedOrder:
        with self._sessions.begin() as session:
            address = _default_address(session, customer_id)
            products = _products_by_sku(session, wanted)
            _check_stock(products, wanted)
            method = method_for(default_method(address.country), address.country)
            goods = sum(products[sku].price_pence * quantity for sku, quantity in wanted.items())
            delivery = method.cost_pence(goods)
            now = self._clock()
            order = Order(
                number=self._unused_order_number(session),
                customer_id=customer_id,
                status="placed",
                ship_line1=address.line1,
                ship_line2=address.line2,
                ship_city=address.city,
                ship_postcode=address.postcode,
                ship_country=address.country,
                delivery_method=method.name,
                placed_at=now,
                total_pence=goods + delivery,
                currency="GBP",
                updated_at=now,
            )
            for sku, quantity in wanted.items():
                order.items.append(
                    OrderItem(
                        product_id=products[sku].id,
                        quantity=quantity,
                        unit_price_pence=products[sku].price_pence,
                    )
                )
            order.events.append(
                OrderStatusEvent(status="placed", at=now, actor=actor, note=_placed_note(actor))
            )
            session.add(order)
            session.flush()
            _audit(
                session,
                at=now,
                actor=actor,
                action="order.place",
                entity="order",
                entity_id=order.number,
                before=None,
                after={
                    "status": "placed",
                    "items": _item_rows(session, order),
                    "delivery_method": method.name,
                    "delivery_pence": delivery,
                    "total_pence": order.total_pence,
                },
                conversation_id=conversation_id,
            )
            return PlacedOrder(_order_view(session, order), self._payment_url(order.number))

    def change_item(
        self,
        number: str,
        customer_id: int,
        *,
        sku: str,
        quantity: int,
        actor: str,
        conversation_id: str | None,
    ) -> ItemChange:
        """Set the quantity of ``sku`` in an unshipped order: 0 removes it, a new SKU adds it.

        Only placed and paid orders change (else ``OrderNotEditable``); the last item cannot be
        removed (``OrderWouldBeEmpty``: cancel instead); units added must be in stock
        (``OutOfStock``). An existing line keeps the price it was
        ordered at; a new line takes the current price.

        The total moves by the change in goods plus the change in the delivery charge that the
        rules give (crossing the free UK Standard threshold adds or removes £3.95). Moving it
        by the difference, instead of rebuilding it, keeps whatever the customer was actually
        charged before (the demo data waives delivery, for example). For a paid order a lower
        total creates a refund request ("order changed") for the difference; a higher total
        returns the payment page for the balance, which the audit record keeps as
        ``balance_due_pence`` (the order stays paid). Setting the quantity a line already has
        changes nothing and writes no audit record.
        """
        _check_quantity(quantity, low=0)
        wanted_sku = sku.strip().upper()
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=True)
            if order.status not in CHANGEABLE_STATUSES:
                raise OrderNotEditable(order.status)
            product = _products_by_sku(session, {wanted_sku: quantity})[wanted_sku]
            line = next((item for item in order.items if item.product_id == product.id), None)
            if line is not None and line.quantity == quantity:
                return ItemChange(_order_view(session, order), 0, 0, None)
            more = quantity - (line.quantity if line is not None else 0)
            if more > 0:  # only the extra units must be in stock
                _check_stock({wanted_sku: product}, {wanted_sku: more})
            before_items = _item_rows(session, order)
            if quantity == 0:
                if line is None:
                    raise ItemNotInOrder(wanted_sku)
                if len(order.items) == 1:
                    raise OrderWouldBeEmpty()
                order.items.remove(line)
            elif line is None:
                order.items.append(
                    OrderItem(
                        product_id=product.id,
                        quantity=quantity,
                        unit_price_pence=product.price_pence,
                    )
                )
            else:
                line.quantity = quantity
            session.flush()
            after_items = _item_rows(session, order)

            method = method_for(order.delivery_method, order.ship_country)
            goods_before, goods_after = _goods(before_items), _goods(after_items)
            delivery_change = method.cost_pence(goods_after) - method.cost_pence(goods_before)
            before_total = order.total_pence
            after_total = max(0, before_total + goods_after - goods_before + delivery_change)
            difference = after_total - before_total

            now = self._clock()
            order.total_pence = after_total
            order.updated_at = now
            after: dict[str, Any] = {"items": after_items, "total_pence": after_total}
            refund = 0
            payment_url = None
            if order.status == "paid" and difference < 0:
                refund = -difference
                session.add(
                    Refund(
                        order_id=order.id,
                        amount_pence=refund,
                        status="requested",
                        reason=ORDER_CHANGE_REFUND_REASON,
                        requested_at=now,
                    )
                )
                after["refund_pence"] = refund
            elif order.status == "paid" and difference > 0:
                payment_url = self._payment_url(order.number)
                after["balance_due_pence"] = difference
            _audit(
                session,
                at=now,
                actor=actor,
                action="order.change_item",
                entity="order",
                entity_id=order.number,
                before={"items": before_items, "total_pence": before_total},
                after=after,
                conversation_id=conversation_id,
            )
            session.flush()
            return ItemChange(_order_view(session, order), difference, refund, payment_url)

    def _payment_url(self, number: str) -> str:
        return f"{self._site_url}/checkout/pay/{number}"

    def _unused_order_number(self, session: Session) -> str:
        for _ in range(_NUMBER_ATTEMPTS):
            candidate = self._new_order_number()
            if not (len(candidate) == 6 and candidate.isascii() and candidate.isdigit()):
                raise ValueError("order numbers are six digits")
            taken = session.scalar(select(exists().where(Order.number == candidate)))
            if not taken:
                return candidate
        raise RuntimeError("no unused order number found; widen the numbering")

    @staticmethod
    def _find(session: Session, number: str, customer_id: int, *, lock: bool) -> Order:
        cleaned = _clean_order_number(number)
        if cleaned is None:
            raise OrderNotFound()
        statement = select(Order).where(Order.number == cleaned, Order.customer_id == customer_id)
        if lock:
            # SELECT ... FOR UPDATE on PostgreSQL; SQLite ignores it: BEGIN IMMEDIATE (db.py) has
            # already serialised the whole unit of work there.
            statement = statement.with_for_update()
        order = session.scalars(statement).one_or_none()
        if order is None:
            raise OrderNotFound()
        return order


class HandoffService:
    """Queue conversations for a person to take over."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = utcnow,
        new_reference: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._new_reference = new_reference or _random_reference

    def request_handoff(
        self,
        *,
        conversation_id: str,
        channel: str,
        reason: str,
        customer_id: int | None,
        transcript: Sequence[TranscriptLine],
        actor: str = "agent",
        team: str = "general",
    ) -> HandoffRef:
        """Queue the conversation for staff, or return its open (waiting or claimed) request.

        A new request waits in ``team``'s queue (one of ``STAFF_TEAMS``, else
        :class:`UnknownTeam`); an open one keeps the team it has, where staff may have moved it.
        The database allows one open request per conversation; if a concurrent call wins
        the race (or a reference collides), the unit of work is retried once and then finds
        the winner's request.
        """
        if team not in STAFF_TEAMS:
            raise UnknownTeam()
        lines = [_checked_line(line) for line in transcript]
        for attempt in range(2):
            try:
                return self._request_once(
                    conversation_id, channel, reason, customer_id, lines, actor, team
                )
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_once(
        self,
        conversation_id: str,
        channel: str,
        reason: str,
        customer_id: int | None,
        transcript: list[dict[str, Any]],
        actor: str,
        team: str,
    ) -> HandoffRef:
        with self._sessions.begin() as session:
            open_request = session.scalars(
                select(HandoffRequest).where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.status.in_(("waiting", "claimed")),
                )
            ).one_or_none()
            if open_request is not None:
                return HandoffRef(
                    open_request.id,
                    open_request.reference,
                    open_request.created_at,
                    open_request.team,
                )
            now = self._clock()
            request = HandoffRequest(
                reference=self._new_reference(),
                conversation_id=conversation_id,
                channel=channel,
                customer_id=customer_id,
                reason=reason,
                transcript=transcript,
                status="waiting",
                created_at=now,
                priority=URGENT if reason in URGENT_REASONS else NORMAL,
                team=team,
            )
            session.add(request)
            session.flush()
            _audit(
                session,
                at=now,
                actor=actor,
                action="handoff.request",
                entity="handoff_request",
                entity_id=request.reference,
                before=None,
                after={"status": "waiting", "channel": channel, "reason": reason, "team": team},
                conversation_id=conversation_id,
            )
            return HandoffRef(request.id, request.reference, request.created_at, request.team)

    def staff_online(self, team: str, within: timedelta) -> int:
        """How many members who could take a conversation of `team` had the console open lately.

        Presence is a live console page (crm/staff.py refreshes the session's `last_seen_at`);
        a team's agents count, and supervisors and admins, who see every queue.
        """
        now = self._clock()
        with self._sessions() as session:
            count = session.scalar(
                select(func.count(func.distinct(StaffUser.id)))
                .join(StaffSession, StaffSession.user_id == StaffUser.id)
                .where(
                    StaffUser.active.is_(True),
                    or_(StaffUser.team == team, StaffUser.role.in_(("supervisor", "admin"))),
                    StaffSession.revoked_at.is_(None),
                    StaffSession.expires_at > now,
                    StaffSession.last_seen_at >= now - within,
                )
            )
        return int(count or 0)

    def held_by_person(self, conversation_id: str) -> bool:
        """Whether a staff member holds the conversation now (a claimed handoff)."""
        with self._sessions() as session:
            found = session.scalar(
                select(HandoffRequest.id).where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.status == "claimed",
                )
            )
        return found is not None

    def record_csat(self, conversation_id: str, score: int) -> str | None:
        """Store the customer's rating (1 to 5) on the newest handoff a person handled.

        Only a handoff nobody has rated yet takes it, so a second answer does not overwrite the
        first; returns the rated handoff's reference, or None when there is none to rate.
        """
        if not 1 <= score <= 5:
            raise ValueError(f"a rating is 1 to 5, not {score}")
        with self._sessions.begin() as session:
            request = session.scalars(
                select(HandoffRequest)
                .where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.claimed_at.is_not(None),
                    HandoffRequest.csat_score.is_(None),
                )
                .order_by(HandoffRequest.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if request is None:
                return None
            request.csat_score, request.csat_at = score, self._clock()
            return request.reference


URGENT, NORMAL = 1, 2
# An upset customer waits at the head of the queue.
URGENT_REASONS = frozenset({"negative_sentiment", "complaint"})


def _random_reference() -> str:
    """Return a reference like ``HO-7F3K2Q``: short enough to read out, hard to guess."""
    return "HO-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def _checked_line(line: TranscriptLine) -> dict[str, Any]:
    """Validate a transcript line at runtime: TypedDicts are not checked by Python."""
    if line.get("role") not in ("customer", "agent", "staff"):
        raise ValueError("transcript role must be customer, agent or staff")
    if not isinstance(line.get("text"), str) or not isinstance(line.get("at"), str):
        raise ValueError("transcript lines need text and at (ISO 8601) strings")
    try:
        datetime.fromisoformat(line["at"])
    except ValueError:
        raise ValueError("transcript 'at' must be an ISO 8601 timestamp") from None
    return {"role": line["role"], "text": line["text"], "at": line["at"]}


def _random_order_number() -> str:
    """A random order number from 100000 to 999999 (never a leading zero)."""
    return str(100000 + secrets.randbelow(900000))


def _check_quantity(quantity: int, *, low: int) -> None:
    """Refuse anything but a whole number from ``low`` to MAX_QUANTITY (``True`` is not 1)."""
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not low <= quantity <= MAX_QUANTITY
    ):
        raise InvalidQuantity(quantity, low=low, high=MAX_QUANTITY)


def _merge_items(items: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Validate (SKU, quantity) pairs and add up repeated SKUs, keeping the first order."""
    merged: dict[str, int] = {}
    for sku, quantity in items:
        _check_quantity(quantity, low=MIN_QUANTITY)
        key = sku.strip().upper()
        merged[key] = merged.get(key, 0) + quantity
    if not merged:
        raise OrderWouldBeEmpty()
    for quantity in merged.values():
        _check_quantity(quantity, low=MIN_QUANTITY)
    return merged


def _check_stock(products: dict[str, Product], wanted: dict[str, int]) -> None:
    """``OutOfStock`` for the first product with fewer units in stock than wanted."""
    for sku, quantity in wanted.items():
        stock = products[sku].stock
        if stock is not None and stock < quantity:
            raise OutOfStock(sku, products[sku].name, stock)


def _products_by_sku(session: Session, wanted: dict[str, int]) -> dict[str, Product]:
    """The products for the wanted SKUs; ``ProductNotFound`` names the first unknown one."""
    found = {
        product.sku: product
        for product in session.scalars(select(Product).where(Product.sku.in_(list(wanted))))
    }
    for sku in wanted:
        if sku not in found:
            raise ProductNotFound(sku)
    return found


def _item_rows(session: Session, order: Order) -> list[dict[str, Any]]:
    """The order's lines as JSON-ready dicts, by SKU (for audit records and totals)."""
    rows = session.execute(
        select(Product.sku, OrderItem.quantity, OrderItem.unit_price_pence)
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id == order.id)
        .order_by(Product.sku)
    ).all()
    return [
        {"sku": sku, "quantity": quantity, "unit_price_pence": price}
        for sku, quantity, price in rows
    ]


def _goods(rows: list[dict[str, Any]]) -> int:
    return sum(int(row["quantity"]) * int(row["unit_price_pence"]) for row in rows)


def _placed_note(actor: str) -> str:
    return "placed by staff" if actor.startswith("staff:") else "placed in a conversation"


def _delivery_estimate(order: Order, now: datetime) -> DeliveryEstimate:
    """The estimate for ``order`` at ``now`` (see ``OrderService.delivery_estimate``)."""
    number, status = order.number, order.status
    if status == "cancelled":
        name = _method_name(order.delivery_method, order.ship_country)
        return DeliveryEstimate(number, status, name, None, None, None, "cancelled")
    if status == "delivered":
        name = _method_name(order.delivery_method, order.ship_country)
        delivered_on = uk_date(order.delivered_at) if order.delivered_at else None
        return DeliveryEstimate(number, status, name, None, None, delivered_on, "delivered")
    if status == "shipped" and order.estimated_delivery is not None:
        name = _method_name(order.delivery_method, order.ship_country)
        day = order.estimated_delivery
        return DeliveryEstimate(number, status, name, day, day, None, "carrier")
    method = method_for(order.delivery_method, order.ship_country)
    if status == "shipped":
        earliest, latest = transit_window(method, uk_date(order.shipped_at or now))
    else:
        earliest, latest = delivery_window(method, max(now, order.placed_at))
    return DeliveryEstimate(number, status, method.name, earliest, latest, None, "rules")


def _cancellation_quote(order: Order) -> CancellationQuote:
    """The quote for ``order`` (see ``OrderService.cancellation_quote``)."""
    number, status = order.number, order.status
    if status in CHANGEABLE_STATUSES:
        return CancellationQuote(number, status, 0, "cancel", None, None)
    if status in ("shipped", "delivered"):
        deadline = return_deadline(order.delivered_at) if order.delivered_at else None
        cost = return_cost_pence(order.ship_country)
        return CancellationQuote(number, status, 0, "return", cost, deadline)
    return CancellationQuote(number, status, 0, "none", None, None)


def _method_name(stored: str, country: str) -> str:
    """The method's name for people ("UK Standard" for a stored "standard"), else as stored."""
    try:
        method: DeliveryMethod = method_for(stored, country)
    except CRMError:
        return stored
    return method.name
