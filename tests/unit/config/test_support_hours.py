"""Support hours (config/support_hours.py): who is on duty when, across days and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.support_hours import SupportHours

LONDON = "Europe/London"
SHOP = SupportHours.parse("Mon-Fri 08:00-20:00, Sat 09:00-17:00", LONDON)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-23T07:59", False),  # Monday, GMT: 07:59 in London
        ("2026-11-23T08:00", True),
        ("2026-11-23T19:59", True),
        ("2026-11-23T20:00", False),
        ("2026-11-28T09:30", True),  # Saturday
        ("2026-11-28T17:00", False),
        ("2026-11-29T12:00", False),  # Sunday
        ("2026-07-06T07:30", True),  # Monday in summer: 08:30 in London (BST)
        ("2026-07-06T19:30", False),  # 20:30 BST
    ],
)
def test_on_duty_is_read_in_the_shops_time_zone(moment: str, open_: bool) -> None:
    assert SHOP.is_open(at(moment)) is open_


def test_the_next_opening_is_the_next_span_start() -> None:
    saturday_evening = at("2026-11-28T18:00")
    assert SHOP.next_opening(saturday_evening) == datetime.fromisoformat(
        "2026-11-30T08:00"
    ).replace(tzinfo=SHOP.zone)
    friday_morning = at("2026-11-27T06:00")
    assert SHOP.next_opening(friday_morning).hour == 8  # type: ignore[union-attr]
    assert SHOP.next_opening(friday_morning).day == 27  # type: ignore[union-attr]


def test_no_hours_means_nobody_is_ever_on_duty() -> None:
    never = SupportHours.parse("", LONDON)
    assert not never.is_open(at("2026-11-23T12:00"))
    assert never.next_opening(at("2026-11-23T12:00")) is None


def test_midnight_closes_a_day_and_single_days_work() -> None:
    always = SupportHours.parse("Mon-Sun 00:00-24:00", "UTC")
    assert always.is_open(at("2026-11-29T23:59"))
    sunday = SupportHours.parse("sun 10:00-12:00", "UTC")
    assert sunday.is_open(at("2026-11-29T11:00")) and not sunday.is_open(at("2026-11-28T11:00"))


@pytest.mark.parametrize(
    ("hours", "zone", "complaint"),
    [
        ("Mon-Fri 8-20", LONDON, "cannot read"),
        ("Mon-Fry 08:00-20:00", LONDON, "cannot read"),
        ("Fri-Mon 08:00-20:00", LONDON, "ends before it starts"),
        ("Mon 20:00-08:00", LONDON, "ends before it starts"),
        ("Mon 08:00-25:00", LONDON, "not a time of day"),
        ("Mon 08:00-20:00", "Mars/Olympus", "not a time zone"),
    ],
)
def test_a_wrong_setting_says_what_is_wrong(hours: str, zone: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        SupportHours.parse(hours, zone)
