"""Requests waiting their turn: the second of two things said in one message.

`actions/requests.py` splits such a message and keeps the later requests in the
`queued_requests` slot; the action that finishes a request (`ShopAction.ends_request`) calls
`next_request`, which replays the next one to the dialogue as the customer's latest message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.responses import literal

log = logging.getLogger(__name__)

QUEUED_REQUESTS = "queued_requests"


@dataclass(frozen=True)
class Request:
    """One request of a message: its intent, its clause and the entities said in it."""

    intent: str
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    def as_slot(self) -> dict[str, Any]:
        """The form kept in the `queued_requests` slot (plain JSON)."""
        return {"intent": self.intent, "text": self.text, "entities": self.entities}

    @classmethod
    def from_slot(cls, value: Any) -> Request | None:
        """Read a kept request back; anything malformed is dropped."""
        if not isinstance(value, dict) or not isinstance(value.get("intent"), str):
            return None
        entities = value.get("entities")
        return cls(
            intent=value["intent"],
            text=str(value.get("text") or ""),
            entities=[e for e in entities if isinstance(e, dict)]
            if isinstance(entities, list)
            else [],
        )


def replay(request: Request, tracker: Tracker) -> list[EventType]:
    """Events that make the dialogue take `request` as the customer's latest message.

    Rasa runs slot extraction and predicts the next action after an action returns a user
    event; the `action_listen` before it makes the turn look like any other customer turn.
    The event is marked as replayed, so transcripts show the customer's words once.
    """
    parse_data = {
        "text": request.text,
        "intent": {"name": request.intent, "confidence": 1.0},
        "intent_ranking": [{"name": request.intent, "confidence": 1.0}],
        "entities": request.entities,
    }
    return [
        ActionExecuted("action_listen"),
        {
            "event": "user",
            "text": request.text,
            "parse_data": parse_data,
            "input_channel": tracker.get_latest_input_channel(),
            "metadata": {"replayed": True},
        },
    ]


def is_replayed(tracker: Tracker) -> bool:
    """True if the latest customer message is one `replay` made, not one the customer typed.

    An action that replays a message with more in it (the current order's number) must not do
    it again for its own replay: the rules would send it back to the same action for ever.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return bool((event.get("metadata") or {}).get("replayed"))
    return False


def next_request(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """If the customer asked for more in the same message, start the next request now.

    Not while a form is waiting for an answer: a question answered in the middle of a form
    does not end the form's request.
    """
    if tracker.active_loop_name:
        return []
    kept = tracker.get_slot(QUEUED_REQUESTS)
    if not isinstance(kept, list) or not kept:
        return []
    request = Request.from_slot(kept[0])
    rest = kept[1:] or None
    if request is None:
        log.warning("dropping a malformed queued request in conversation %s", tracker.sender_id)
        return [SlotSet(QUEUED_REQUESTS, rest)]
    log.info("next request %s in conversation %s", request.intent, tracker.sender_id)
    dispatcher.utter_message(response="utter_next_request", request=literal(request.text))
    return [SlotSet(QUEUED_REQUESTS, rest), *replay(request, tracker)]
