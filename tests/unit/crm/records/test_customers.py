from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.customers import CustomerService
from crm.records.models import Address, Customer
from crm.records.views import CustomerRef
from crm.tools.demo import SeedReport


@pytest.fixture
def service(sessions: sessionmaker[Session], seeded: SeedReport) -> CustomerService:
    return CustomerService(sessions)


def test_verify_with_email_and_postcode_of_saved_address(
    service: CustomerService, customer_id: Callable[[str], int]
) -> None:
    ref = service.verify("ada@example.com", "M4 6AB")
    assert ref == CustomerRef(id=customer_id("ada@example.com"), first_name="Ada")


@pytest.mark.parametrize(
    ("email", "postcode"),
    [
        ("ADA@Example.COM", "M4 6AB"),
        ("  ada@example.com ", "m46ab"),
        ("ada@example.com", " m4   6ab "),
        ("ada@example.com", "M46AB"),
    ],
)
def test_verify_ignores_case_and_spacing(
    service: CustomerService, customer_id: Callable[[str], int], email: str, postcode: str
) -> None:
    ref = service.verify(email, postcode)
    assert ref is not None
    assert ref.id == customer_id("ada@example.com")


@pytest.mark.parametrize(
    ("email", "postcode"),
    [
        ("ada@example.com", "M4 6AC"),  # wrong postcode
        ("ada@example.com", "75001"),  # another customer's postcode
        ("grace@example.org", "M4 6AB"),  # right postcode, someone else's email
        ("nobody@example.com", "M4 6AB"),  # unknown email
        ("ada@example.net", "M4 6AB"),  # near miss on the email
        ("", "M4 6AB"),
        ("ada@example.com", ""),
        ("ada@example.com", "   "),
    ],
)
def test_verify_refuses_wrong_details_the_same_way(
    service: CustomerService, email: str, postcode: str
) -> None:
    assert service.verify(email, postcode) is None


def test_verify_with_a_second_saved_address(service: CustomerService) -> None:
    ref = service.verify("amelia.clarke@example.org", "ne13dx")
    assert ref is not None
    assert ref.first_name == "Amelia"


def test_verify_with_postcode_of_a_past_order(
    service: CustomerService, sessions: sessionmaker[Session]
) -> None:
    # Alan has moved and removed his saved address; his order 100301 went to CB2 1SJ.
    with sessions.begin() as session:
        alan = session.scalars(select(Customer).where(Customer.email == "alan@example.com")).one()
        session.execute(delete(Address).where(Address.customer_id == alan.id))
    ref = service.verify("alan@example.com", "cb2 1sj")
    assert ref is not None
    assert ref.first_name == "Alan"


def test_emails_are_stored_lower_case(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(Customer(first_name="Mary", last_name="Somerville", email=" Mary@Example.COM "))
    with sessions() as session:
        emails = session.scalars(select(Customer.email)).all()
    assert emails == ["mary@example.com"]


def test_an_erased_account_never_verifies(
    service: CustomerService, sessions: sessionmaker[Session]
) -> None:
    assert service.verify("alan@example.com", "CB2 1SJ") is not None
    with sessions.begin() as session:
        alan = session.scalars(select(Customer).where(Customer.email == "alan@example.com")).one()
        alan.status = "erased"
    assert service.verify("alan@example.com", "CB2 1SJ") is None
