"""Purchase propensity in the console: the panel's score and reasons, the likely-buyers page,
its filters and its formula-safe CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from console.likely_buyers import BadFilter, parse_filter, safe_cell, to_csv
from console.web import pages
from crm.desk.staff import StaffMember
from crm.insights.scores import BuyerFilter, CustomerPropensity, LikelyBuyer, ScoreReason
from crm.records.delivery import UK_TIME

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)
SUE = StaffMember(1, "sue@larkspur.test", "Sue", "supervisor", "general")
PROPENSITY = CustomerPropensity(
    customer_id=7,
    score=0.734,
    reasons=(
        ScoreReason("days since the last order", 12.0, 0.81),
        ScoreReason("mood of their support tickets (−1 to +1)", -0.62, -0.3),
        ScoreReason("newsletter subscriber (1 = yes)", 1.0, 0.12),
    ),
    model_version="abc",
    scored_at=NOW,
)


def panel(propensity: CustomerPropensity | None) -> str:
    customer = SimpleNamespace(conversations=())
    return (
        pages()
        .get_template("customer_history.html")
        .render(
            customer=customer,
            mood=[],
            mood_threshold=-0.3,
            refundable=(),
            mine=False,
            entry=SimpleNamespace(reference="HO-1"),
            csrf="t",
            propensity=propensity,
        )
    )


def test_the_panel_shows_the_score_its_reasons_and_when() -> None:
    html = panel(PROPENSITY)
    assert '<strong data-score="0.734">73 %</strong> chance of ordering in the next 30 days' in html
    assert 'days since the last order: 12 <span class="raises">raises it</span>' in html
    assert '(−1 to +1): -0.62 <span class="lowers">lowers it</span>' in html
    assert "02 Jun 2025 10:00" in html
    assert html.index("days since") < html.index("mood of") < html.index("newsletter")
    assert "Not scored yet." in panel(None)


def test_filters_are_read_from_the_query_and_refused_when_wrong() -> None:
    assert parse_filter({}) == BuyerFilter()
    assert parse_filter({"min": "40", "ordered": "yes", "newsletter": "no", "q": " ada  l "}) == (
        BuyerFilter(0.4, True, False, "ada l")
    )
    for bad in ({"min": "abc"}, {"min": "101"}, {"ordered": "maybe"}, {"q": "x" * 101}):
        with pytest.raises(BadFilter):
            parse_filter(bad)


def buyer(name: str, email: str) -> LikelyBuyer:
    return LikelyBuyer(7, name, email, PROPENSITY, 3, True)


def test_the_csv_is_quoted_and_cannot_run_formulas() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+44", "-2", "@SUM(A1)", "\tx", "Ada", 73.4)] == [
        "'=1+1",
        "'+44",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "Ada",
        "73.4",
    ]
    text = to_csv([buyer('=HYPERLINK("http://evil")', "a,b@example.com")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["customer_id", "name", "email", "score_percent"]
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert rows[1][2] == "a,b@example.com"  # quoted, stays one cell
    assert rows[1][3:6] == ["73.4", "3", "yes"]
    assert rows[1][7] == "days since the last order: 12 (raises)"
    assert rows[1][8] == "mood of their support tickets (−1 to +1): -0.62 (lowers)"


def test_the_page_lists_buyers_escaped_with_the_filters_kept() -> None:
    from console.likely_buyers import reason_text

    html = (
        pages()
        .get_template("likely_buyers.html")
        .render(
            member=SUE,
            csrf="t",
            buyers=[buyer("<b>Eve</b>", "eve@example.com")],
            total=1,
            page_rows=200,
            filters=BuyerFilter(0.4, True, None, "eve"),
            query="min=40&ordered=yes&q=eve",
            reason_text=reason_text,
            uk_time=UK_TIME,
        )
    )
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html and "<b>Eve</b>" not in html
    assert (
        'href="/supervisor/likely-buyers?min=40&amp;ordered=yes&amp;q=eve&amp;format=csv"' in html
    )
    assert 'name="min" type="number" min="0" max="100" step="1" value="40"' in html
    assert '<option value="yes" selected>Yes</option>' in html
    assert "73 %" in html and "days since the last order: 12 (raises)" in html
