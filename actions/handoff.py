"""Handoff to a person, with the transcript, for support staff.

`ActionRequestHandoff` answers the customer's own request (`contact_human_agent`); `hand_off`
is also called by the knowledge skill when the agent keeps failing a customer
(actions/knowledge.py).
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, call, transcript, verified_customer
from actions.queue import QUEUED_REQUESTS
from actions.services import Services
from crm.services import HandoffRef


async def hand_off(services: Services, tracker: Tracker, reason: str) -> HandoffRef:
    """Queue the conversation for a person, with the transcript and the verified customer."""
    return await call(
        services.handoffs.request_handoff,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        reason=reason,
        actor="bot",
        customer_id=verified_customer(tracker),
        transcript=transcript(tracker),
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
        request = await hand_off(services, tracker, "customer_request")
        dispatcher.utter_message(response="utter_handoff_requested", reference=request.reference)
        # A person takes the conversation from here, other requests of the message included.
        return [SlotSet(QUEUED_REQUESTS, None)] if tracker.get_slot(QUEUED_REQUESTS) else []
