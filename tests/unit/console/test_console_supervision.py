"""The supervisor page: figures as people read them, and every cell its script can refresh."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from console.supervision import display, duration, report_json
from console.web import pages
from crm.desk.staff import StaffMember
from crm.desk.supervision import PERIOD_LABELS, StaffFigures, SupervisorReport, TeamQueue

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)
SUE = StaffMember(1, "sue@larkspur.test", "Sue", "supervisor", "general")


def figures(staff_id: int | None, name: str, handled: int, csat: float | None) -> StaffFigures:
    return StaffFigures(staff_id, name, "general", handled, 1, 0, 0, 905.0, csat, 2 if csat else 0)


REPORT = SupervisorReport(
    period="7d",
    since=datetime(2025, 5, 26, 10, 0, tzinfo=timezone.utc),
    at=NOW,
    queues=(TeamQueue("general", 2, 1, 1800.0), TeamQueue("billing", 0, 0, None)),
    waiting=2,
    claimed=1,
    longest_wait_s=1800.0,
    claims=4,
    median_wait_s=45.0,
    p90_wait_s=7620.0,
    staff=(figures(7, "Priya", 3, 4.333), figures(9, "Tom", 0, None)),
    totals=figures(None, "All staff", 3, 4.333),
    capped=False,
)


def test_durations_read_naturally() -> None:
    assert [duration(s) for s in (None, 0, 44.6, 60, 905, 3599, 3600, 7620)] == [
        "–",
        "0 s",
        "45 s",
        "1 min 00 s",
        "15 min 05 s",
        "59 min 59 s",
        "1 h 00 min",
        "2 h 07 min",
    ]


def test_the_page_shows_every_figure_and_the_script_can_refresh_each_cell() -> None:
    html = (
        pages()
        .get_template("supervisor.html")
        .render(
            member=SUE,
            csrf="token",
            report=REPORT,
            periods=PERIOD_LABELS,
            texts=display(REPORT),
            refresh_s=15,
        )
    )
    cells = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', html))
    texts = report_json(REPORT)["display"]
    assert cells == {key: texts[key] for key in cells}  # each cell shows its JSON text
    assert set(texts) - set(cells) == {"since"}  # and every JSON text has its cell
    assert cells["staff.7.csat"] == "4.3 (2)" and cells["staff.9.csat"] == "–"
    assert cells["queue.general.longest_wait"] == "30 min 00 s"
    assert cells["p90_wait"] == "2 h 07 min" and cells["at"] == "11:00:00"  # London, BST
    assert 'aria-current="page">Last 7 days<' in html
