"""The staff side of handoffs: the queue, claiming a conversation, handing it back.

Who may see what is decided here, not in the web layer, so every caller gets the same rules:
an agent sees the waiting conversations of their own team and the ones they hold; supervisors
and admins see every queue. A conversation a member may not see is reported as not found, so
guessing references tells nothing. Only the member holding a conversation may answer in it or
hand it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm.errors import HandoffNotFound, HandoffNotYours, HandoffTaken
from crm.models import (
    Customer,
    HandoffRequest,
    Order,
    Refund,
    StaffUser,
    SupportTicket,
    utcnow,
)
from crm.services import _audit, format_money
from crm.staff import StaffMember

OPEN_STATUSES = ("waiting", "claimed")
# A handoff with its assignee's name and its customer's first and last name (outer joins).
EntryQuery = Select[HandoffRequest, str, str, str]
EntryRow = Row[HandoffRequest, str, str, str]


@dataclass(frozen=True)
class QueueEntry:
    """One handoff as the console lists and shows it."""

    reference: str
    conversation_id: str
    channel: str
    reason: str
    team: str
    priority: int
    status: str
    created_at: datetime
    claimed_at: datetime | None
    assignee_id: int | None
    assignee_name: str | None
    customer_id: int | None
    customer_name: str | None

    def held_by(self, member: StaffMember) -> bool:
        """Whether `member` holds the conversation (and so may answer in it)."""
        return self.status == "claimed" and self.assignee_id == member.id


@dataclass(frozen=True)
class OrderLine:
    """An order in the customer panel."""

    number: str
    status: str
    placed_at: datetime
    total: str


@dataclass(frozen=True)
class RefundLine:
    """A refund in the customer panel."""

    order_number: str
    amount: str
    status: str
    requested_at: datetime


@dataclass(frozen=True)
class TicketLine:
    """A support ticket in the customer panel."""

    reference: str
    subject: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class CustomerPanel:
    """What staff see about the verified customer beside the conversation."""

    id: int
    name: str
    email: str
    phone: str | None
    status: str
    since: datetime
    orders: tuple[OrderLine, ...]
    refunds: tuple[RefundLine, ...]
    tickets: tuple[TicketLine, ...]


class HandoffDesk:
    """Queue, claim and hand back conversations, as a signed-in staff member."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def queue(self, member: StaffMember) -> list[QueueEntry]:
        """Open handoffs `member` may see: most urgent first, then longest waiting."""
        query = _entries().where(HandoffRequest.status.in_(OPEN_STATUSES))
        query = _visible_to(query, member).order_by(
            HandoffRequest.status.desc(),  # waiting before claimed
            HandoffRequest.priority,
            HandoffRequest.created_at,
        )
        with self._sessions() as session:
            return [_entry(row) for row in session.execute(query).all()]

    def entry(self, reference: str, member: StaffMember) -> QueueEntry:
        """The handoff `reference`, if `member` may see it."""
        with self._sessions() as session:
            return _entry(self._find(session, reference, member))

    def latest_for_conversation(self, conversation_id: str) -> QueueEntry | None:
        """The newest handoff of a conversation, whoever holds it (for the relay to Rasa)."""
        query = (
            _entries()
            .where(HandoffRequest.conversation_id == conversation_id)
            .order_by(HandoffRequest.id.desc())
            .limit(1)
        )
        with self._sessions() as session:
            row = session.execute(query).first()
            return _entry(row) if row else None

    def claim(self, reference: str, member: StaffMember) -> QueueEntry:
        """Take a waiting conversation; a second claimant gets `HandoffTaken`."""
        with self._sessions.begin() as session:
            request = self._find(session, reference, member, lock=True)[0]
            if request.status != "waiting":
                raise HandoffTaken()
            now = self._clock()
            request.status, request.assignee_id, request.claimed_at = "claimed", member.id, now
            _staff_audit(
                session,
                request,
                member,
                "handoff.claim",
                now,
                {"status": "waiting"},
                {"status": "claimed", "assignee_id": member.id},
            )
        return self.entry(reference, member)

    def release(self, reference: str, member: StaffMember) -> QueueEntry:
        """Put a conversation `member` holds back in the queue (their claim could not start)."""
        with self._sessions.begin() as session:
            request = self._find(session, reference, member, lock=True)[0]
            _check_held(request, member)
            request.status, request.assignee_id, request.claimed_at = "waiting", None, None
            _staff_audit(
                session,
                request,
                member,
                "handoff.release",
                self._clock(),
                {"status": "claimed", "assignee_id": member.id},
                {"status": "waiting"},
            )
        return self.entry(reference, member)

    def hand_back(self, reference: str, member: StaffMember) -> QueueEntry:
        """Close the conversation `member` holds, giving it back to the assistant."""
        with self._sessions.begin() as session:
            request = self._find(session, reference, member, lock=True)[0]
            _check_held(request, member)
            now = self._clock()
            request.status, request.closed_at, request.outcome = "closed", now, "handed_back"
            _staff_audit(
                session,
                request,
                member,
                "handoff.hand_back",
                now,
                {"status": "claimed"},
                {"status": "closed", "outcome": "handed_back"},
            )
        return self.entry(reference, member)

    def holding(self, reference: str, member: StaffMember) -> QueueEntry:
        """The handoff, if `member` holds it now; else `HandoffNotYours`."""
        entry = self.entry(reference, member)
        if not entry.held_by(member):
            raise HandoffNotYours()
        return entry

    def customer_panel(self, reference: str, member: StaffMember) -> CustomerPanel | None:
        """The verified customer of a handoff `member` may see; None if none was verified."""
        with self._sessions() as session:
            request = self._find(session, reference, member)[0]
            if request.customer_id is None:
                return None
            customer = session.get(Customer, request.customer_id)
            if customer is None:
                return None
            orders = session.scalars(
                select(Order)
                .where(Order.customer_id == customer.id)
                .order_by(Order.placed_at.desc())
                .limit(10)
            ).all()
            refunds = session.execute(
                select(Refund, Order.number, Order.currency)
                .join(Order, Refund.order_id == Order.id)
                .where(Order.customer_id == customer.id)
                .order_by(Refund.requested_at.desc())
                .limit(10)
            ).all()
            tickets = session.scalars(
                select(SupportTicket)
                .where(SupportTicket.customer_id == customer.id)
                .order_by(SupportTicket.created_at.desc())
                .limit(10)
            ).all()
            return CustomerPanel(
                id=customer.id,
                name=f"{customer.first_name} {customer.last_name}",
                email=customer.email,
                phone=customer.phone,
                status=customer.status,
                since=customer.created_at,
                orders=tuple(
                    OrderLine(
                        o.number, o.status, o.placed_at, format_money(o.total_pence, o.currency)
                    )
                    for o in orders
                ),
                refunds=tuple(
                    RefundLine(
                        number, format_money(r.amount_pence, currency), r.status, r.requested_at
                    )
                    for r, number, currency in refunds
                ),
                tickets=tuple(
                    TicketLine(t.reference, t.subject, t.status, t.created_at) for t in tickets
                ),
            )

    def _find(
        self, session: Session, reference: str, member: StaffMember, *, lock: bool = False
    ) -> EntryRow:
        query = _visible_to(_entries().where(HandoffRequest.reference == reference), member)
        if lock:
            query = query.with_for_update(of=HandoffRequest)
        row = session.execute(query).first()
        if row is None:
            raise HandoffNotFound()
        return row


def _check_held(request: HandoffRequest, member: StaffMember) -> None:
    """Only the member holding a conversation may release it or hand it back."""
    if request.status != "claimed" or request.assignee_id != member.id:
        raise HandoffNotYours()


def _staff_audit(
    session: Session,
    request: HandoffRequest,
    member: StaffMember,
    action: str,
    at: datetime,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """One audit row for a staff member's step on a handoff."""
    _audit(
        session,
        at=at,
        actor=f"staff:{member.id}",
        action=action,
        entity="handoff_request",
        entity_id=request.reference,
        before=before,
        after=after,
        conversation_id=request.conversation_id,
    )


def _entries() -> EntryQuery:
    return (
        select(HandoffRequest, StaffUser.name, Customer.first_name, Customer.last_name)
        .outerjoin(StaffUser, HandoffRequest.assignee_id == StaffUser.id)
        .outerjoin(Customer, HandoffRequest.customer_id == Customer.id)
    )


def _visible_to(query: EntryQuery, member: StaffMember) -> EntryQuery:
    """Agents: their team's queue and what they hold. Supervisors and admins: everything."""
    if member.can("supervisor"):
        return query
    return query.where(
        or_(HandoffRequest.team == member.team, HandoffRequest.assignee_id == member.id)
    )


def _entry(row: EntryRow) -> QueueEntry:
    request, assignee, first, last = row[0], row[1], row[2], row[3]
    return QueueEntry(
        reference=request.reference,
        conversation_id=request.conversation_id,
        channel=request.channel,
        reason=request.reason,
        team=request.team,
        priority=request.priority,
        status=request.status,
        created_at=request.created_at,
        claimed_at=request.claimed_at,
        assignee_id=request.assignee_id,
        assignee_name=assignee,
        customer_id=request.customer_id,
        customer_name=f"{first} {last}" if first is not None else None,
    )
