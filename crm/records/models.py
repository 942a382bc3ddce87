"""SQLAlchemy models of the customer records, portable between SQLite and PostgreSQL.

Conventions, and why:

* Money is integer pence, so sums are exact.
* Timestamps are timezone-aware UTC (:class:`UTCDateTime`). SQLite keeps no zone, so the type
  converts to UTC on the way in and marks values as UTC on the way out; code never sees a naive
  datetime whatever the database.
* Statuses are short strings guarded by CHECK constraints rather than native enums, which keeps
  the schema identical on both databases and lets a migration add a status with one statement.
* Constraints are named by ``NAMING_CONVENTION`` so migrations can refer to them on both
  databases.
* ``audit_log`` is append-only: ORM updates and deletes of :class:`AuditLog` raise
  :class:`~crm.records.errors.AuditLogIsAppendOnly` (events at the bottom of this module); on
  PostgreSQL a trigger created by the migration also refuses raw SQL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    validates,
)
from sqlalchemy.types import TypeDecorator

from config.contract import STAFF_TEAMS
from crm.records.errors import AuditLogIsAppendOnly

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORDER_STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled")
REFUND_STATUSES = ("requested", "approved", "paid", "rejected")
# A refund is for the whole order (no product, no quantity) or for some units of one item.
REFUND_ITEM_RULE = (
    "(product_id IS NULL AND quantity IS NULL) OR (product_id IS NOT NULL AND quantity > 0)"
)
TICKET_STATUSES = ("open", "pending", "closed")
HANDOFF_STATUSES = ("waiting", "claimed", "closed")
CUSTOMER_STATUSES = ("active", "pending_activation", "erasure_scheduled", "erased")
OUTBOX_KINDS = (
    "account_activation",
    "password_reset",
    "account_exists",
    "newsletter_confirmation",
    "erasure_scheduled",
    "email_change",
)
TOKEN_PURPOSES = ("activation", "password_reset")
STAFF_ROLES = ("agent", "supervisor", "admin")
HANDOFF_OUTCOMES = ("handed_back", "resolved", "not_resolved")
OPEN_HANDOFF = "status IN ('waiting', 'claimed')"
PRODUCT_CATEGORIES = ("home", "kitchen", "garden", "outdoor")
SHIPPING_COUNTRIES = ("GB", "IE", "DE", "FR", "NL")

# JSON on SQLite (stored as text), JSONB on PostgreSQL (comparable and indexable).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the only kind stored)."""
    return datetime.now(timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    """Render a CHECK expression limiting ``column`` to fixed literals (no user input)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back aware UTC datetimes.

    PostgreSQL stores ``timestamptz`` natively; SQLite stores text without a zone. Converting to
    UTC before binding and tagging results as UTC makes both behave the same, and refusing naive
    values catches local-time bugs at the first write.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing; refuse naive datetimes."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Mark values read back as UTC (SQLite returns them without a zone)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base holding the one ``MetaData`` that migrations are compared against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Customer(Base):
    """A person with an account; the email is the login-like identifier, stored lower-case."""

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(_in("status", CUSTOMER_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(60))
    last_name: Mapped[str] = mapped_column(String(60))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "pending_activation" until the emailed link is used; "erasure_scheduled" until
    # erasure_due_at, when a job (not part of the assistant) erases the personal data.
    status: Mapped[str] = mapped_column(String(24), default="active", server_default="active")
    erasure_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    addresses: Mapped[list[Address]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Address.id"
    )
    orders: Mapped[list[Order]] = relationship(back_populates="customer")

    @validates("email")
    def _normalise_email(self, key: str, value: str) -> str:
        return normalise_email(value)


def normalise_email(value: str) -> str:
    """Trim and lower-case an email so lookups match however the customer typed it."""
    return value.strip().lower()


class Address(Base):
    """A saved address of a customer; one of them may be the default for new orders."""

    __tablename__ = "addresses"
    __table_args__ = (CheckConstraint(_in("country", SHIPPING_COUNTRIES), name="country"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    line1: Mapped[str] = mapped_column(String(100))
    line2: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(60))
    postcode: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="addresses")


class Product(Base):
    """An item in the catalogue; the price here is the current one, orders keep their own."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint(_in("category", PRODUCT_CATEGORIES), name="category"),
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(20))
    price_pence: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    # Units available; NULL when the shop does not track this product's stock (available).
    stock: Mapped[int | None] = mapped_column(Integer)
    # Bought again and again (candles, bird seed): may be recommended right after an order.
    consumable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # What the product page says, by aspect (crm/records/catalogue.py ASPECTS: "material",
    # "care", "dishwasher", "hob", ...): one sentence each, quoted to customers as written. An
    # aspect left out is one the shop has not stated, and the agent says so rather than guess.
    facts: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict, server_default="{}")
    # Years of guarantee from delivery (data/knowledge/products-warranty.md); NULL: not stated.
    guarantee_years: Mapped[int | None] = mapped_column(Integer)


class Order(Base):
    """An order with a snapshot of its shipping address, so later address edits don't move it."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint("length(number) = 6", name="number_six_digits"),
        CheckConstraint(_in("ship_country", SHIPPING_COUNTRIES), name="ship_country"),
        CheckConstraint("total_pence >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(6), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    ship_line1: Mapped[str] = mapped_column(String(100))
    ship_line2: Mapped[str | None] = mapped_column(String(100))
    ship_city: Mapped[str] = mapped_column(String(60))
    ship_postcode: Mapped[str] = mapped_column(String(16))
    ship_country: Mapped[str] = mapped_column(String(2))
    delivery_method: Mapped[str] = mapped_column(String(32))
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    estimated_delivery: Mapped[date | None] = mapped_column(Date)
    total_pence: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="GBP", server_default="GBP")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )
    events: Mapped[list[OrderStatusEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderStatusEvent.id"
    )


class OrderItem(Base):
    """One product line of an order, priced as it was when the order was placed."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_pence >= 0", name="unit_price_not_negative"),
    )

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_pence: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class OrderStatusEvent(Base):
    """History of an order's status: what changed, when, and who did it."""

    __tablename__ = "order_status_events"
    __table_args__ = (CheckConstraint(_in("status", ORDER_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(64))

    order: Mapped[Order] = relationship(back_populates="events")


class Invoice(Base):
    """An invoice issued when an order is paid."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Refund(Base):
    """Money going back to a customer for a cancelled or returned order, or one item of it.

    ``product_id`` and ``quantity`` are set together for the return of some units of one line
    of the order ("the kettle only"); both are NULL for the whole order.
    """

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(_in("status", REFUND_STATUSES), name="status"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint(REFUND_ITEM_RULE, name="item_quantity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int | None] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SupportTicket(Base):
    """A case for the support team, opened from a conversation."""

    __tablename__ = "support_tickets"
    __table_args__ = (
        CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in("team", STAFF_TEAMS), name="team"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the customer told us, in their words; older (seeded) tickets have none.
    description: Mapped[str | None] = mapped_column(Text)
    # The team whose queue it goes to (the ticket-routing classifier, crm/insights/routing.py).
    team: Mapped[str] = mapped_column(String(32), default="general", server_default="general")


class HandoffRequest(Base):
    """A request for a person to take over a conversation, with the transcript so far.

    The partial unique index allows at most one *open* (waiting or claimed) request per
    conversation, so two concurrent "talk to a human" turns cannot queue the same conversation
    twice, nor queue it again while a person is talking to the customer.
    """

    __tablename__ = "handoff_requests"
    __table_args__ = (
        CheckConstraint(_in("status", HANDOFF_STATUSES), name="status"),
        CheckConstraint(_in("team", STAFF_TEAMS), name="team"),
        CheckConstraint("priority BETWEEN 1 AND 3", name="priority"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', HANDOFF_OUTCOMES)}", name="outcome"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
        CheckConstraint("csat_score IS NULL OR csat_score BETWEEN 1 AND 5", name="csat_range"),
        CheckConstraint("(csat_score IS NULL) = (csat_at IS NULL)", name="csat_has_time"),
        Index(
            "uq_handoff_requests_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(OPEN_HANDOFF),
            postgresql_where=text(OPEN_HANDOFF),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(String(255))
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Which team's queue it waits in; 1 is the most urgent priority (an upset customer).
    team: Mapped[str] = mapped_column(String(32), default="general")
    priority: Mapped[int] = mapped_column(Integer, default=2)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    # The customer's satisfaction rating (1 to 5), asked when staff close the conversation.
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HandoffNote(Base):
    """A private note staff keep on a handoff; never shown to the customer."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """A reply staff insert with one choice; ``team`` NULL offers it to every team."""

    __tablename__ = "canned_responses"
    __table_args__ = (CheckConstraint(f"team IS NULL OR {_in('team', STAFF_TEAMS)}", name="team"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80), unique=True)
    text: Mapped[str] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerConversation(Base):
    """A conversation in which a customer proved who they are: their past conversations."""

    __tablename__ = "customer_conversations"
    __table_args__ = (UniqueConstraint("conversation_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffUser(Base):
    """A member of the support team who signs in to the console.

    Only an Argon2id hash of the password is kept (crm/desk/staff.py). ``role`` decides what the
    console lets them do; ``team`` which conversations an agent sees.
    """

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(_in("role", STAFF_ROLES), name="role"),
        CheckConstraint(_in("team", STAFF_TEAMS), name="team"),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(32), default="general")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """A signed-in console session. The browser holds the token; only its SHA-256 is stored."""

    __tablename__ = "staff_sessions"
    __table_args__ = (CheckConstraint("length(token_hash) = 64", name="token_hash_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    # Sent back with every state-changing request (the synchroniser-token CSRF defence).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the console last showed this session a live page: staff presence.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffLoginAttempt(Base):
    """One sign-in attempt, kept for throttling guessing (by email and by address)."""

    __tablename__ = "staff_login_attempts"
    __table_args__ = (Index(None, "email", "at"), Index(None, "client", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """An email waiting for the mailer process, which sends it and sets ``sent_at``.

    Services write these rows in the same transaction as the change they announce, so an email
    is queued if and only if the change committed (the transactional outbox pattern).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (CheckConstraint(_in("kind", OUTBOX_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class AuthToken(Base):
    """A single-use link token (account activation, password reset).

    Only the SHA-256 of the token is stored: the raw value exists in the emailed link alone, so
    a copy of the database does not let anyone activate accounts or reset passwords. ``used_at``
    is set when the token is redeemed or superseded by a newer one of the same purpose.
    """

    __tablename__ = "auth_tokens"
    __table_args__ = (
        CheckConstraint(_in("purpose", TOKEN_PURPOSES), name="purpose"),
        CheckConstraint("length(token_hash) = 64", name="token_hash_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NewsletterSubscription(Base):
    """Consent to the newsletter, per email address (people subscribe without an account).

    A row is kept when someone unsubscribes, with ``subscribed`` false, as the record of when
    consent was withdrawn.
    """

    __tablename__ = "newsletter_subscriptions"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    subscribed: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(32))


class Review(Base):
    """A rating left in a conversation, optionally about one of the customer's orders.

    At most one review per conversation and order (or per conversation without an order): two
    partial unique indexes, because NULLs never collide in a plain unique constraint.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index(
            "uq_reviews_conversation_order",
            "conversation_id",
            "order_number",
            unique=True,
            sqlite_where=text("order_number IS NOT NULL"),
            postgresql_where=text("order_number IS NOT NULL"),
        ),
        Index(
            "uq_reviews_conversation_no_order",
            "conversation_id",
            unique=True,
            sqlite_where=text("order_number IS NULL"),
            postgresql_where=text("order_number IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    order_number: Mapped[str | None] = mapped_column(String(6))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnowledgeAnswer(Base):
    """One question the knowledge base was asked in a conversation, and how it went.

    ``article_id`` is NULL when the agent abstained (no passage good enough): those rows are the
    questions the help centre cannot answer yet. ``helpful`` stays NULL until the customer
    presses "was this helpful?"; the last vote counts.
    """

    __tablename__ = "knowledge_answers"
    __table_args__ = (
        CheckConstraint(
            "(article_id IS NULL AND passage_id IS NULL AND score IS NULL) OR "
            "(article_id IS NOT NULL AND passage_id IS NOT NULL AND score IS NOT NULL)",
            name="answered_has_passage",
        ),
        CheckConstraint("(helpful IS NULL) = (voted_at IS NULL)", name="vote_has_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    question: Mapped[str] = mapped_column(Text)
    article_id: Mapped[str | None] = mapped_column(String(255), index=True)
    passage_id: Mapped[str | None] = mapped_column(String(255))
    score: Mapped[float | None] = mapped_column(Float)
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportRun(Base):
    """One committed `crm import`: the files it read (name, SHA-256, rows) and its counts.

    A failed or dry run leaves no row: the whole import is one transaction.
    """

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ExternalCustomer(Base):
    """A customer's id in another system, so importing its export again finds the same person.

    A duplicate merged on import keeps its own external id, pointing at the customer it was
    merged into, so that system's orders of either reach one customer.
    """

    __tablename__ = "external_customers"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )


class ExternalOrder(Base):
    """An order's number in another system, for idempotent imports."""

    __tablename__ = "external_orders"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)


class CustomerMerge(Base):
    """A duplicate found on import and merged into `customer_id`: what it was and why."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(32))
    merged: Mapped[dict[str, Any]] = mapped_column(JSONType)
    import_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_runs.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerScore(Base):
    """A customer's purchase propensity (next 30 days) and its top reasons, from `crm score`."""

    __tablename__ = "customer_scores"
    __table_args__ = (CheckConstraint("score BETWEEN 0 AND 1", name="score_range"),)

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[float] = mapped_column(Float)
    # [{"feature": ..., "value": ..., "effect": ...}, ...], strongest first
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    model_version: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLog(Base):
    """Who changed what, when, and from which conversation. Append-only (see module doc)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    conversation_id: Mapped[str | None] = mapped_column(String(255))


@event.listens_for(AuditLog, "before_update")
def _refuse_audit_update(
    mapper: Mapper[AuditLog], connection: Connection, target: AuditLog
) -> None:
    raise AuditLogIsAppendOnly("update")


@event.listens_for(AuditLog, "before_delete")
def _refuse_audit_delete(
    mapper: Mapper[AuditLog], connection: Connection, target: AuditLog
) -> None:
    raise AuditLogIsAppendOnly("delete")


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_bulk_writes(state: ORMExecuteState) -> None:
    """Refuse ``session.execute(update(AuditLog))`` and ``delete(AuditLog)``.

    Bulk statements skip the mapper events above, so they are checked here. Listening on the
    ``Session`` class covers every session, whichever factory created it.
    """
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is AuditLog for mapper in state.all_mappers
    ):
        raise AuditLogIsAppendOnly("update" if state.is_update else "delete")
