"""The supervisor view: the queues now and how the team did today, this week, this month.

The figures and their definitions are crm/desk/supervision.py's; this module serves them as a page
(`/supervisor`) and as JSON (`/api/supervisor?period=7d`), which the page's script polls to
keep its figures current. Only supervisors and admins get either: `guarded` checks the role,
and the records layer checks it again.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from console.auth import guard
from console.web import Console, page, problem
from crm.desk.supervision import PERIOD_LABELS, PERIODS, Period, StaffFigures, SupervisorReport
from crm.records.delivery import UK_TIME
from crm.records.errors import SupervisorsOnly

DEFAULT_PERIOD: Final[Period] = "today"
REFRESH_S: Final = 15  # how often the page's script fetches the figures again


def duration(seconds: float | None) -> str:
    """A duration for people: "45 s", "12 min 05 s", "2 h 07 min"; "–" for none."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def csat(figures: StaffFigures) -> str:
    """The CSAT average with its number of ratings: "4.3 (12)"; "–" without ratings."""
    if figures.csat_average is None:
        return "–"
    return f"{figures.csat_average:.1f} ({figures.csat_ratings})"


def report_json(report: SupervisorReport) -> dict[str, Any]:
    """The report for scripts: raw figures (seconds, averages) and the page's texts by key."""
    return {
        "period": report.period,
        "since": report.since.isoformat(),
        "at": report.at.isoformat(),
        "queues": [
            {
                "team": q.team,
                "waiting": q.waiting,
                "claimed": q.claimed,
                "longest_wait_s": q.longest_wait_s,
            }
            for q in report.queues
        ],
        "waiting": report.waiting,
        "claimed": report.claimed,
        "longest_wait_s": report.longest_wait_s,
        "claims": report.claims,
        "median_wait_s": report.median_wait_s,
        "p90_wait_s": report.p90_wait_s,
        "staff": [_figures_json(f) for f in report.staff],
        "totals": _figures_json(report.totals),
        "capped": report.capped,
        "display": display(report),
    }


def display(report: SupervisorReport) -> dict[str, str]:
    """Every figure as the page shows it, keyed by the cell's `data-figure` attribute."""
    texts = {
        "since": report.since.astimezone(UK_TIME).strftime("%d %b %Y %H:%M"),
        "at": report.at.astimezone(UK_TIME).strftime("%H:%M:%S"),
        "waiting": str(report.waiting),
        "claimed": str(report.claimed),
        "longest_wait": duration(report.longest_wait_s),
        "claims": str(report.claims),
        "median_wait": duration(report.median_wait_s),
        "p90_wait": duration(report.p90_wait_s),
    }
    for q in report.queues:
        texts[f"queue.{q.team}.waiting"] = str(q.waiting)
        texts[f"queue.{q.team}.claimed"] = str(q.claimed)
        texts[f"queue.{q.team}.longest_wait"] = duration(q.longest_wait_s)
    for figures in (*report.staff, report.totals):
        key = f"staff.{figures.staff_id}" if figures.staff_id is not None else "totals"
        texts[f"{key}.handled"] = str(figures.handled)
        texts[f"{key}.resolved"] = str(figures.resolved)
        texts[f"{key}.not_resolved"] = str(figures.not_resolved)
        texts[f"{key}.handed_back"] = str(figures.handed_back)
        texts[f"{key}.handling"] = duration(figures.median_handling_s)
        texts[f"{key}.csat"] = csat(figures)
    return texts


def _figures_json(figures: StaffFigures) -> dict[str, Any]:
    return {
        "staff_id": figures.staff_id,
        "name": figures.name,
        "team": figures.team,
        "handled": figures.handled,
        "resolved": figures.resolved,
        "not_resolved": figures.not_resolved,
        "handed_back": figures.handed_back,
        "median_handling_s": figures.median_handling_s,
        "csat_average": figures.csat_average,
        "csat_ratings": figures.csat_ratings,
    }


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add `/supervisor` and `/api/supervisor` to the console app."""
    guarded = guard(console.staff)

    async def report_or_problem(request: Request) -> SupervisorReport | HTTPResponse:
        period = request.args.get("period") or DEFAULT_PERIOD
        if period not in PERIODS:
            return problem(request, 400, "Choose a period: today, 7d or 30d.")
        try:
            return await asyncio.to_thread(
                console.supervision.report, request.ctx.member, cast(Period, period)
            )
        except SupervisorsOnly:
            return problem(request, 403, "Your role does not allow this page.")

    @app.get("/supervisor")
    @guarded("supervisor")
    async def supervisor_page(request: Request) -> HTTPResponse:
        report = await report_or_problem(request)
        if isinstance(report, HTTPResponse):
            return report
        return page(
            "supervisor.html",
            member=request.ctx.member,
            csrf=request.ctx.csrf,
            report=report,
            periods=PERIOD_LABELS,
            texts=display(report),
            refresh_s=REFRESH_S,
        )

    @app.get("/api/supervisor")
    @guarded("supervisor")
    async def supervisor_api(request: Request) -> HTTPResponse:
        report = await report_or_problem(request)
        if isinstance(report, HTTPResponse):
            return report
        return response.json(report_json(report))
