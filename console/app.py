"""The agent console: support staff sign in, take conversations from the queue and answer them.

Every page and API call goes through `guarded`, which checks the session cookie, the member's
role and, for anything that changes state, the CSRF token; what a member may see inside a role
is decided by the records layer (crm/desk/handoffs.py). Pages are rendered by Jinja2 with
autoescaping and the browser script writes customer text with `textContent`, so whatever a
customer types reaches staff screens as text. Live updates are server-sent events: the server
polls the records and the tracker store once a second per open page.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from console import analytics, likely_buyers, panel, supervision
from console.fields import field as _field
from console.fields import form as _form
from console.relay import RasaRelay, RelayFailed
from crm.desk.canned import MAX_TEXT_CHARS, MAX_TITLE_CHARS, CannedResponses, fill
from crm.desk.handoffs import (
    CLOSE_OUTCOMES,
    MAX_NOTE_CHARS,
    HandoffDesk,
    QueueEntry,
    checked_outcome,
    could_take,
)
from crm.desk.panel import PanelRefunds
from crm.desk.staff import StaffMember, StaffService
from crm.desk.supervision import Supervision
from crm.desk.transcripts import TranscriptSource
from crm.insights.analytics import Analytics
from crm.insights.gaps import KnowledgeGaps
from crm.insights.scores import CustomerScores, LikelyBuyers
from crm.records.errors import (
    CannedResponseError,
    CannedResponseNotFound,
    HandoffClosed,
    HandoffError,
    HandoffNotFound,
    HandoffNotYours,
    HandoffTaken,
    HandoffUnchanged,
    InvalidCredentials,
    InvalidNote,
    InvalidOutcome,
    InvalidStaffDetails,
    StaffExists,
    StaffNotAvailable,
    TooManyAttempts,
    UnknownTeam,
)
from crm.records.models import STAFF_ROLES, STAFF_TEAMS, utcnow

log = logging.getLogger("console")

HERE = Path(__file__).parent
SESSION_COOKIE = "larkspur_console"
LOGIN_COOKIE = "larkspur_console_login"  # CSRF token of the sign-in form (double submit)
POLL_S = 1.0
MAX_REPLY_CHARS = 4000
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
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
# The close form's choices, as staff read them.
OUTCOME_LABELS = {"resolved": "Resolved", "not_resolved": "Not resolved"}
T = TypeVar("T")
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Console:
    """What the console's handlers work with."""

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


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking records call off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def pages() -> jinja2.Environment:
    """The page templates, autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def entry_json(entry: QueueEntry, member: StaffMember) -> dict[str, Any]:
    """A queue entry for the browser."""
    return {
        "reference": entry.reference,
        "channel": entry.channel,
        "reason": entry.reason,
        "team": entry.team,
        "priority": entry.priority,
        "status": entry.status,
        "created_at": entry.created_at.timestamp(),
        "assignee": entry.assignee_name,
        "customer": entry.customer_name,
        "mine": entry.held_by(member),
    }


def create_app(console: Console, *, name: str = "larkspur_console") -> Sanic[Any, Any]:
    """The console's HTTP app."""
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.config.RESPONSE_TIMEOUT = 3600  # event streams stay open
    app.static("/static", HERE / "static", name="static")
    templates = pages()

    def page(name: str, status: int = 200, **values: Any) -> HTTPResponse:
        return response.html(templates.get_template(name).render(**values), status=status)

    def problem(request: Request, status: int, detail: str) -> HTTPResponse:
        if _wants_json(request):
            return response.json({"error": detail}, status=status)
        member = getattr(request.ctx, "member", None)
        return page("error.html", status, member=member, code=status, detail=detail, csrf="")

    def refused(request: Request, refusal: HandoffError) -> HTTPResponse:
        status, detail = REFUSALS[type(refusal)]
        return problem(request, status, detail)

    def guarded(role: str) -> Callable[[Handler], Handler]:
        """Signed in, with `role` or above; and for changes, the session's CSRF token."""

        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            async def checked(request: Request, *args: Any, **kwargs: Any) -> Any:
                token = request.cookies.get(SESSION_COOKIE) or ""
                found = await call(console.staff.session, token) if token else None
                if found is None:
                    if _wants_json(request) or request.method != "GET":
                        return response.json({"error": "sign in first"}, status=401)
                    return response.redirect("/login")
                member, csrf = found
                request.ctx.member, request.ctx.csrf = member, csrf
                if not member.can(role):
                    return problem(request, 403, "Your role does not allow this page.")
                if request.method not in ("GET", "HEAD"):
                    given = request.headers.get("X-CSRF-Token") or _form(request, "csrf_token")
                    if not hmac.compare_digest(given.encode(), csrf.encode()):
                        return problem(request, 403, "The form expired; reload the page.")
                return await handler(request, *args, **kwargs)

            return checked

        return decorate

    @app.on_response
    async def security_headers(request: Request, reply: HTTPResponse) -> None:
        for header, value in SECURITY_HEADERS.items():
            reply.headers.setdefault(header, value)

    @app.exception(Exception)
    async def on_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):
            status = exception.status_code
            return problem(request, status, HTTPStatus(status).phrase)
        log.error("console request to %s failed", request.path, exc_info=exception)
        return problem(request, 500, "Something went wrong; it has been logged.")

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    # --- signing in and out ------------------------------------------------------------------

    @app.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        return _login_page(page, console, error=None)

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        given = _form(request, "csrf_token")
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return _login_page(page, console, error="The form expired; please try again.")
        email, password = _form(request, "email"), _form(request, "password")
        try:
            signed = await call(
                console.staff.sign_in, email=email, password=password, client=request.ip or "-"
            )
        except TooManyAttempts as wait:
            minutes = max(1, round(wait.retry_after_s / 60))
            reply = _login_page(
                page,
                console,
                error=f"Too many failed sign-ins. Try again in about {minutes} min.",
                status=429,
            )
            reply.headers["Retry-After"] = str(wait.retry_after_s)
            return reply
        except InvalidCredentials:
            return _login_page(page, console, error="Wrong email or password.", status=401)
        reply = response.redirect("/")
        max_age = max(1, int((signed.expires_at - utcnow()).total_seconds()))
        _set_cookie(reply, SESSION_COOKIE, signed.token, max_age, console.secure_cookies)
        reply.delete_cookie(LOGIN_COOKIE, path="/login")
        return reply

    @app.post("/logout")
    @guarded("agent")
    async def logout(request: Request) -> HTTPResponse:
        await call(console.staff.sign_out, request.cookies.get(SESSION_COOKIE) or "")
        reply = response.redirect("/login")
        reply.delete_cookie(SESSION_COOKIE, path="/")
        return reply

    # --- the queue ---------------------------------------------------------------------------

    @app.get("/")
    @guarded("agent")
    async def queue_page(request: Request) -> HTTPResponse:
        member = request.ctx.member
        entries = await call(console.desk.queue, member)
        return page("queue.html", member=member, csrf=request.ctx.csrf, entries=entries)

    @app.get("/api/queue")
    @guarded("agent")
    async def queue_api(request: Request) -> HTTPResponse:
        member = request.ctx.member
        entries = await call(console.desk.queue, member)
        return response.json({"queue": [entry_json(e, member) for e in entries]})

    @app.get("/stream/queue")
    @guarded("agent")
    async def queue_stream(request: Request) -> None:
        member = request.ctx.member
        token = request.cookies.get(SESSION_COOKIE) or ""
        stream = await request.respond(content_type="text/event-stream")
        last = ""
        while await call(console.staff.session, token) is not None:
            entries = await call(console.desk.queue, member)
            data = json.dumps({"queue": [entry_json(e, member) for e in entries]})
            if data != last:
                await stream.send(f"event: queue\ndata: {data}\n\n")
                last = data
            await asyncio.sleep(POLL_S)
        await stream.send("event: signed_out\ndata: {}\n\n")
        await stream.eof()

    # --- one conversation --------------------------------------------------------------------

    async def desk_step(request: Request, step: Callable[..., T], *args: Any) -> T | HTTPResponse:
        """A records step as the signed-in member; a refusal becomes its answer (REFUSALS)."""
        try:
            return await call(step, *args)
        except HandoffError as refusal:
            return refused(request, refusal)

    async def entry_or_problem(request: Request, reference: str) -> QueueEntry | HTTPResponse:
        return await desk_step(request, console.desk.entry, reference, request.ctx.member)

    async def tell_customer(
        request: Request,
        conversation_id: str,
        kind: str,
        text: str = "",
        *,
        name: str | None = None,
        undo: Callable[[], Awaitable[Any]] | None = None,
        failed: str = "The assistant could not be reached; try again.",
    ) -> bool | HTTPResponse:
        """Send a staff event through Rasa's relay; if Rasa does not take it, undo and say 502.

        Every step the customer must hear about is recorded first and undone here when the
        customer cannot be told, so nobody holds a chat the customer was not told about.
        """
        try:
            return await console.relay.send(
                conversation_id, kind, name or request.ctx.member.name, text
            )
        except RelayFailed as failure:
            if undo is not None:
                await undo()
            log.error("%s in %s failed: %s", kind, conversation_id, failure)
            return problem(request, 502, failed)

    @app.get("/conversations/<reference:str>")
    @guarded("agent")
    async def conversation_page(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        entry = await entry_or_problem(request, reference)
        if isinstance(entry, HTTPResponse):
            return entry
        lines = await call(console.transcripts.lines, entry.conversation_id)
        customer = await call(console.desk.customer_panel, reference, member)
        history = await panel.panel_values(console, reference, member, customer)
        mine = entry.held_by(member)
        notes = await call(console.desk.notes, reference, member)
        canned = await call(console.canned.for_member, member) if mine else []
        # Who it could go to: the desk checks again, this only keeps the list short.
        colleagues = [
            person
            for person in await call(console.staff.members)
            if person.id not in (member.id, entry.assignee_id) and could_take(person, entry.team)
        ]
        return page(
            "conversation.html",
            member=member,
            csrf=request.ctx.csrf,
            entry=entry,
            mine=mine,
            lines=lines,
            last_line=lines[-1].id if lines else 0,
            customer=customer,
            **history,
            max_reply=MAX_REPLY_CHARS,
            notes=notes,
            max_note=MAX_NOTE_CHARS,
            canned=[(item.title, fill(item.text, entry.customer_first_name)) for item in canned],
            may_move=entry.status != "closed" and (mine or member.can("supervisor")),
            colleagues=colleagues,
            teams=[team for team in STAFF_TEAMS if entry.status != "waiting" or team != entry.team],
            outcomes=[(outcome, OUTCOME_LABELS[outcome]) for outcome in CLOSE_OUTCOMES],
        )

    @app.get("/stream/conversations/<reference:str>")
    @guarded("agent")
    async def conversation_stream(request: Request, reference: str) -> HTTPResponse | None:
        member = request.ctx.member
        entry = await entry_or_problem(request, reference)
        if isinstance(entry, HTTPResponse):
            return entry
        token = request.cookies.get(SESSION_COOKIE) or ""
        after = _int(request.args.get("after"))
        stream = await request.respond(content_type="text/event-stream")
        state = ""
        while await call(console.staff.session, token) is not None:
            lines = await call(console.transcripts.lines, entry.conversation_id, after=after)
            if lines:
                data = json.dumps({"lines": [line.as_json() for line in lines]})
                await stream.send(f"event: lines\ndata: {data}\n\n")
                after = lines[-1].id
            try:
                now = await call(console.desk.entry, reference, member)
            except HandoffNotFound:
                # Transferred to a queue this member does not see: the page has nothing to show.
                await stream.send("event: gone\ndata: {}\n\n")
                await stream.eof()
                return None
            current = json.dumps(entry_json(now, member))
            if current != state:
                await stream.send(f"event: entry\ndata: {current}\n\n")
                state = current
            await asyncio.sleep(POLL_S)
        await stream.send("event: signed_out\ndata: {}\n\n")
        await stream.eof()
        return None

    @app.post("/conversations/<reference:str>/claim")
    @guarded("agent")
    async def claim(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        entry = await desk_step(request, console.desk.claim, reference, member)
        if isinstance(entry, HTTPResponse):
            return entry

        async def release() -> None:  # nobody is talking to the customer: back to the queue
            await call(console.desk.release, reference, member)

        told = await tell_customer(request, entry.conversation_id, "join", undo=release)
        if isinstance(told, HTTPResponse):
            return told
        return _done(request, f"/conversations/{reference}", {"status": "claimed"})

    @app.post("/conversations/<reference:str>/reply")
    @guarded("agent")
    async def reply(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        text = _field(request, "text").strip()
        if not text or len(text) > MAX_REPLY_CHARS:
            return problem(request, 400, f"Write 1 to {MAX_REPLY_CHARS} characters.")
        entry = await desk_step(request, console.desk.holding, reference, member)
        if isinstance(entry, HTTPResponse):
            return entry
        delivered = await tell_customer(
            request,
            entry.conversation_id,
            "message",
            text,
            failed="Your reply was not sent; try again.",
        )
        if isinstance(delivered, HTTPResponse):
            return delivered
        return _done(request, f"/conversations/{reference}", {"delivered": delivered})

    @app.post("/conversations/<reference:str>/hand-back")
    @guarded("agent")
    async def hand_back(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        entry = await desk_step(request, console.desk.holding, reference, member)
        if isinstance(entry, HTTPResponse):
            return entry
        told = await tell_customer(request, entry.conversation_id, "leave")
        if isinstance(told, HTTPResponse):
            return told
        closed = await desk_step(request, console.desk.hand_back, reference, member)
        if isinstance(closed, HTTPResponse):
            return closed
        return _done(request, "/", {"status": "closed"})

    @app.post("/conversations/<reference:str>/close")
    @guarded("agent")
    async def close(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        outcome = _field(request, "outcome")
        try:
            checked_outcome(outcome)  # before the customer is told anything
        except HandoffError as refusal:
            return refused(request, refusal)
        entry = await desk_step(request, console.desk.holding, reference, member)
        if isinstance(entry, HTTPResponse):
            return entry
        # Rasa tells the customer, resumes the assistant and asks for a rating.
        told = await tell_customer(request, entry.conversation_id, "close")
        if isinstance(told, HTTPResponse):
            return told
        # A refusal now means a supervisor moved it in the meantime.
        closed = await desk_step(request, console.desk.close, reference, member, outcome)
        if isinstance(closed, HTTPResponse):
            return closed
        return _done(request, "/", {"status": "closed", "outcome": outcome})

    @app.post("/conversations/<reference:str>/transfer")
    @guarded("agent")
    async def transfer(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        colleague, team = _staff_id(_field(request, "colleague")), _field(request, "team")
        if (colleague is None) == (not team):
            return problem(request, 400, "Choose a colleague or a team.")
        try:
            moved = await call(
                console.desk.transfer, reference, member, to_member=colleague, to_team=team or None
            )
        except HandoffError as refusal:
            return refused(request, refusal)
        if moved.relay_kind is not None:

            async def put_back() -> None:  # the customer was not told: back where it was
                await call(console.desk.revert_transfer, moved, member)

            told = await tell_customer(
                request,
                moved.conversation_id,
                moved.relay_kind,
                moved.relay_text,
                name=moved.relay_name,
                undo=put_back,
            )
            if isinstance(told, HTTPResponse):
                return told
        # An agent has handed it on; a supervisor stays to watch it.
        location = f"/conversations/{reference}" if member.can("supervisor") else "/"
        return _done(request, location, {"status": moved.after.status, "team": moved.after.team})

    @app.post("/conversations/<reference:str>/notes")
    @guarded("agent")
    async def add_note(request: Request, reference: str) -> HTTPResponse:
        # Private: stored in the records only, never sent through the relay.
        try:
            note = await call(
                console.desk.add_note, reference, request.ctx.member, _field(request, "text")
            )
        except HandoffError as refusal:
            return refused(request, refusal)
        answer = {"author": note.author, "at": note.at.timestamp(), "text": note.text}
        return _done(request, f"/conversations/{reference}#notes", answer)

    # --- administration ----------------------------------------------------------------------

    @app.get("/admin/staff")
    @guarded("admin")
    async def staff_page(request: Request) -> HTTPResponse:
        return await _staff_page(request, page, console, error=None)

    @app.post("/admin/staff")
    @guarded("admin")
    async def add_staff(request: Request) -> HTTPResponse:
        try:
            await call(
                console.staff.create_member,
                email=_form(request, "email"),
                name=_form(request, "name"),
                password=_form(request, "password"),
                role=_form(request, "role"),
                team=_form(request, "team") or "general",
                actor=f"staff:{request.ctx.member.id}",
            )
        except (InvalidStaffDetails, StaffExists) as refused:
            return await _staff_page(request, page, console, error=str(refused), status=400)
        return response.redirect("/admin/staff")

    @app.get("/admin/canned")
    @guarded("supervisor")
    async def canned_page(request: Request) -> HTTPResponse:
        return await _canned_page(request, page, console, error=None)

    @app.post("/admin/canned")
    @guarded("supervisor")
    async def add_canned(request: Request) -> HTTPResponse:
        try:
            await call(
                console.canned.create,
                request.ctx.member,
                _form(request, "title"),
                _form(request, "text"),
                _form(request, "team") or None,
            )
        except CannedResponseError as refused:
            return await _canned_page(request, page, console, error=str(refused), status=400)
        return response.redirect("/admin/canned", status=303)

    @app.post("/admin/canned/<canned_id:int>/remove")
    @guarded("supervisor")
    async def remove_canned(request: Request, canned_id: int) -> HTTPResponse:
        try:
            await call(console.canned.deactivate, request.ctx.member, canned_id)
        except CannedResponseError as refused:
            status = 404 if isinstance(refused, CannedResponseNotFound) else 400
            return await _canned_page(request, page, console, error=str(refused), status=status)
        return response.redirect("/admin/canned", status=303)

    panel.register(app, console, guarded=guarded, problem=problem, refused=refused, done=_done)
    supervision.register(app, console, guarded=guarded, page=page, problem=problem)
    likely_buyers.register(app, console, guarded=guarded, page=page, problem=problem)
    analytics.register(app, console, guarded=guarded, page=page, problem=problem)
    return app


def _login_page(
    page: Callable[..., HTTPResponse], console: Console, *, error: str | None, status: int = 200
) -> HTTPResponse:
    """The sign-in form with a fresh double-submit CSRF token."""
    token = secrets.token_urlsafe(32)
    reply = page("login.html", status, member=None, csrf=token, error=error)
    _set_cookie(reply, LOGIN_COOKIE, token, 3600, console.secure_cookies, path="/login")
    return reply


async def _staff_page(
    request: Request,
    page: Callable[..., HTTPResponse],
    console: Console,
    *,
    error: str | None,
    status: int = 200,
) -> HTTPResponse:
    members = await call(console.staff.members)
    return page(
        "staff.html",
        status,
        member=request.ctx.member,
        csrf=request.ctx.csrf,
        members=members,
        roles=STAFF_ROLES,
        teams=STAFF_TEAMS,
        error=error,
    )


async def _canned_page(
    request: Request,
    page: Callable[..., HTTPResponse],
    console: Console,
    *,
    error: str | None,
    status: int = 200,
) -> HTTPResponse:
    responses = await call(console.canned.for_member, request.ctx.member)
    return page(
        "canned.html",
        status,
        member=request.ctx.member,
        csrf=request.ctx.csrf,
        responses=responses,
        teams=STAFF_TEAMS,
        max_title=MAX_TITLE_CHARS,
        max_text=MAX_TEXT_CHARS,
        error=error,
    )


def _set_cookie(
    reply: HTTPResponse, name: str, value: str, max_age: int, secure: bool, path: str = "/"
) -> None:
    reply.add_cookie(
        name,
        value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def _wants_json(request: Request) -> bool:
    return request.path.startswith(("/api/", "/stream/")) or (
        request.content_type or ""
    ).startswith("application/json")


def _done(request: Request, location: str, answer: dict[str, Any]) -> HTTPResponse:
    """JSON for the page's script; a redirect for a plain form post."""
    if _wants_json(request):
        return response.json(answer)
    return response.redirect(location, status=303)


def _staff_id(value: str) -> int | None:
    """A staff member's id from a form, if it is one (small enough for the column)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
