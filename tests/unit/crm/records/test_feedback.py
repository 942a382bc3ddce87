from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.contacts import InvalidContact
from crm.records.errors import CRMError
from crm.records.feedback import (
    InvalidReview,
    InvalidTicket,
    NewsletterService,
    ReviewRef,
    ReviewService,
    TicketRef,
    TicketService,
)
from crm.records.models import AuditLog, NewsletterSubscription, Review, SupportTicket
from crm.records.outbox import OutboxService, OutboxView
from crm.tools.demo import SeedReport, seed
from tests.conftest import DEFAULTS

ADA = "ada@example.com"
REFERENCE = r"[A-HJ-NP-Z2-9]{6}"


def _outbox(sessions: sessionmaker[Session]) -> list[OutboxView]:
    return OutboxService(sessions).pending(1000)


def _rows(sessions: sessionmaker[Session], model: type[object]) -> list[object]:
    with sessions() as session:
        rows = list(session.scalars(select(model)))
        session.expunge_all()
        return rows


def _reviews(sessions: sessionmaker[Session]) -> list[Review]:
    with sessions() as session:
        rows = list(session.scalars(select(Review).order_by(Review.id)))
        session.expunge_all()
        return rows


def _subscription(sessions: sessionmaker[Session], email: str) -> NewsletterSubscription | None:
    with sessions() as session:
        row = session.scalars(
            select(NewsletterSubscription).where(NewsletterSubscription.email == email)
        ).one_or_none()
        session.expunge_all()
        return row


# --- tickets ----------------------------------------------------------------------------------


@pytest.fixture
def tickets(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> TicketService:
    return TicketService(sessions, clock=clock)


def test_open_ticket(
    tickets: TicketService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    clock_now: datetime,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    ref = tickets.open_ticket(
        customer_id=ada,
        conversation_id="conv-1",
        category="delivery",
        subject="  Parcel   left in the rain ",
        description="  The driver left my parcel outside and it got soaked.  ",
    )
    assert isinstance(ref, TicketRef)
    assert re.fullmatch(rf"TK-{REFERENCE}", ref.reference)
    assert ref.category == "delivery"

    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.reference == ref.reference)
        ).one()
        assert ticket.customer_id == ada
        assert ticket.subject == "Parcel left in the rain"
        assert ticket.description == "The driver left my parcel outside and it got soaked."
        assert (ticket.status, ticket.conversation_id, ticket.created_at) == (
            "open",
            "conv-1",
            clock_now,
        )

    [audit] = audit_rows()
    assert (audit.action, audit.entity, audit.entity_id) == (
        "ticket.open",
        "support_ticket",
        ref.reference,
    )
    assert audit.after == {"status": "open", "category": "delivery", "subject": ticket.subject}


def test_anonymous_ticket(tickets: TicketService, sessions: sessionmaker[Session]) -> None:
    ref = tickets.open_ticket(
        customer_id=None,
        conversation_id="conv-2",
        category="website",
        subject="Checkout button does nothing",
        description="I click pay and nothing happens.",
    )
    [ticket] = _rows(sessions, SupportTicket)
    assert isinstance(ticket, SupportTicket)
    assert ticket.customer_id is None and ticket.reference == ref.reference


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "returns"}, "category"),
        ({"category": "Delivery"}, "category"),
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"description": ""}, "description"),
        ({"description": "x" * 4001}, "description"),
    ],
)
def test_ticket_refusals(
    tickets: TicketService,
    sessions: sessionmaker[Session],
    fields: dict[str, str],
    field: str,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    arguments: dict[str, object] = {
        "customer_id": None,
        "conversation_id": "c",
        "category": "other",
        "subject": "Subject",
        "description": "Description",
        **fields,
    }
    with pytest.raises(ValueError) as caught:  # InvalidTicket is a ValueError
        tickets.open_ticket(**arguments)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidTicket) and isinstance(caught.value, CRMError)
    assert caught.value.field == field
    assert _rows(sessions, SupportTicket) == [] and audit_rows() == []


def test_every_category_is_accepted(tickets: TicketService) -> None:
    for category in ("delivery", "product", "service", "billing", "website", "other"):
        ref = tickets.open_ticket(
            customer_id=None,
            conversation_id=f"conv-{category}",
            category=category,
            subject="s",
            description="d",
        )
        assert ref.category == category


def test_ticket_reference_collision_is_retried(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    references = iter(["TK-AAAAAA", "TK-AAAAAA", "TK-BBBBBB"])
    service = TicketService(sessions, clock=clock, new_reference=lambda: next(references))
    arguments = {"customer_id": None, "category": "other", "subject": "s", "description": "d"}
    first = service.open_ticket(conversation_id="c1", **arguments)  # type: ignore[arg-type]
    second = service.open_ticket(conversation_id="c2", **arguments)  # type: ignore[arg-type]
    assert (first.reference, second.reference) == ("TK-AAAAAA", "TK-BBBBBB")


# --- reviews ----------------------------------------------------------------------------------


@pytest.fixture
def reviews(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> ReviewService:
    return ReviewService(sessions, clock=clock)


def test_record_review_of_an_order(
    reviews: ReviewService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    clock_now: datetime,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ref = reviews.record_review(
        customer_id=customer_id(ADA),
        conversation_id="conv-1",
        rating=5,
        comment="  Lovely casserole, arrived quickly.  ",
        order_number="100104",
    )
    assert isinstance(ref, ReviewRef)
    assert re.fullmatch(rf"RV-{REFERENCE}", ref.reference)
    [review] = _reviews(sessions)
    assert (review.reference, review.rating, review.order_number) == (ref.reference, 5, "100104")
    assert review.comment == "Lovely casserole, arrived quickly."
    assert (review.customer_id, review.conversation_id) == (customer_id(ADA), "conv-1")
    assert review.created_at == clock_now
    [audit] = audit_rows()
    assert (audit.action, audit.entity_id) == ("review.record", ref.reference)
    assert audit.after == {"rating": 5, "order_number": "100104"}


@pytest.mark.parametrize("rating", [1, 5])
def test_rating_bounds_are_accepted(reviews: ReviewService, rating: int) -> None:
    reviews.record_review(
        customer_id=None, conversation_id="c", rating=rating, comment="", order_number=None
    )


@pytest.mark.parametrize("rating", [0, 6, -1, 10, True, 3.5, "4"])
def test_ratings_outside_one_to_five_are_refused(
    reviews: ReviewService,
    sessions: sessionmaker[Session],
    rating: object,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    with pytest.raises(InvalidReview) as caught:
        reviews.record_review(
            customer_id=None,
            conversation_id="c",
            rating=rating,  # type: ignore[arg-type]
            comment="ok",
            order_number=None,
        )
    assert caught.value.field == "rating"
    assert _reviews(sessions) == [] and audit_rows() == []


def test_comment_length(reviews: ReviewService, sessions: sessionmaker[Session]) -> None:
    reviews.record_review(
        customer_id=None,
        conversation_id="c1",
        rating=3,
        comment=" " + "x" * 2000 + " ",
        order_number=None,
    )
    assert len(_reviews(sessions)[0].comment) == 2000
    with pytest.raises(InvalidReview) as caught:
        reviews.record_review(
            customer_id=None,
            conversation_id="c2",
            rating=3,
            comment="x" * 2001,
            order_number=None,
        )
    assert caught.value.field == "comment"


def test_one_review_per_conversation_and_order(
    reviews: ReviewService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)

    def review(order: str | None, rating: int, conversation: str = "conv-1") -> str:
        return reviews.record_review(
            customer_id=ada,
            conversation_id=conversation,
            rating=rating,
            comment="",
            order_number=order,
        ).reference

    first = review("100104", 4)
    assert review("#100104", 1) == first  # the same order, however it is written
    other_order = review("100105", 2)
    no_order = review(None, 5)
    assert review(None, 1) == no_order
    other_conversation = review("100104", 3, conversation="conv-2")

    assert len({first, other_order, no_order, other_conversation}) == 4
    assert [r.rating for r in _reviews(sessions)] == [4, 2, 5, 3]  # first answers are kept
    assert len(audit_rows()) == 4


def test_review_is_not_linked_to_someone_elses_order(
    reviews: ReviewService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
) -> None:
    # 100201 is Grace's; an unverified visitor cannot link any order either.
    reviews.record_review(
        customer_id=customer_id(ADA),
        conversation_id="c1",
        rating=1,
        comment="",
        order_number="100201",
    )
    reviews.record_review(
        customer_id=None, conversation_id="c2", rating=1, comment="", order_number="100104"
    )
    reviews.record_review(
        customer_id=customer_id(ADA),
        conversation_id="c3",
        rating=1,
        comment="",
        order_number="not-an-order",
    )
    assert [r.order_number for r in _reviews(sessions)] == [None, None, None]


def test_database_refuses_ratings_out_of_range(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO reviews (reference, rating, comment, conversation_id, created_at) "
                "VALUES ('RV-XXXXXX', 6, '', 'c', CURRENT_TIMESTAMP)"
            )
        )


# --- newsletter -------------------------------------------------------------------------------


@pytest.fixture
def newsletter(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> NewsletterService:
    return NewsletterService(sessions, site_url=DEFAULTS.site_url, clock=clock)


def test_demo_subscriptions(
    newsletter: NewsletterService,
    seeded: SeedReport,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    seed_now: datetime,
) -> None:
    assert seeded.newsletter_subscriptions == 2
    assert newsletter.is_subscribed(ADA) is True
    assert newsletter.is_subscribed(" Ada@Example.COM ") is True
    assert newsletter.is_subscribed("alan@example.com") is False
    assert newsletter.is_subscribed("grace@example.org") is False
    alan = _subscription(sessions, "alan@example.com")
    assert alan is not None and alan.customer_id == customer_id("alan@example.com")
    assert alan.subscribed is False
    # Seeding again neither duplicates nor overwrites a consent changed since.
    newsletter.subscribe("alan@example.com", customer_id=None, conversation_id="c")
    assert seed(sessions, now=seed_now + timedelta(days=1)).newsletter_subscriptions == 0
    assert newsletter.is_subscribed("alan@example.com") is True


def test_subscribe_new_address(
    newsletter: NewsletterService,
    sessions: sessionmaker[Session],
    clock_now: datetime,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    assert newsletter.subscribe(" New@Example.net", customer_id=None, conversation_id="c1") is True
    assert newsletter.is_subscribed("new@example.net") is True

    row = _subscription(sessions, "new@example.net")
    assert row is not None
    assert (row.subscribed, row.source, row.changed_at, row.customer_id) == (
        True,
        "chat",
        clock_now,
        None,
    )
    [email] = _outbox(sessions)
    assert (email.kind, email.recipient) == ("newsletter_confirmation", "new@example.net")
    assert "unsubscribe" in email.body
    [audit] = audit_rows()
    assert (audit.action, audit.entity, audit.entity_id) == (
        "newsletter.subscribe",
        "newsletter_subscription",
        str(row.id),
    )
    assert audit.before is None
    assert audit.after == {"subscribed": True, "email": "new@example.net", "source": "chat"}


def test_subscribe_is_idempotent(
    newsletter: NewsletterService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    assert newsletter.subscribe(ADA, customer_id=None, conversation_id="c") is False
    assert newsletter.subscribe("new@example.net", customer_id=None, conversation_id="c") is True
    assert newsletter.subscribe("NEW@example.net", customer_id=None, conversation_id="c") is False
    assert len(_outbox(sessions)) == 1
    assert len(audit_rows()) == 1


def test_unsubscribe_is_idempotent_and_sends_nothing(
    newsletter: NewsletterService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    assert newsletter.unsubscribe(ADA, customer_id=ada, conversation_id="c") is True
    assert newsletter.is_subscribed(ADA) is False
    assert newsletter.unsubscribe(ADA, customer_id=ada, conversation_id="c") is False
    assert _outbox(sessions) == []
    [audit] = audit_rows()
    assert audit.action == "newsletter.unsubscribe"
    assert audit.before == {"subscribed": True}


def test_unsubscribing_an_unknown_address_changes_nothing(
    newsletter: NewsletterService, sessions: sessionmaker[Session]
) -> None:
    assert (
        newsletter.unsubscribe("nobody@example.net", customer_id=None, conversation_id="c") is False
    )
    assert _rows(sessions, NewsletterSubscription) == []


def test_resubscribe_links_the_customer(
    newsletter: NewsletterService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
) -> None:
    alan = customer_id("alan@example.com")
    assert newsletter.subscribe("alan@example.com", customer_id=alan, conversation_id="c") is True
    row = _subscription(sessions, "alan@example.com")
    assert row is not None and (row.subscribed, row.customer_id) == (True, alan)
    [email] = _outbox(sessions)
    assert email.recipient == "alan@example.com"


def test_newsletter_refuses_invalid_addresses(newsletter: NewsletterService) -> None:
    with pytest.raises(InvalidContact):
        newsletter.subscribe("not-an-email", customer_id=None, conversation_id="c")
    with pytest.raises(InvalidContact):
        newsletter.unsubscribe("", customer_id=None, conversation_id="c")
    with pytest.raises(InvalidContact):
        newsletter.is_subscribed("ada@")


def test_concurrent_subscriptions_change_once(
    newsletter: NewsletterService, sessions: sessionmaker[Session]
) -> None:
    threads = 6
    barrier = threading.Barrier(threads)
    results: list[object] = []
    lock = threading.Lock()

    def subscribe() -> None:
        barrier.wait()
        try:
            outcome: object = newsletter.subscribe(
                "new@example.net", customer_id=None, conversation_id="c"
            )
        except BaseException as exc:  # handed back to the test
            outcome = exc
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=subscribe) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert sorted(results, key=str) == [False] * (threads - 1) + [True]
    assert len(_rows(sessions, NewsletterSubscription)) == 1
    assert len(_outbox(sessions)) == 1


def test_a_ticket_goes_to_the_team_it_was_routed_to(
    tickets: TicketService, sessions: sessionmaker[Session]
) -> None:
    ref = tickets.open_ticket(
        customer_id=None,
        conversation_id="conv-3",
        category="delivery",
        subject="Parcel never came",
        description="My parcel never came.",
        team="shipping",
    )
    assert ref.team == "shipping"
    [ticket] = _rows(sessions, SupportTicket)
    assert isinstance(ticket, SupportTicket) and ticket.team == "shipping"


def test_without_a_team_a_ticket_goes_to_general(
    tickets: TicketService, sessions: sessionmaker[Session]
) -> None:
    tickets.open_ticket(
        customer_id=None, conversation_id="c", category="other", subject="s", description="d"
    )
    [ticket] = _rows(sessions, SupportTicket)
    assert isinstance(ticket, SupportTicket) and ticket.team == "general"


def test_a_ticket_for_an_unknown_team_is_refused(
    tickets: TicketService,
    sessions: sessionmaker[Session],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    with pytest.raises(InvalidTicket) as caught:
        tickets.open_ticket(
            customer_id=None,
            conversation_id="c",
            category="other",
            subject="s",
            description="d",
            team="Billing",
        )
    assert caught.value.field == "team"
    assert _rows(sessions, SupportTicket) == [] and audit_rows() == []
