"""The staff side of handoffs: the queue, claiming, transferring, closing, private notes.

Who may see what is decided here, not in the web layer, so every caller gets the same rules:
an agent sees the waiting conversations of their own team and the ones they hold; supervisors
and admins see every queue. A conversation a member may not see is reported as not found, so
guessing references tells nothing. Only the member holding a conversation may answer in it,
hand it back, close it or transfer it; supervisors and admins may also assign any open one.
Notes are for anyone who may see the conversation, and never reach the customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session, sessionmaker

from config.contract import STAFF_TEAMS
from crm.desk.staff import StaffMember
from crm.records.audit import audit
from crm.records.errors import (
    HandoffClosed,
    HandoffNotFound,
    HandoffNotYours,
    HandoffTaken,
    HandoffUnchanged,
    InvalidNote,
    InvalidOutcome,
    StaffNotAvailable,
    UnknownTeam,
)
from crm.records.history import PastConversation, past_conversations
from crm.records.models import (
    Customer,
    HandoffNote,
    HandoffRequest,
    Order,
    Refund,
    StaffUser,
    SupportTicket,
    utcnow,
)
from crm.records.views import format_money

OPEN_STATUSES = ("waiting", "claimed")
# How staff may close a conversation themselves ("handed_back" is what handing back records).
CLOSE_OUTCOMES = ("resolved", "not_resolved")
MAX_NOTE_CHARS = 2000
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
    customer_first_name: str | None = None

    def held_by(self, member: StaffMember) -> bool:
        """Whether `member` holds the conversation (and so may answer in it)."""
        return self.status == "claimed" and self.assignee_id == member.id


@dataclass(frozen=True)
class Placement:
    """Where a handoff is: its status, team and holder (what a transfer changes)."""

    status: str
    team: str
    assignee_id: int | None
    claimed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """For the audit row."""
        return {"status": self.status, "team": self.team, "assignee_id": self.assignee_id}


@dataclass(frozen=True)
class Transfer:
    """A transfer or assignment made in the records, and what the customer must be told.

    The console sends the relay event (`relay_kind` with `relay_name` and `relay_text`) after
    the records changed; if Rasa cannot be reached it gives this back to
    `HandoffDesk.revert_transfer`, so nobody holds a chat the customer was not told about.
    `relay_kind` is None when the customer has nothing to hear (a waiting conversation moved to
    another team's queue).
    """

    reference: str
    conversation_id: str
    by: int
    action: str  # "handoff.transfer" by the holder, "handoff.assign" by a supervisor or admin
    before: Placement
    after: Placement
    relay_kind: str | None
    relay_name: str
    relay_text: str = ""


@dataclass(frozen=True)
class Note:
    """A private note on a conversation, as staff read it."""

    reference: str  # the handoff it was written on
    author: str | None  # None once the author's account is gone
    at: datetime
    text: str


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
    conversations: tuple[PastConversation, ...]  # newest first, this one marked `current`


class HandoffDesk:
    """Queue, claim, transfer, hand back and close conversations, as a signed-in staff member."""

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

    def close(self, reference: str, member: StaffMember, outcome: str) -> QueueEntry:
        """Close the conversation `member` holds as resolved or not resolved.

        The console has already told the customer (and Rasa asks them for a rating), so this
        only records the end; the outcome is checked first all the same.
        """
        outcome = checked_outcome(outcome)
        with self._sessions.begin() as session:
            request = self._find(session, reference, member, lock=True)[0]
            _check_held(request, member)
            now = self._clock()
            request.status, request.closed_at, request.outcome = "closed", now, outcome
            _staff_audit(
                session,
                request,
                member,
                "handoff.close",
                now,
                {"status": "claimed"},
                {"status": "closed", "outcome": outcome},
            )
        return self.entry(reference, member)

    def transfer(
        self,
        reference: str,
        member: StaffMember,
        *,
        to_member: int | None = None,
        to_team: str | None = None,
    ) -> Transfer:
        """Pass a conversation to a colleague, or to a team's queue.

        The holder transfers what they hold; a supervisor or admin may also assign any open
        conversation. A colleague takes it over at once (still claimed, the assistant still
        paused); a team gets it back in its queue as waiting, priority unchanged. A colleague
        must be active and able to see the conversation's team (its agents, or a supervisor or
        admin), else `StaffNotAvailable`.
        """
        if (to_member is None) == (to_team is None):
            raise ValueError("transfer to a colleague or to a team, not both")
        if to_team is not None and to_team not in STAFF_TEAMS:
            raise UnknownTeam()
        with self._sessions.begin() as session:
            request = self._find(session, reference, member, lock=True)[0]
            held = request.status == "claimed" and request.assignee_id == member.id
            if not held:
                if not member.can("supervisor"):
                    raise HandoffNotYours()
                if request.status not in OPEN_STATUSES:
                    raise HandoffClosed()
            before, now = _placement(request), self._clock()
            relay: tuple[str | None, str, str]
            if to_member is not None:
                user = session.get(StaffUser, to_member)
                if user is None or not user.active or not could_take(_staff(user), request.team):
                    raise StaffNotAvailable()
                if request.status == "claimed" and request.assignee_id == user.id:
                    raise HandoffUnchanged()
                request.status, request.assignee_id, request.claimed_at = "claimed", user.id, now
                relay = ("join", user.name, "")
            elif to_team is not None:
                if request.status == "waiting" and request.team == to_team:
                    raise HandoffUnchanged()
                request.status, request.team = "waiting", to_team
                request.assignee_id, request.claimed_at = None, None
                # A waiting customer was never joined by anyone: there is nothing to announce.
                kind = "transfer" if before.status == "claimed" else None
                relay = (kind, member.name, to_team)
            else:  # checked above; this tells the type checker
                raise ValueError("transfer to a colleague or to a team")
            after = _placement(request)
            action = "handoff.transfer" if held else "handoff.assign"
            _staff_audit(session, request, member, action, now, before.as_json(), after.as_json())
            return Transfer(
                reference=request.reference,
                conversation_id=request.conversation_id,
                by=member.id,
                action=action,
                before=before,
                after=after,
                relay_kind=relay[0],
                relay_name=relay[1],
                relay_text=relay[2],
            )

    def revert_transfer(self, transfer: Transfer, member: StaffMember) -> bool:
        """Undo `transfer` (the customer could not be told); whether it was undone.

        Only the member who made it may undo it, and only while the handoff is still where the
        transfer put it: if someone has acted on it since, their step stands.
        """
        if transfer.by != member.id:
            raise HandoffNotYours()
        with self._sessions.begin() as session:
            request = session.scalars(
                select(HandoffRequest)
                .where(HandoffRequest.reference == transfer.reference)
                .with_for_update()
            ).one_or_none()
            if request is None or not _same_place(_placement(request), transfer.after):
                return False
            back = transfer.before
            request.status, request.team = back.status, back.team
            request.assignee_id, request.claimed_at = back.assignee_id, back.claimed_at
            _staff_audit(
                session,
                request,
                member,
                f"{transfer.action}_undone",
                self._clock(),
                transfer.after.as_json(),
                back.as_json(),
            )
            return True

    def add_note(self, reference: str, member: StaffMember, text: str) -> Note:
        """Keep a private note on a conversation `member` may see (staff only, never relayed)."""
        clean = text.strip()
        if not 1 <= len(clean) <= MAX_NOTE_CHARS:
            raise InvalidNote(1, MAX_NOTE_CHARS)
        with self._sessions.begin() as session:
            request = self._find(session, reference, member)[0]
            now = self._clock()
            session.add(
                HandoffNote(handoff_id=request.id, author_id=member.id, text=clean, created_at=now)
            )
            return Note(request.reference, member.name, now, clean)

    def notes(self, reference: str, member: StaffMember) -> list[Note]:
        """Every note on every handoff of the conversation, oldest first.

        A customer may be handed over more than once in one conversation; what colleagues
        learnt the first time is as useful the second.
        """
        with self._sessions() as session:
            request = self._find(session, reference, member)[0]
            rows = session.execute(
                select(HandoffNote, HandoffRequest.reference, StaffUser.name)
                .join(HandoffRequest, HandoffNote.handoff_id == HandoffRequest.id)
                .outerjoin(StaffUser, HandoffNote.author_id == StaffUser.id)
                .where(HandoffRequest.conversation_id == request.conversation_id)
                .order_by(HandoffNote.created_at, HandoffNote.id)
            ).all()
            return [Note(ref, author, note.created_at, note.text) for note, ref, author in rows]

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
                conversations=past_conversations(session, customer.id, request.conversation_id),
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


def checked_outcome(outcome: str) -> str:
    """`outcome` if staff may close with it, else `InvalidOutcome` (checked before the relay)."""
    if outcome not in CLOSE_OUTCOMES:
        raise InvalidOutcome()
    return outcome


def could_take(colleague: StaffMember, team: str) -> bool:
    """Whether a conversation of `team` may be transferred to `colleague` (for the console)."""
    return colleague.can("supervisor") or colleague.team == team


def _staff(user: StaffUser) -> StaffMember:
    return StaffMember(id=user.id, email=user.email, name=user.name, role=user.role, team=user.team)


def _placement(request: HandoffRequest) -> Placement:
    return Placement(request.status, request.team, request.assignee_id, request.claimed_at)


def _same_place(one: Placement, other: Placement) -> bool:
    return (one.status, one.team, one.assignee_id) == (other.status, other.team, other.assignee_id)


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
    audit(
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
        customer_first_name=first,
    )
