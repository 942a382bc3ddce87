"""What every action shares: the error boundary, verification state, ending a task, the transcript.

Errors are mapped here, once: a known service error becomes a domain response in the skill
module; anything else is logged with an error id and the customer gets `utter_technical_problem`,
never a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.queue import next_request
from actions.services import Services, get_services
from config.contract import SIGNED_IN_CUSTOMER
from crm.desk.transcripts import TranscriptRecord, transcript_lines

log = logging.getLogger(__name__)
T = TypeVar("T")

# The domain of the request being served (rasa-sdk sends it with every action call), for the
# few actions that build buttons from domain responses; a context variable, so concurrent
# requests never see each other's.
_DOMAIN: ContextVar[DomainDict] = ContextVar("domain")

CUSTOMER_ID = "customer_id"
CUSTOMER_NAME = "customer_first_name"
VERIFIED_UNTIL = "verified_until"


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking service call off the event loop, so other conversations keep going."""
    return await asyncio.to_thread(function, *args, **kwargs)


def signed_in_customer(tracker: Tracker) -> int | None:
    """The customer the website vouched for with a signed identity on the latest message.

    Only the widget channel sets this metadata, after checking the host site's signature
    (bot/channels/identity.py); every other channel leaves it out.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            value = (event.get("metadata") or {}).get(SIGNED_IN_CUSTOMER)
            return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def verified_customer(tracker: Tracker) -> int | None:
    """The verified customer's id, or None if not verified or the verification expired.

    Verification in the conversation comes first (a shopper may verify as another account they
    hold); otherwise a signed-in website shopper counts as verified.
    """
    customer_id = tracker.get_slot(CUSTOMER_ID)
    until = tracker.get_slot(VERIFIED_UNTIL)
    if customer_id is None or until is None or float(until) < time.time():
        return signed_in_customer(tracker)
    return int(customer_id)


def response_text(name: str) -> str | None:
    """The first text of a domain response, for a button title; None if there is none."""
    variants = _DOMAIN.get({}).get("responses", {}).get(name) or []
    text = variants[0].get("text") if variants else None
    return str(text) if text else None


def response_names(prefix: str) -> list[str]:
    """The names of the domain's responses that start with `prefix`."""
    return [name for name in _DOMAIN.get({}).get("responses", {}) if name.startswith(prefix)]


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the customer's latest message."""
    intent = tracker.latest_message.get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def yes_or_no(slot: str, value: Any) -> dict[str, Any]:
    """Keep a confirmation slot's yes (True) or no (False); anything else asks again."""
    return {slot: value if isinstance(value, bool) else None}


def technical_problem(dispatcher: CollectingDispatcher, tracker: Tracker, action: str) -> None:
    """Log the exception in progress with an id the customer can quote, and apologise."""
    error_id = uuid.uuid4().hex[:8]
    log.exception(
        "action %s failed: error %s, conversation %s", action, error_id, tracker.sender_id
    )
    dispatcher.utter_message(response="utter_technical_problem", error_id=error_id)


class ShopAction(Action, ABC):
    """An action with the error boundary around `act`.

    `ends_request` marks the action that finishes a customer's request; after it, a request
    still waiting from the same message (see actions/queue.py) is started.
    """

    ends_request: bool = False

    @abstractmethod
    def name(self) -> str:
        """The action's name in domain.yml."""

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Do the skill's work and return the events to apply."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Run `act`; an unexpected error becomes an apology with an error id."""
        _DOMAIN.set(domain)
        try:
            events = await self.act(dispatcher, tracker, get_services())
            if self.ends_request:
                events = [*events, *next_request(dispatcher, tracker)]
            return events
        except Exception:
            technical_problem(dispatcher, tracker, self.name())
            return self.on_error(tracker)

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """Events that leave the conversation clean after a failure (none by default)."""
        return []


def forget_task(slots: Iterable[str], counters: Iterable[str] = ()) -> list[EventType]:
    """The events that end a task: its slots emptied, its counters back to 0.

    The one way a task is forgotten, whether it finished (`TaskAction`) or was stopped midway
    (`action_reset_task`, actions/tasks.py); who the customer is stays.
    """
    return [*(SlotSet(slot, None) for slot in slots), *(SlotSet(name, 0) for name in counters)]


class TaskAction(ShopAction, ABC):
    """The action that ends a task: whatever happens, it forgets the task's slots.

    `forgets` names them and `counters` the task's counts of failed attempts (set back to 0),
    so the next request starts fresh; verification is kept.
    """

    ends_request = True
    forgets: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()

    def forget(self) -> list[EventType]:
        """Events that clear the task's slots."""
        return forget_task(self.forgets, self.counters)

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """A failed task leaves nothing behind either."""
        return self.forget()


class ShopFormValidation(FormValidationAction, ABC):
    """A form validation action with the same error boundary.

    Customers often say what the form would ask in the request itself ("change my email to
    a@b.com", "send 100102 to 14 Canal Street, Manchester M1 3HE"). `early_details` reads
    those from the message that starts the task, so the form never asks for them again.
    """

    # Questions asked before the details whose answers may carry them too ("the phone, it's
    # 07700 900552" to "what would you like to change?").
    details_with: tuple[str, ...] = ()
    # The slot of the read-back that asks for a yes or a no: a detail given in its place
    # ("sorry, it's grace.h@example.fr") corrects the one read back, which is read back again.
    confirmation: str | None = None

    @abstractmethod
    def name(self) -> str:
        """`validate_<form name>`."""

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """The form's slots that `text`, the message starting the task, already answers.

        Checked like an answer but quietly: what does not parse is simply asked later, with
        the usual re-asking. None by default.
        """
        return {}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate the answers; when the task starts, also keep the details it was given.

        Also after a question of `details_with`, whose answer may hold them too; and at the
        `confirmation`, where a new detail replaces the one read back.

        The details are kept before verification is asked, when that message is the latest;
        a slot the customer answered or another rule already set is left as it is.
        """
        requested = tracker.get_slot(REQUESTED_SLOT)
        text = str(tracker.latest_message.get("text") or "")
        starting = requested in (None, *self.details_with)
        # A question asked at the read-back ("will mail to a@b.com still reach me?") is answered
        # by the rules, not taken for a correction.
        correcting = requested is not None and requested == self.confirmation and "?" not in text
        events: list[EventType] = await super().get_validation_events(dispatcher, tracker, domain)
        if not (starting or correcting):
            return events
        if starting:
            # A task chosen from the "Do you mean ...?" buttons: the details are in the message
            # the choice answers, not in the button's words. (Imported here: clarify needs base.)
            from actions.clarify import clarified_question

            text = clarified_question(tracker) or text
        details = await self.early_details(text, tracker)
        if correcting:
            changed = {
                slot: value
                for slot, value in details.items()
                if value is not None and value != tracker.get_slot(slot)
            }
            if not changed:
                return events
            changed[str(self.confirmation)] = None
            tracker.slots.update(changed)
            return [*events, *(SlotSet(slot, value) for slot, value in changed.items())]
        settled = {event.get("name") for event in events}
        for slot, value in details.items():
            if value is None or slot in settled or tracker.get_slot(slot) is not None:
                continue
            tracker.slots[slot] = value
            events.append(SlotSet(slot, value))
        return events

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate; on an unexpected error, apologise and ask for the same slot again."""
        _DOMAIN.set(domain)
        try:
            events: list[EventType] = await super().run(dispatcher, tracker, domain)
            return events
        except Exception:
            technical_problem(dispatcher, tracker, self.name())
            return [SlotSet(slot, None) for slot in tracker.slots_to_validate()]


def transcript(tracker: Tracker) -> list[TranscriptRecord]:
    """The conversation so far, for a person taking it over (crm/desk/transcripts.py's lines)."""
    return [line.as_record() for line in transcript_lines(tracker.events)]
