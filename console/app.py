"""The agent console: support staff sign in, take conversations from the queue and answer them.

Every page and API call goes through `guarded`, which checks the session cookie, the member's
role and, for anything that changes state, the CSRF token; what a member may see inside a role
is decided by the records layer (crm/handoffs.py). Pages are rendered by Jinja2 with
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

from console.relay import RasaRelay, RelayFailed
from console.transcripts import TranscriptSource
from crm.errors import (
    HandoffError,
    HandoffNotFound,
    HandoffNotYours,
    HandoffTaken,
    InvalidCredentials,
    InvalidStaffDetails,
    StaffExists,
    TooManyAttempts,
)
from crm.handoffs import HandoffDesk, QueueEntry
from crm.models import STAFF_ROLES, STAFF_TEAMS, utcnow
from crm.staff import StaffMember, StaffService

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
# What staff are told when the records refuse a step (crm/handoffs.py).
REFUSALS: dict[type[HandoffError], tuple[int, str]] = {
    HandoffNotFound: (404, "No such conversation in your queues."),
    HandoffTaken: (409, "Someone else has taken this conversation."),
    HandoffNotYours: (403, "Only the person holding the conversation can do this."),
}
T = TypeVar("T")
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Console:
    """What the console's handlers work with."""

    staff: StaffService
    desk: HandoffDesk
    transcripts: TranscriptSource
    relay: RasaRelay
    secure_cookies: bool = False


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

    async def entry_or_problem(request: Request, reference: str) -> QueueEntry | HTTPResponse:
        try:
            return await call(console.desk.entry, reference, request.ctx.member)
        except HandoffError as refusal:
            return refused(request, refusal)

    @app.get("/conversations/<reference:str>")
    @guarded("agent")
    async def conversation_page(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        entry = await entry_or_problem(request, reference)
        if isinstance(entry, HTTPResponse):
            return entry
        lines = await call(console.transcripts.lines, entry.conversation_id)
        customer = await call(console.desk.customer_panel, reference, member)
        return page(
            "conversation.html",
            member=member,
            csrf=request.ctx.csrf,
            entry=entry,
            mine=entry.held_by(member),
            lines=lines,
            last_line=lines[-1].id if lines else 0,
            customer=customer,
            max_reply=MAX_REPLY_CHARS,
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
            now = await call(console.desk.entry, reference, member)
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
        try:
            entry = await call(console.desk.claim, reference, member)
        except HandoffError as refusal:
            return refused(request, refusal)
        try:
            await console.relay.send(entry.conversation_id, "join", member.name)
        except RelayFailed as failure:
            # Nobody is talking to the customer: put the conversation back in the queue.
            await call(console.desk.release, reference, member)
            log.error("claim of %s undone: %s", reference, failure)
            return problem(request, 502, "The assistant could not be reached; try again.")
        return _done(request, f"/conversations/{reference}", {"status": "claimed"})

    @app.post("/conversations/<reference:str>/reply")
    @guarded("agent")
    async def reply(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        text = (_json_field(request, "text") or _form(request, "text")).strip()
        if not text or len(text) > MAX_REPLY_CHARS:
            return problem(request, 400, f"Write 1 to {MAX_REPLY_CHARS} characters.")
        try:
            entry = await call(console.desk.holding, reference, member)
        except HandoffError as refusal:
            return refused(request, refusal)
        try:
            delivered = await console.relay.send(
                entry.conversation_id, "message", member.name, text
            )
        except RelayFailed as failure:
            log.error("reply in %s not sent: %s", reference, failure)
            return problem(request, 502, "Your reply was not sent; try again.")
        return _done(request, f"/conversations/{reference}", {"delivered": delivered})

    @app.post("/conversations/<reference:str>/hand-back")
    @guarded("agent")
    async def hand_back(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        try:
            entry = await call(console.desk.holding, reference, member)
        except HandoffError as refusal:
            return refused(request, refusal)
        try:
            await console.relay.send(entry.conversation_id, "leave", member.name)
        except RelayFailed as failure:
            log.error("hand-back of %s failed: %s", reference, failure)
            return problem(request, 502, "The assistant could not be reached; try again.")
        await call(console.desk.hand_back, reference, member)
        return _done(request, "/", {"status": "closed"})

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


def _form(request: Request, field: str) -> str:
    if not (request.content_type or "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return ""
    value = request.form.get(field) if request.form else None
    return value if isinstance(value, str) else ""


def _json_field(request: Request, field: str) -> str:
    if not (request.content_type or "").startswith("application/json"):
        return ""
    try:
        body = request.json
    except Exception:  # a malformed body is simply not a reply
        return ""
    value = body.get(field) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def _done(request: Request, location: str, answer: dict[str, Any]) -> HTTPResponse:
    """JSON for the page's script; a redirect for a plain form post."""
    if _wants_json(request):
        return response.json(answer)
    return response.redirect(location, status=303)


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
