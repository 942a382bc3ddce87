"""The supervisor page of the customers most likely to buy, and its CSV export.

`/supervisor/likely-buyers` lists scored customers (crm/insights/scores.py) most likely first,
filtered by the query string: ``min`` (percent), ``ordered`` and ``newsletter`` (``yes``/``no``,
empty for either) and ``q`` (words found in the name or email). ``?format=csv`` downloads the same
rows. Spreadsheets run cells that start with ``=``, ``+``, ``-`` or ``@`` as formulas, and customers
choose their own names, so such cells are prefixed with a quote (OWASP's CSV injection advice).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from typing import Any, Final

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import text as text_response

from console.auth import guard
from console.web import Console, page, problem
from crm.insights.scores import BuyerFilter, LikelyBuyer, ScoreReason
from crm.records.delivery import UK_TIME
from crm.records.errors import SupervisorsOnly

MAX_SEARCH_CHARS: Final = 100
PAGE_ROWS: Final = 200
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
CHOICES: Final[dict[str, bool | None]] = {"": None, "any": None, "yes": True, "no": False}
CSV_COLUMNS: Final = (
    "customer_id",
    "name",
    "email",
    "score_percent",
    "orders",
    "newsletter",
    "scored_at",
    "reason_1",
    "reason_2",
    "reason_3",
)


class BadFilter(ValueError):
    """A query string the page cannot use; the message is for staff."""


def parse_filter(args: Any) -> BuyerFilter:
    """The filters of the query string (``request.args``), checked."""
    raw_min = (args.get("min") or "0").strip()
    try:
        percent = float(raw_min)
    except ValueError:
        raise BadFilter("The minimum score is a percentage from 0 to 100.") from None
    if not 0 <= percent <= 100:
        raise BadFilter("The minimum score is a percentage from 0 to 100.")
    choices = {}
    for name in ("ordered", "newsletter"):
        value = (args.get(name) or "").strip()
        if value not in CHOICES:
            raise BadFilter(f"Choose yes, no or any for {name}.")
        choices[name] = CHOICES[value]
    search = " ".join((args.get("q") or "").split())
    if len(search) > MAX_SEARCH_CHARS:
        raise BadFilter(f"Search for at most {MAX_SEARCH_CHARS} characters.")
    return BuyerFilter(percent / 100, choices["ordered"], choices["newsletter"], search)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    cell = str(value)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def reason_text(reason: ScoreReason) -> str:
    """A reason in words: "days since the last order: 12 (raises)"."""
    direction = "raises" if reason.raises else "lowers"
    return f"{reason.feature}: {reason.value_text} ({direction})"


def to_csv(buyers: Sequence[LikelyBuyer]) -> str:
    """The rows as CSV (RFC 4180 quoting, formula-safe cells)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for buyer in buyers:
        reasons = [reason_text(r) for r in buyer.propensity.reasons[:3]]
        reasons += [""] * (3 - len(reasons))
        row = [
            buyer.customer_id,
            buyer.name,
            buyer.email,
            round(buyer.propensity.score * 100, 1),
            buyer.orders,
            "yes" if buyer.newsletter else "no",
            buyer.propensity.scored_at.isoformat(),
            *reasons,
        ]
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add `/supervisor/likely-buyers` to the console app."""
    guarded = guard(console.staff)

    @app.get("/supervisor/likely-buyers")
    @guarded("supervisor")
    async def likely_buyers(request: Request) -> HTTPResponse:
        try:
            filters = parse_filter(request.args)
        except BadFilter as bad:
            return problem(request, 400, str(bad))
        as_csv = request.args.get("format") == "csv"
        try:
            buyers = await asyncio.to_thread(console.buyers.list, request.ctx.member, filters)
        except SupervisorsOnly:
            return problem(request, 403, "Your role does not allow this page.")
        if as_csv:
            return text_response(
                to_csv(buyers),
                content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="likely-buyers.csv"'},
            )
        return page(
            "likely_buyers.html",
            member=request.ctx.member,
            csrf=request.ctx.csrf,
            buyers=buyers[:PAGE_ROWS],
            total=len(buyers),
            page_rows=PAGE_ROWS,
            filters=filters,
            query=request.query_string,
            reason_text=reason_text,
            uk_time=UK_TIME,
        )
