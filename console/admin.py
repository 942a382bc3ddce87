"""Administration: staff accounts (admins) and canned replies (supervisors and admins).

The rules and their checks are the records' (crm/desk/staff.py, crm/desk/canned.py); a refusal
comes back as the same page with the records' message.
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from config.contract import STAFF_TEAMS
from console.auth import guard
from console.web import Console, call, form, page
from crm.desk.canned import MAX_TEXT_CHARS, MAX_TITLE_CHARS
from crm.records.errors import (
    CannedResponseError,
    CannedResponseNotFound,
    InvalidStaffDetails,
    StaffExists,
)
from crm.records.models import STAFF_ROLES


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add `/admin/staff` and `/admin/canned` (list, add, remove) to the console app."""
    guarded = guard(console.staff)

    @app.get("/admin/staff")
    @guarded("admin")
    async def staff_page(request: Request) -> HTTPResponse:
        return await _staff_page(request, console, error=None)

    @app.post("/admin/staff")
    @guarded("admin")
    async def add_staff(request: Request) -> HTTPResponse:
        try:
            await call(
                console.staff.create_member,
                email=form(request, "email"),
                name=form(request, "name"),
                password=form(request, "password"),
                role=form(request, "role"),
                team=form(request, "team") or "general",
                actor=f"staff:{request.ctx.member.id}",
            )
        except (InvalidStaffDetails, StaffExists) as refused:
            return await _staff_page(request, console, error=str(refused), status=400)
        return response.redirect("/admin/staff")

    @app.get("/admin/canned")
    @guarded("supervisor")
    async def canned_page(request: Request) -> HTTPResponse:
        return await _canned_page(request, console, error=None)

    @app.post("/admin/canned")
    @guarded("supervisor")
    async def add_canned(request: Request) -> HTTPResponse:
        try:
            await call(
                console.canned.create,
                request.ctx.member,
                form(request, "title"),
                form(request, "text"),
                form(request, "team") or None,
            )
        except CannedResponseError as refused:
            return await _canned_page(request, console, error=str(refused), status=400)
        return response.redirect("/admin/canned", status=303)

    @app.post("/admin/canned/<canned_id:int>/remove")
    @guarded("supervisor")
    async def remove_canned(request: Request, canned_id: int) -> HTTPResponse:
        try:
            await call(console.canned.deactivate, request.ctx.member, canned_id)
        except CannedResponseError as refused:
            status = 404 if isinstance(refused, CannedResponseNotFound) else 400
            return await _canned_page(request, console, error=str(refused), status=status)
        return response.redirect("/admin/canned", status=303)


async def _staff_page(
    request: Request, console: Console, *, error: str | None, status: int = 200
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
    request: Request, console: Console, *, error: str | None, status: int = 200
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
