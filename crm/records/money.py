"""Invoices and refunds of a verified customer's orders.

Like :mod:`crm.records.orders`, every public method is one unit of work that returns frozen
dataclasses, changes are audited, and someone else's order looks exactly like a missing one.
Dates customers read (issued on, requested on, deadlines) are UK calendar dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from urllib.parse import quote

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.audit import Clock, audit
from crm.records.delivery import (
    UK_TIME,
    add_working_days,
    return_cost_pence,
    return_deadline,
    uk_date,
)
from crm.records.errors import InvoiceNotFound, RefundNotAllowed
from crm.records.models import Invoice, Order, OrderItem, Product, Refund, utcnow
from crm.records.numbers import clean_order_number
from crm.records.orders import ORDER_CHANGE_REFUND_REASON, OrderService
from crm.records.views import format_money

RefundReason = Literal[
    "ok",
    "not_delivered",
    "cancelled_refunded_automatically",
    "window_passed",
    "already_refunded",
    "not_on_order",
]

# Working days the payments team takes to pay a refund (returns-refund-timing: "within 5
# working days"; cancellations: "within 3–5 working days").
REFUND_WORKING_DAYS: Final = 5
# Customers' reasons are stored with this prefix, so none can pass for ORDER_CHANGE_REFUND_REASON.
RETURN_REASON_PREFIX: Final = "return: "
_REASON_LENGTH: Final = 255  # refunds.reason is VARCHAR(255)


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as the customer may see it, with the link to its PDF."""

    number: str
    order_number: str
    amount_pence: int
    amount_display: str
    issued_on: date
    url: str


@dataclass(frozen=True)
class RefundItem:
    """Some units of one line of an order, returned on their own ("the kettle only").

    ``quantity`` None is every unit of the line still to refund ("both mugs").
    """

    sku: str
    quantity: int | None = 1


@dataclass(frozen=True)
class RefundEligibility:
    """Whether the order (or one item of it) can be refunded now, how much, and until when.

    ``amount_pence`` is what the customer would receive (0 when not eligible); ``deadline`` is
    the last day of the return window once the order has been delivered. For one item,
    ``item`` is its product's name and ``quantity`` the units refunded (no more than are left
    to refund of that line).
    """

    order_number: str
    eligible: bool
    reason: RefundReason
    amount_pence: int
    deadline: date | None
    item: str | None = None
    quantity: int | None = None


@dataclass(frozen=True)
class RefundView:
    """A refund as its owner may see it; ``expected_by`` is set while it is being processed.

    ``item`` and ``quantity`` name the product and units of a refund for one item (None for
    the whole order).
    """

    order_number: str
    amount_pence: int
    amount_display: str
    status: str
    requested_on: date
    completed_on: date | None
    expected_by: date | None
    item: str | None = None
    quantity: int | None = None


class InvoiceService:
    """The customer's invoices: one is issued when an order is paid."""

    def __init__(self, sessions: sessionmaker[Session], *, site_url: str) -> None:
        self._sessions = sessions
        self._site_url = site_url.rstrip("/")

    def list_invoices(
        self,
        customer_id: int,
        *,
        order_number: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[InvoiceView]:
        """The customer's invoices, newest first, optionally for one order or issued in a period.

        ``since`` and ``until`` are inclusive UK dates. An order number that is not the
        customer's, or not an order number at all, gives an empty list.
        """
        statement = _invoices(customer_id)
        if order_number is not None:
            cleaned = clean_order_number(order_number)
            if cleaned is None:
                return []
            statement = statement.where(Order.number == cleaned)
        if since is not None:
            statement = statement.where(Invoice.issued_at >= _uk_midnight(since))
        if until is not None:
            statement = statement.where(Invoice.issued_at < _uk_midnight(until + timedelta(1)))
        with self._sessions.begin() as session:
            rows = session.execute(statement).all()
        return [self._view(*row) for row in rows]

    def get_invoice(self, customer_id: int, order_number: str) -> InvoiceView:
        """The invoice of the customer's order; ``InvoiceNotFound`` if missing, foreign, unpaid."""
        cleaned = clean_order_number(order_number)
        if cleaned is None:
            raise InvoiceNotFound()
        with self._sessions.begin() as session:
            row = session.execute(
                _invoices(customer_id).where(Order.number == cleaned).limit(1)
            ).one_or_none()
        if row is None:
            raise InvoiceNotFound()
        return self._view(*row)

    def _view(
        self, number: str, order_number: str, amount: int, currency: str, issued_at: datetime
    ) -> InvoiceView:
        return InvoiceView(
            number=number,
            order_number=order_number,
            amount_pence=amount,
            amount_display=format_money(amount, currency),
            issued_on=uk_date(issued_at),
            url=f"{self._site_url}/account/invoices/{quote(number, safe='')}.pdf",
        )


class RefundService:
    """Refunds for returned orders: who may have one, requesting it, and following it up."""

    def __init__(self, sessions: sessionmaker[Session], *, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def eligibility(
        self, number: str, customer_id: int, *, item: RefundItem | None = None
    ) -> RefundEligibility:
        """Whether the customer's order can be returned for a refund today, and for how much.

        The rule, from the returns articles (``returns-return-policy``, ``returns-eu-returns``,
        ``returns-refund-timing``, ``orders-cancel-an-order``):

        * A cancelled order is never eligible: a paid one was refunded in full, delivery
          included, when it was cancelled (``cancelled_refunded_automatically``).
        * An order not yet delivered is not eligible (``not_delivered``): before shipping the
          route is cancelling, while shipped it is waiting for delivery.
        * A delivered order is eligible until 30 days after the UK date of delivery, inclusive
          (``deadline``); after that it is ``window_passed``. Faulty items are covered for
          longer by the warranty, which a person handles, not this rule.
        * The amount is the goods, not the delivery charge: only a cancellation refunds
          delivery; a return refunds what the items cost (the EU example: an item of £40 gives
          £33.05). So: goods total (capped at the order total, if a discount made it lower)
          minus the return refunds already requested, approved or paid (rejected ones and
          "order changed" adjustments do not count; those adjustments are already reflected in
          the order's items), minus £6.95 for a return from the EU (free from the UK).
        * Nothing left to refund after that (a full refund already requested, or the rest does
          not cover the £6.95 EU charge) is ``already_refunded``.
        * With ``item``, only that line of the order: ``not_on_order`` if the order has no such
          product; otherwise its unit price times the units asked for, no more units than the
          line has left to refund (its earlier item refunds, not rejected, are taken off) and
          no more money than the order has left; then the EU charge as above.

        Raises ``OrderNotFound`` for a missing order or someone else's.
        """
        with self._sessions.begin() as session:
            order = _find_order(session, number, customer_id, lock=False)
            return _assess(session, order, uk_date(self._clock()), item)

    def request_refund(
        self,
        number: str,
        customer_id: int,
        *,
        reason: str,
        actor: str,
        conversation_id: str | None,
        item: RefundItem | None = None,
    ) -> RefundView:
        """Request the refund :meth:`eligibility` allows; ``RefundNotAllowed(reason)`` if none.

        The order row is locked before the check, so two requests at once create one refund;
        the second sees it and is refused with ``already_refunded``. The customer's reason is
        kept with the refund (after the prefix ``"return: "``) for the returns team. With
        ``item``, the refund is for that line's units only, and says which.
        """
        with self._sessions.begin() as session:
            order = _find_order(session, number, customer_id, lock=True)
            now = self._clock()
            assessment = _assess(session, order, uk_date(now), item)
            if not assessment.eligible:
                raise RefundNotAllowed(assessment.reason)
            text = " ".join(reason.split()) or "no reason given"
            product_id = (
                session.scalar(select(Product.id).where(Product.sku == item.sku))
                if item is not None
                else None
            )
            refund = Refund(
                order_id=order.id,
                product_id=product_id,
                quantity=assessment.quantity if item is not None else None,
                amount_pence=assessment.amount_pence,
                status="requested",
                reason=(RETURN_REASON_PREFIX + text)[:_REASON_LENGTH],
                requested_at=now,
            )
            session.add(refund)
            session.flush()
            audit(
                session,
                at=now,
                actor=actor,
                action="refund.request",
                entity="order",
                entity_id=order.number,
                before=None,
                after={
                    "refund_id": refund.id,
                    "status": "requested",
                    "amount_pence": refund.amount_pence,
                    "return_charge_pence": return_cost_pence(order.ship_country),
                    **(
                        {"product_sku": item.sku, "quantity": refund.quantity}
                        if item is not None
                        else {}
                    ),
                },
                conversation_id=conversation_id,
            )
            return _refund_view(order.number, order.currency, refund, assessment.item)

    def list_refunds(
        self, customer_id: int, *, order_number: str | None = None
    ) -> list[RefundView]:
        """The customer's refunds, newest first, optionally for one order (others': empty)."""
        statement = (
            select(Order.number, Order.currency, Refund, Product.name)
            .join(Order, Order.id == Refund.order_id)
            .outerjoin(Product, Product.id == Refund.product_id)
            .where(Order.customer_id == customer_id)
            .order_by(Refund.requested_at.desc(), Refund.id.desc())
        )
        if order_number is not None:
            cleaned = clean_order_number(order_number)
            if cleaned is None:
                return []
            statement = statement.where(Order.number == cleaned)
        with self._sessions.begin() as session:
            rows = session.execute(statement).all()
            return [
                _refund_view(number, currency, refund, item)
                for number, currency, refund, item in rows
            ]


def _invoices(customer_id: int) -> Select[str, str, int, str, datetime]:
    return (
        select(
            Invoice.number, Order.number, Invoice.amount_pence, Order.currency, Invoice.issued_at
        )
        .join(Order, Order.id == Invoice.order_id)
        .where(Order.customer_id == customer_id)
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
    )


def _uk_midnight(day: date) -> datetime:
    """The moment ``day`` starts in the UK (an aware datetime; stored times are UTC)."""
    return datetime.combine(day, time(0), tzinfo=UK_TIME)


def _find_order(session: Session, number: str, customer_id: int, *, lock: bool) -> Order:
    # The same look-up as OrderService, so "missing" and "not yours" stay indistinguishable.
    return OrderService._find(session, number, customer_id, lock=lock)


def _assess(
    session: Session, order: Order, today: date, item: RefundItem | None = None
) -> RefundEligibility:
    """Apply the rule documented on ``RefundService.eligibility`` to ``order`` on ``today``."""

    def refusal(reason: RefundReason, deadline: date | None = None) -> RefundEligibility:
        return RefundEligibility(order.number, False, reason, 0, deadline)

    if order.status == "cancelled":
        return refusal("cancelled_refunded_automatically")
    if order.status != "delivered" or order.delivered_at is None:
        return refusal("not_delivered")
    deadline = return_deadline(order.delivered_at)

    lines = session.execute(
        select(
            Product.id, Product.sku, Product.name, OrderItem.quantity, OrderItem.unit_price_pence
        )
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id == order.id)
    ).all()
    goods = sum(line.quantity * line.unit_price_pence for line in lines)
    counted = (
        Refund.order_id == order.id,
        Refund.status != "rejected",
        Refund.reason != ORDER_CHANGE_REFUND_REASON,
    )
    returned = sum(session.scalars(select(Refund.amount_pence).where(*counted)))
    left = min(goods, order.total_pence) - returned
    name, units = None, None
    if item is not None:
        line = next((line for line in lines if line.sku == item.sku.strip().upper()), None)
        if line is None:
            return refusal("not_on_order", deadline)
        refunded_units = sum(
            session.scalars(select(Refund.quantity).where(*counted, Refund.product_id == line.id))
        )
        units = line.quantity - refunded_units
        units = units if item.quantity is None else min(item.quantity, units)
        if units <= 0:
            return refusal("already_refunded", deadline)
        name, left = line.name, min(left, units * line.unit_price_pence)
    amount = left - return_cost_pence(order.ship_country)
    if amount <= 0:
        return refusal("already_refunded", deadline)
    if today > deadline:
        return refusal("window_passed", deadline)
    return RefundEligibility(order.number, True, "ok", amount, deadline, name, units)


def _refund_view(
    order_number: str, currency: str, refund: Refund, item: str | None = None
) -> RefundView:
    requested_on = uk_date(refund.requested_at)
    in_progress = refund.status in ("requested", "approved")
    return RefundView(
        order_number=order_number,
        amount_pence=refund.amount_pence,
        amount_display=format_money(refund.amount_pence, currency),
        status=refund.status,
        requested_on=requested_on,
        completed_on=uk_date(refund.completed_at) if refund.completed_at else None,
        expected_by=add_working_days(requested_on, REFUND_WORKING_DAYS) if in_progress else None,
        item=item,
        quantity=refund.quantity,
    )
