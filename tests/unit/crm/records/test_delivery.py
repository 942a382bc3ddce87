"""Delivery rules (pure functions) and the delivery estimate / cancellation quote of orders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crm.records.delivery import (
    BANK_HOLIDAY_YEARS,
    ENGLAND_BANK_HOLIDAYS,
    METHODS,
    Destination,
    add_working_days,
    default_method,
    delivery_cost_pence,
    delivery_window,
    destination,
    dispatch_day,
    is_working_day,
    method_for,
    methods_to,
    return_cost_pence,
    return_deadline,
    transit_window,
    uk_date,
)
from crm.records.errors import DeliveryMethodUnavailable, OrderNotFound, UnknownDeliveryMethod
from crm.records.models import Order
from crm.records.orders import OrderService
from crm.records.views import CancellationQuote, DeliveryEstimate
from crm.tools.demo import SeedReport
from tests.conftest import DEFAULTS

ADA = "ada@example.com"
GRACE = "grace@example.org"
UTC = timezone.utc
BST = timezone(timedelta(hours=1))  # UK summer time, for writing UK wall-clock times


def at(year: int, month: int, day: int, hour: int, minute: int = 0, tz: timezone = UTC) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


# --- working days -----------------------------------------------------------------------------


def test_bank_holidays_are_eight_weekdays_a_year() -> None:
    for year in BANK_HOLIDAY_YEARS:
        days = sorted(day for day in ENGLAND_BANK_HOLIDAYS if day.year == year)
        assert len(days) == 8, year
        assert all(day.weekday() < 5 for day in days), days
    assert date(2026, 12, 28) in ENGLAND_BANK_HOLIDAYS  # Boxing Day 2026 is a Saturday
    assert {date(2027, 12, 27), date(2027, 12, 28)} <= ENGLAND_BANK_HOLIDAYS  # Sat + Sun


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 6, 5), 3, date(2025, 6, 10)),  # the article: ships Thursday, +3 -> Tuesday
        (date(2025, 6, 2), 0, date(2025, 6, 2)),
        (date(2025, 6, 6), 1, date(2025, 6, 9)),  # Friday -> Monday
        (date(2025, 6, 7), 1, date(2025, 6, 9)),  # Saturday -> Monday
        (date(2025, 4, 17), 1, date(2025, 4, 22)),  # Good Friday and Easter Monday
        (date(2025, 5, 2), 1, date(2025, 5, 6)),  # early May bank holiday
        (date(2025, 12, 24), 1, date(2025, 12, 29)),  # Christmas and Boxing Day, then weekend
        (date(2026, 12, 24), 1, date(2026, 12, 29)),  # Boxing Day substitute on Monday 28th
        (date(2027, 12, 24), 1, date(2027, 12, 29)),  # both substitute days, 27th and 28th
        (date(2025, 8, 20), 5, date(2025, 8, 28)),  # summer bank holiday inside the span
        (date(2026, 3, 30), 5, date(2026, 4, 8)),  # Easter 2026 inside the span
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days) == expected


def test_working_days() -> None:
    assert is_working_day(date(2025, 6, 2))
    assert not is_working_day(date(2025, 6, 7))  # Saturday
    assert not is_working_day(date(2025, 6, 8))  # Sunday
    assert not is_working_day(date(2025, 8, 25))  # summer bank holiday
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2025, 6, 2), -1)


# --- the 14:00 cut-off, in UK time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordered_at", "arrives"),
    [
        # The article's examples (4 June 2025 is a Wednesday; UK time is BST, UTC+1).
        (at(2025, 6, 4, 13, 30, BST), date(2025, 6, 5)),  # 1:30 pm Wednesday -> Thursday
        (at(2025, 6, 4, 14, 30, BST), date(2025, 6, 6)),  # 2:30 pm Wednesday -> Friday
        (at(2025, 6, 7, 10, 0, BST), date(2025, 6, 10)),  # Saturday -> Tuesday
        (at(2025, 6, 8, 10, 0, BST), date(2025, 6, 10)),  # Sunday -> Tuesday
        (at(2025, 6, 6, 16, 0, BST), date(2025, 6, 10)),  # 4 pm Friday -> Tuesday
        (at(2025, 6, 4, 14, 0, BST), date(2025, 6, 6)),  # 14:00 is not "before 2 pm"
        (at(2025, 6, 4, 13, 59, BST), date(2025, 6, 5)),
        # 13:30 UTC in June is 14:30 in the UK: after the cut-off.
        (at(2025, 6, 4, 13, 30, UTC), date(2025, 6, 6)),
        # 13:30 UTC in January is 13:30 in the UK (GMT): before it.
        (at(2025, 1, 15, 13, 30, UTC), date(2025, 1, 16)),
        # Another zone: 15:30 in Paris is 14:30 in London.
        (at(2025, 6, 4, 15, 30, timezone(timedelta(hours=2))), date(2025, 6, 6)),
        # Before the cut-off on Maundy Thursday: next working day is Tuesday after Easter.
        (at(2025, 4, 17, 9, 0, BST), date(2025, 4, 22)),
    ],
)
def test_uk_express_cut_off(ordered_at: datetime, arrives: date) -> None:
    assert delivery_window("UK Express", ordered_at) == (arrives, arrives)


def test_dispatch_day() -> None:
    assert dispatch_day(at(2025, 6, 2, 11, 0, BST)) == date(2025, 6, 2)
    assert dispatch_day(at(2025, 6, 2, 15, 0, BST)) == date(2025, 6, 3)
    assert dispatch_day(at(2025, 8, 22, 15, 0, BST)) == date(2025, 8, 26)  # Fri before bank hol
    with pytest.raises(ValueError, match="naive"):
        dispatch_day(datetime(2025, 6, 2, 11, 0))  # naive: the point of the test


@pytest.mark.parametrize(
    ("method", "window"),
    [
        ("UK Standard", (date(2025, 6, 5), date(2025, 6, 9))),  # 3–5 working days
        ("UK Express", (date(2025, 6, 3), date(2025, 6, 3))),
        ("EU Standard", (date(2025, 6, 9), date(2025, 6, 12))),  # 5–8
        ("EU Express", (date(2025, 6, 4), date(2025, 6, 6))),  # 2–4
        ("Large item courier", (date(2025, 6, 9), date(2025, 6, 16))),  # 5–10
    ],
)
def test_windows_from_a_monday_morning(method: str, window: tuple[date, date]) -> None:
    assert delivery_window(method, at(2025, 6, 2, 11, 0, BST)) == window


def test_window_with_a_bank_holiday_and_aliases() -> None:
    # Wednesday 20 August 2025: the summer bank holiday (25th) pushes both ends back a day.
    ordered = at(2025, 8, 20, 10, 0, BST)
    assert delivery_window("UK Standard", ordered) == (date(2025, 8, 26), date(2025, 8, 28))
    assert delivery_window("standard", ordered, country="GB") == (
        date(2025, 8, 26),
        date(2025, 8, 28),
    )
    assert delivery_window("express", ordered, country="FR") == (
        date(2025, 8, 22),
        date(2025, 8, 27),
    )
    assert transit_window("UK Standard", date(2025, 6, 1)) == (date(2025, 6, 4), date(2025, 6, 6))


# --- costs and methods ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "goods", "cost"),
    [
        ("UK Standard", 1000, 395),
        ("UK Standard", 4999, 395),
        # "Free on orders over £50" (shipping-uk-delivery-options): exactly £50 is not over.
        ("UK Standard", 5000, 395),
        ("UK Standard", 5001, 0),
        ("UK Standard", 20000, 0),
        ("UK Express", 1000, 795),
        ("UK Express", 20000, 795),  # the threshold is for UK Standard only
        ("EU Standard", 20000, 995),  # no free delivery to the EU
        ("EU Express", 20000, 1995),
        ("Large item courier", 20000, 2900),  # not for Panther either
    ],
)
def test_delivery_cost(method: str, goods: int, cost: int) -> None:
    assert delivery_cost_pence(method, goods) == cost


def test_method_data_matches_the_articles() -> None:
    table = {
        name: (m.carrier, m.min_days, m.max_days, m.price_pence, sorted(m.countries))
        for name, m in METHODS.items()
    }
    assert table == {
        "UK Standard": ("Royal Mail", 3, 5, 395, ["GB"]),
        "UK Express": ("DPD", 1, 1, 795, ["GB"]),
        "EU Standard": ("DPD", 5, 8, 995, ["DE", "FR", "IE", "NL"]),
        "EU Express": ("DPD", 2, 4, 1995, ["DE", "FR", "IE", "NL"]),
        "Large item courier": ("Panther", 5, 10, 2900, ["GB"]),
    }


@pytest.mark.parametrize(
    ("name", "country", "expected"),
    [
        ("standard", "GB", "UK Standard"),  # the names the demo orders store
        ("standard", "FR", "EU Standard"),
        ("express", "GB", "UK Express"),
        ("express", "IE", "EU Express"),
        ("uk standard", None, "UK Standard"),
        ("  Large item courier ", "GB", "Large item courier"),
    ],
)
def test_method_for(name: str, country: str | None, expected: str) -> None:
    assert method_for(name, country).name == expected


def test_method_for_refuses() -> None:
    with pytest.raises(UnknownDeliveryMethod):
        method_for("standard")  # UK or EU? needs the country
    with pytest.raises(UnknownDeliveryMethod):
        method_for("carrier pigeon", "GB")
    with pytest.raises(DeliveryMethodUnavailable) as caught:
        method_for("Large item courier", "FR")  # Panther is UK only
    assert (caught.value.method, caught.value.country) == ("Large item courier", "FR")
    with pytest.raises(DeliveryMethodUnavailable):
        method_for("UK Express", "DE")


def test_default_method() -> None:
    assert default_method("GB") == "UK Standard"
    assert [default_method(c) for c in ("IE", "DE", "FR", "NL")] == ["EU Standard"] * 4
    with pytest.raises(DeliveryMethodUnavailable):
        default_method("ES")


def test_returns_rules() -> None:
    assert return_cost_pence("GB") == 0
    assert [return_cost_pence(c) for c in ("IE", "DE", "FR", "NL")] == [695] * 4
    # 23:30 UTC on 5 June is already 6 June in the UK: the 30 days count from the UK date.
    assert uk_date(at(2025, 6, 5, 23, 30)) == date(2025, 6, 6)
    assert return_deadline(at(2025, 6, 5, 23, 30)) == date(2025, 7, 6)
    assert return_deadline(at(2025, 1, 5, 23, 30)) == date(2025, 2, 4)  # GMT: same day


# --- estimates and quotes of real orders --------------------------------------------------------


def june(day: int) -> date:
    return date(2025, 6, day)


def may(day: int) -> date:
    return date(2025, 5, day)


@pytest.fixture
def orders(
    sessions: sessionmaker[Session], seeded: SeedReport, clock: Callable[[], datetime]
) -> OrderService:
    return OrderService(sessions, site_url=DEFAULTS.site_url, clock=clock)


def _set(sessions: sessionmaker[Session], number: str, **values: object) -> None:
    with sessions.begin() as session:
        session.execute(update(Order).where(Order.number == number).values(**values))


# CLOCK_NOW is Monday 2 June 2025, 11:00 UK time: before the cut-off.
@pytest.mark.parametrize(
    ("email", "expected"),
    [
        (ADA, DeliveryEstimate("100101", "placed", "UK Standard", june(5), june(9), None, "rules")),
        (ADA, DeliveryEstimate("100102", "paid", "UK Standard", june(5), june(9), None, "rules")),
        # The carrier's estimate for a shipped order (seeded as today + 2 days).
        (
            ADA,
            DeliveryEstimate("100103", "shipped", "UK Standard", june(4), june(4), None, "carrier"),
        ),
        (
            ADA,
            DeliveryEstimate(
                "100104", "delivered", "UK Standard", None, None, may(16), "delivered"
            ),
        ),
        (
            ADA,
            DeliveryEstimate("100105", "cancelled", "UK Standard", None, None, None, "cancelled"),
        ),
        # Grace's paid order goes by express to Paris, which is EU Express: 2–4 working days.
        (GRACE, DeliveryEstimate("100201", "paid", "EU Express", june(4), june(6), None, "rules")),
        (
            GRACE,
            DeliveryEstimate("100202", "shipped", "EU Standard", june(3), june(3), None, "carrier"),
        ),
    ],
)
def test_delivery_estimate_for_each_status(
    orders: OrderService,
    customer_id: Callable[[str], int],
    email: str,
    expected: DeliveryEstimate,
) -> None:
    assert orders.delivery_estimate(expected.order_number, customer_id(email)) == expected


def test_estimate_of_shipped_order_without_carrier_estimate_uses_the_rules(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    # 100103 shipped on Sunday 1 June (09:30 UTC): 3–5 working days from then.
    _set(sessions, "100103", estimated_delivery=None)
    estimate = orders.delivery_estimate("100103", customer_id(ADA))
    assert (estimate.basis, estimate.earliest, estimate.latest) == (
        "rules",
        date(2025, 6, 4),
        date(2025, 6, 6),
    )


def test_estimate_after_the_cut_off_counts_from_the_next_working_day(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    friday_afternoon = OrderService(
        sessions, site_url=DEFAULTS.site_url, clock=lambda: at(2025, 6, 6, 15, 0)
    )  # 16:00 UK
    estimate = friday_afternoon.delivery_estimate("100101", customer_id(ADA))
    assert (estimate.earliest, estimate.latest) == (date(2025, 6, 12), date(2025, 6, 16))


def test_estimate_counts_from_placed_at_when_that_is_later_than_now(
    sessions: sessionmaker[Session], seeded: SeedReport, customer_id: Callable[[str], int]
) -> None:
    # A clock before the order was placed (Friday 30 May) must not pull the window earlier:
    # counting from Friday would give Wednesday 4 June; from placed_at (Monday 2 June) Thursday.
    early = OrderService(sessions, site_url=DEFAULTS.site_url, clock=lambda: at(2025, 5, 30, 10, 0))
    estimate = early.delivery_estimate("100101", customer_id(ADA))
    assert (estimate.earliest, estimate.latest) == (date(2025, 6, 5), date(2025, 6, 9))


def test_estimate_of_someone_elses_order_is_not_found(
    orders: OrderService, customer_id: Callable[[str], int]
) -> None:
    for number in ("100201", "999999", "nonsense"):
        with pytest.raises(OrderNotFound):
            orders.delivery_estimate(number, customer_id(ADA))


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        (ADA, CancellationQuote("100101", "placed", 0, "cancel", None, None)),
        (ADA, CancellationQuote("100102", "paid", 0, "cancel", None, None)),
        # Shipped: return instead, free from the UK; the deadline is unknown until delivery.
        (ADA, CancellationQuote("100103", "shipped", 0, "return", 0, None)),
        # Delivered on 16 May: returnable until 15 June.
        (ADA, CancellationQuote("100104", "delivered", 0, "return", 0, date(2025, 6, 15))),
        (ADA, CancellationQuote("100105", "cancelled", 0, "none", None, None)),
        (GRACE, CancellationQuote("100201", "paid", 0, "cancel", None, None)),
        # Returns from France cost £6.95.
        (GRACE, CancellationQuote("100202", "shipped", 0, "return", 695, None)),
    ],
)
def test_cancellation_quote_for_each_status(
    orders: OrderService,
    customer_id: Callable[[str], int],
    email: str,
    expected: CancellationQuote,
) -> None:
    assert orders.cancellation_quote(expected.order_number, customer_id(email)) == expected


def test_cancellation_quote_of_delivered_eu_order(
    orders: OrderService, sessions: sessionmaker[Session], customer_id: Callable[[str], int]
) -> None:
    _set(sessions, "100202", status="delivered", delivered_at=at(2025, 6, 2, 8, 0))
    quote = orders.cancellation_quote("100202", customer_id(GRACE))
    assert (quote.route, quote.return_cost_pence, quote.return_deadline) == (
        "return",
        695,
        date(2025, 7, 2),
    )


def test_cancellation_quote_of_someone_elses_order_is_not_found(
    orders: OrderService, customer_id: Callable[[str], int]
) -> None:
    with pytest.raises(OrderNotFound):
        orders.cancellation_quote("100104", customer_id(GRACE))


@pytest.mark.parametrize(
    ("place", "name", "country"),
    [
        ("Germany", "Germany", "DE"),
        ("the netherlands", "the Netherlands", "NL"),
        ("the UK", "the UK", "GB"),
        ("Northern Ireland", "Northern Ireland", "GB"),
        ("Republic of Ireland", "Ireland", "IE"),
        ("dublin", "Dublin, Ireland", "IE"),
        ("Spain", "Spain", None),
        ("the us", "the United States", None),
    ],
)
def test_a_place_is_read_as_a_destination_we_serve_or_do_not(
    place: str, name: str, country: str | None
) -> None:
    assert destination(place) == Destination(name=name, country=country)


def test_a_place_we_cannot_place_is_left_to_the_help_centre() -> None:
    assert destination("the channel islands") is None
    assert destination("europe") is None


def test_the_services_to_a_country_are_those_that_serve_it() -> None:
    assert [m.name for m in methods_to("IE")] == ["EU Standard", "EU Express"]
    assert "Large item courier" in [m.name for m in methods_to("GB")]
    assert methods_to("ES") == []
