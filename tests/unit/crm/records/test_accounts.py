from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.accounts import (
    AccountRequest,
    AccountService,
    CustomerNotFound,
    EmailTaken,
    ErasureView,
    OrdersInFlight,
    ProfileView,
    mask_email,
)
from crm.records.addresses import parse_address
from crm.records.contacts import InvalidContact
from crm.records.models import Address, AuditLog, AuthToken, Customer
from crm.records.outbox import OutboxService, OutboxView
from crm.tools.demo import SeedReport
from tests.conftest import DEFAULTS

ADA = "ada@example.com"
ADA_ADDRESS = "12 Ancoats Way, Manchester, M4 6AB, GB"
ACTIVATE_LINK = re.compile(r"https://larkspur\.example/account/activate\?token=([A-Za-z0-9_-]+)")
RESET_LINK = re.compile(r"https://larkspur\.example/account/reset\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def accounts(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> AccountService:
    return AccountService(sessions, site_url=DEFAULTS.site_url, clock=clock)


def _outbox(sessions: sessionmaker[Session]) -> list[OutboxView]:
    return OutboxService(sessions).pending(1000)


def _count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _tokens(sessions: sessionmaker[Session]) -> list[AuthToken]:
    with sessions() as session:
        rows = list(session.scalars(select(AuthToken).order_by(AuthToken.id)))
        session.expunge_all()
        return rows


def _customer(sessions: sessionmaker[Session], email: str) -> Customer:
    with sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.email == email)).one()
        session.expunge(customer)
        return customer


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _sign_up(accounts: AccountService, email: str, phone: str | None = None) -> AccountRequest:
    return accounts.create_account(
        first_name="Mary",
        last_name="Somerville",
        email=email,
        phone=phone,
        conversation_id="conv-signup",
    )


def _new_customer(accounts: AccountService, sessions: sessionmaker[Session], email: str) -> int:
    """A customer without orders, created the way the assistant creates them."""
    _sign_up(accounts, email)
    return _customer(sessions, email).id


# --- create_account ---------------------------------------------------------------------------


def test_create_account_for_a_new_email(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    clock_now: datetime,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    result = accounts.create_account(
        first_name=" Mary ",
        last_name="Somerville",
        email="  Mary.Somerville@Example.net ",
        phone="07700 900123",
        conversation_id="conv-1",
    )
    assert result == AccountRequest(email_masked="m***@example.net")

    customer = _customer(sessions, "mary.somerville@example.net")
    assert (customer.first_name, customer.last_name) == ("Mary", "Somerville")
    assert customer.phone == "+447700900123"
    assert customer.status == "pending_activation"
    assert customer.created_at == clock_now

    [token] = _tokens(sessions)
    assert (token.customer_id, token.purpose) == (customer.id, "activation")
    assert token.expires_at == clock_now + timedelta(hours=48)
    assert token.used_at is None

    [email] = _outbox(sessions)
    assert (email.kind, email.recipient) == ("account_activation", "mary.somerville@example.net")
    assert email.created_at == clock_now
    match = ACTIVATE_LINK.search(email.body)
    assert match is not None
    raw = match.group(1)
    assert len(raw) >= 40
    assert token.token_hash == _sha256(raw)
    assert raw not in token.token_hash

    [audit] = audit_rows()
    assert (audit.action, audit.entity, audit.entity_id) == (
        "account.create",
        "customer",
        str(customer.id),
    )
    assert audit.conversation_id == "conv-1"
    assert audit.after is not None and audit.after["status"] == "pending_activation"
    assert raw not in str(audit.after)


def test_create_account_for_an_existing_email_creates_nothing(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    customers_before = _count(sessions, Customer)
    result = accounts.create_account(
        first_name="Someone",
        last_name="Else",
        email=" ADA@example.com",
        phone=None,
        conversation_id="conv-1",
    )
    assert result == AccountRequest(email_masked="a***@example.com")
    assert _count(sessions, Customer) == customers_before
    assert _tokens(sessions) == []
    assert _customer(sessions, ADA).first_name == "Ada"  # untouched

    [email] = _outbox(sessions)
    assert (email.kind, email.recipient) == ("account_exists", ADA)
    assert "https://larkspur.example/account/forgot-password" in email.body
    assert "token=" not in email.body
    [audit] = audit_rows()
    assert audit.action == "account.create_existing"


def test_create_account_does_not_reveal_whether_the_email_exists(
    accounts: AccountService, sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    """Known and unknown addresses get the same answer; only the owner's inbox differs."""
    customers = _count(sessions, Customer)

    known = _sign_up(accounts, ADA)
    assert _count(sessions, Customer) == customers
    unknown = _sign_up(accounts, "amy@example.com")
    assert _count(sessions, Customer) == customers + 1

    assert known == unknown
    assert type(known) is type(unknown)
    assert [(e.kind, e.recipient) for e in _outbox(sessions)] == [
        ("account_exists", ADA),
        ("account_activation", "amy@example.com"),
    ]


def test_signing_up_twice_sends_the_second_an_account_exists_notice(
    accounts: AccountService, sessions: sessionmaker[Session]
) -> None:
    first = _sign_up(accounts, "mary@example.net")
    second = _sign_up(accounts, "Mary@Example.net")
    assert first == second
    assert _count(sessions, Customer) == 1
    assert [e.kind for e in _outbox(sessions)] == ["account_activation", "account_exists"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_name": ""}, "name"),
        ({"first_name": "M4ry"}, "name"),
        ({"last_name": "x" * 61}, "name"),
        ({"email": "mary@"}, "email"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_create_account_validates_before_writing(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    fields: dict[str, str],
    field: str,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    arguments: dict[str, object] = {
        "first_name": "Mary",
        "last_name": "Somerville",
        "email": "mary@example.net",
        "phone": None,
        "conversation_id": "conv-1",
        **fields,
    }
    with pytest.raises(InvalidContact) as caught:
        accounts.create_account(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert _count(sessions, Customer) == 0
    assert _outbox(sessions) == []
    assert audit_rows() == []


def test_blank_phone_means_none(accounts: AccountService, sessions: sessionmaker[Session]) -> None:
    _sign_up(accounts, "mary@example.net", phone="  ")
    assert _customer(sessions, "mary@example.net").phone is None


def test_site_url_is_configurable(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    service = AccountService(sessions, clock=clock, site_url="https://shop.test/")
    _sign_up(service, "mary@example.net")
    [email] = _outbox(sessions)
    assert "https://shop.test/account/activate?token=" in email.body


def test_mask_email() -> None:
    assert mask_email("ada@example.com") == "a***@example.com"
    assert mask_email("a@example.com") == "a***@example.com"


# --- request_password_reset ------------------------------------------------------------------


def test_password_reset_for_an_account(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    clock_now: datetime,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    accounts.request_password_reset(" Ada@Example.com ", conversation_id="conv-2")

    [token] = _tokens(sessions)
    assert (token.customer_id, token.purpose) == (customer_id(ADA), "password_reset")
    assert token.expires_at == clock_now + timedelta(minutes=60)
    assert token.used_at is None

    [email] = _outbox(sessions)
    assert (email.kind, email.recipient) == ("password_reset", ADA)
    match = RESET_LINK.search(email.body)
    assert match is not None
    assert _sha256(match.group(1)) == token.token_hash
    assert match.group(1) not in token.token_hash

    [audit] = audit_rows()
    assert (audit.action, audit.entity_id, audit.conversation_id) == (
        "account.password_reset_request",
        str(customer_id(ADA)),
        "conv-2",
    )


def test_password_reset_does_not_reveal_whether_the_email_exists(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    customers = _count(sessions, Customer)
    # Both return nothing (the annotation says so; the test checks it at run time too).
    unknown = accounts.request_password_reset("nobody@example.com", conversation_id="c")  # type: ignore[func-returns-value]
    assert _outbox(sessions) == [] and _tokens(sessions) == [] and audit_rows() == []
    known = accounts.request_password_reset(ADA, conversation_id="c")  # type: ignore[func-returns-value]
    assert unknown is None and known is None
    assert _count(sessions, Customer) == customers
    assert [(e.kind, e.recipient) for e in _outbox(sessions)] == [("password_reset", ADA)]


def test_password_reset_refuses_what_is_not_an_email(
    accounts: AccountService, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(InvalidContact) as caught:
        accounts.request_password_reset("ada at example", conversation_id="c")
    assert caught.value.field == "email"


def test_a_new_reset_link_supersedes_the_old_one(
    sessions: sessionmaker[Session], seeded: SeedReport, clock_now: datetime
) -> None:
    later = clock_now + timedelta(minutes=5)
    AccountService(
        sessions, site_url=DEFAULTS.site_url, clock=lambda: clock_now
    ).request_password_reset(ADA, conversation_id="c")
    AccountService(
        sessions, site_url=DEFAULTS.site_url, clock=lambda: later
    ).request_password_reset(ADA, conversation_id="c")
    first, second = _tokens(sessions)
    assert first.used_at == later
    assert second.used_at is None and second.expires_at == later + timedelta(minutes=60)
    assert first.token_hash != second.token_hash


def test_no_reset_for_an_erased_account(
    accounts: AccountService, sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    with sessions.begin() as session:
        session.execute(update(Customer).where(Customer.email == ADA).values(status="erased"))
    accounts.request_password_reset(ADA, conversation_id="c")
    assert _outbox(sessions) == [] and _tokens(sessions) == []


def test_tokens_are_unique_and_hash_shaped(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO auth_tokens (customer_id, purpose, token_hash, created_at, "
                "expires_at) VALUES (:id, 'activation', 'raw-token', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {"id": customer_id(ADA)},
        )


# --- profile ----------------------------------------------------------------------------------


def test_get_profile(
    accounts: AccountService, seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    profile = accounts.get_profile(customer_id(ADA))
    assert profile == ProfileView(
        first_name="Ada",
        last_name="Lovelace",
        email=ADA,
        phone="+44 7700 900000",
        status="active",
        addresses=(ADA_ADDRESS,),
        newsletter=True,
    )
    assert accounts.get_profile(customer_id("alan@example.com")).newsletter is False


def test_get_profile_of_a_missing_or_erased_customer(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
) -> None:
    with pytest.raises(CustomerNotFound):
        accounts.get_profile(99999)
    with sessions.begin() as session:
        session.execute(update(Customer).where(Customer.email == ADA).values(status="erased"))
    with pytest.raises(CustomerNotFound):
        accounts.get_profile(customer_id(ADA))
    with pytest.raises(CustomerNotFound):
        accounts.customer_email(customer_id(ADA))


def test_customer_email(
    accounts: AccountService, seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    assert accounts.customer_email(customer_id(ADA)) == ADA
    with pytest.raises(CustomerNotFound):
        accounts.customer_email(99999)


# --- update_contact ---------------------------------------------------------------------------


def test_change_email_notifies_the_old_address(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    profile = accounts.update_contact(
        ada, email=" Ada.Lovelace@Example.org ", actor="agent", conversation_id="conv-3"
    )
    assert profile.email == "ada.lovelace@example.org"
    assert accounts.customer_email(ada) == "ada.lovelace@example.org"

    [email] = _outbox(sessions)
    assert (email.kind, email.recipient) == ("email_change", ADA)
    assert "a***@example.org" in email.body
    assert "ada.lovelace@example.org" not in email.body

    [audit] = audit_rows()
    assert audit.action == "customer.update_contact"
    assert audit.before == {"email": ADA}
    assert audit.after == {"email": "ada.lovelace@example.org"}
    assert (audit.actor, audit.conversation_id) == ("agent", "conv-3")


def test_change_phone(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    profile = accounts.update_contact(
        customer_id(ADA), phone="07700 900123", actor="agent", conversation_id="c"
    )
    assert profile.phone == "+447700900123"
    assert _outbox(sessions) == []
    [audit] = audit_rows()
    assert audit.before == {"phone": "+44 7700 900000"}
    assert audit.after == {"phone": "+447700900123"}


def test_change_name(
    accounts: AccountService,
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    profile = accounts.update_contact(
        customer_id(ADA), last_name=" King ", actor="bot", conversation_id="c"
    )
    assert (profile.first_name, profile.last_name) == ("Ada", "King")
    [audit] = audit_rows()
    assert audit.action == "customer.update_contact"
    assert (audit.before, audit.after) == ({"last_name": "Lovelace"}, {"last_name": "King"})


def test_a_name_that_is_not_one_is_refused(
    accounts: AccountService, seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    with pytest.raises(InvalidContact):
        accounts.update_contact(
            customer_id(ADA), first_name="4d4", actor="bot", conversation_id="c"
        )


def test_change_both(
    accounts: AccountService,
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    accounts.update_contact(
        customer_id(ADA),
        email="ada2@example.com",
        phone="+49 30 1234567",
        actor="staff:kim",
        conversation_id=None,
    )
    [audit] = audit_rows()
    assert audit.after == {"email": "ada2@example.com", "phone": "+49301234567"}
    assert audit.actor == "staff:kim"


def test_email_of_another_customer_is_refused(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    with pytest.raises(EmailTaken) as caught:
        accounts.update_contact(
            customer_id(ADA),
            email="GRACE@example.org",
            phone="07700 900123",
            actor="agent",
            conversation_id="c",
        )
    assert "grace" not in str(caught.value).lower()
    assert "hopper" not in str(caught.value).lower()
    assert accounts.customer_email(customer_id(ADA)) == ADA
    assert _customer(sessions, ADA).phone == "+44 7700 900000"
    assert _outbox(sessions) == [] and audit_rows() == []


def test_update_contact_refusals(
    accounts: AccountService,
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    with pytest.raises(InvalidContact):
        accounts.update_contact(ada, email="nope", actor="agent", conversation_id="c")
    with pytest.raises(InvalidContact):
        accounts.update_contact(ada, phone="123", actor="agent", conversation_id="c")
    with pytest.raises(ValueError, match="nothing to change"):
        accounts.update_contact(ada, actor="agent", conversation_id="c")
    with pytest.raises(CustomerNotFound):
        accounts.update_contact(99999, phone="07700 900123", actor="agent", conversation_id="c")
    with pytest.raises(ValueError, match="actor"):
        accounts.update_contact(ada, phone="07700 900123", actor="", conversation_id="c")
    assert audit_rows() == []


def test_unchanged_contact_is_not_audited(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    profile = accounts.update_contact(
        customer_id(ADA), email="ADA@example.com", actor="agent", conversation_id="c"
    )
    assert profile.email == ADA
    assert audit_rows() == [] and _outbox(sessions) == []


# --- add_address ------------------------------------------------------------------------------

WORK = "Unit 2, 30 Oxford Road, Manchester, M1 5QA"


def _default_count(sessions: sessionmaker[Session], customer: int) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Address)
                .where(Address.customer_id == customer, Address.is_default.is_(True))
            )
            or 0
        )


def test_add_address_keeps_the_default(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    profile = accounts.add_address(
        ada, parse_address(WORK), make_default=False, actor="agent", conversation_id="c"
    )
    assert profile.addresses == (ADA_ADDRESS, "Unit 2, 30 Oxford Road, Manchester, M1 5QA, GB")
    assert _default_count(sessions, ada) == 1
    [audit] = audit_rows()
    assert audit.action == "customer.add_address"
    assert audit.before is None
    assert audit.after is not None
    assert audit.after["postcode"] == "M1 5QA" and audit.after["is_default"] is False


def test_add_address_as_default(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
) -> None:
    ada = customer_id(ADA)
    profile = accounts.add_address(
        ada, parse_address(WORK), make_default=True, actor="agent", conversation_id="c"
    )
    assert profile.addresses[0] == "Unit 2, 30 Oxford Road, Manchester, M1 5QA, GB"
    assert profile.addresses[1] == ADA_ADDRESS
    assert _default_count(sessions, ada) == 1


def test_duplicate_address_is_not_added(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    again = parse_address("12  ANCOATS way, Manchester, m46ab")
    profile = accounts.add_address(
        ada, again, make_default=False, actor="agent", conversation_id="c"
    )
    assert profile.addresses == (ADA_ADDRESS,)
    assert audit_rows() == []


def test_duplicate_address_can_become_the_default(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    accounts.add_address(
        ada, parse_address(WORK), make_default=False, actor="agent", conversation_id="c"
    )
    profile = accounts.add_address(
        ada,
        parse_address("Unit 2, 30 oxford road, Manchester, M1 5QA"),
        make_default=True,
        actor="agent",
        conversation_id="c",
    )
    assert profile.addresses == ("Unit 2, 30 Oxford Road, Manchester, M1 5QA, GB", ADA_ADDRESS)
    assert _default_count(sessions, ada) == 1
    _, audit = audit_rows()
    assert audit.action == "customer.set_default_address"
    assert audit.before == {"default": ADA_ADDRESS}


def test_first_address_becomes_the_default(
    accounts: AccountService, sessions: sessionmaker[Session]
) -> None:
    customer = _new_customer(accounts, sessions, "mary@example.net")
    profile = accounts.add_address(
        customer, parse_address(WORK), make_default=False, actor="agent", conversation_id="c"
    )
    assert len(profile.addresses) == 1
    assert _default_count(sessions, customer) == 1


def test_add_address_for_a_missing_customer(accounts: AccountService) -> None:
    with pytest.raises(CustomerNotFound):
        accounts.add_address(
            99999, parse_address(WORK), make_default=True, actor="agent", conversation_id="c"
        )


# --- schedule_erasure -------------------------------------------------------------------------


def test_erasure_is_refused_while_orders_are_in_flight(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    with pytest.raises(OrdersInFlight) as caught:
        accounts.schedule_erasure(customer_id(ADA), actor="agent", conversation_id="c")
    assert caught.value.numbers == ("100101", "100102", "100103")
    assert "100101" not in str(caught.value)
    ada = _customer(sessions, ADA)
    assert (ada.status, ada.erasure_due_at) == ("active", None)
    assert _outbox(sessions) == [] and audit_rows() == []


def test_erasure_is_scheduled_for_a_customer_without_open_orders(
    accounts: AccountService,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    clock_now: datetime,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    customer = _new_customer(accounts, sessions, "mary@example.net")
    view = accounts.schedule_erasure(customer, actor="agent", conversation_id="conv-9")
    due = clock_now + timedelta(days=30)
    assert view == ErasureView(due_on=due.date())

    stored = _customer(sessions, "mary@example.net")
    assert (stored.status, stored.erasure_due_at) == ("erasure_scheduled", due)
    [_, email] = _outbox(sessions)
    assert (email.kind, email.recipient) == ("erasure_scheduled", "mary@example.net")
    assert due.strftime("%d %B %Y") in email.body
    audit = audit_rows()[-1]
    assert audit.action == "customer.schedule_erasure"
    assert audit.before == {"status": "pending_activation", "erasure_due_at": None}
    assert audit.after == {"status": "erasure_scheduled", "erasure_due_at": due.isoformat()}
    assert audit.conversation_id == "conv-9"


def test_erasure_allowed_when_all_orders_are_finished(
    accounts: AccountService, seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    # Alan's only order is delivered.
    view = accounts.schedule_erasure(
        customer_id("alan@example.com"), actor="agent", conversation_id="c"
    )
    assert isinstance(view, ErasureView)


def test_scheduling_erasure_again_keeps_the_date(
    sessions: sessionmaker[Session],
    clock_now: datetime,
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    first_service = AccountService(sessions, site_url=DEFAULTS.site_url, clock=lambda: clock_now)
    customer = _new_customer(first_service, sessions, "mary@example.net")
    first = first_service.schedule_erasure(customer, actor="agent", conversation_id="c")
    emails, audits = len(_outbox(sessions)), len(audit_rows())

    later = AccountService(
        sessions, site_url=DEFAULTS.site_url, clock=lambda: clock_now + timedelta(days=3)
    )
    again = later.schedule_erasure(customer, actor="agent", conversation_id="c")
    assert again == first
    assert len(_outbox(sessions)) == emails
    assert len(audit_rows()) == audits


def test_erasure_of_a_missing_customer(accounts: AccountService) -> None:
    with pytest.raises(CustomerNotFound):
        accounts.schedule_erasure(99999, actor="agent", conversation_id="c")


def test_customer_status_is_constrained(
    sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(update(Customer).where(Customer.email == ADA).values(status="vip"))


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_sign_ups_with_one_email_create_one_account(
    accounts: AccountService, sessions: sessionmaker[Session]
) -> None:
    threads = 6
    barrier = threading.Barrier(threads)
    results: list[object] = []
    lock = threading.Lock()

    def sign_up() -> None:
        barrier.wait()
        try:
            outcome: object = _sign_up(accounts, "mary@example.net")
        except BaseException as exc:  # handed back to the test
            outcome = exc
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=sign_up) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert results == [AccountRequest(email_masked="m***@example.net")] * threads
    assert _count(sessions, Customer) == 1
    kinds = sorted(email.kind for email in _outbox(sessions))
    assert kinds == ["account_activation"] + ["account_exists"] * (threads - 1)
