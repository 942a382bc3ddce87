"""The supervisor view's figures, checked one by one on handoffs with known times.

The clock is CLOCK_NOW (2 June 2025, 10:00 UTC, 11:00 in London), so "today" began at 23:00 UTC
on 1 June: a claim at 23:30 UTC that day is today's, which a UTC-midnight cut would miss.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

import crm.desk.supervision
from crm.desk.staff import StaffMember, StaffService
from crm.desk.supervision import StaffFigures, Supervision, percentile, period_start
from crm.records.errors import SupervisorsOnly
from crm.records.models import HandoffRequest, StaffUser

UTC = timezone.utc


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def supervision(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Supervision:
    return Supervision(sessions, clock=clock)


@pytest.fixture
def team(sessions: sessionmaker[Session]) -> dict[str, StaffMember]:
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    people = {
        name: staff.create_member(
            email=f"{name.lower()}@larkspur.test",
            name=name,
            password="a long enough password",
            role=role,
            team=team,
            actor="test",
        )
        for name, role, team in (
            ("Priya", "agent", "general"),
            ("Tom", "agent", "billing"),
            ("Sue", "supervisor", "general"),
            ("Olga", "agent", "general"),  # leaves the team below
            ("Gone", "agent", "general"),  # removed below: their work stays in the totals
        )
    }
    return people


def add(
    sessions: sessionmaker[Session],
    reference: str,
    *,
    created: datetime,
    claimed: datetime | None = None,
    closed: datetime | None = None,
    outcome: str | None = None,
    csat: int | None = None,
    assignee: StaffMember | None = None,
    team: str = "general",
) -> None:
    status = "closed" if closed else "claimed" if claimed else "waiting"
    with sessions.begin() as session:
        session.add(
            HandoffRequest(
                reference=reference,
                conversation_id=f"c-{reference}",
                channel="web",
                reason="customer_request",
                transcript=[],
                status=status,
                created_at=created,
                team=team,
                assignee_id=assignee.id if assignee else None,
                claimed_at=claimed,
                closed_at=closed,
                outcome=outcome,
                csat_score=csat,
                csat_at=closed + timedelta(minutes=1) if csat and closed else None,
            )
        )


# reference, team, who holds it, created, claimed, closed, outcome, CSAT; then (wait, handling).
G, B, M5, M4 = "general", "billing", {"month": 5}, {"month": 4}
HANDOFFS = [
    # Today (since 1 June 23:00 UTC).
    ("H1", G, "Priya", at(2, 8), at(2, 8, 2), at(2, 8, 12), "resolved", 5),  # 120, 600
    ("H2", G, "Priya", at(2, 8, 30), at(2, 8, 40), at(2, 9), "not_resolved", 2),  # 600, 1200
    ("H3", G, "Priya", at(2, 9), at(2, 9, 1), None, None, None),  # 60, still open
    ("H4", B, "Tom", at(2, 7), at(2, 7, 30), at(2, 7, 40), "handed_back", None),  # 1800, 600
    ("H6", B, "Tom", at(1, 23, 20), at(1, 23, 30), at(2, 0), "resolved", 3),  # 600, 1800
    ("H9", G, "Gone", at(2, 9, 5), at(2, 9, 10), at(2, 9, 20), "resolved", None),  # 300, 600
    # Earlier this week.
    ("H5", G, "Priya", at(1, 12), at(1, 12, 5), at(1, 12, 35), "resolved", 4),  # 300, 1800
    ("H10", G, "Olga", at(30, 10, **M5), at(30, 10, 10, **M5), at(30, 10, 20, **M5),
     "resolved", None),  # 600, 600
    # Earlier this month, and before it (43 days ago: in no period).
    ("H7", G, "Priya", at(13, 9, **M5), at(13, 9, 15, **M5), at(13, 9, 20, **M5),
     "resolved", 1),  # 900, 300
    ("H8", G, "Priya", at(20, 9, **M4), at(20, 9, 1, **M4), at(20, 9, 2, **M4),
     "resolved", 5),
    # Waiting now.
    ("W1", G, None, at(2, 9, 50), None, None, None, None),
    ("W2", G, None, at(2, 9, 30), None, None, None, None),
    ("W3", B, None, at(2, 9, 55), None, None, None, None),
]  # fmt: skip


@pytest.fixture
def history(sessions: sessionmaker[Session], team: dict[str, StaffMember]) -> None:
    """HANDOFFS; then Olga leaves (deactivated) and Gone's account is deleted."""
    for reference, queue, holder, created, claimed, closed, outcome, csat in HANDOFFS:
        add(
            sessions,
            reference,
            created=created,
            claimed=claimed,
            closed=closed,
            outcome=outcome,
            csat=csat,
            assignee=team[holder] if holder else None,
            team=queue,
        )
    with sessions.begin() as session:
        olga = session.get(StaffUser, team["Olga"].id)
        gone = session.get(StaffUser, team["Gone"].id)
        assert olga is not None and gone is not None
        olga.active = False
        session.delete(gone)  # their handoffs' assignee_id becomes NULL (ON DELETE SET NULL)


def by_name(figures: tuple[StaffFigures, ...]) -> dict[str, StaffFigures]:
    return {f.name: f for f in figures}


def figures(f: StaffFigures) -> tuple[object, ...]:
    return (
        f.handled,
        f.resolved,
        f.not_resolved,
        f.handed_back,
        f.median_handling_s,
        f.csat_average,
        f.csat_ratings,
    )


def test_today_starts_at_midnight_in_the_uk(clock_now: datetime) -> None:
    assert period_start("today", clock_now) == at(1, 23)
    assert period_start("today", at(15, 12, month=1)) == at(15, 0, month=1)  # GMT in winter
    assert period_start("7d", clock_now) == at(26, 10, month=5)
    assert period_start("30d", clock_now) == at(3, 10, month=5)


def test_percentiles_interpolate_between_the_nearest_values() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([60, 120, 300, 600, 600, 1800], 0.5) == 450
    assert percentile([60, 120, 300, 600, 600, 1800], 0.9) == 1200
    assert percentile([4, 1, 3, 2], 0.5) == 2.5


@pytest.mark.usefixtures("history")
def test_the_queues_now(supervision: Supervision, team: dict[str, StaffMember]) -> None:
    report = supervision.report(team["Sue"], "30d")
    queues = {q.team: (q.waiting, q.claimed, q.longest_wait_s) for q in report.queues}
    assert queues == {
        "general": (2, 1, 1800.0),
        "billing": (1, 0, 300.0),
        "shipping": (0, 0, None),
        "technical": (0, 0, None),
        "account": (0, 0, None),
    }
    assert (report.waiting, report.claimed, report.longest_wait_s) == (3, 1, 1800.0)


@pytest.mark.usefixtures("history")
def test_today(supervision: Supervision, team: dict[str, StaffMember]) -> None:
    report = supervision.report(team["Sue"], "today")
    assert (report.period, report.since, report.at) == ("today", at(1, 23), at(2, 10))
    assert (report.claims, report.median_wait_s, report.p90_wait_s) == (6, 450.0, 1200.0)
    people = by_name(report.staff)
    # Olga left and handled nothing today; Gone's row is deleted. Sue handled nothing.
    assert list(people) == ["Priya", "Sue", "Tom"]
    assert figures(people["Priya"]) == (3, 1, 1, 0, 900.0, 3.5, 2)
    assert figures(people["Tom"]) == (2, 1, 0, 1, 1200.0, 3.0, 1)
    assert figures(people["Sue"]) == (0, 0, 0, 0, None, None, 0)
    assert people["Priya"].team == "general" and people["Tom"].team == "billing"
    assert report.totals.name == "All staff" and report.totals.staff_id is None
    assert figures(report.totals) == (6, 3, 1, 1, 600.0, pytest.approx(10 / 3), 3)
    assert report.capped is False


@pytest.mark.usefixtures("history")
def test_the_last_seven_days(supervision: Supervision, team: dict[str, StaffMember]) -> None:
    report = supervision.report(team["Sue"], "7d")
    assert (report.claims, report.median_wait_s, report.p90_wait_s) == (
        8,
        450.0,
        pytest.approx(960.0),
    )
    people = by_name(report.staff)
    assert list(people) == ["Olga", "Priya", "Sue", "Tom"]  # Olga left, but worked this week
    assert figures(people["Priya"]) == (4, 2, 1, 0, 1200.0, pytest.approx(11 / 3), 3)
    assert figures(people["Olga"]) == (1, 1, 0, 0, 600.0, None, 0)
    assert figures(people["Tom"]) == (2, 1, 0, 1, 1200.0, 3.0, 1)
    assert figures(report.totals) == (8, 5, 1, 1, 600.0, 3.5, 4)


@pytest.mark.usefixtures("history")
def test_the_last_thirty_days(supervision: Supervision, team: dict[str, StaffMember]) -> None:
    report = supervision.report(team["Sue"], "30d")
    assert report.claims == 9  # H8, 43 days ago, is in no period
    assert (report.median_wait_s, report.p90_wait_s) == (600.0, pytest.approx(1080.0))
    assert figures(by_name(report.staff)["Priya"]) == (5, 3, 1, 0, 900.0, 3.0, 4)
    assert figures(report.totals) == (9, 6, 1, 1, 600.0, 3.0, 5)


def test_an_empty_period_has_no_times(
    supervision: Supervision, team: dict[str, StaffMember]
) -> None:
    report = supervision.report(team["Sue"], "today")
    assert (report.claims, report.median_wait_s, report.p90_wait_s) == (0, None, None)
    assert (report.waiting, report.longest_wait_s) == (0, None)
    assert figures(report.totals) == (0, 0, 0, 0, None, None, 0)


@pytest.mark.usefixtures("history")
def test_durations_beyond_the_cap_are_left_out_but_counts_stay_exact(
    supervision: Supervision, team: dict[str, StaffMember], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crm.desk.supervision, "MAX_DURATIONS", 2)
    report = supervision.report(team["Sue"], "today")
    assert report.capped is True
    # The two newest claims: H9 (wait 300) and H3 (wait 60); counts still cover all six.
    assert (report.claims, report.median_wait_s) == (2, 180.0)
    assert report.totals.handled == 6


def test_only_supervisors_and_admins_get_the_figures(
    supervision: Supervision, team: dict[str, StaffMember]
) -> None:
    with pytest.raises(SupervisorsOnly):
        supervision.report(team["Priya"], "today")
    with pytest.raises(ValueError):
        supervision.report(team["Sue"], "1y")  # type: ignore[arg-type]
