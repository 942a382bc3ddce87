"""The console app put together from its areas: every route, sign-in, and the guard on each.

In-process through the ASGI interface (as test_console_analytics.py), with the real staff
sign-in and records; the browser-level journeys are tests/conversations/test_console.py.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
import pytest
from argon2 import PasswordHasher

from config.sql import pooled_engine
from console.app import create_app
from console.auth import LOGIN_COOKIE, SESSION_COOKIE
from console.relay import RasaRelay
from console.web import Console
from crm.desk.canned import CannedResponses
from crm.desk.handoff_requests import HandoffService
from crm.desk.handoffs import HandoffDesk
from crm.desk.panel import PanelRefunds
from crm.desk.staff import StaffService
from crm.desk.supervision import Supervision
from crm.desk.transcripts import TranscriptSource
from crm.insights.scores import CustomerScores, LikelyBuyers
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.records.money import RefundService
from tests.unit.console.test_console_analytics import _client

PASSWORD = "a long enough password"
APPS = itertools.count()
T = TypeVar("T")
ROUTES = {
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/api/queue"),
    ("GET", "/stream/queue"),
    ("GET", "/conversations/<reference:str>"),
    ("GET", "/stream/conversations/<reference:str>"),
    ("POST", "/conversations/<reference:str>/claim"),
    ("POST", "/conversations/<reference:str>/reply"),
    ("POST", "/conversations/<reference:str>/hand-back"),
    ("POST", "/conversations/<reference:str>/close"),
    ("POST", "/conversations/<reference:str>/transfer"),
    ("POST", "/conversations/<reference:str>/notes"),
    ("POST", "/conversations/<reference:str>/refunds"),
    ("GET", "/admin/staff"),
    ("POST", "/admin/staff"),
    ("GET", "/admin/canned"),
    ("POST", "/admin/canned"),
    ("POST", "/admin/canned/<canned_id:int>/remove"),
    ("GET", "/supervisor"),
    ("GET", "/api/supervisor"),
    ("GET", "/supervisor/likely-buyers"),
    ("GET", "/supervisor/analytics"),
    ("GET", "/api/supervisor/analytics"),
    ("GET", "/supervisor/gaps"),
    ("GET", "/api/supervisor/gaps"),
    ("GET", "/static/<__file_uri__:path>"),
    ("HEAD", "/static/<__file_uri__:path>"),
}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'records.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    for role in ("agent", "admin"):
        staff.create_member(
            email=f"{role}@larkspur.test",
            name=role.title(),
            password=PASSWORD,
            role=role,
            team="general",
            actor="t",
        )
    HandoffService(sessions).request_handoff(
        conversation_id="web-1", channel="socketio", reason="asked", customer_id=None, transcript=[]
    )
    desk = HandoffDesk(sessions)
    yield Console(
        staff=staff,
        desk=desk,
        transcripts=TranscriptSource(pooled_engine(f"sqlite:///{folder / 'tracker.db'}")),
        relay=RasaRelay("http://127.0.0.1:9", "unused"),
        canned=CannedResponses(sessions),
        refunds=PanelRefunds(sessions, desk, RefundService(sessions)),
        supervision=Supervision(sessions),
        scores=CustomerScores(sessions),
        buyers=LikelyBuyers(sessions),
    )


def browse(console: Console, script: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run `script` with a client of a new console app; cookies are kept between its calls."""

    async def run() -> list[T]:
        app = create_app(console, name=f"app_test_{next(APPS)}")
        # Not a return inside the loop: the app's shutdown runs after the client is done.
        return [await script(client) async for client in _client(app, {})]

    (result,) = asyncio.run(run())
    return result


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, role: str) -> httpx.Response:
    """Sign `role` in through the form, as a browser does."""
    token = csrf_of(await client.get("/login"))
    data = {"email": f"{role}@larkspur.test", "password": PASSWORD, "csrf_token": token}
    signed = await client.post("/login", data=data)
    assert (signed.status_code, signed.headers["location"]) == (302, "/")
    return signed


def test_every_area_s_routes_are_served(console: Console) -> None:
    app = create_app(console, name=f"app_test_{next(APPS)}")
    served = {(method, "/" + route.path) for route in app.router.routes for method in route.methods}
    assert served == ROUTES


def test_strangers_are_sent_to_sign_in_and_every_answer_has_the_security_headers(
    console: Console,
) -> None:
    async def script(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await client.get("/"),
            await client.get("/api/queue"),
            await client.post("/conversations/HO-AAAAAA/claim"),
            await client.get("/health"),
        ]

    page, api, change, health = browse(console, script)
    assert (page.status_code, page.headers["location"]) == (302, "/login")
    assert (api.status_code, api.json()) == (401, {"error": "sign in first"})
    assert change.status_code == 401
    assert health.json() == {"status": "ok"}
    for answer in (page, api, change, health):
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"


def test_signing_in_needs_the_form_s_own_token_and_the_right_password(console: Console) -> None:
    # Each sign-in page has a fresh token, in its form and in a cookie (double submit).
    async def script(client: httpx.AsyncClient) -> list[httpx.Response]:
        data = {"email": "agent@larkspur.test", "password": PASSWORD}
        form = await client.get("/login")
        forged = await client.post("/login", data={**data, "csrf_token": "forged"})
        wrong = {**data, "password": "not the password", "csrf_token": csrf_of(forged)}
        refused = await client.post("/login", data=wrong)
        stale = await client.post("/login", data={**data, "csrf_token": csrf_of(form)})
        signed = await client.post("/login", data={**data, "csrf_token": csrf_of(stale)})
        return [form, forged, refused, stale, signed]

    form, forged, refused, stale, signed = browse(console, script)
    assert form.cookies[LOGIN_COOKIE] == csrf_of(form)
    assert forged.status_code == 200 and "The form expired" in forged.text
    assert refused.status_code == 401 and "Wrong email or password." in refused.text
    assert stale.status_code == 200 and "The form expired" in stale.text
    assert (signed.status_code, signed.headers["location"]) == (302, "/")
    assert signed.cookies[SESSION_COOKIE]
    for answer in (form, forged, refused, stale):
        assert SESSION_COOKIE not in answer.cookies


def test_a_signed_in_agent_sees_the_queue_but_not_the_admin_pages(console: Console) -> None:
    async def script(client: httpx.AsyncClient) -> list[httpx.Response]:
        await sign_in(client, "agent")
        return [await client.get(path) for path in ("/", "/api/queue", "/admin/staff")]

    queue, api, staff = browse(console, script)
    assert queue.status_code == 200 and "Conversations waiting for a person" in queue.text
    assert [entry["channel"] for entry in api.json()["queue"]] == ["socketio"]
    assert staff.status_code == 403 and "Your role does not allow this page." in staff.text


def test_a_change_needs_the_session_s_csrf_token_and_signing_out_ends_it(
    console: Console,
) -> None:
    async def script(client: httpx.AsyncClient) -> list[httpx.Response]:
        await sign_in(client, "admin")
        page = await client.get("/admin/staff")
        return [
            page,
            await client.post("/logout"),
            await client.post("/logout", headers={"X-CSRF-Token": "not the token"}),
            await client.get("/api/queue"),
            await client.post("/logout", headers={"X-CSRF-Token": csrf_of(page)}),
            await client.get("/api/queue"),
        ]

    page, without, wrong, still_in, out, after = browse(console, script)
    assert page.status_code == 200
    assert without.status_code == 403 and "The form expired" in without.text
    assert wrong.status_code == 403
    assert still_in.status_code == 200
    assert (out.status_code, out.headers["location"]) == (302, "/login")
    assert after.status_code == 401
