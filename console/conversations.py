"""One conversation: its page and live stream, and what staff do in it.

Claim, reply, hand back, close, transfer and private notes. Each step is the records' first
(crm/desk/handoffs.py decides who may do what; a refusal is told to staff from one table,
`console.web.REFUSALS`), and everything the customer must hear about then goes through Rasa's
staff relay (console/relay.py). When Rasa does not take it, the step is undone, so nobody holds
a chat the customer was not told about. The transcript is read from the tracker store
(crm/desk/transcripts.py) and the page's script writes it with `textContent`: whatever a customer
types reaches staff screens as text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from config.contract import STAFF_TEAMS
from console import panel
from console.auth import guard, session_token
from console.queue import entry_json
from console.relay import RelayFailed
from console.web import (
    POLL_S,
    Console,
    call,
    done,
    field,
    page,
    problem,
    refused,
    staff_id,
    whole_number,
)
from crm.desk.canned import fill
from crm.desk.handoffs import (
    CLOSE_OUTCOMES,
    MAX_NOTE_CHARS,
    QueueEntry,
    checked_outcome,
    could_take,
)
from crm.records.errors import HandoffError, HandoffNotFound

log = logging.getLogger("console")

MAX_REPLY_CHARS = 4000
# The close form's choices, as staff read them.
OUTCOME_LABELS = {"resolved": "Resolved", "not_resolved": "Not resolved"}
T = TypeVar("T")


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add `/conversations/<reference>` with its steps, and its stream, to the console app."""
    guarded = guard(console.staff)

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
        token = session_token(request)
        after = whole_number(request.args.get("after"))
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
        return done(request, f"/conversations/{reference}", {"status": "claimed"})

    @app.post("/conversations/<reference:str>/reply")
    @guarded("agent")
    async def reply(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        text = field(request, "text").strip()
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
        return done(request, f"/conversations/{reference}", {"delivered": delivered})

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
        return done(request, "/", {"status": "closed"})

    @app.post("/conversations/<reference:str>/close")
    @guarded("agent")
    async def close(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        outcome = field(request, "outcome")
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
        return done(request, "/", {"status": "closed", "outcome": outcome})

    @app.post("/conversations/<reference:str>/transfer")
    @guarded("agent")
    async def transfer(request: Request, reference: str) -> HTTPResponse:
        member = request.ctx.member
        colleague, team = staff_id(field(request, "colleague")), field(request, "team")
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
        return done(request, location, {"status": moved.after.status, "team": moved.after.team})

    @app.post("/conversations/<reference:str>/notes")
    @guarded("agent")
    async def add_note(request: Request, reference: str) -> HTTPResponse:
        # Private: stored in the records only, never sent through the relay.
        try:
            note = await call(
                console.desk.add_note, reference, request.ctx.member, field(request, "text")
            )
        except HandoffError as refusal:
            return refused(request, refusal)
        answer = {"author": note.author, "at": note.at.timestamp(), "text": note.text}
        return done(request, f"/conversations/{reference}#notes", answer)
