"""Invoices and refunds: listing, filters, foreign orders, eligibility, requests, tracking."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from crm.records.errors import InvoiceNotFound, OrderNotFound, RefundNotAllowed
from crm.records.models import AuditLog, Invoice, Order, Refund
from crm.records.money import (
    InvoiceService,
    InvoiceView,
    RefundEligibility,
    RefundItem,
    RefundService,
    RefundView,
)
from crm.records.orders import OrderService
from crm.tools.demo import SeedReport
from tests.conftest import DEFAULTS

ADA = "ada@example.com"
GRACE = "grace@example.org"
ALAN = "alan@example.com"
HARRY = "harry.patel@example.com"  # 518453 delivered 4 May (GB); £26.50 of it refunded (paid)
CIAN = "cian.murphy@example.org"  # 227359 delivered 19 March (IE); £12.50 refund requested
FELIX = "felix.wagner@example.org"  # 283273 delivered 7 April (DE); £45.00 refund rejected
LUCY = "lucy.walker@example.com"  # 228857 delivered 21 March (GB); £27.00 refund approved
UTC = timezone.utc
URL = "https://larkspur.example/account/invoices/"


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def invoices(sessions: sessionmaker[Session], seeded: SeedReport) -> InvoiceService:
    return InvoiceService(sessions, site_url=DEFAULTS.site_url)


@pytest.fixture
def refunds(
    sessions: sessionmaker[Session], seeded: SeedReport, clock: Callable[[], datetime]
) -> RefundService:
    return RefundService(sessions, clock=clock)


def _deliver(sessions: sessionmaker[Session], number: str, delivered_at: datetime) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Order)
            .where(Order.number == number)
            .values(status="delivered", delivered_at=delivered_at)
        )


# --- refunds of one item ---------------------------------------------------------------------


def test_an_items_refund_is_its_price_not_the_orders(
    refunds: RefundService, customer_id: Callable[[str], int]
) -> None:
    # 100104: a wool throw (£65) and 2 cushion covers (£22 each); one cover is £22.00.
    ada = customer_id(ADA)
    assert refunds.eligibility("100104", ada, item=RefundItem("HOM-002")) == RefundEligibility(
        "100104", True, "ok", 2200, date(2025, 6, 15), "Linen Cushion Cover", 1
    )
    # More units than the line has are the line's units; so are "all of them" (None).
    for quantity in (5, None):
        both = refunds.eligibility("100104", ada, item=RefundItem("hom-002", quantity))
        assert (both.amount_pence, both.quantity) == (4400, 2)


def test_a_product_not_on_the_order_is_refused(
    refunds: RefundService, customer_id: Callable[[str], int]
) -> None:
    # The kettle is on 100102, not on 100104.
    assert refunds.eligibility(
        "100104", customer_id(ADA), item=RefundItem("KIT-005")
    ) == RefundEligibility("100104", False, "not_on_order", 0, date(2025, 6, 15))


def test_request_an_items_refund_records_and_audits_the_item(
    refunds: RefundService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    view = refunds.request_refund(
        "100104", ada, reason="dented", actor="bot", conversation_id="c", item=RefundItem("HOM-001")
    )
    assert (view.amount_display, view.item, view.quantity) == ("£65.00", "Wool Throw", 1)
    with sessions() as session:
        stored = session.execute(
            select(Refund.amount_pence, Refund.quantity, Refund.product_id.is_not(None))
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number == "100104")
        ).all()
    assert [tuple(row) for row in stored] == [(6500, 1, True)]
    [row] = audit_rows()
    assert row.after is not None
    assert (row.after["amount_pence"], row.after["product_sku"], row.after["quantity"]) == (
        6500,
        "HOM-001",
        1,
    )
    # The list says which item the refund is for; the rest of the order can still go back.
    [listed] = refunds.list_refunds(ada, order_number="100104")
    assert (listed.item, listed.quantity, listed.amount_pence) == ("Wool Throw", 1, 6500)
    assert refunds.eligibility("100104", ada).amount_pence == 4400


def test_an_item_refunded_once_is_not_refunded_again(
    refunds: RefundService, customer_id: Callable[[str], int]
) -> None:
    ada = customer_id(ADA)
    cover = RefundItem("HOM-002")
    for _ in range(2):
        refunds.request_refund(
            "100104", ada, reason="r", actor="a", conversation_id=None, item=cover
        )
    with pytest.raises(RefundNotAllowed) as caught:
        refunds.request_refund(
            "100104", ada, reason="r", actor="a", conversation_id=None, item=cover
        )
    assert caught.value.reason == "already_refunded"
    # The throw is still there to refund, and the whole order's refund is what is left.
    assert refunds.eligibility("100104", ada, item=RefundItem("HOM-001")).amount_pence == 6500
    assert refunds.eligibility("100104", ada).amount_pence == 6500


def test_an_eu_items_refund_pays_the_return_charge(
    refunds: RefundService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    # Grace's picnic blanket (£35) from France: £35.00 - £6.95.
    _deliver(sessions, "100202", at(2025, 6, 2, 8))
    assert (
        refunds.eligibility("100202", customer_id(GRACE), item=RefundItem("OUT-003")).amount_pence
        == 3500 - 695
    )


def _refund_rows(sessions: sessionmaker[Session], number: str) -> list[tuple[int, str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Refund.amount_pence, Refund.status, Refund.reason)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number == number)
            .order_by(Refund.id)
        ).all()
    return [(amount, status, reason) for amount, status, reason in rows]


# --- invoices -------------------------------------------------------------------------------


ADA_INVOICES = [
    InvoiceView("INV-100102", "100102", 5490, "£54.90", date(2025, 6, 1), URL + "INV-100102.pdf"),
    InvoiceView("INV-100103", "100103", 7900, "£79.00", date(2025, 5, 30), URL + "INV-100103.pdf"),
    InvoiceView(
        "INV-100104", "100104", 10900, "£109.00", date(2025, 5, 13), URL + "INV-100104.pdf"
    ),
]


def test_list_invoices_newest_first(
    invoices: InvoiceService, customer_id: Callable[[str], int]
) -> None:
    # 100101 is only placed and 100105 was cancelled before payment: no invoices.
    assert invoices.list_invoices(customer_id(ADA)) == ADA_INVOICES


def test_list_invoices_for_one_order(
    invoices: InvoiceService, customer_id: Callable[[str], int]
) -> None:
    ada = customer_id(ADA)
    assert invoices.list_invoices(ada, order_number="#100103") == [ADA_INVOICES[1]]
    assert invoices.list_invoices(ada, order_number="100101") == []  # not paid yet
    assert invoices.list_invoices(ada, order_number="100201") == []  # Grace's
    assert invoices.list_invoices(ada, order_number="not a number") == []


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (date(2025, 5, 30), None, ["INV-100102", "INV-100103"]),
        (None, date(2025, 5, 30), ["INV-100103", "INV-100104"]),
        (date(2025, 5, 30), date(2025, 5, 30), ["INV-100103"]),  # both ends inclusive
        (date(2025, 5, 14), date(2025, 5, 29), []),
        (date(2025, 6, 2), None, []),
    ],
)
def test_list_invoices_in_a_period(
    invoices: InvoiceService,
    customer_id: Callable[[str], int],
    since: date | None,
    until: date | None,
    expected: list[str],
) -> None:
    found = invoices.list_invoices(customer_id(ADA), since=since, until=until)
    assert [invoice.number for invoice in found] == expected


def test_invoice_dates_are_uk_dates(
    invoices: InvoiceService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    # 23:30 UTC on 13 May is 00:30 on 14 May in the UK.
    with sessions.begin() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.number == "INV-100104")
            .values(issued_at=at(2025, 5, 13, 23, 30))
        )
    ada = customer_id(ADA)
    [invoice] = invoices.list_invoices(ada, order_number="100104")
    assert invoice.issued_on == date(2025, 5, 14)
    assert [i.number for i in invoices.list_invoices(ada, since=date(2025, 5, 14))][-1] == (
        "INV-100104"
    )
    assert invoices.list_invoices(ada, until=date(2025, 5, 13)) == []


def test_get_invoice(invoices: InvoiceService, customer_id: Callable[[str], int]) -> None:
    assert invoices.get_invoice(customer_id(ADA), "100104") == ADA_INVOICES[2]
    grace = invoices.get_invoice(customer_id(GRACE), "100201")
    assert (grace.number, grace.amount_pence, grace.amount_display) == (
        "INV-100201",
        5200,
        "£52.00",
    )


@pytest.mark.parametrize("number", ["100101", "100105", "100201", "999999", "abc", ""])
def test_get_invoice_missing_unpaid_and_foreign_look_the_same(
    invoices: InvoiceService, customer_id: Callable[[str], int], number: str
) -> None:
    with pytest.raises(InvoiceNotFound) as caught:
        invoices.get_invoice(customer_id(ADA), number)
    assert str(caught.value) == "invoice not found for this customer"


def test_invoice_urls_use_the_configured_site(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    invoices = InvoiceService(sessions, site_url="https://shop.test/")
    invoice = invoices.get_invoice(customer_id(ADA), "100102")
    assert invoice.url == "https://shop.test/account/invoices/INV-100102.pdf"


# --- refund eligibility ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("100101", RefundEligibility("100101", False, "not_delivered", 0, None)),
        ("100102", RefundEligibility("100102", False, "not_delivered", 0, None)),
        ("100103", RefundEligibility("100103", False, "not_delivered", 0, None)),
        # Delivered 16 May: wool throw £65 + 2 cushion covers £22, returnable to 15 June.
        ("100104", RefundEligibility("100104", True, "ok", 10900, date(2025, 6, 15))),
        ("100105", RefundEligibility("100105", False, "cancelled_refunded_automatically", 0, None)),
    ],
)
def test_eligibility_for_each_status(
    refunds: RefundService,
    customer_id: Callable[[str], int],
    number: str,
    expected: RefundEligibility,
) -> None:
    assert refunds.eligibility(number, customer_id(ADA)) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Alan's 100301 was delivered on 6 May: the window ends on 5 June, UK time.
        (at(2025, 6, 2), RefundEligibility("100301", True, "ok", 13150, date(2025, 6, 5))),
        (at(2025, 6, 5, 22, 59), RefundEligibility("100301", True, "ok", 13150, date(2025, 6, 5))),
        # 23:00 UTC on 5 June is midnight in the UK: 6 June, one day too late.
        (
            at(2025, 6, 5, 23, 0),
            RefundEligibility("100301", False, "window_passed", 0, date(2025, 6, 5)),
        ),
        (at(2025, 9, 1), RefundEligibility("100301", False, "window_passed", 0, date(2025, 6, 5))),
    ],
)
def test_eligibility_window(
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    now: datetime,
    expected: RefundEligibility,
) -> None:
    refunds = RefundService(sessions, clock=lambda: now)
    assert refunds.eligibility("100301", customer_id(ALAN)) == expected


@pytest.mark.parametrize(
    ("email", "number", "now", "expected"),
    [
        # £132.50 of goods, £26.50 already refunded (paid): £106.00 left, free from the UK.
        (HARRY, "518453", at(2025, 6, 2), (True, "ok", 10600, date(2025, 6, 3))),
        # Ireland: £31.00 of goods, £12.50 requested: £18.50 left, minus the £6.95 EU charge.
        (CIAN, "227359", at(2025, 4, 1), (True, "ok", 1155, date(2025, 4, 18))),
        # Germany: the £45.00 refund was rejected, so it does not count: £215.50 - £6.95.
        (FELIX, "283273", at(2025, 4, 20), (True, "ok", 20855, date(2025, 5, 7))),
        # Lucy's window closed on 20 April.
        (LUCY, "228857", at(2025, 6, 2), (False, "window_passed", 0, date(2025, 4, 20))),
    ],
)
def test_eligibility_subtracts_earlier_refunds_and_the_eu_charge(
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    email: str,
    number: str,
    now: datetime,
    expected: tuple[bool, str, int, date],
) -> None:
    refunds = RefundService(sessions, clock=lambda: now)
    result = refunds.eligibility(number, customer_id(email))
    assert (result.eligible, result.reason, result.amount_pence, result.deadline) == expected


def test_eligibility_of_delivered_eu_order(
    refunds: RefundService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    # Grace's 100202: picnic blanket £35 + 2 mugs £9.50 = £54.00, returned from France.
    _deliver(sessions, "100202", at(2025, 6, 2, 8))
    assert refunds.eligibility("100202", customer_id(GRACE)) == RefundEligibility(
        "100202", True, "ok", 5400 - 695, date(2025, 7, 2)
    )


def test_order_change_refunds_are_not_returns(
    refunds: RefundService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    clock: Callable[[], datetime],
) -> None:
    # Removing the candle refunded £11.00 ("order changed"); the order is now the kettle alone
    # (£39.95 of goods, £43.90 with delivery). A later return refunds the kettle: £39.95.
    ada = customer_id(ADA)
    OrderService(sessions, site_url=DEFAULTS.site_url, clock=clock).change_item(
        "100102", ada, sku="HOM-005", quantity=0, actor="a", conversation_id=None
    )
    _deliver(sessions, "100102", at(2025, 6, 2, 8))
    assert refunds.eligibility("100102", ada).amount_pence == 3995


def test_eligibility_of_someone_elses_order_is_not_found(
    refunds: RefundService, customer_id: Callable[[str], int]
) -> None:
    with pytest.raises(OrderNotFound):
        refunds.eligibility("100301", customer_id(ADA))


# --- requesting a refund ---------------------------------------------------------------------


def test_request_refund(
    refunds: RefundService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    view = refunds.request_refund(
        "100104", customer_id(ADA), reason="  too\nsmall ", actor="agent", conversation_id="c-r"
    )
    # Requested Monday 2 June: 5 working days later is Monday 9 June.
    assert view == RefundView(
        "100104", 10900, "£109.00", "requested", date(2025, 6, 2), None, date(2025, 6, 9)
    )
    assert _refund_rows(sessions, "100104") == [(10900, "requested", "return: too small")]
    [row] = audit_rows()
    assert (row.action, row.entity, row.entity_id, row.actor, row.conversation_id, row.at) == (
        "refund.request",
        "order",
        "100104",
        "agent",
        "c-r",
        clock_now,
    )
    assert row.before is None
    assert row.after is not None
    assert (row.after["status"], row.after["amount_pence"], row.after["return_charge_pence"]) == (
        "requested",
        10900,
        0,
    )


def test_request_twice_is_already_refunded(
    refunds: RefundService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ada = customer_id(ADA)
    refunds.request_refund("100104", ada, reason="order changed", actor="a", conversation_id=None)
    with pytest.raises(RefundNotAllowed) as caught:
        refunds.request_refund("100104", ada, reason="again", actor="a", conversation_id=None)
    assert caught.value.reason == "already_refunded"
    assert refunds.eligibility("100104", ada) == RefundEligibility(
        "100104", False, "already_refunded", 0, date(2025, 6, 15)
    )
    # Even a customer reason of "order changed" is a return, not an order-change adjustment.
    assert _refund_rows(sessions, "100104") == [(10900, "requested", "return: order changed")]
    assert len(audit_rows()) == 1


def test_eu_return_twice_is_already_refunded(
    refunds: RefundService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    grace = customer_id(GRACE)
    _deliver(sessions, "100202", at(2025, 6, 2, 8))
    first = refunds.request_refund("100202", grace, reason="r", actor="a", conversation_id=None)
    assert (first.amount_pence, first.amount_display) == (4705, "£47.05")
    # What stays with us is the £6.95 return charge: nothing more to refund.
    with pytest.raises(RefundNotAllowed) as caught:
        refunds.request_refund("100202", grace, reason="r", actor="a", conversation_id=None)
    assert caught.value.reason == "already_refunded"


@pytest.mark.parametrize(
    ("number", "reason"),
    [("100101", "not_delivered"), ("100103", "not_delivered"),
     ("100105", "cancelled_refunded_automatically")],
)  # fmt: skip
def test_request_refused_writes_nothing(
    refunds: RefundService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
    number: str,
    reason: str,
) -> None:
    with pytest.raises(RefundNotAllowed) as caught:
        refunds.request_refund(
            number, customer_id(ADA), reason="r", actor="a", conversation_id=None
        )
    assert caught.value.reason == reason
    assert _refund_rows(sessions, number) == []
    assert audit_rows() == []


def test_request_after_the_window_is_refused(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    late = RefundService(sessions, clock=lambda: at(2025, 6, 6))
    with pytest.raises(RefundNotAllowed) as caught:
        late.request_refund(
            "100301", customer_id(ALAN), reason="r", actor="a", conversation_id=None
        )
    assert caught.value.reason == "window_passed"


def test_request_for_someone_elses_order_is_not_found(
    refunds: RefundService,
    sessions: sessionmaker[Session],
    customer_id: Callable[[str], int],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    with pytest.raises(OrderNotFound):
        refunds.request_refund(
            "100301", customer_id(ADA), reason="r", actor="a", conversation_id=None
        )
    assert _refund_rows(sessions, "100301") == []
    assert audit_rows() == []


def test_long_reason_is_cut_to_the_column(
    refunds: RefundService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    refunds.request_refund(
        "100104", customer_id(ADA), reason="x" * 500, actor="a", conversation_id=None
    )
    [(_, _, stored)] = _refund_rows(sessions, "100104")
    assert stored == "return: " + "x" * (255 - len("return: "))


def test_concurrent_requests_create_one_refund(
    refunds: RefundService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    ada = customer_id(ADA)
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    outcomes: list[object] = []
    lock = threading.Lock()

    def request() -> None:
        barrier.wait()
        try:
            result: object = refunds.request_refund(
                "100104", ada, reason="r", actor="a", conversation_id=None
            )
        except Exception as exc:  # handed back to the test
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=request) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    done = [o for o in outcomes if isinstance(o, RefundView)]
    refused = [o for o in outcomes if isinstance(o, RefundNotAllowed)]
    assert (len(done), len(refused)) == (1, threads_count - 1), outcomes
    assert {r.reason for r in refused} == {"already_refunded"}
    assert _refund_rows(sessions, "100104") == [(10900, "requested", "return: r")]


# --- following refunds up ----------------------------------------------------------------------


def test_list_refunds(
    refunds: RefundService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    ada = customer_id(ADA)
    assert refunds.list_refunds(ada) == []  # her cancelled order was never paid
    refunds.request_refund("100104", ada, reason="r", actor="a", conversation_id=None)
    assert refunds.list_refunds(ada) == [
        RefundView(
            "100104", 10900, "£109.00", "requested", date(2025, 6, 2), None, date(2025, 6, 9)
        )
    ]
    assert refunds.list_refunds(ada, order_number="100104") == refunds.list_refunds(ada)
    assert refunds.list_refunds(ada, order_number="100102") == []
    assert refunds.list_refunds(ada, order_number="518453") == []  # Harry's
    assert refunds.list_refunds(ada, order_number="??") == []


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        # Paid: a completion date and no "expected by".
        (
            HARRY,
            RefundView("518453", 2650, "£26.50", "paid", date(2025, 5, 9), date(2025, 5, 13), None),
        ),
        # Requested on Saturday 22 March: 5 working days later is Friday 28 March.
        (
            CIAN,
            RefundView(
                "227359", 1250, "£12.50", "requested", date(2025, 3, 22), None, date(2025, 3, 28)
            ),
        ),
        (
            LUCY,
            RefundView(
                "228857", 2700, "£27.00", "approved", date(2025, 3, 23), None, date(2025, 3, 28)
            ),
        ),
        (
            FELIX,
            RefundView(
                "283273", 4500, "£45.00", "rejected", date(2025, 4, 10), date(2025, 4, 14), None
            ),
        ),
    ],
)
def test_list_refunds_in_each_state(
    refunds: RefundService,
    customer_id: Callable[[str], int],
    email: str,
    expected: RefundView,
) -> None:
    assert refunds.list_refunds(customer_id(email)) == [expected]


def test_list_refunds_newest_first_and_expected_by_skips_bank_holidays(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    grace = customer_id(GRACE)
    _deliver(sessions, "100202", at(2025, 8, 20))
    # Friday 22 August 2025: Monday 25th is a bank holiday, so 5 working days end 1 September.
    august = RefundService(sessions, clock=lambda: at(2025, 8, 22, 9))
    august.request_refund("100202", grace, reason="r", actor="a", conversation_id=None)
    # An "order changed" refund on the paid order, requested on 2 June.
    OrderService(sessions, site_url=DEFAULTS.site_url, clock=lambda: at(2025, 6, 2)).change_item(
        "100201", grace, sku="KIT-008", quantity=0, actor="a", conversation_id=None
    )
    listed = august.list_refunds(grace)
    assert [(r.order_number, r.amount_pence, r.requested_on, r.expected_by) for r in listed] == [
        ("100202", 4705, date(2025, 8, 22), date(2025, 9, 1)),
        ("100201", 2800, date(2025, 6, 2), date(2025, 6, 9)),
    ]
