"""The customer's side of handoffs: a conversation queued for a person, presence, ratings.

The staff side (claiming, replying, transferring, closing) is crm/desk/handoffs.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from config.contract import STAFF_TEAMS
from crm.desk.transcripts import TranscriptRecord, checked_record
from crm.records.audit import Clock, audit
from crm.records.db import retry_once_on_conflict
from crm.records.errors import (
    UnknownTeam,
)
from crm.records.models import HandoffRequest, StaffSession, StaffUser, utcnow
from crm.records.numbers import random_reference


@dataclass(frozen=True)
class HandoffRef:
    """A queued handoff; ``reference`` (e.g. ``HO-7F3K2Q``) can be read out to the customer."""

    id: int
    reference: str
    created_at: datetime
    team: str = "general"


def new_handoff_reference() -> str:
    """A handoff's reference, e.g. ``HO-7F3K2Q``, read out to the customer."""
    return random_reference("HO-")


class HandoffService:
    """Queue conversations for a person to take over."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = utcnow,
        new_reference: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._new_reference = new_reference or new_handoff_reference

    def request_handoff(
        self,
        *,
        conversation_id: str,
        channel: str,
        reason: str,
        customer_id: int | None,
        transcript: Sequence[TranscriptRecord],
        actor: str = "agent",
        team: str = "general",
    ) -> HandoffRef:
        """Queue the conversation for staff, or return its open (waiting or claimed) request.

        A new request waits in ``team``'s queue (one of ``STAFF_TEAMS``, else
        :class:`UnknownTeam`); an open one keeps the team it has, where staff may have moved it.
        The database allows one open request per conversation; if a concurrent call wins
        the race (or a reference collides), the unit of work is retried once and then finds
        the winner's request. Each transcript line is checked as crm/desk/transcripts.py says
        (its roles, text, an ISO 8601 ``at``), else :class:`ValueError`.
        """
        if team not in STAFF_TEAMS:
            raise UnknownTeam()
        lines = [checked_record(line) for line in transcript]

        def work() -> HandoffRef:
            with self._sessions.begin() as session:
                return queue_request(
                    session,
                    now=self._clock(),
                    new_reference=self._new_reference,
                    conversation_id=conversation_id,
                    channel=channel,
                    reason=reason,
                    customer_id=customer_id,
                    transcript=lines,
                    actor=actor,
                    team=team,
                )

        return retry_once_on_conflict(work)

    def staff_online(self, team: str, within: timedelta) -> int:
        """How many members who could take a conversation of `team` had the console open lately.

        Presence is a live console page (crm/desk/staff.py refreshes the session's `last_seen_at`);
        a team's agents count, and supervisors and admins, who see every queue.
        """
        with self._sessions() as session:
            return staff_online_in(session, team, now=self._clock(), within=within)

    def held_by_person(self, conversation_id: str) -> bool:
        """Whether a staff member holds the conversation now (a claimed handoff)."""
        with self._sessions() as session:
            found = session.scalar(
                select(HandoffRequest.id).where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.status == "claimed",
                )
            )
        return found is not None

    def record_csat(self, conversation_id: str, score: int) -> str | None:
        """Store the customer's rating (1 to 5) on the newest handoff a person handled.

        Only a handoff nobody has rated yet takes it, so a second answer does not overwrite the
        first; returns the rated handoff's reference, or None when there is none to rate.
        """
        if not 1 <= score <= 5:
            raise ValueError(f"a rating is 1 to 5, not {score}")
        with self._sessions.begin() as session:
            request = session.scalars(
                select(HandoffRequest)
                .where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.claimed_at.is_not(None),
                    HandoffRequest.csat_score.is_(None),
                )
                .order_by(HandoffRequest.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if request is None:
                return None
            request.csat_score, request.csat_at = score, self._clock()
            return request.reference


def queue_request(
    session: Session,
    *,
    now: datetime,
    new_reference: Callable[[], str],
    conversation_id: str,
    channel: str,
    reason: str,
    customer_id: int | None,
    transcript: list[TranscriptRecord],
    actor: str,
    team: str,
) -> HandoffRef:
    """Queue the conversation in the caller's unit of work, or return its open request.

    Shared by `HandoffService.request_handoff` and the handoff policy (handoff_policy.py), which
    decides the ticket in the same transaction. `transcript` is already checked.
    """
    open_request = session.scalars(
        select(HandoffRequest).where(
            HandoffRequest.conversation_id == conversation_id,
            HandoffRequest.status.in_(("waiting", "claimed")),
        )
    ).one_or_none()
    if open_request is not None:
        return HandoffRef(
            open_request.id, open_request.reference, open_request.created_at, open_request.team
        )
    request = HandoffRequest(
        reference=new_reference(),
        conversation_id=conversation_id,
        channel=channel,
        customer_id=customer_id,
        reason=reason,
        transcript=transcript,
        status="waiting",
        created_at=now,
        priority=URGENT if reason in URGENT_REASONS else NORMAL,
        team=team,
    )
    session.add(request)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        action="handoff.request",
        entity="handoff_request",
        entity_id=request.reference,
        before=None,
        after={"status": "waiting", "channel": channel, "reason": reason, "team": team},
        conversation_id=conversation_id,
    )
    return HandoffRef(request.id, request.reference, request.created_at, request.team)


def staff_online_in(session: Session, team: str, *, now: datetime, within: timedelta) -> int:
    """Members who could take `team`'s conversations with a console page open since `within`."""
    count = session.scalar(
        select(func.count(func.distinct(StaffUser.id)))
        .join(StaffSession, StaffSession.user_id == StaffUser.id)
        .where(
            StaffUser.active.is_(True),
            or_(StaffUser.team == team, StaffUser.role.in_(("supervisor", "admin"))),
            StaffSession.revoked_at.is_(None),
            StaffSession.expires_at > now,
            StaffSession.last_seen_at >= now - within,
        )
    )
    return int(count or 0)


URGENT, NORMAL = 1, 2


# An upset customer waits at the head of the queue.
URGENT_REASONS = frozenset({"negative_sentiment", "complaint"})
