"""Handoff to a person, with the transcript, for support staff.

`ActionRequestHandoff` answers the customer's own request (`contact_human_agent`), and a
question about the handoff under way ("what's the reference again?", "how long will I be
waiting?"); `hand_off` is also called by the knowledge skill when the agent keeps failing a
customer (actions/knowledge.py).
"""

from __future__ import annotations

import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ConversationPaused,
    EventType,
    FollowupAction,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopAction, call, latest_intent, transcript, verified_customer
from actions.context import CONTEXT_ORDER
from actions.queue import QUEUED_REQUESTS
from actions.responses import day
from actions.services import Services, get_services
from actions.turns import last_reply, uttered
from crm.desk.handoff_policy import Handoff

log = logging.getLogger(__name__)
HANDOFF_INTENT = "contact_human_agent"
# The agent's offers of a person: a yes to one asks for the handoff (actions/knowledge.py).
OFFERS = frozenset({"utter_offer_person", "utter_offer_person_order"})
SESSION_METADATA = "session_started_metadata"


async def hand_off(services: Services, tracker: Tracker, reason: str) -> Handoff:
    """Queue the conversation for a person, with the transcript and the verified customer.

    Where it goes and whether a ticket is opened is the desk's decision, in one unit of work
    (crm/desk/handoff_policy.py).
    """
    return await call(
        services.handoff_policy.hand_off,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        reason=reason,
        customer_id=verified_customer(tracker),
        transcript=transcript(tracker),
    )


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


# What the agent says when a conversation is handed to a person.
HANDED_OFF = frozenset(
    {
        "utter_handoff_requested",
        "utter_handoff_after_failure",
        "utter_handoff_closed",
        "utter_handoff_no_staff",
    }
)
# "what's the reference again?", "how long will I be waiting?": about the handoff under way.
_ABOUT_HANDOFF = re.compile(
    r"\b(?:ref(?:erence)?|case number|ticket number|how long\b.*\bwait\w*|waiting|wait time|"
    r"in (?:the )?queue|when will (?:someone|somebody|a person|they|a human)|still there)\b",
    re.I,
)


# "could a real person tell me more about it?": whether a person could, asked as a question.
_COULD_A_PERSON = re.compile(
    r"\b(?:could|can|would|will|might)\s+(?:a|an|one of your|some|any)?\s*(?:real|actual|live)?"
    r"\s*(?:person|human|someone|somebody|agent|colleague|member of (?:staff|your team))\s+"
    r"(?:\w+\s+)?(?:tell|explain|look|check|answer|know|say|clarify|confirm|go through)\b[^?]*\?",
    re.I,
)


def asks_whether_a_person_could(text: str) -> bool:
    """True if the customer asks whether a person could tell them more, rather than asks for one.

    The agent offers a person then, about the order in view; "can I talk to someone?" and
    "get me a human" are requests, handed over at once.
    """
    return bool(_COULD_A_PERSON.search(text or ""))


# "then get me one. now.", "put me through to one": a person, right after the agent said it is
# not one (and offered one).
_GET_ONE = re.compile(
    r"\b(?:get|give|find|fetch|put me (?:through|on) to|connect me (?:to|with)|transfer me to"
    r"|(?:i|i'?d) (?:want|need|like)|let me (?:talk|speak|chat) (?:to|with)"
    r"|can i (?:have|get|talk to|speak to))\b[^.?!]{0,20}?\b(?:one|them|someone|somebody)\b",
    re.I,
)
SAID_IT_IS_A_BOT = "utter_iamabot"


def asks_for_the_person_mentioned(tracker: Tracker) -> bool:
    """True if, right after the agent said it is not a person, the customer asks for one.

    "Then get me one" reads as ordering something to the NLU; here, "one" is a person.
    """
    text = str(tracker.latest_message.get("text") or "")
    return last_reply(tracker) == SAID_IT_IS_A_BOT and bool(_GET_ONE.search(text))


def asks_about_handoff(tracker: Tracker) -> bool:
    """True if, after a handoff in this conversation, the customer asks about it.

    The request is repeated by the desk with its reference and hours (one waiting request per
    conversation), which answers both the reference and the wait.
    """
    text = str(tracker.latest_message.get("text") or "")
    if not _ABOUT_HANDOFF.search(text):
        return False
    return any(
        event.get("event") == "bot" and uttered(event) in HANDED_OFF for event in tracker.events
    )


class ActionRequestHandoff(ShopAction):
    """Queue the conversation for a person and tell the customer what happens next."""

    def name(self) -> str:
        """Used by the handoff rules."""
        return "action_request_handoff"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """One waiting request per conversation; asking again repeats its reference.

        Asked whether a person could tell more ("could a real person tell me more about it?"),
        the agent offers one, about the order in view; a yes to the offer hands over.
        """
        text = str(tracker.latest_message.get("text") or "")
        bot = [uttered(e) for e in tracker.events if e.get("event") == "bot"]
        asked = latest_intent(tracker) == HANDOFF_INTENT and asks_whether_a_person_could(text)
        if asked and not HANDED_OFF & set(bot):
            order = tracker.get_slot(CONTEXT_ORDER)
            if order and verified_customer(tracker) is not None:
                dispatcher.utter_message(response="utter_offer_person_order", order_number=order)
            else:
                dispatcher.utter_message(response="utter_offer_person")
            return []
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


class ActionPersonOrOrder(ShopAction):
    """An order request right after the agent said it is a bot: a person, or the order."""

    def name(self) -> str:
        """Used by the rule for `place_order` right after `utter_iamabot`."""
        return "action_person_or_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """A person for "get me one then"; the order for "I'd like to order a kettle"."""
        if asks_for_the_person_mentioned(tracker):
            return [FollowupAction("action_request_handoff")]
        return [FollowupAction("place_order_form")]
