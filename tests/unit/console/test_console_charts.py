"""The dashboard's SVG charts as data: proportional, titled, gaps where there is no value."""

from __future__ import annotations

from datetime import date

import pytest

from console.charts import bars, lines, nice_max, stacked_bars


def test_stacked_bars_are_proportional_and_titled() -> None:
    chart = stacked_bars("c", "Conversations", ["Mon", "Tue"], [("web", [2, 0]), ("sms", [2, 1])])
    heights = {r.title: r.height for r in chart.rects}
    assert set(heights) == {"Mon, web: 2", "Mon, sms: 2", "Tue, sms: 1"}  # no bar for a zero
    assert heights["Mon, web: 2"] == pytest.approx(2 * heights["Tue, sms: 1"])
    mon = [r for r in chart.rects if r.title.startswith("Mon")]
    assert mon[1].y + mon[1].height == pytest.approx(mon[0].y)  # stacked, not overlapping
    assert chart.rows == (("Mon", "2", "2", "4"), ("Tue", "0", "1", "1"))


def test_a_day_without_a_value_leaves_a_gap_in_the_line() -> None:
    days = [date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)]
    chart = lines("r", "Rates", days, [("Fallback", [0.5, None, 0.25])])
    points = chart.lines[0].points
    assert [p.title for p in points] == ["01 Jun, Fallback: 50%", "03 Jun, Fallback: 25%"]
    assert points[0].y < points[1].y  # higher rates are drawn higher
    assert chart.rows[1] == ("02 Jun", "–")
    empty = lines("e", "Nothing", days, [("x", [None, None, None])])
    assert empty.empty


def test_bars_are_as_long_as_their_share_and_a_zero_has_none() -> None:
    chart = bars("b", "Reasons", [("late", 3), ("broken", 1), ("other", 0)], share_of=4)
    assert [r.title for r in chart.rects] == ["late: 3 (75%)", "broken: 1 (25%)"]
    assert chart.rects[0].width == pytest.approx(3 * chart.rects[1].width)
    assert chart.rows == (("late", "3", "75.0%"), ("broken", "1", "25.0%"), ("other", "0", "0.0%"))
    assert bars("z", "Nothing", [("a", 0)]).empty


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 4.0), (3, 4.0), (4, 4.0), (7, 8.0), (9, 20.0), (33, 40.0), (90, 100.0), (180, 200.0)],
)
def test_the_axis_top_is_a_round_number_at_least_the_value(value: float, top: float) -> None:
    assert nice_max(value) == top
