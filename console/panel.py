"""The customer panel's history and the refunds staff issue from it.

The past conversations come from the records (crm/records/history.py, through the desk's
`customer_panel`); the mood of each is computed here, from the transcripts the console reads
from the tracker store (crm/desk/transcripts.py): the mean VADER score (crm/insights/sentiment.py)
of the customer's own messages, and the share of them at or below the threshold that counts as
negative. Reading transcripts and scoring are blocking, so both run off the event loop.

A refund from the panel is `crm.desk.panel.PanelRefunds.issue`, which checks that the member holds
the conversation and that the order is the verified customer's, then calls the assistant's own
`RefundService.request_refund` with the actor `staff:<id>`. Its refusals are told to staff from
one table, `refund_refusal`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Any, Final

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from console.auth import guard
from console.web import Console, done, field, problem, refused
from crm.desk.handoffs import CustomerPanel
from crm.desk.staff import StaffMember
from crm.desk.transcripts import TranscriptSource
from crm.insights.sentiment import NEGATIVE_THRESHOLD, sentiment
from crm.records.errors import CRMError, HandoffError, OrderNotFound, RefundNotAllowed
from crm.records.history import PastConversation

MAX_REASON_CHARS: Final = 200
# What staff are told when the records refuse a refund (RefundEligibility.reason values).
REFUND_REFUSALS: Final[dict[str, str]] = {
    "not_delivered": (
        "This order has not been delivered yet: it can be cancelled before it ships, "
        "or refunded once it arrives."
    ),
    "cancelled_refunded_automatically": (
        "This order was cancelled; if it was paid, it was refunded in full when cancelled."
    ),
    "window_passed": "The 30-day return window of this order has passed.",
    "already_refunded": "This order has already been refunded in full.",
    "not_on_order": "That product is not on this order.",
}


@dataclass(frozen=True)
class MoodPoint:
    """The customer's mood in one conversation; `mean` is None when they wrote nothing."""

    conversation_id: str
    started_at: datetime
    current: bool
    messages: int
    mean: float | None
    negative_share: float | None

    @property
    def negative_percent(self) -> str:
        """The share of negative messages, for people."""
        return "–" if self.negative_share is None else f"{round(self.negative_share * 100)} %"


def mood_trend(
    transcripts: TranscriptSource, conversations: Sequence[PastConversation]
) -> list[MoodPoint]:
    """The customer's mood per conversation, oldest first (a trend reads left to right).

    Button presses arrive as payloads ("/affirm"): they are not the customer's words and are
    left out, as are empty messages.
    """
    points = []
    for conversation in reversed(conversations):
        scores = [
            sentiment(line.text)
            for line in transcripts.lines(conversation.conversation_id)
            if line.role == "customer" and line.text.strip() and not line.text.startswith("/")
        ]
        negative = sum(score <= NEGATIVE_THRESHOLD for score in scores)
        points.append(
            MoodPoint(
                conversation_id=conversation.conversation_id,
                started_at=conversation.started_at,
                current=conversation.current,
                messages=len(scores),
                mean=fmean(scores) if scores else None,
                negative_share=negative / len(scores) if scores else None,
            )
        )
    return points


async def panel_values(
    console: Console, reference: str, member: StaffMember, customer: CustomerPanel | None
) -> dict[str, Any]:
    """What the panel adds to the records: mood, refundable orders, purchase propensity."""
    values: dict[str, Any] = {
        "mood": [],
        "mood_threshold": NEGATIVE_THRESHOLD,
        "refundable": (),
        "propensity": None,
    }
    if customer is not None:
        values["propensity"] = await asyncio.to_thread(console.scores.for_customer, customer.id)
        values["mood"] = await asyncio.to_thread(
            mood_trend, console.transcripts, customer.conversations
        )
        values["refundable"] = await asyncio.to_thread(
            console.refunds.refundable, reference, member
        )
    return values


def refund_refusal(error: CRMError) -> tuple[int, str]:
    """The status and message staff get when the records refuse a refund."""
    if isinstance(error, RefundNotAllowed):
        return 409, REFUND_REFUSALS.get(error.reason, "This order cannot be refunded now.")
    return 404, "No such order for the customer verified in this conversation."


def register(app: Sanic[Any, Any], console: Console) -> None:
    """Add the panel's refund form's route to the console app."""
    guarded = guard(console.staff)

    @app.post("/conversations/<reference:str>/refunds")
    @guarded("agent")
    async def panel_refund(request: Request, reference: str) -> HTTPResponse:
        number = field(request, "order_number").strip()
        reason = " ".join(field(request, "reason").split())
        if not reason or len(reason) > MAX_REASON_CHARS:
            return problem(request, 400, f"Give a reason of 1 to {MAX_REASON_CHARS} characters.")
        try:
            refund = await asyncio.to_thread(
                console.refunds.issue, reference, request.ctx.member, number, reason
            )
        except HandoffError as refusal:
            return refused(request, refusal)
        except (OrderNotFound, RefundNotAllowed) as refusal:
            return problem(request, *refund_refusal(refusal))
        answer = {
            "order_number": refund.order_number,
            "amount": refund.amount_display,
            "status": refund.status,
        }
        return done(request, f"/conversations/{reference}", answer)
