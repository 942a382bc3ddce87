"""Customer accounts: sign-up, password reset, profile, contact details, addresses, erasure.

Each public method of :class:`AccountService` is one unit of work that returns frozen
dataclasses, and every change writes one audit row, as in :mod:`crm.records.orders`. Emails are
queued in the outbox (:mod:`crm.records.outbox`) inside the same transaction.

Two requests must not tell anyone whether an email address has an account, because the chat is
open to anybody: :meth:`AccountService.create_account` and
:meth:`AccountService.request_password_reset` return the same thing either way, and the only
difference is an email, which goes to the address itself. Their work differs by a row or two
in one transaction, so their timing says little; they do not pretend to be constant-time.

Link tokens are random (256 bits), single-use and short-lived; only their SHA-256 is stored,
and the raw value exists only in the queued email.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.addresses import AddressInput, normalise_postcode
from crm.records.audit import Clock, audit
from crm.records.contacts import InvalidContact, normalise_email, normalise_name, normalise_phone
from crm.records.errors import CRMError
from crm.records.models import Address, AuthToken, Customer, NewsletterSubscription, Order, utcnow
from crm.records.outbox import queue_email

__all__ = [
    "ACTIVATION_TTL",
    "ERASURE_DELAY",
    "IN_FLIGHT_STATUSES",
    "RESET_TTL",
    "AccountRequest",
    "AccountService",
    "CustomerNotFound",
    "EmailTaken",
    "ErasureView",
    "InvalidContact",
    "OrdersInFlight",
    "ProfileView",
    "hash_token",
    "mask_email",
]

ACTIVATION_TTL: Final = timedelta(hours=48)
RESET_TTL: Final = timedelta(minutes=60)
ERASURE_DELAY: Final = timedelta(days=30)
# Orders the shop still owes something on; their customer's data is needed until they finish.
IN_FLIGHT_STATUSES: Final = ("placed", "paid", "shipped")

_TOKEN_BYTES: Final = 32


class CustomerNotFound(CRMError):
    """No customer with this id, or the customer's data has been erased."""

    def __init__(self) -> None:
        super().__init__("customer not found")


class EmailTaken(CRMError):
    """The email address belongs to another account (which one is never said)."""

    def __init__(self) -> None:
        super().__init__("email address is used by another account")


class OrdersInFlight(CRMError):
    """The account cannot be scheduled for erasure while these orders are open."""

    def __init__(self, numbers: tuple[str, ...]) -> None:
        super().__init__(f"{len(numbers)} order(s) still in progress")
        self.numbers = numbers


@dataclass(frozen=True)
class AccountRequest:
    """What a sign-up returns, whether or not the address already had an account."""

    email_masked: str


@dataclass(frozen=True)
class ProfileView:
    """A customer's own details, as the assistant may read them back to them."""

    first_name: str
    last_name: str
    email: str
    phone: str | None
    status: str
    addresses: tuple[str, ...]  # one line each, the default first
    newsletter: bool


@dataclass(frozen=True)
class ErasureView:
    """When a scheduled erasure will happen (UTC date)."""

    due_on: date


def hash_token(raw: str) -> str:
    """Return the SHA-256 hex digest under which a link token is stored."""
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def mask_email(email: str) -> str:
    """Show enough of an address to recognise it: ``ada@example.com`` -> ``a***@example.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class AccountService:
    """Create and look after customer accounts; every change is audited."""

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

    # --- no verification needed: nothing is revealed -------------------------------------

    def create_account(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        phone: str | None,
        conversation_id: str | None,
        actor: str = "agent",
    ) -> AccountRequest:
        """Start a sign-up: an activation link for a new address, a notice for a known one.

        Raises :class:`InvalidContact` for a bad name, email or phone. Otherwise the result is
        the same whether or not the address has an account. A new customer is created as
        ``pending_activation`` with an activation link valid for 48 hours; a known address gets
        an "account exists" email pointing at password reset, and nothing is created.
        """
        first = normalise_name(first_name)
        last = normalise_name(last_name)
        address = normalise_email(email)
        number = normalise_phone(phone) if phone is not None and phone.strip() else None
        for attempt in range(2):
            try:
                self._create_once(first, last, address, number, conversation_id, actor)
                break
            except IntegrityError:
                # Someone signed up with this address at the same moment: the retry sees their
                # account and sends the "account exists" notice instead.
                if attempt:
                    raise
        return AccountRequest(email_masked=mask_email(address))

    def _create_once(
        self,
        first: str,
        last: str,
        address: str,
        phone: str | None,
        conversation_id: str | None,
        actor: str,
    ) -> None:
        with self._sessions.begin() as session:
            now = self._clock()
            existing = session.scalars(
                select(Customer).where(Customer.email == address)
            ).one_or_none()
            if existing is not None:
                queue_email(
                    session,
                    kind="account_exists",
                    recipient=address,
                    subject="You already have a Larkspur account",
                    body=_account_exists_body(existing.first_name, self._site_url),
                    at=now,
                )
                audit(
                    session,
                    at=now,
                    actor=actor,
                    action="account.create_existing",
                    entity="customer",
                    entity_id=str(existing.id),
                    before=None,
                    after={"notice": "account_exists"},
                    conversation_id=conversation_id,
                )
                return

            customer = Customer(
                first_name=first,
                last_name=last,
                email=address,
                phone=phone,
                status="pending_activation",
                created_at=now,
            )
            session.add(customer)
            session.flush()
            raw = _issue_token(session, customer.id, "activation", now, ACTIVATION_TTL)
            queue_email(
                session,
                kind="account_activation",
                recipient=address,
                subject="Activate your Larkspur account",
                body=_activation_body(first, f"{self._site_url}/account/activate?token={raw}"),
                at=now,
            )
            audit(
                session,
                at=now,
                actor=actor,
                action="account.create",
                entity="customer",
                entity_id=str(customer.id),
                before=None,
                after={
                    "status": customer.status,
                    "first_name": first,
                    "last_name": last,
                    "email": address,
                    "phone": phone,
                },
                conversation_id=conversation_id,
            )

    def request_password_reset(
        self, email: str, *, conversation_id: str | None, actor: str = "agent"
    ) -> None:
        """Email a reset link (valid 60 minutes) if the address has an account; else nothing.

        Raises :class:`InvalidContact` only for an address that is not an email address, which
        says nothing about accounts. A new link supersedes earlier unused ones.
        """
        address = normalise_email(email)
        with self._sessions.begin() as session:
            now = self._clock()
            customer = session.scalars(
                select(Customer)
                .where(Customer.email == address, Customer.status != "erased")
                .with_for_update()
            ).one_or_none()
            if customer is None:
                return
            raw = _issue_token(session, customer.id, "password_reset", now, RESET_TTL)
            queue_email(
                session,
                kind="password_reset",
                recipient=address,
                subject="Reset your Larkspur password",
                body=_reset_body(
                    customer.first_name, f"{self._site_url}/account/reset?token={raw}"
                ),
                at=now,
            )
            audit(
                session,
                at=now,
                actor=actor,
                action="account.password_reset_request",
                entity="customer",
                entity_id=str(customer.id),
                before=None,
                after={"expires_at": (now + RESET_TTL).isoformat()},
                conversation_id=conversation_id,
            )

    # --- a verified customer's own account -----------------------------------------------

    def get_profile(self, customer_id: int) -> ProfileView:
        """Return the customer's details; :class:`CustomerNotFound` if missing or erased."""
        with self._sessions.begin() as session:
            return _profile(session, _customer(session, customer_id, lock=False))

    def customer_email(self, customer_id: int) -> str:
        """Return the customer's email address (e.g. for the newsletter)."""
        with self._sessions.begin() as session:
            return _customer(session, customer_id, lock=False).email

    def update_contact(
        self,
        customer_id: int,
        *,
        email: str | None = None,
        phone: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        actor: str,
        conversation_id: str | None,
    ) -> ProfileView:
        """Change the email address, phone number and/or name; ``None`` leaves a field as it is.

        Raises :class:`InvalidContact` for a bad value and :class:`EmailTaken` if another
        account uses the address. A new email address is announced to the old one, so a
        customer whose chat was hijacked hears of it.
        """
        names = {"first_name": first_name, "last_name": last_name}
        if email is None and phone is None and first_name is None and last_name is None:
            raise ValueError("nothing to change: pass email, phone or a name")
        new_email = normalise_email(email) if email is not None else None
        new_phone = normalise_phone(phone) if phone is not None else None
        new_names = {
            key: normalise_name(value) for key, value in names.items() if value is not None
        }
        with self._sessions.begin() as session:
            customer = _customer(session, customer_id, lock=True)
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            if new_email is not None and new_email != customer.email:
                taken = session.scalar(
                    select(Customer.id).where(
                        Customer.email == new_email, Customer.id != customer.id
                    )
                )
                if taken is not None:
                    raise EmailTaken()
                before["email"], after["email"] = customer.email, new_email
            if new_phone is not None and new_phone != customer.phone:
                before["phone"], after["phone"] = customer.phone, new_phone
            for key, value in new_names.items():
                if value != getattr(customer, key):
                    before[key], after[key] = getattr(customer, key), value
            if not after:
                return _profile(session, customer)

            now = self._clock()
            old_email = customer.email
            if "email" in after:
                customer.email = after["email"]
            if "phone" in after:
                customer.phone = after["phone"]
            for key in new_names.keys() & after.keys():
                setattr(customer, key, after[key])
            try:
                session.flush()
            except IntegrityError:
                # Another account took the address between our check and the write.
                raise EmailTaken() from None
            if "email" in after:
                queue_email(
                    session,
                    kind="email_change",
                    recipient=old_email,
                    subject="Your Larkspur email address was changed",
                    body=_email_change_body(
                        customer.first_name, mask_email(after["email"]), self._site_url
                    ),
                    at=now,
                )
            audit(
                session,
                at=now,
                actor=actor,
                action="customer.update_contact",
                entity="customer",
                entity_id=str(customer.id),
                before=before,
                after=after,
                conversation_id=conversation_id,
            )
            return _profile(session, customer)

    def add_address(
        self,
        customer_id: int,
        address: AddressInput,
        *,
        make_default: bool,
        actor: str,
        conversation_id: str | None,
    ) -> ProfileView:
        """Save an address (validated by :func:`crm.records.addresses.parse_address`).

        An address with the same postcode and first line as a saved one is not added again
        (with ``make_default`` it becomes the default instead). The first address is the
        default whatever ``make_default`` says; a new default clears the old one.
        """
        with self._sessions.begin() as session:
            customer = _customer(session, customer_id, lock=True)
            saved = list(
                session.scalars(
                    select(Address).where(Address.customer_id == customer.id).order_by(Address.id)
                )
            )
            key = _address_key(address.postcode, address.line1)
            same = next((a for a in saved if _address_key(a.postcode, a.line1) == key), None)
            old_default = next((a for a in saved if a.is_default), None)
            if same is not None and (not make_default or same.is_default):
                return _profile(session, customer)

            now = self._clock()
            if same is None:
                target = Address(
                    customer_id=customer.id,
                    line1=address.line1,
                    line2=address.line2,
                    city=address.city,
                    postcode=address.postcode,
                    country=address.country,
                    is_default=False,
                )
                session.add(target)
                action = "customer.add_address"
                before: dict[str, Any] | None = None
                after: dict[str, Any] = dict(address.as_dict())
            else:
                target = same
                action = "customer.set_default_address"
                before = {"default": _formatted(old_default) if old_default else None}
                after = {"default": _formatted(same)}
            if make_default or old_default is None:
                for other in saved:
                    other.is_default = other is target
                target.is_default = True
            session.flush()
            after["is_default"] = target.is_default
            audit(
                session,
                at=now,
                actor=actor,
                action=action,
                entity="customer",
                entity_id=str(customer.id),
                before=before,
                after=after,
                conversation_id=conversation_id,
            )
            return _profile(session, customer)

    def orders_in_flight(self, customer_id: int) -> tuple[str, ...]:
        """Numbers of the customer's orders that block an erasure (placed, paid or shipped).

        Lets the assistant explain before asking for a confirmation it could not honour;
        :meth:`schedule_erasure` checks again when it runs.
        """
        with self._sessions.begin() as session:
            customer = _customer(session, customer_id, lock=False)
            return _in_flight(session, customer.id)

    def schedule_erasure(
        self, customer_id: int, *, actor: str, conversation_id: str | None
    ) -> ErasureView:
        """Schedule the erasure of the customer's personal data in 30 days.

        Raises :class:`OrdersInFlight` (with the order numbers) while any order is placed, paid
        or shipped. Asking again returns the date already set and changes nothing. The erasure
        itself is done by a separate job on the due date, which must check orders again.
        """
        with self._sessions.begin() as session:
            customer = _customer(session, customer_id, lock=True)
            if customer.status == "erasure_scheduled" and customer.erasure_due_at is not None:
                return ErasureView(due_on=customer.erasure_due_at.date())
            in_flight = _in_flight(session, customer.id)
            if in_flight:
                raise OrdersInFlight(in_flight)

            now = self._clock()
            due = now + ERASURE_DELAY
            before = {"status": customer.status, "erasure_due_at": None}
            customer.status = "erasure_scheduled"
            customer.erasure_due_at = due
            queue_email(
                session,
                kind="erasure_scheduled",
                recipient=customer.email,
                subject="Your Larkspur account will be deleted",
                body=_erasure_body(customer.first_name, due.date(), self._site_url),
                at=now,
            )
            audit(
                session,
                at=now,
                actor=actor,
                action="customer.schedule_erasure",
                entity="customer",
                entity_id=str(customer.id),
                before=before,
                after={"status": customer.status, "erasure_due_at": due.isoformat()},
                conversation_id=conversation_id,
            )
            return ErasureView(due_on=due.date())


# --- helpers ------------------------------------------------------------------------------


def _customer(session: Session, customer_id: int, *, lock: bool) -> Customer:
    statement = select(Customer).where(Customer.id == customer_id, Customer.status != "erased")
    if lock:
        # FOR UPDATE on PostgreSQL; on SQLite, BEGIN IMMEDIATE (crm.records.db) already serialises.
        statement = statement.with_for_update()
    customer = session.scalars(statement).one_or_none()
    if customer is None:
        raise CustomerNotFound()
    return customer


def _in_flight(session: Session, customer_id: int) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(Order.number)
            .where(Order.customer_id == customer_id, Order.status.in_(IN_FLIGHT_STATUSES))
            .order_by(Order.number)
        )
    )


def _profile(session: Session, customer: Customer) -> ProfileView:
    addresses = session.scalars(
        select(Address)
        .where(Address.customer_id == customer.id)
        .order_by(Address.is_default.desc(), Address.id)
    ).all()
    subscribed = session.scalar(
        select(NewsletterSubscription.subscribed).where(
            NewsletterSubscription.email == customer.email
        )
    )
    return ProfileView(
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        status=customer.status,
        addresses=tuple(_formatted(address) for address in addresses),
        newsletter=bool(subscribed),
    )


def _formatted(address: Address) -> str:
    return AddressInput(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postcode=address.postcode,
        country=address.country,
    ).formatted()


def _address_key(postcode: str, line1: str) -> tuple[str, str]:
    """What makes two addresses the same place, however they were typed."""
    return normalise_postcode(postcode), " ".join(line1.casefold().split())


def _issue_token(
    session: Session, customer_id: int, purpose: str, now: datetime, ttl: timedelta
) -> str:
    """Store a new token's hash, retire earlier unused ones, and return the raw token."""
    session.execute(
        update(AuthToken)
        .where(
            AuthToken.customer_id == customer_id,
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    raw = secrets.token_urlsafe(_TOKEN_BYTES)
    session.add(
        AuthToken(
            customer_id=customer_id,
            purpose=purpose,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return raw


# --- email texts (read by customers in their inbox, not in the chat) ----------------------


def _activation_body(first_name: str, link: str) -> str:
    return (
        f"Hello {first_name},\n\n"
        "Thank you for creating a Larkspur account. To activate it, open this link within "
        "48 hours:\n\n"
        f"{link}\n\n"
        "If you did not ask for an account, ignore this email and nothing will happen.\n\n"
        "Larkspur customer service\n"
    )


def _account_exists_body(first_name: str, site_url: str) -> str:
    return (
        f"Hello {first_name},\n\n"
        "Someone asked to create a Larkspur account with this email address, but you already "
        "have one, so nothing was changed.\n\n"
        "If it was you and you have forgotten your password, you can set a new one here:\n\n"
        f"{site_url}/account/forgot-password\n\n"
        "If it was not you, you can ignore this email.\n\n"
        "Larkspur customer service\n"
    )


def _reset_body(first_name: str, link: str) -> str:
    return (
        f"Hello {first_name},\n\n"
        "To choose a new password for your Larkspur account, open this link within 60 "
        "minutes:\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n\n"
        "Larkspur customer service\n"
    )


def _email_change_body(first_name: str, new_masked: str, site_url: str) -> str:
    return (
        f"Hello {first_name},\n\n"
        f"The email address of your Larkspur account was changed to {new_masked}. From now "
        "on we will write to that address.\n\n"
        "If you did not make this change, contact us straight away at "
        f"{site_url}/contact so we can secure your account.\n\n"
        "Larkspur customer service\n"
    )


def _erasure_body(first_name: str, due_on: date, site_url: str) -> str:
    return (
        f"Hello {first_name},\n\n"
        "As you asked, your Larkspur account and personal data will be deleted on "
        f"{due_on.strftime('%d %B %Y')}. Records we must keep by law, such as invoices, are "
        "kept only for as long as the law requires.\n\n"
        "If you change your mind before then, contact us at "
        f"{site_url}/contact and we will cancel the deletion.\n\n"
        "Larkspur customer service\n"
    )
