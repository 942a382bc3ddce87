"""A customer's past conversations, as staff see them beside the one they are working.

A conversation belongs to a customer's history once the customer proved who they are in it
(:func:`remember_conversation`, called by ``CustomerService.verify``) or once it was handed to a
person with the customer known (a shopper signed in on the website is known without verifying).
Both are read here, so neither kind is missing from the list. Nothing here knows about Rasa or
the web; the transcripts themselves are read from the tracker store (crm/desk/transcripts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.records.models import CustomerConversation, HandoffRequest, StaffUser, utcnow

HISTORY_LIMIT: Final = 10
_CHANNEL_LENGTH: Final = 32  # customer_conversations.channel is VARCHAR(32)


@dataclass(frozen=True)
class PastHandoff:
    """A handoff of a past conversation: who took it, how it ended, what the customer rated."""

    reference: str
    status: str
    handled: bool  # a person claimed it (a request closed while waiting was not handled)
    assignee_name: str | None
    outcome: str | None
    csat_score: int | None


@dataclass(frozen=True)
class PastConversation:
    """One conversation of the customer; `current` marks the one staff have open."""

    conversation_id: str
    channel: str
    started_at: datetime
    current: bool
    handoffs: tuple[PastHandoff, ...]

    @property
    def handled_by_person(self) -> bool:
        """Whether a person took part in the conversation."""
        return any(handoff.handled for handoff in self.handoffs)


def remember_conversation(
    session: Session,
    customer_id: int,
    conversation_id: str,
    channel: str,
    at: datetime | None = None,
) -> None:
    """Record that the customer proved who they are in the conversation; once per pair.

    Verifying again in the same conversation keeps the first row (its time is when the
    customer first became known there). The insert runs in a savepoint, so a concurrent twin
    hitting the unique constraint leaves the caller's transaction intact.
    """
    known = session.scalar(
        select(CustomerConversation.id).where(
            CustomerConversation.conversation_id == conversation_id,
            CustomerConversation.customer_id == customer_id,
        )
    )
    if known is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                CustomerConversation(
                    conversation_id=conversation_id,
                    customer_id=customer_id,
                    channel=(channel or "unknown")[:_CHANNEL_LENGTH],
                    verified_at=at or utcnow(),
                )
            )
    except IntegrityError:
        pass  # recorded by a concurrent verification in the same conversation


def past_conversations(
    session: Session, customer_id: int, current_conversation_id: str, *, limit: int = HISTORY_LIMIT
) -> tuple[PastConversation, ...]:
    """The customer's `limit` most recent conversations, newest first, the current one marked.

    A conversation starts when the customer first became known in it: verified, or handed off
    with the customer known, whichever came first. Each query is bounded by `limit`.
    """
    verified = session.execute(
        select(
            CustomerConversation.conversation_id,
            CustomerConversation.channel,
            CustomerConversation.verified_at,
        )
        .where(CustomerConversation.customer_id == customer_id)
        .order_by(CustomerConversation.verified_at.desc(), CustomerConversation.id.desc())
        .limit(limit)
    ).all()
    handed_off = session.execute(
        select(
            HandoffRequest.conversation_id,
            func.min(HandoffRequest.channel),
            func.min(HandoffRequest.created_at).label("first_at"),
        )
        .where(HandoffRequest.customer_id == customer_id)
        .group_by(HandoffRequest.conversation_id)
        .order_by(func.min(HandoffRequest.created_at).desc())
        .limit(limit)
    ).all()
    started: dict[str, tuple[datetime, str]] = {}
    for conversation_id, channel, at in [*verified, *handed_off]:
        if conversation_id not in started or at < started[conversation_id][0]:
            started[conversation_id] = (at, channel)
    newest = sorted(started, key=lambda c: started[c][0], reverse=True)[:limit]
    handoffs: dict[str, list[PastHandoff]] = {c: [] for c in newest}
    rows = session.execute(
        select(HandoffRequest, StaffUser.name)
        .outerjoin(StaffUser, HandoffRequest.assignee_id == StaffUser.id)
        .where(
            HandoffRequest.conversation_id.in_(newest),
            # Another customer verified in the same chat (a shared device) keeps their own.
            or_(HandoffRequest.customer_id == customer_id, HandoffRequest.customer_id.is_(None)),
        )
        .order_by(HandoffRequest.created_at, HandoffRequest.id)
    ).all()
    for request, assignee in rows:
        handoffs[request.conversation_id].append(
            PastHandoff(
                reference=request.reference,
                status=request.status,
                handled=request.claimed_at is not None,
                assignee_name=assignee,
                outcome=request.outcome,
                csat_score=request.csat_score,
            )
        )
    return tuple(
        PastConversation(
            conversation_id=conversation_id,
            channel=started[conversation_id][1],
            started_at=started[conversation_id][0],
            current=conversation_id == current_conversation_id,
            handoffs=tuple(handoffs[conversation_id]),
        )
        for conversation_id in newest
    )
