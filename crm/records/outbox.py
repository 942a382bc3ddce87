"""The email outbox: how the assistant "sends" email.

Services never talk to a mail server. Inside their unit of work they call :func:`queue_email`,
which adds an ``outbox_messages`` row in the same transaction as the change it announces; a
separate mailer process delivers pending rows and marks them sent. So an email goes out if
and only if the change committed, and a slow or failing mail server never delays a chat turn.

Bodies are plain text and may contain single-use links: treat the table as secret, and never
log a body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.contacts import normalise_email
from crm.records.models import OUTBOX_KINDS, OutboxMessage, utcnow

__all__ = ["OUTBOX_KINDS", "OutboxService", "OutboxView", "queue_email"]

_MAX_SUBJECT: Final = 200


@dataclass(frozen=True)
class OutboxView:
    """A queued email as the mailer (and the tests) read it."""

    id: int
    kind: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None


def queue_email(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    at: datetime | None = None,
) -> int:
    """Add an email to the outbox within the caller's transaction; return its id.

    ``kind`` must be one of :data:`~crm.records.models.OUTBOX_KINDS` and the recipient a valid
    address (:class:`~crm.records.contacts.InvalidContact` otherwise). ``at`` is the queueing time
    (the service's clock); it defaults to now.
    """
    if kind not in OUTBOX_KINDS:
        raise ValueError("unknown outbox message kind")
    subject = subject.strip()
    if not subject or len(subject) > _MAX_SUBJECT or "\n" in subject or "\r" in subject:
        # A line break in a subject would let text become a mail header.
        raise ValueError(f"subject must be one line of 1 to {_MAX_SUBJECT} characters")
    if not body.strip():
        raise ValueError("body must not be empty")
    message = OutboxMessage(
        kind=kind,
        recipient=normalise_email(recipient),
        subject=subject,
        body=body,
        created_at=at or utcnow(),
    )
    session.add(message)
    session.flush()
    return message.id


def _view(message: OutboxMessage) -> OutboxView:
    return OutboxView(
        id=message.id,
        kind=message.kind,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        created_at=message.created_at,
        sent_at=message.sent_at,
    )


class OutboxService:
    """Read and settle the outbox (for the mailer process and for tests)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def pending(self, limit: int = 100) -> list[OutboxView]:
        """Return up to ``limit`` unsent emails, oldest first."""
        if limit < 1:
            raise ValueError("limit must be positive")
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
            return [_view(row) for row in rows]

    def mark_sent(self, message_id: int, *, at: datetime | None = None) -> bool:
        """Record that an email was delivered; ``False`` if it was already marked or is unknown.

        The row is locked first, so two mailers racing for it record it once.
        """
        with self._sessions.begin() as session:
            message = session.scalars(
                select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
            ).one_or_none()
            if message is None or message.sent_at is not None:
                return False
            message.sent_at = at or utcnow()
            return True
