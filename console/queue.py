"""The queue: conversations waiting for a person, as a page, as JSON and as a live stream.

Who sees which queue is the records' rule (`HandoffDesk.queue`, crm/desk/handoffs.py). The
stream is server-sent events: the server polls the records once a second per open page and sends
the queue when it changed, until the session ends.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from console.auth import guard, session_token
from console.web import POLL_S, Console, call, page
from crm.desk.handoffs import QueueEntry
from crm.desk.staff import StaffMember


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


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add `/` (the queue page), `/api/queue` and `/stream/queue` to the console app."""
    guarded = guard(console.staff)

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
        token = session_token(request)
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
