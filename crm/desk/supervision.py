"""The supervisor view's figures: the queues now, waiting times, and what each member handled.

Definitions, so the numbers mean one thing:

* **Period**: ``today`` starts at midnight UK time; ``7d`` and ``30d`` are the last 7 and 30 days
  up to now (rolling).
* **Queues now** ignore the period: open handoffs per team (waiting, claimed) and, per team and
  overall, how long the oldest waiting one has waited.
* **Wait before a person claimed**: ``claimed_at - created_at`` of the handoffs *claimed in the
  period* (a claim that was released and taken again counts from the last claim).
* **Per member**, over the handoffs claimed in the period and held by that member now (a
  transferred conversation counts for whoever has it): handled, how they ended (resolved, not
  resolved, handed back; still open ones are in neither), the median handling time
  ``closed_at - claimed_at`` of those closed, and the customers' CSAT ratings (average, number).
  Every active member is listed, with zeros when they handled nothing. Totals cover every
  handoff claimed in the period, including those of members since removed.
* Medians and 90th percentiles interpolate linearly between the two nearest values (as
  PostgreSQL's ``percentile_cont``).

Counts and ratings are aggregated in SQL, so they are exact whatever the volume; the durations
are computed in Python from one query capped at ``MAX_DURATIONS`` rows (the newest claims), and
the report says when the cap was reached. Everything is portable between SQLite and
PostgreSQL: no date arithmetic happens in SQL. Nothing here knows about Rasa or the web.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import Final, Literal, get_args

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from config.contract import STAFF_TEAMS
from crm.desk.staff import StaffMember
from crm.records.delivery import UK_TIME, uk_date
from crm.records.errors import SupervisorsOnly
from crm.records.models import HandoffRequest, StaffUser, utcnow

Period = Literal["today", "7d", "30d"]
PERIODS: Final[tuple[Period, ...]] = get_args(Period)
PERIOD_LABELS: Final[dict[Period, str]] = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
MAX_DURATIONS: Final = 50_000


@dataclass(frozen=True)
class TeamQueue:
    """One team's queue now; `longest_wait_s` is None when nothing waits."""

    team: str
    waiting: int
    claimed: int
    longest_wait_s: float | None


@dataclass(frozen=True)
class StaffFigures:
    """What one member (or, with `staff_id` None, everybody) handled in the period."""

    staff_id: int | None
    name: str
    team: str | None
    handled: int
    resolved: int
    not_resolved: int
    handed_back: int
    median_handling_s: float | None
    csat_average: float | None
    csat_ratings: int


@dataclass(frozen=True)
class SupervisorReport:
    """Every figure of the supervisor view for one period, as of `at`."""

    period: Period
    since: datetime
    at: datetime
    queues: tuple[TeamQueue, ...]
    waiting: int
    claimed: int
    longest_wait_s: float | None
    claims: int  # claims in the period: the number of waits the two figures below are from
    median_wait_s: float | None
    p90_wait_s: float | None
    staff: tuple[StaffFigures, ...]
    totals: StaffFigures
    capped: bool  # durations are from the newest MAX_DURATIONS claims only


def period_start(period: Period, now: datetime) -> datetime:
    """When `period` began: UK midnight for ``today``, else 7 or 30 days before `now`."""
    if period == "today":
        return datetime.combine(uk_date(now), time(0), tzinfo=UK_TIME)
    return now - timedelta(days=7 if period == "7d" else 30)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile of `values`, interpolated linearly; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Supervision:
    """Figures for supervisors and admins; anyone else gets `SupervisorsOnly`."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def report(self, member: StaffMember, period: Period) -> SupervisorReport:
        """The queues now and the figures of `period` (one of `PERIODS`)."""
        if not member.can("supervisor"):
            raise SupervisorsOnly()
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        now = self._clock()
        since = period_start(period, now)
        with self._sessions() as session:
            queues = _queues(session, now)
            counts = _counts(session, since)
            durations = session.execute(
                select(
                    HandoffRequest.assignee_id,
                    HandoffRequest.created_at,
                    HandoffRequest.claimed_at,
                    HandoffRequest.closed_at,
                )
                .where(HandoffRequest.claimed_at >= since)
                .order_by(HandoffRequest.claimed_at.desc(), HandoffRequest.id.desc())
                .limit(MAX_DURATIONS + 1)
            ).all()
            members = session.execute(
                select(StaffUser.id, StaffUser.name, StaffUser.team)
                .where(or_(StaffUser.active.is_(True), StaffUser.id.in_([i for i in counts if i])))
                .order_by(StaffUser.name, StaffUser.id)
            ).all()
        capped = len(durations) > MAX_DURATIONS
        waits: list[float] = []
        handling: dict[int | None, list[float]] = {}
        for assignee, created, claimed, closed in durations[:MAX_DURATIONS]:
            if claimed is None:  # excluded by the query; this tells the type checker
                continue
            waits.append((claimed - created).total_seconds())
            if closed is not None:
                handling.setdefault(assignee, []).append((closed - claimed).total_seconds())
        staff = tuple(
            _figures(member_id, name, team, counts.get(member_id), handling.get(member_id, []))
            for member_id, name, team in members
        )
        totals = _figures(
            None,
            "All staff",
            None,
            _total(counts.values()),
            [seconds for values in handling.values() for seconds in values],
        )
        return SupervisorReport(
            period=period,
            since=since,
            at=now,
            queues=queues,
            waiting=sum(q.waiting for q in queues),
            claimed=sum(q.claimed for q in queues),
            longest_wait_s=max(
                (q.longest_wait_s for q in queues if q.longest_wait_s is not None), default=None
            ),
            claims=len(waits),
            median_wait_s=percentile(waits, 0.5),
            p90_wait_s=percentile(waits, 0.9),
            staff=staff,
            totals=totals,
            capped=capped,
        )


@dataclass(frozen=True)
class _Counts:
    """One member's counts and rating sums in the period, as SQL aggregated them."""

    handled: int
    resolved: int
    not_resolved: int
    handed_back: int
    csat_sum: int
    csat_ratings: int


def _total(parts: Iterable[_Counts]) -> _Counts:
    """The sum of several members' counts."""
    rows = list(parts)
    return _Counts(*(sum(getattr(row, name) for row in rows) for name in _COUNT_FIELDS))


_COUNT_FIELDS: Final = tuple(field.name for field in fields(_Counts))


def _queues(session: Session, now: datetime) -> tuple[TeamQueue, ...]:
    """Open handoffs per team and status now, every team listed."""
    rows = session.execute(
        select(
            HandoffRequest.team,
            HandoffRequest.status,
            func.count(),
            func.min(HandoffRequest.created_at),
        )
        .where(HandoffRequest.status.in_(("waiting", "claimed")))
        .group_by(HandoffRequest.team, HandoffRequest.status)
    ).all()
    found = {(team, status): (count, oldest) for team, status, count, oldest in rows}
    queues = []
    for team in STAFF_TEAMS:
        waiting, oldest = found.get((team, "waiting"), (0, None))
        claimed = found.get((team, "claimed"), (0, None))[0]
        longest = (now - oldest).total_seconds() if oldest is not None else None
        queues.append(TeamQueue(team, waiting, claimed, longest))
    return tuple(queues)


def _counts(session: Session, since: datetime) -> dict[int | None, _Counts]:
    """Per assignee: handoffs claimed since `since`, their outcomes and CSAT ratings."""

    def outcome(name: str) -> ColumnElement[int]:
        return func.count(case((HandoffRequest.outcome == name, 1)))

    rows = session.execute(
        select(
            HandoffRequest.assignee_id,
            func.count(),
            outcome("resolved"),
            outcome("not_resolved"),
            outcome("handed_back"),
            func.coalesce(func.sum(HandoffRequest.csat_score), 0),
            func.count(HandoffRequest.csat_score),
        )
        .where(HandoffRequest.claimed_at >= since)
        .group_by(HandoffRequest.assignee_id)
    ).all()
    return {row[0]: _Counts(*(int(value or 0) for value in row[1:])) for row in rows}


def _figures(
    staff_id: int | None,
    name: str,
    team: str | None,
    counts: _Counts | None,
    handling: list[float],
) -> StaffFigures:
    counts = counts or _Counts(0, 0, 0, 0, 0, 0)
    return StaffFigures(
        staff_id=staff_id,
        name=name,
        team=team,
        handled=counts.handled,
        resolved=counts.resolved,
        not_resolved=counts.not_resolved,
        handed_back=counts.handed_back,
        median_handling_s=percentile(handling, 0.5),
        csat_average=counts.csat_sum / counts.csat_ratings if counts.csat_ratings else None,
        csat_ratings=counts.csat_ratings,
    )
