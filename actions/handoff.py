"""Handoff to a person, with the transcript, for support staff.

`ActionRequestHandoff` answers the customer's own request (`contact_human_agent`); `hand_off`
is also called by the knowledge skill when the agent keeps failing a customer
(actions/knowledge.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ConversationPaused,
    EventType,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopAction, call, transcript, verified_customer
from actions.queue import QUEUED_REQUESTS
from actions.responses import day
from actions.services import Services, get_services
from config.support_hours import support_hours
from crm.insights.routing import FALLBACK_TEAM
from crm.records.feedback import MAX_DESCRIPTION_LENGTH

log = logging.getLogger(__name__)
SESSION_METADATA = "session_started_metadata"
# The customer's last few messages decide the team: enough to see past "a person, please",
# few enough that an old topic of a long chat does not.
ROUTING_WINDOW = 5


@dataclass(frozen=True)
class Handoff:
    """A conversation queued for a person; `ticket` when nobody is on duty to take it now."""

    reference: str
    ticket: str | None
    opens: datetime | None


async def hand_off(services: Services, tracker: Tracker, reason: str) -> Handoff:
    """Queue the conversation for a person, with the transcript and the verified customer.

    Outside support hours, or within them when nobody has the agent console open (presence,
    `STAFF_PRESENCE_SECONDS`), the request still waits in the queue, and a ticket is opened too,
    so the case is worked on even if nobody picks the conversation up.
    """
    settings = services.settings
    customer_id = verified_customer(tracker)
    lines = transcript(tracker)
    said = [line["text"] for line in lines if line["role"] == "customer"]
    now = datetime.now(UTC)
    hours = support_hours(settings.support_hours, settings.support_timezone)
    team = await route_team(services, tracker.sender_id, said)
    if hours.is_open(now) and team != FALLBACK_TEAM and await _overflows(services, team):
        log.info("nobody of %s on duty: %s waits in %s", team, tracker.sender_id, FALLBACK_TEAM)
        team = FALLBACK_TEAM
    request = await call(
        services.handoffs.request_handoff,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        reason=reason,
        actor="bot",
        customer_id=customer_id,
        transcript=lines,
        team=team,
    )
    if hours.is_open(now):
        if await _someone_on_duty(services, request.team):
            return Handoff(request.reference, None, None)
        opens = None  # within hours, but nobody is at the console
    else:
        opens = hours.next_opening(now)
    ticket = await call(
        services.tickets.open_ticket,
        customer_id=customer_id,
        conversation_id=tracker.sender_id,
        category="service",
        subject=f"Handoff {request.reference}, nobody on duty ({reason})",
        description="\n".join(said[-10:])[-MAX_DESCRIPTION_LENGTH:] or reason,
        actor="bot",
        team=request.team,
    )
    return Handoff(request.reference, ticket.reference, opens)


async def route_team(services: Services, conversation_id: str, said: list[str]) -> str:
    """The team for the customer's words (newest last), by the routing model, off the loop.

    A handoff must happen even if routing fails, so a failure sends it to `general` and is
    logged. The log names the team and confidence, never the customer's words.
    """
    router = services.router
    if router is None:
        return FALLBACK_TEAM
    try:
        routing = await call(router.route_conversation, said[-ROUTING_WINDOW:])
    except Exception:
        log.exception("could not route %s; it goes to %s", conversation_id, FALLBACK_TEAM)
        return FALLBACK_TEAM
    log.info(
        "routed %s to %s (%s model: %s at %.2f, threshold %.2f)",
        conversation_id,
        routing.team,
        router.kind,
        routing.predicted,
        routing.confidence,
        router.threshold,
    )
    return routing.team


async def _overflows(services: Services, team: str) -> bool:
    """Whether a chat for `team` should wait in the general queue instead.

    Agents see their own team's queue only, so a small shop with generalists on duty and no
    specialist would otherwise turn a routed chat into a ticket while someone could take it.
    """
    return not await _someone_on_duty(services, team) and await _someone_on_duty(
        services, FALLBACK_TEAM
    )


async def _someone_on_duty(services: Services, team: str) -> bool:
    """Whether a person who could take the conversation has the agent console open."""
    seconds = services.settings.staff_presence_seconds
    if seconds == 0:
        return True
    online = await call(services.handoffs.staff_online, team, timedelta(seconds=seconds))
    return online > 0


def say_handed_off(
    dispatcher: CollectingDispatcher, services: Services, handoff: Handoff, *, failed: bool
) -> None:
    """Tell the customer who takes over and when; `failed`: after the agent could not help."""
    hours = services.settings.support_hours
    timezone = services.settings.support_timezone
    if handoff.ticket is None:
        response = "utter_handoff_after_failure" if failed else "utter_handoff_requested"
        dispatcher.utter_message(
            response=response, reference=handoff.reference, hours=hours, timezone=timezone
        )
    elif handoff.opens is None:
        dispatcher.utter_message(response="utter_handoff_no_staff", ticket=handoff.ticket)
    else:
        dispatcher.utter_message(
            response="utter_handoff_closed",
            ticket=handoff.ticket,
            hours=hours,
            timezone=timezone,
            opens_day=day(handoff.opens),
            opens_time=f"{handoff.opens:%H:%M}",
        )


class ActionRequestHandoff(ShopAction):
    """Queue the conversation for a person and tell the customer what happens next."""

    def name(self) -> str:
        """Used by the handoff rules."""
        return "action_request_handoff"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """One waiting request per conversation; asking again repeats its reference."""
        handoff = await hand_off(services, tracker, "customer_request")
        say_handed_off(dispatcher, services, handoff, failed=False)
        # A person takes the conversation from here, other requests of the message included.
        return [SlotSet(QUEUED_REQUESTS, None)] if tracker.get_slot(QUEUED_REQUESTS) else []


class ActionSessionStart(Action):
    """Rasa's session start, but a conversation a person holds stays with that person.

    A new session begins after `session_expiration_time` of silence, and Rasa's own session
    start forgets that the assistant was paused: a customer coming back to a chat a person
    still holds would be answered by the assistant behind their back. So a held conversation
    starts its new session paused again.
    """

    def name(self) -> str:
        """Replaces Rasa's default action of that name (listed in domain.yml)."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """SessionStarted (slots are not carried over), the channel's metadata, maybe a pause."""
        events: list[EventType] = [SessionStarted()]
        metadata = tracker.get_slot(SESSION_METADATA)
        if metadata:
            events.append(SlotSet(SESSION_METADATA, metadata))
        try:
            held = await call(get_services().handoffs.held_by_person, tracker.sender_id)
        except Exception:
            # A session must start even without the records; the customer is answered.
            log.exception("could not check for a person holding %s", tracker.sender_id)
            held = False
        if held:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events
