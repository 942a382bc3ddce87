"""Signing in and out, sessions, and the check every page and API call goes through.

`guard(staff)` gives the `guarded(role)` decorator each area puts on its handlers: it checks the
session cookie and the member's role and, for anything that changes state, the session's CSRF
token (a form field or the `X-CSRF-Token` header). The sign-in form has its own double-submit
token, as nobody is signed in yet. What a member may see inside a role is decided by the records
layer (crm/desk/handoffs.py).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from console.web import Console, Handler, call, form, page, problem, set_cookie, wants_json
from crm.desk.staff import StaffService
from crm.records.errors import InvalidCredentials, TooManyAttempts
from crm.records.models import utcnow

SESSION_COOKIE = "larkspur_console"
LOGIN_COOKIE = "larkspur_console_login"  # CSRF token of the sign-in form (double submit)


def session_token(request: Request) -> str:
    """The session token the browser sent; "" without one."""
    return request.cookies.get(SESSION_COOKIE) or ""


def guard(staff: StaffService) -> Callable[[str], Callable[[Handler], Handler]]:
    """The `guarded(role)` decorator, checking sessions with `staff`."""

    def guarded(role: str) -> Callable[[Handler], Handler]:
        """Signed in, with `role` or above; and for changes, the session's CSRF token."""

        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            async def checked(request: Request, *args: Any, **kwargs: Any) -> Any:
                token = session_token(request)
                found = await call(staff.session, token) if token else None
                if found is None:
                    if wants_json(request) or request.method != "GET":
                        return response.json({"error": "sign in first"}, status=401)
                    return response.redirect("/login")
                member, csrf = found
                request.ctx.member, request.ctx.csrf = member, csrf
                if not member.can(role):
                    return problem(request, 403, "Your role does not allow this page.")
                if request.method not in ("GET", "HEAD"):
                    given = request.headers.get("X-CSRF-Token") or form(request, "csrf_token")
                    if not hmac.compare_digest(given.encode(), csrf.encode()):
                        return problem(request, 403, "The form expired; reload the page.")
                return await handler(request, *args, **kwargs)

            return checked

        return decorate

    return guarded


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add `/login` (the form and its post) and `/logout` to the console app."""
    guarded = guard(console.staff)

    @app.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        return _login_page(console, error=None)

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        given = form(request, "csrf_token")
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return _login_page(console, error="The form expired; please try again.")
        email, password = form(request, "email"), form(request, "password")
        try:
            signed = await call(
                console.staff.sign_in, email=email, password=password, client=request.ip or "-"
            )
        except TooManyAttempts as wait:
            minutes = max(1, round(wait.retry_after_s / 60))
            reply = _login_page(
                console,
                error=f"Too many failed sign-ins. Try again in about {minutes} min.",
                status=429,
            )
            reply.headers["Retry-After"] = str(wait.retry_after_s)
            return reply
        except InvalidCredentials:
            return _login_page(console, error="Wrong email or password.", status=401)
        reply = response.redirect("/")
        max_age = max(1, int((signed.expires_at - utcnow()).total_seconds()))
        set_cookie(reply, SESSION_COOKIE, signed.token, max_age, console.secure_cookies)
        reply.delete_cookie(LOGIN_COOKIE, path="/login")
        return reply

    @app.post("/logout")
    @guarded("agent")
    async def logout(request: Request) -> HTTPResponse:
        await call(console.staff.sign_out, session_token(request))
        reply = response.redirect("/login")
        reply.delete_cookie(SESSION_COOKIE, path="/")
        return reply


def _login_page(console: Console, *, error: str | None, status: int = 200) -> HTTPResponse:
    """The sign-in form with a fresh double-submit CSRF token."""
    token = secrets.token_urlsafe(32)
    reply = page("login.html", status, member=None, csrf=token, error=error)
    set_cookie(reply, LOGIN_COOKIE, token, 3600, console.secure_cookies, path="/login")
    return reply
