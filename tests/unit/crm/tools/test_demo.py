from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.addresses import parse_address
from crm.records.customers import CustomerService
from crm.records.models import (
    Address,
    Base,
    Customer,
    Invoice,
    Order,
    OrderItem,
    Product,
    Refund,
    SupportTicket,
)
from crm.records.orders import OrderService
from crm.tools.demo import (
    DEMO_IDENTITIES,
    DemoOrder,
    SeedReport,
    build_dataset,
    identity_statuses,
    seed,
)
from tests.conftest import DEFAULTS


def _table_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


def test_seed_report_matches_the_tables(
    sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    counts = _table_counts(sessions)
    assert counts["customers"] == seeded.customers == 41
    assert counts["addresses"] == seeded.addresses == 44
    assert counts["products"] == seeded.products == 32
    assert counts["orders"] == seeded.orders == 80
    assert counts["order_items"] == seeded.order_items
    assert counts["order_status_events"] == seeded.status_events
    assert counts["invoices"] == seeded.invoices
    assert counts["refunds"] == seeded.refunds
    assert counts["support_tickets"] == seeded.tickets == 6
    assert counts["audit_log"] == 0
    assert seeded.total == sum(getattr(seeded, field.name) for field in dataclasses.fields(seeded))


def test_seed_twice_changes_nothing(
    sessions: sessionmaker[Session], seeded: SeedReport, seed_now: datetime
) -> None:
    before = _table_counts(sessions)
    again = seed(sessions, now=seed_now + timedelta(days=3))
    assert again == SeedReport()
    assert again.total == 0
    assert _table_counts(sessions) == before


def test_seed_fills_in_what_is_missing(sessions: sessionmaker[Session], seed_now: datetime) -> None:
    with sessions.begin() as session:
        session.add(
            Product(sku="KIT-001", name="Kept", category="kitchen", price_pence=1, description="")
        )
    report = seed(sessions, now=seed_now)
    assert report.products == 31
    with sessions() as session:
        kept = session.scalars(select(Product).where(Product.sku == "KIT-001")).one()
        assert kept.name == "Kept"


def test_every_status_and_country_is_covered(
    sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    with sessions() as session:
        statuses = Counter(session.scalars(select(Order.status)))
        countries = Counter(session.scalars(select(Address.country)))
        categories = Counter(session.scalars(select(Product.category)))
    assert set(statuses) == {"placed", "paid", "shipped", "delivered", "cancelled"}
    assert min(statuses.values()) >= 5
    assert set(countries) == {"GB", "IE", "DE", "FR", "NL"}
    assert set(categories) == {"home", "kitchen", "garden", "outdoor"}


def test_records_are_consistent(sessions: sessionmaker[Session], seeded: SeedReport) -> None:
    with sessions() as session:
        for order in session.scalars(select(Order)):
            assert re.fullmatch(r"\d{6}", order.number)
            items = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all()
            assert items, order.number
            assert order.total_pence == sum(i.quantity * i.unit_price_pence for i in items)
            assert [event.status for event in order.events][-1] == order.status
            invoices = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).all()
            assert len(invoices) == (1 if order.paid_at else 0), order.number
            if order.status in ("shipped", "delivered"):
                assert order.carrier and order.tracking_number and order.shipped_at
            else:
                assert order.carrier is None and order.tracking_number is None
            assert (order.delivered_at is not None) == (order.status == "delivered")
            assert (order.cancelled_at is not None) == (order.status == "cancelled")
        for refund in session.scalars(select(Refund)):
            order = session.get_one(Order, refund.order_id)
            assert 0 < refund.amount_pence <= order.total_pence
            assert order.status in ("cancelled", "delivered")
        for ticket in session.scalars(select(SupportTicket)):
            assert re.fullmatch(r"TK-[A-Z2-9]{6}", ticket.reference)


def test_contact_details_are_fictional(sessions: sessionmaker[Session], seeded: SeedReport) -> None:
    with sessions() as session:
        customers = session.scalars(select(Customer)).all()
        addresses = session.scalars(select(Address)).all()
    for customer in customers:
        assert re.fullmatch(r"[a-z.]+@example\.(com|org)", customer.email), customer.email
        assert customer.phone is None or customer.phone.startswith(("+44 7700 900", "+33 1 99 00"))
    for address in addresses:
        line = ", ".join(
            part
            for part in (
                address.line1,
                address.line2,
                address.city,
                address.postcode,
                address.country,
            )
            if part
        )
        assert parse_address(line).postcode == address.postcode


def test_fixed_identities(sessions: sessionmaker[Session], seeded: SeedReport) -> None:
    customers = CustomerService(sessions)
    orders = OrderService(sessions, site_url=DEFAULTS.site_url)
    for identity in DEMO_IDENTITIES:
        ref = customers.verify(identity.email, identity.postcode)
        assert ref is not None and ref.first_name == identity.first_name
        for expected in identity.orders:
            view = orders.get_order(expected.number, ref.id)
            assert view.status == expected.status
            assert view.shipping_address == identity.address
        assert orders.list_orders(ref.id, limit=10) and len(
            orders.list_orders(ref.id, limit=10)
        ) == len(identity.orders)
    [status] = [s for s in identity_statuses(sessions) if s.identity.email == "ada@example.com"]
    assert status.orders == DEMO_IDENTITIES[0].orders


def test_ada_shipped_and_delivered_orders(
    sessions: sessionmaker[Session], seeded: SeedReport, seed_now: datetime
) -> None:
    ada = CustomerService(sessions).verify("ada@example.com", "M4 6AB")
    assert ada is not None
    orders = OrderService(sessions, site_url=DEFAULTS.site_url)
    shipped = orders.get_order("100103", ada.id)
    assert (shipped.carrier, shipped.estimated_delivery) == (
        "DPD",
        seed_now.date() + timedelta(days=2),
    )
    assert shipped.tracking_number
    delivered = orders.get_order("100104", ada.id)
    assert delivered.carrier == "Royal Mail"
    assert delivered.delivered_at is not None and delivered.delivered_at < seed_now
    placed = orders.get_order("100101", ada.id)
    assert placed.paid_at is None


def test_identity_statuses_follow_changes(
    sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    ada = CustomerService(sessions).verify("ada@example.com", "M4 6AB")
    assert ada is not None
    OrderService(sessions, site_url=DEFAULTS.site_url).cancel_order(
        "100101", ada.id, actor="agent", conversation_id=None
    )
    [status, *_] = identity_statuses(sessions)
    assert status.orders[0] == DemoOrder("100101", "cancelled")


def test_identity_statuses_before_seeding(sessions: sessionmaker[Session]) -> None:
    assert all(status.orders == () for status in identity_statuses(sessions))


# --- the dataset itself, no database ------------------------------------------------------------


def test_dataset_is_deterministic() -> None:
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert build_dataset(now) == build_dataset(now)


def test_dataset_content_does_not_depend_on_the_date() -> None:
    one = build_dataset(datetime(2025, 1, 1, tzinfo=timezone.utc))
    two = build_dataset(datetime(2026, 7, 15, 18, 45, tzinfo=timezone.utc))

    def content(data: object) -> list[tuple[object, ...]]:
        assert hasattr(data, "orders")
        return [(o.number, o.email, o.status, o.items, o.address) for o in data.orders]

    assert content(one) == content(two)
    assert [c.email for c in one.customers] == [c.email for c in two.customers]


def test_dates_make_sense_relative_to_now() -> None:
    now = datetime.now(timezone.utc)
    data = build_dataset(now)
    for order in data.orders:
        moments = [
            moment
            for moment in (
                order.placed_at,
                order.paid_at,
                order.shipped_at,
                order.delivered_at,
                order.cancelled_at,
            )
            if moment is not None
        ]
        assert moments == sorted(moments), order.number
        assert all(moment <= now for moment in moments), order.number
        assert all(event.at <= now for event in order.events)
        if order.status in ("placed", "paid", "shipped"):
            assert order.estimated_delivery is not None
            assert order.estimated_delivery > now.date(), order.number
        for refund in order.refunds:
            assert refund.requested_at <= now
            assert refund.completed_at is None or refund.completed_at <= now
    for customer in data.customers:
        assert customer.created_at < min(
            o.placed_at for o in data.orders if o.email == customer.email
        )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_dataset(datetime(2025, 1, 1))


def test_docs_list_the_fixed_identities() -> None:
    """docs/demo.md is what people try the demo with; it must match the seeded identities."""
    docs = (Path(__file__).resolve().parents[4] / "docs" / "demo.md").read_text()
    for identity in DEMO_IDENTITIES:
        [row] = [line for line in docs.splitlines() if line.startswith(f"| {identity.name} |")]
        assert f"`{identity.email}`" in row
        assert f"`{identity.postcode}`" in row
        assert identity.address in row
        for order in identity.orders:
            assert f"**{order.number}** {order.status}" in row
    for example in ("8 Rue du Bac, Paris, 75007, France",):
        assert parse_address(example).country == "FR"


def test_stock_and_consumables_are_seeded(
    sessions: sessionmaker[Session], seeded: SeedReport
) -> None:
    with sessions() as session:
        products = {product.sku: product for product in session.scalars(select(Product))}
        ordered = set(session.scalars(select(OrderItem.product_id)))
    assert {sku for sku, p in products.items() if p.stock == 0} == {"OUT-001", "HOM-006"}
    assert {sku for sku, p in products.items() if p.consumable} == {
        "HOM-005",
        "KIT-009",
        "GAR-008",
    }
    assert any(p.stock is None for p in products.values())  # not tracked: available
    # The new arrivals are in no order yet.
    assert not {products["KIT-009"].id, products["GAR-008"].id} & ordered
