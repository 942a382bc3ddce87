"""Services the action server calls: verify a customer, read and change orders, hand off.

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
from datetime import date, datetime
from typing import Any, Final, Literal, TypedDict

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.addresses import AddressDict, AddressInput, normalise_postcode
from crm.errors import (
    AddressChangeNotAllowed,
    CRMError,
    OrderNotCancellable,
    OrderNotFound,
)
from crm.models import (
    Address,
    AuditLog,
    Customer,
    HandoffRequest,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    Refund,
    normalise_email,
    utcnow,
)

__all__ = [
    "AddressChangeNotAllowed",
    "CRMError",
    "CustomerRef",
    "CustomerService",
    "HandoffRef",
    "HandoffService",
    "OrderItemView",
    "OrderNotCancellable",
    "OrderNotFound",
    "OrderService",
    "OrderView",
    "TranscriptLine",
    "format_money",
]

Clock = Callable[[], datetime]

# Orders that have not left the warehouse; only these can be cancelled or re-addressed.
CHANGEABLE_STATUSES: Final = frozenset({"placed", "paid"})

_ORDER_NUMBER_RE: Final = re.compile(r"#?\s*(\d{6})")
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


def _order_view(session: Session, order: Order) -> OrderView:
    rows = session.execute(
        select(Product.name, OrderItem.quantity, OrderItem.unit_price_pence)
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
            OrderItemView(name=name, quantity=quantity, unit_price_pence=price)
            for name, quantity, price in rows
        ),
    )


class CustomerService:
    """Identify customers without revealing whether an email has an account."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def verify(self, email: str, postcode: str) -> CustomerRef | None:
        """Return the customer owning ``email`` if ``postcode`` is one of theirs, else ``None``.

        A postcode counts if it is on a saved address or was the destination of one of the
        customer's orders (people move). Unknown email and wrong postcode run the same single
        query and both return ``None``, so the answer does not tell which part was wrong.
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
                    Customer.email == wanted_email, or_(on_address, on_order)
                )
            ).one_or_none()
        return CustomerRef(id=row.id, first_name=row.first_name) if row else None


class OrderService:
    """Read and change a verified customer's orders; every change is audited."""

    def __init__(self, sessions: sessionmaker[Session], *, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

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
    ) -> HandoffRef:
        """Queue the conversation for staff, or return its request if one is already waiting.

        The database allows one waiting request per conversation; if a concurrent call wins
        the race (or a reference collides), the unit of work is retried once and then finds
        the winner's request.
        """
        lines = [_checked_line(line) for line in transcript]
        for attempt in range(2):
            try:
                return self._request_once(
                    conversation_id, channel, reason, customer_id, lines, actor
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
    ) -> HandoffRef:
        with self._sessions.begin() as session:
            waiting = session.scalars(
                select(HandoffRequest).where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.status == "waiting",
                )
            ).one_or_none()
            if waiting is not None:
                return HandoffRef(waiting.id, waiting.reference, waiting.created_at)
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
                after={"status": "waiting", "channel": channel, "reason": reason},
                conversation_id=conversation_id,
            )
            return HandoffRef(request.id, request.reference, request.created_at)


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
