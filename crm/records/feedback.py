"""What customers tell the shop: complaints (support tickets), reviews, newsletter consent.

Each public method is one unit of work returning a frozen dataclass or a plain value; every
change writes one audit row. None of these need a verified customer: ``customer_id`` is passed
when the conversation has verified one, and ``None`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.contract import STAFF_TEAMS
from crm.records.audit import Clock, audit
from crm.records.contacts import normalise_email
from crm.records.db import retry_once_on_conflict
from crm.records.errors import CRMError
from crm.records.models import NewsletterSubscription, Order, Review, SupportTicket, utcnow
from crm.records.numbers import clean_order_number, random_reference
from crm.records.outbox import queue_email

__all__ = [
    "MAX_COMMENT_LENGTH",
    "TICKET_CATEGORIES",
    "InvalidReview",
    "InvalidTicket",
    "NewsletterService",
    "ReviewRef",
    "ReviewService",
    "TicketRef",
    "TicketService",
]

TICKET_CATEGORIES: Final = ("delivery", "product", "service", "billing", "website", "other")
MAX_SUBJECT_LENGTH: Final = 200
MAX_DESCRIPTION_LENGTH: Final = 4000
MAX_COMMENT_LENGTH: Final = 2000

T = TypeVar("T")


class InvalidTicket(CRMError, ValueError):
    """A ticket cannot be opened as asked; ``field`` names the part that is wrong."""

    def __init__(
        self, field: Literal["category", "subject", "description", "team"], reason: str
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidReview(CRMError, ValueError):
    """A review cannot be recorded as given; ``field`` names the part that is wrong."""

    def __init__(self, field: Literal["rating", "comment"], reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TicketRef:
    """An opened ticket; ``reference`` (e.g. ``TK-7F3K2Q``) can be read out to the customer."""

    reference: str
    category: str
    team: str = "general"


@dataclass(frozen=True)
class ReviewRef:
    """A recorded review (``RV-...``)."""

    reference: str


def _one_line(text: str) -> str:
    return " ".join(text.split())


def new_ticket_reference() -> str:
    """A support ticket's reference, e.g. ``TK-7F3K2Q``."""
    return random_reference("TK-")


def checked_ticket(category: str, team: str, subject: str, description: str) -> tuple[str, str]:
    """The ticket's subject on one line and its description trimmed; `InvalidTicket` if unusable.

    The category must be one of :data:`TICKET_CATEGORIES` and the team one of ``STAFF_TEAMS``;
    the subject 1 to 200 characters, the description 1 to 4000.
    """
    if category not in TICKET_CATEGORIES:
        raise InvalidTicket("category", "unknown ticket category")
    if team not in STAFF_TEAMS:
        raise InvalidTicket("team", "unknown team")
    subject = _one_line(subject)
    if not 1 <= len(subject) <= MAX_SUBJECT_LENGTH:
        raise InvalidTicket("subject", f"must be 1 to {MAX_SUBJECT_LENGTH} characters")
    description = description.strip()
    if not 1 <= len(description) <= MAX_DESCRIPTION_LENGTH:
        raise InvalidTicket("description", f"must be 1 to {MAX_DESCRIPTION_LENGTH} characters")
    return subject, description


def add_ticket(
    session: Session,
    *,
    now: datetime,
    reference: str,
    customer_id: int | None,
    conversation_id: str,
    category: str,
    subject: str,
    description: str,
    actor: str,
    team: str,
) -> TicketRef:
    """Open a checked ticket (`checked_ticket`) in the caller's unit of work, with its audit row.

    Shared by `TicketService.open_ticket` and the handoff policy, which opens a ticket in the
    transaction that queues the handoff.
    """
    ticket = SupportTicket(
        reference=reference,
        customer_id=customer_id,
        conversation_id=conversation_id,
        category=category,
        subject=subject,
        description=description,
        status="open",
        created_at=now,
        team=team,
    )
    session.add(ticket)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        action="ticket.open",
        entity="support_ticket",
        entity_id=ticket.reference,
        before=None,
        after={"status": "open", "category": category, "subject": subject},
        conversation_id=conversation_id,
    )
    return TicketRef(reference=ticket.reference, category=category, team=team)


class TicketService:
    """Open support tickets from conversations."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = utcnow,
        new_reference: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._new_reference = new_reference or new_ticket_reference

    def open_ticket(
        self,
        *,
        customer_id: int | None,
        conversation_id: str,
        category: str,
        subject: str,
        description: str,
        actor: str = "agent",
        team: str = "general",
    ) -> TicketRef:
        """Open a ticket in ``category`` (one of :data:`TICKET_CATEGORIES`) for ``team``.

        ``team`` (one of ``STAFF_TEAMS``) is whose queue it goes to, from the ticket-routing
        classifier (crm/insights/routing.py). Raises :class:`InvalidTicket` (a ``ValueError``)
        for an unknown category or team, an empty or over-long subject (one line, up to 200
        characters) or description (up to 4000).
        """
        subject, description = checked_ticket(category, team, subject, description)

        def work() -> TicketRef:
            with self._sessions.begin() as session:
                return add_ticket(
                    session,
                    now=self._clock(),
                    reference=self._new_reference(),
                    customer_id=customer_id,
                    conversation_id=conversation_id,
                    category=category,
                    subject=subject,
                    description=description,
                    actor=actor,
                    team=team,
                )

        return retry_once_on_conflict(work)


class ReviewService:
    """Record ratings and comments, one per conversation and order."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = utcnow,
        new_reference: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._new_reference = new_reference or (lambda: random_reference("RV-"))

    def record_review(
        self,
        *,
        customer_id: int | None,
        conversation_id: str,
        rating: int,
        comment: str,
        order_number: str | None,
        actor: str = "agent",
    ) -> ReviewRef:
        """Record a review and return its reference.

        ``rating`` is a whole number from 1 to 5 and ``comment`` at most 2000 characters
        (trimmed; it may be empty), else :class:`InvalidReview`. The review is linked to
        ``order_number`` only if that is an order of the (verified) ``customer_id``, so an
        unverified visitor cannot attach reviews to other people's orders; otherwise it is kept
        without an order. A second review in the same conversation about the same order (or
        about no order) returns the first one's reference and changes nothing.
        """
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise InvalidReview("rating", "must be a whole number from 1 to 5")
        comment = comment.strip()
        if len(comment) > MAX_COMMENT_LENGTH:
            raise InvalidReview("comment", f"longer than {MAX_COMMENT_LENGTH} characters")
        cleaned = clean_order_number(order_number) if order_number else None

        def work() -> ReviewRef:
            with self._sessions.begin() as session:
                linked = _owned_order(session, cleaned, customer_id)
                same_order = (
                    Review.order_number == linked if linked else Review.order_number.is_(None)
                )
                existing = session.scalar(
                    select(Review.reference).where(
                        Review.conversation_id == conversation_id, same_order
                    )
                )
                if existing is not None:
                    return ReviewRef(reference=existing)
                now = self._clock()
                review = Review(
                    reference=self._new_reference(),
                    customer_id=customer_id,
                    order_number=linked,
                    rating=rating,
                    comment=comment,
                    conversation_id=conversation_id,
                    created_at=now,
                )
                session.add(review)
                session.flush()
                audit(
                    session,
                    at=now,
                    actor=actor,
                    action="review.record",
                    entity="review",
                    entity_id=review.reference,
                    before=None,
                    after={"rating": rating, "order_number": linked},
                    conversation_id=conversation_id,
                )
                return ReviewRef(reference=review.reference)

        return retry_once_on_conflict(work)


def _owned_order(session: Session, number: str | None, customer_id: int | None) -> str | None:
    """Return ``number`` if it is an order of ``customer_id``, else ``None``."""
    if number is None or customer_id is None:
        return None
    return session.scalar(
        select(Order.number).where(Order.number == number, Order.customer_id == customer_id)
    )


class NewsletterService:
    """Newsletter consent per email address; every change is audited."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = utcnow,
        site_url: str,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._site_url = site_url.rstrip("/")

    def is_subscribed(self, email: str) -> bool:
        """Whether ``email`` currently receives the newsletter (``InvalidContact`` if bad)."""
        address = normalise_email(email)
        with self._sessions.begin() as session:
            subscribed = session.scalar(
                select(NewsletterSubscription.subscribed).where(
                    NewsletterSubscription.email == address
                )
            )
        return bool(subscribed)

    def subscribe(
        self,
        email: str,
        *,
        customer_id: int | None,
        conversation_id: str | None,
        source: str = "chat",
        actor: str = "agent",
    ) -> bool:
        """Subscribe ``email``; ``True`` if that changed anything.

        A change queues a confirmation email to the address, so someone subscribed by another
        person learns of it and how to leave.
        """
        return self._set(email, True, customer_id, conversation_id, source, actor)

    def unsubscribe(
        self,
        email: str,
        *,
        customer_id: int | None,
        conversation_id: str | None,
        source: str = "chat",
        actor: str = "agent",
    ) -> bool:
        """Unsubscribe ``email``; ``True`` if it was subscribed. No email is sent."""
        return self._set(email, False, customer_id, conversation_id, source, actor)

    def _set(
        self,
        email: str,
        subscribed: bool,
        customer_id: int | None,
        conversation_id: str | None,
        source: str,
        actor: str,
    ) -> bool:
        address = normalise_email(email)
        if not 1 <= len(source) <= 32:
            raise ValueError("source must be 1 to 32 characters")

        def work() -> bool:
            with self._sessions.begin() as session:
                row = session.scalars(
                    select(NewsletterSubscription)
                    .where(NewsletterSubscription.email == address)
                    .with_for_update()
                ).one_or_none()
                current = row.subscribed if row is not None else False
                if current == subscribed:
                    return False
                now = self._clock()
                before = {"subscribed": row.subscribed} if row is not None else None
                if row is None:
                    row = NewsletterSubscription(email=address, customer_id=customer_id)
                    session.add(row)
                elif customer_id is not None:
                    row.customer_id = customer_id
                row.subscribed = subscribed
                row.changed_at = now
                row.source = source
                session.flush()
                if subscribed:
                    queue_email(
                        session,
                        kind="newsletter_confirmation",
                        recipient=address,
                        subject="You are subscribed to the Larkspur newsletter",
                        body=_confirmation_body(self._site_url),
                        at=now,
                    )
                audit(
                    session,
                    at=now,
                    actor=actor,
                    action="newsletter.subscribe" if subscribed else "newsletter.unsubscribe",
                    entity="newsletter_subscription",
                    entity_id=str(row.id),
                    before=before,
                    after={"subscribed": subscribed, "email": address, "source": source},
                    conversation_id=conversation_id,
                )
                return True

        return retry_once_on_conflict(work)


def _confirmation_body(site_url: str) -> str:
    return (
        "Hello,\n\n"
        "This email address is now subscribed to the Larkspur newsletter.\n\n"
        "If you did not ask for this, or change your mind, unsubscribe at any time at "
        f'{site_url}/newsletter or by telling our chat assistant "unsubscribe".\n\n'
        "Larkspur customer service\n"
    )
