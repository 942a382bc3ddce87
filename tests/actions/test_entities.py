"""Periods and amounts from what the NLU marked as a date or an amount."""

from datetime import date

import pytest

from actions.entities import Period, parse_amount, parse_period, price_ceiling

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("October", date(2026, 10, 1), date(2026, 10, 31), "October 2026"),
        ("December", date(2025, 12, 1), date(2025, 12, 31), "December 2025"),  # latest begun
        ("sept 2025", date(2025, 9, 1), date(2025, 9, 30), "September 2025"),
        ("may 2026", date(2026, 5, 1), date(2026, 5, 31), "May 2026"),
        ("last month", date(2026, 10, 1), date(2026, 10, 31), "October 2026"),
        ("this month", date(2026, 11, 1), TODAY, "1 Nov 2026 to 23 Nov 2026"),
        ("last week", date(2026, 11, 16), date(2026, 11, 22), "16 Nov 2026 to 22 Nov 2026"),
        ("this year", date(2026, 1, 1), TODAY, "1 Jan 2026 to 23 Nov 2026"),
        ("last year", date(2025, 1, 1), date(2025, 12, 31), "2025"),
        ("2025", date(2025, 1, 1), date(2025, 12, 31), "2025"),
        ("past 30 days", date(2026, 10, 24), TODAY, "24 Oct 2026 to 23 Nov 2026"),
        ("since 1 March 1 March March", date(2026, 3, 1), TODAY, "1 Mar 2026 to 23 Nov 2026"),
        ("12/10/2026 2026", date(2026, 10, 12), date(2026, 10, 12), "12 Oct 2026"),
        ("2026-02-03", date(2026, 2, 3), date(2026, 2, 3), "3 Feb 2026"),
        ("yesterday", date(2026, 11, 22), date(2026, 11, 22), "22 Nov 2026"),
    ],
)
def test_periods(text, start, end, label):
    period = parse_period(text, TODAY)
    assert period == Period(start, end)
    assert period.label == label


@pytest.mark.parametrize("text", ["", "may", "soon", "2027", "31/02/2026", "1 December 2026"])
def test_no_period_or_one_not_begun(text):
    assert parse_period(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "pence"),
    [("£54.90", 5490), ("€ 12", 1200), ("109 pounds", 10900), ("39,95 eur", 3995)],
)
def test_amounts(text, pence):
    assert parse_amount(text) == pence


def test_no_amount():
    assert parse_amount("54.90") is None


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("kitchen stuff, under 40 quid ideally", 4000),
        ("anything below £30?", 3000),
        ("£25 max", 2500),
        ("my budget is £50", 5000),
        ("something under 20", 2000),
        ("no more than 15.50 pounds", 1550),
    ],
)
def test_price_ceilings(text, pence):
    assert price_ceiling(text) == pence


@pytest.mark.parametrize(
    "text", ["a present for my 40th", "for 2 people", "lights for up to 8 hours", "£20 gift card"]
)
def test_no_price_ceiling(text):
    assert price_ceiling(text) is None
