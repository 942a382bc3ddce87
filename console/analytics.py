"""The supervisors' dashboard (what customers ask, how the agent did) and the knowledge-gap list.

`/supervisor/analytics` draws crm/insights/analytics.py's figures as charts and `/supervisor/gaps`
lists crm/insights/gaps.py's ranked gaps; `/api/supervisor/analytics` and `/api/supervisor/gaps`
serve the same as JSON. Only supervisors and admins get them (`guarded`, and the records layer
checks again).

Charts are inline SVG drawn on the server (console/charts.py), each followed by a table of its
numbers; `charts` here picks the dashboard's.

The gap list embeds and clusters questions, CPU work of a second or more: it runs in a thread
and its result is kept per period in the console's `GapCache` (crm/insights/gaps.py), so
reloading the page costs nothing. The services are built by console/wiring.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from console.auth import guard
from console.charts import Chart, bars, day_label, lines, nice_max, stacked_bars
from console.web import Console, page, problem
from crm.desk.supervision import PERIOD_LABELS, PERIODS, Period
from crm.insights.analytics import AnalyticsReport
from crm.insights.gaps import GapReport
from crm.records.delivery import UK_TIME
from crm.records.errors import SupervisorsOnly

DEFAULT_PERIOD: Final[Period] = "7d"
MAX_CHANNEL_CHARS: Final = 64


def charts(report: AnalyticsReport) -> list[Chart]:
    """The dashboard's charts, in the order the page shows them."""
    days = [d.day for d in report.days]
    names = [day_label(d) for d in days]
    channels = sorted({c for d in report.days for c in d.conversations})
    rates_top = max(
        [r for d in report.days for r in (d.fallback_rate, d.abstention_rate) if r is not None],
        default=0.0,
    )
    return [
        stacked_bars(
            "conversations-days",
            "Conversations per day and channel",
            names,
            [(c, [d.conversations.get(c, 0) for d in report.days]) for c in channels],
        ),
        lines(
            "rates-days",
            "Fallback and abstention rates per day (of customer messages)",
            days,
            [
                ("Fallback", [d.fallback_rate for d in report.days]),
                ("Abstention", [d.abstention_rate for d in report.days]),
            ],
            high=min(1.0, max(0.1, nice_max(rates_top * 100) / 100)),
        ),
        bars(
            "top-intents",
            "Top intents (of customer messages)",
            [(s.name, s.count) for s in report.top_intents],
            head=("Intent", "Messages"),
            share_of=report.messages,
        ),
        bars(
            "handoff-reasons",
            "Handoff reasons",
            [(s.name, s.count) for s in report.handoff_reasons],
            head=("Reason", "Handoffs"),
            share_of=report.handoffs,
        ),
        bars(
            "csat",
            "CSAT ratings",
            [
                (f"{n} of 5", count)
                for n, count in zip(range(1, 6), report.csat_distribution, strict=True)
            ],
            head=("Rating", "Ratings"),
            share_of=report.csat_ratings,
        ),
        stacked_bars(
            "votes-days",
            "Was the answer helpful? Votes per day",
            names,
            [
                ("Helpful", [d.helpful for d in report.days]),
                ("Not helpful", [d.not_helpful for d in report.days]),
            ],
        ),
        lines(
            "sentiment-days",
            "Customer sentiment per day (mean VADER score, −1 to +1)",
            days,
            [("Mean sentiment", [d.sentiment_mean for d in report.days])],
            low=-1.0,
            high=1.0,
            fmt=lambda v: f"{v:+.2f}",
        ),
        lines(
            "negative-days",
            "Share of negative customer messages per day",
            days,
            [("Negative", [d.negative_share for d in report.days])],
        ),
    ]


# --- figures as people read them, and as JSON --------------------------------------------------


def percent(value: float | None) -> str:
    """A share as a whole percentage ("42%"), or "–" when there is nothing to divide."""
    return "–" if value is None else f"{value:.0%}"


def summary(report: AnalyticsReport) -> dict[str, str]:
    """The headline figures, keyed by the cell's `data-figure` attribute."""
    votes = report.helpful + report.not_helpful
    return {
        "since": report.since.astimezone(UK_TIME).strftime("%d %b %Y %H:%M"),
        "at": report.at.astimezone(UK_TIME).strftime("%H:%M"),
        "conversations": str(report.conversations),
        "messages": str(report.messages),
        "containment": percent(report.containment_rate),
        "contained": str(report.contained),
        "fallback_rate": percent(report.fallback_rate),
        "fallback_conversations": str(report.fallback_conversations),
        "abstention_rate": percent(report.abstention_rate),
        "abstention_conversations": str(report.abstention_conversations),
        "handoffs": str(report.handoffs),
        "csat": "–" if report.csat_average is None else f"{report.csat_average:.1f}",
        "csat_ratings": str(report.csat_ratings),
        "helpful": percent(report.helpful / votes if votes else None),
        "votes": str(votes),
        "sentiment": "–" if report.sentiment_mean is None else f"{report.sentiment_mean:+.2f}",
        "negative": percent(report.negative_share),
        **{f"channel.{name}": str(count) for name, count in report.by_channel.items()},
    }


def analytics_json(report: AnalyticsReport) -> dict[str, Any]:
    """The report for scripts: raw figures, rates as fractions, days in order."""
    return {
        "period": report.period,
        "channel": report.channel,
        "since": report.since.isoformat(),
        "at": report.at.isoformat(),
        "channels": list(report.channels),
        "conversations": report.conversations,
        "by_channel": report.by_channel,
        "contained": report.contained,
        "containment_rate": report.containment_rate,
        "messages": report.messages,
        "fallbacks": report.fallbacks,
        "fallback_rate": report.fallback_rate,
        "fallback_conversations": report.fallback_conversations,
        "abstentions": report.abstentions,
        "abstention_rate": report.abstention_rate,
        "abstention_conversations": report.abstention_conversations,
        "top_intents": [s.__dict__ for s in report.top_intents],
        "handoffs": report.handoffs,
        "handoff_reasons": [s.__dict__ for s in report.handoff_reasons],
        "csat": {
            "average": report.csat_average,
            "ratings": report.csat_ratings,
            "distribution": dict(
                zip(("1", "2", "3", "4", "5"), report.csat_distribution, strict=True)
            ),
        },
        "votes": {
            "helpful": report.helpful,
            "not_helpful": report.not_helpful,
            "articles": [a.__dict__ for a in report.articles],
        },
        "sentiment": {"mean": report.sentiment_mean, "negative_share": report.negative_share},
        "days": [
            {
                "day": d.day.isoformat(),
                "conversations": d.conversations,
                "messages": d.messages,
                "fallbacks": d.fallbacks,
                "abstentions": d.abstentions,
                "helpful": d.helpful,
                "not_helpful": d.not_helpful,
                "sentiment_mean": d.sentiment_mean,
                "negative_share": d.negative_share,
            }
            for d in report.days
        ],
        "capped": report.capped,
    }


def gaps_json(report: GapReport) -> dict[str, Any]:
    """The gap list for scripts."""
    return {
        "period": report.period,
        "since": report.since.isoformat(),
        "at": report.at.isoformat(),
        "questions": report.questions,
        "distinct": report.distinct,
        "threshold": report.threshold,
        "capped": report.capped,
        "gaps": [
            {
                "label": gap.label,
                "count": gap.count,
                "sources": gap.sources,
                "examples": list(gap.examples),
                "last_asked": gap.last_asked.isoformat(),
                "article": None if gap.article is None else gap.article.__dict__,
            }
            for gap in report.gaps
        ],
    }


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add the dashboard and the gap list, as pages and as JSON, to the console app."""
    guarded = guard(console.staff)
    cache = console.gap_cache

    def period_of(request: Request) -> Period | None:
        period = request.args.get("period") or DEFAULT_PERIOD
        return cast(Period, period) if period in PERIODS else None

    async def analytics_or_problem(request: Request) -> AnalyticsReport | HTTPResponse:
        period = period_of(request)
        if period is None:
            return problem(request, 400, "Choose a period: today, 7d or 30d.")
        channel = (request.args.get("channel") or "").strip() or None
        if channel is not None and len(channel) > MAX_CHANNEL_CHARS:
            return problem(request, 400, "No such channel.")
        if console.analytics is None:
            return problem(request, 503, "The dashboard is not configured.")
        try:
            return await asyncio.to_thread(
                console.analytics.report, request.ctx.member, period, channel
            )
        except SupervisorsOnly:
            return problem(request, 403, "Your role does not allow this page.")

    async def gaps_or_problem(request: Request) -> GapReport | HTTPResponse:
        period = period_of(request)
        if period is None:
            return problem(request, 400, "Choose a period: today, 7d or 30d.")
        gaps = console.gaps
        if gaps is None:
            return problem(request, 503, "The gap list is not configured.")
        member = request.ctx.member
        if not member.can("supervisor"):  # checked before the cache, which is shared
            return problem(request, 403, "Your role does not allow this page.")
        try:
            return await asyncio.to_thread(cache.get, period, lambda: gaps.report(member, period))
        except SupervisorsOnly:
            return problem(request, 403, "Your role does not allow this page.")

    @app.get("/supervisor/analytics")
    @guarded("supervisor")
    async def analytics_page(request: Request) -> HTTPResponse:
        report = await analytics_or_problem(request)
        if isinstance(report, HTTPResponse):
            return report
        return page(
            "analytics.html",
            member=request.ctx.member,
            csrf=request.ctx.csrf,
            report=report,
            periods=PERIOD_LABELS,
            texts=summary(report),
            charts=charts(report),
        )

    @app.get("/api/supervisor/analytics")
    @guarded("supervisor")
    async def analytics_api(request: Request) -> HTTPResponse:
        report = await analytics_or_problem(request)
        if isinstance(report, HTTPResponse):
            return report
        return response.json(analytics_json(report))

    @app.get("/supervisor/gaps")
    @guarded("supervisor")
    async def gaps_page(request: Request) -> HTTPResponse:
        report = await gaps_or_problem(request)
        if isinstance(report, HTTPResponse):
            return report
        return page(
            "gaps.html",
            member=request.ctx.member,
            csrf=request.ctx.csrf,
            report=report,
            periods=PERIOD_LABELS,
            since=report.since.astimezone(UK_TIME).strftime("%d %b %Y %H:%M"),
            uk_time=UK_TIME,
        )

    @app.get("/api/supervisor/gaps")
    @guarded("supervisor")
    async def gaps_api(request: Request) -> HTTPResponse:
        report = await gaps_or_problem(request)
        if isinstance(report, HTTPResponse):
            return report
        return response.json(gaps_json(report))
