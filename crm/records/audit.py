"""Every change to the records writes one audit row, in the transaction that makes the change.

Services take a `Clock` so that tests can fix the time the change and its audit row carry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.records.models import (
    AuditLog,
)

# The time source of a service: `crm.records.models.utcnow`, or a fixed time in tests.
Clock = Callable[[], datetime]


def audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    conversation_id: str | None,
) -> None:
    """Add the audit row of one change to `session`: who did what to which record, and how.

    `actor` is required ("bot", "staff:<id>", "import:<source>"): an unattributed change cannot
    be audited. `conversation_id` ties a change to the chat that asked for it.
    """
    if not actor:
        raise ValueError("actor is required for audited changes")
    session.add(
        AuditLog(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            conversation_id=conversation_id,
        )
    )
