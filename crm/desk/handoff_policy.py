"""Where a customer's request for a person goes, decided in one unit of work.

One call decides everything a handoff depends on: the team (by the customer's words), whether
that team has anybody at the console or the chat waits in the general queue instead
(overflow), whether it is within support hours, and whether a ticket is opened because nobody
can take the chat now. The request and its ticket are written in one transaction, so a failure
leaves neither. The action (actions/handoff.py) only tells the customer what was decided.

The router is given as a function, so the desk does not depend on the trained models
(crm/insights/routing.py); the composition root (actions/services.py) passes it in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from config.contract import GENERAL_TEAM
from config.support_hours import SupportHours
from crm.desk.handoff_requests import new_handoff_reference, queue_request, staff_online_in
from crm.desk.transcripts import TranscriptRecord, checked_record
from crm.records.audit import Clock
from crm.records.db import retry_once_on_conflict
from crm.records.feedback import (
    MAX_DESCRIPTION_LENGTH,
    add_ticket,
    checked_ticket,
    new_ticket_reference,
)
from crm.records.models import utcnow

log = logging.getLogger(__name__)

GENERAL = GENERAL_TEAM
# The customer's last few messages decide the team: enough to see past "a person, please",
# few enough that an old topic of a long chat does not.
ROUTING_WINDOW = 5
# How many of the customer's last messages a ticket's description quotes.
TICKET_QUOTE = 10

# The team for a conversation from what the customer said, newest last.
Route = Callable[[Sequence[str]], str]


@dataclass(frozen=True)
class Handoff:
    """What was decided: the request's reference and team, and a ticket if nobody is on duty.

    `opens` is when support next opens, for a handoff outside support hours; it is None within
    them (a ticket then means nobody is at the console).
    """

    reference: str
    team: str
    ticket: str | None
    opens: datetime | None


class HandoffPolicy:
    """Queue a conversation for a person and open a ticket when nobody can take it now.

    `presence` is how recently a member must have had the console open to count as on duty
    (`STAFF_PRESENCE_SECONDS`); None: members are always counted as there.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        hours: SupportHours,
        presence: timedelta | None,
        route: Route | None = None,
        clock: Clock = utcnow,
        new_reference: Callable[[], str] | None = None,
        new_ticket: Callable[[], str] = new_ticket_reference,
    ) -> None:
        self._sessions = sessions
        self._hours = hours
        self._presence = presence
        self._route = route
        self._clock = clock
        self._new_reference = new_reference or new_handoff_reference
        self._new_ticket = new_ticket

    def team(self, conversation_id: str, said: Sequence[str]) -> str:
        """The team for the customer's recent words, newest last; `general` if routing fails.

        A handoff or a complaint must reach someone even when the model fails, so a failure is
        logged with the conversation and the words go to the general queue.
        """
        if self._route is None:
            return GENERAL
        try:
            return self._route(said)
        except Exception:
            log.exception("could not route %s; it goes to %s", conversation_id, GENERAL)
            return GENERAL

    def hand_off(
        self,
        *,
        conversation_id: str,
        channel: str,
        reason: str,
        customer_id: int | None,
        transcript: Sequence[TranscriptRecord],
        actor: str = "bot",
    ) -> Handoff:
        """Queue the conversation (or find its open request) and open a ticket if need be.

        Within support hours, a chat for a team with nobody at the console waits in the general
        queue when a generalist is there (agents see their own team's queue only). A ticket is
        opened outside support hours, and within them when nobody who could take the chat has
        the console open, so the case is worked on even if nobody picks the chat up.
        """
        lines = [checked_record(line) for line in transcript]
        said = [line["text"] for line in lines if line["role"] == "customer"]
        # A model call: made before the transaction, which it would hold open.
        team = self.team(conversation_id, said[-ROUTING_WINDOW:])
        description = "\n".join(said[-TICKET_QUOTE:])[-MAX_DESCRIPTION_LENGTH:] or reason

        def work() -> Handoff:
            with self._sessions.begin() as session:
                now = self._clock()
                within_hours = self._hours.is_open(now)
                chosen = team
                if within_hours and chosen != GENERAL and self._overflows(session, chosen, now):
                    log.info("nobody of %s on duty: %s waits in %s", team, conversation_id, GENERAL)
                    chosen = GENERAL
                request = queue_request(
                    session,
                    now=now,
                    new_reference=self._new_reference,
                    conversation_id=conversation_id,
                    channel=channel,
                    reason=reason,
                    customer_id=customer_id,
                    transcript=lines,
                    actor=actor,
                    team=chosen,
                )
                if within_hours and self._on_duty(session, request.team, now):
                    return Handoff(request.reference, request.team, None, None)
                subject, text = checked_ticket(
                    "service",
                    request.team,
                    f"Handoff {request.reference}, nobody on duty ({reason})",
                    description,
                )
                ticket = add_ticket(
                    session,
                    now=now,
                    reference=self._new_ticket(),
                    customer_id=customer_id,
                    conversation_id=conversation_id,
                    category="service",
                    subject=subject,
                    description=text,
                    actor=actor,
                    team=request.team,
                )
                opens = None if within_hours else self._hours.next_opening(now)
                return Handoff(request.reference, request.team, ticket.reference, opens)

        return retry_once_on_conflict(work)

    def _on_duty(self, session: Session, team: str, now: datetime) -> bool:
        """Whether a member who could take a chat of `team` has the console open."""
        if self._presence is None:
            return True
        return staff_online_in(session, team, now=now, within=self._presence) > 0

    def _overflows(self, session: Session, team: str, now: datetime) -> bool:
        """Whether a chat for `team` should wait in the general queue instead."""
        return not self._on_duty(session, team, now) and self._on_duty(session, GENERAL, now)
