"""What every area of the console shares: its services, pages, replies and request fields.

Each area module (auth, queue, conversations, admin, panel, supervision, likely_buyers,
analytics) registers its own routes with `register(app, console)` and answers with these
helpers, so a refusal, an error page or a redirect after a form post looks the same everywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from console.relay import RasaRelay
from crm.desk.canned import CannedResponses
from crm.desk.handoffs import MAX_NOTE_CHARS, HandoffDesk
from crm.desk.panel import PanelRefunds
from crm.desk.staff import StaffService
from crm.desk.supervision import Supervision
from crm.desk.transcripts import TranscriptSource
from crm.insights.analytics import Analytics
from crm.insights.gaps import GapCache, KnowledgeGaps
from crm.insights.scores import CustomerScores, LikelyBuyers
from crm.records.errors import (
    HandoffClosed,
    HandoffError,
    HandoffNotFound,
    HandoffNotYours,
    HandoffTaken,
    HandoffUnchanged,
    InvalidNote,
    InvalidOutcome,
    StaffNotAvailable,
    UnknownTeam,
)

HERE = Path(__file__).parent
POLL_S = 1.0  # how often an open page's event stream looks at the records again
# What staff are told when the records refuse a step (crm/desk/handoffs.py).
REFUSALS: dict[type[HandoffError], tuple[int, str]] = {
    HandoffNotFound: (404, "No such conversation in your queues."),
    HandoffTaken: (409, "Someone else has taken this conversation."),
    HandoffNotYours: (403, "Only the person holding the conversation can do this."),
    HandoffClosed: (409, "This conversation is closed."),
    HandoffUnchanged: (409, "The conversation is already there."),
    StaffNotAvailable: (400, "That colleague cannot take this conversation."),
    UnknownTeam: (400, "Choose one of the teams."),
    InvalidOutcome: (400, "Choose whether the customer's question was resolved."),
    InvalidNote: (400, f"Write a note of 1 to {MAX_NOTE_CHARS} characters."),
}
T = TypeVar("T")
Handler = Callable[..., Awaitable[Any]]


@dataclasses.dataclass(frozen=True)
class Console:
    """What the console's handlers work with (built by console/wiring.py)."""

    staff: StaffService
    desk: HandoffDesk
    transcripts: TranscriptSource
    relay: RasaRelay
    canned: CannedResponses
    refunds: PanelRefunds
    supervision: Supervision
    scores: CustomerScores
    buyers: LikelyBuyers
    secure_cookies: bool = False
    analytics: Analytics | None = None  # the dashboard and the gap list (console/analytics.py)
    gaps: KnowledgeGaps | None = None
    gap_cache: GapCache = dataclasses.field(default_factory=GapCache)  # shared by all staff


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking records call off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


@functools.cache
def pages() -> jinja2.Environment:
    """The page templates, autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def page(name: str, status: int = 200, **values: Any) -> HTTPResponse:
    """A rendered page."""
    return response.html(pages().get_template(name).render(**values), status=status)


def problem(request: Request, status: int, detail: str) -> HTTPResponse:
    """An error as JSON for the page's script, else as the error page."""
    if wants_json(request):
        return response.json({"error": detail}, status=status)
    member = getattr(request.ctx, "member", None)
    return page("error.html", status, member=member, code=status, detail=detail, csrf="")


def refused(request: Request, refusal: HandoffError) -> HTTPResponse:
    """What staff are told when the records refuse a step (REFUSALS)."""
    status, detail = REFUSALS[type(refusal)]
    return problem(request, status, detail)


def wants_json(request: Request) -> bool:
    """Whether the caller is the page's script (the API, an event stream, a JSON body)."""
    return request.path.startswith(("/api/", "/stream/")) or (
        request.content_type or ""
    ).startswith("application/json")


def done(request: Request, location: str, answer: dict[str, Any]) -> HTTPResponse:
    """JSON for the page's script; a redirect for a plain form post."""
    if wants_json(request):
        return response.json(answer)
    return response.redirect(location, status=303)


def set_cookie(
    reply: HTTPResponse, name: str, value: str, max_age: int, secure: bool, path: str = "/"
) -> None:
    """An HttpOnly, SameSite=Strict cookie."""
    reply.add_cookie(
        name,
        value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def staff_id(value: str) -> int | None:
    """A staff member's id from a form, if it is one (small enough for the column)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def whole_number(value: str | None) -> int:
    """A query-string number of 0 or more; 0 for anything else."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


# --- text fields of a request: a plain form post, or JSON from the page's script -------------


def form(request: Request, name: str) -> str:
    """A field of a plain form post; "" when absent or not text."""
    if not (request.content_type or "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return ""
    value = request.form.get(name) if request.form else None
    return value if isinstance(value, str) else ""


def json_value(request: Request, name: str) -> str:
    """A text field of a JSON body; "" when absent, not text, or the body is malformed."""
    if not (request.content_type or "").startswith("application/json"):
        return ""
    try:
        body = request.json
    except Exception:  # a malformed body has no fields
        return ""
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def field(request: Request, name: str) -> str:
    """A text field from the page's script (JSON) or a plain form post."""
    return json_value(request, name) or form(request, name)
