"""Read, quote, place and change a verified customer's orders; every change is audited.

Each public method of `OrderService` is one unit of work and returns views
(crm/records/views.py). A missing order and someone else's raise the same `OrderNotFound`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.addresses import AddressInput
from crm.records.audit import Clock, audit
from crm.records.delivery import (
    DeliveryMethod,
    default_method,
    delivery_window,
    method_for,
    return_cost_pence,
    return_deadline,
    transit_window,
    uk_date,
)
from crm.records.errors import (
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
)
from crm.records.models import (
    Address,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    Refund,
    utcnow,
)
from crm.records.numbers import clean_order_number, random_order_number
from crm.records.views import (
    CancellationQuote,
    DeliveryEstimate,
    ItemChange,
    OrderQuote,
    OrderView,
    PlacedOrder,
    address_dict,
    is_changeable,
    order_address,
    order_view,
)

# Quantities one order line may hold, when placing or changing an order.
MIN_QUANTITY: Final = 1


MAX_QUANTITY: Final = 20


# Reason of the refund a paid order gets when a change lowers its total. Refunds with this
# reason are not returns (the order's items already reflect them); crm.records.money tells them
# apart by this exact text, and customers' own refund reasons are stored with a prefix.
ORDER_CHANGE_REFUND_REASON: Final = "order changed"


_NUMBER_ATTEMPTS: Final = 20


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
        site_url: str,
        new_order_number: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._site_url = site_url.rstrip("/")
        self._new_order_number = new_order_number or random_order_number

    def get_order(self, number: str, customer_id: int) -> OrderView:
        """Return the customer's order ``number``; ``OrderNotFound`` if missing or not theirs."""
        with self._sessions.begin() as session:
            order = self._find(session, number, customer_id, lock=False)
            return order_view(session, order)

    def list_orders(self, customer_id: int, *, limit: int = 5) -> tuple[OrderView, ...]:
        """Return the customer's most recent orders, newest first (for "which order?")."""
        with self._sessions.begin() as session:
            orders = session.scalars(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.placed_at.desc(), Order.id.desc())
                .limit(limit)
            ).all()
            return tuple(order_view(session, order) for order in orders)

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
            if not is_changeable(order.status):
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
            audit(
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
            return order_view(session, order)

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
            if not is_changeable(order.status):
                raise AddressChangeNotAllowed(order.status)
            now = self._clock()
            before = order_address(order)
            order.ship_line1 = address.line1
            order.ship_line2 = address.line2
            order.ship_city = address.city
            order.ship_postcode = address.postcode
            order.ship_country = address.country
            order.updated_at = now
            audit(
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
            return order_view(session, order)

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
                shipping_address=AddressInput(**address_dict(address)).formatted(),
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
            audit(
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
            return PlacedOrder(order_view(session, order), self.payment_url(order.number))

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
            if not is_changeable(order.status):
                raise OrderNotEditable(order.status)
            product = _products_by_sku(session, {wanted_sku: quantity})[wanted_sku]
            line = next((item for item in order.items if item.product_id == product.id), None)
            if line is not None and line.quantity == quantity:
                return ItemChange(order_view(session, order), 0, 0, None)
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
                payment_url = self.payment_url(order.number)
                after["balance_due_pence"] = difference
            audit(
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
            return ItemChange(order_view(session, order), difference, refund, payment_url)

    def payment_url(self, number: str) -> str:
        """Where the customer pays for an unpaid order, or the balance of a changed one."""
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
        cleaned = clean_order_number(number)
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
    if is_changeable(status):
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
