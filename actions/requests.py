"""Two requests in one message: do the first now and the other when the first is finished.

The NLU reads "where is my order and can I have the invoice?" as the multi-intent
`track_order+get_invoice` (Rasa splits the label on "+"). `action_split_request` cuts the message
into its clauses, gives each clause its own entities, replays the first clause to the dialogue as
if the customer had said only that, and keeps the others in the `queued_requests` slot. The action
that finishes a request (`ShopAction.ends_request`) replays the next one, so each request runs
its normal rules, form, verification and confirmation. Stopping or asking for a person drops
the queue with the task.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, latest_intent
from actions.queue import QUEUED_REQUESTS, Request, replay
from actions.services import Services

log = logging.getLogger(__name__)

INTENT_SEPARATOR = "+"

# Where one request ends and the next begins, strongest sign first: end of a sentence, then a
# linking word ("also", "plus", "then"), then a plain "and", then a bare comma.
_BOUNDARIES = (
    re.compile(r"[?.!;]+\s+(?:(?:and|also|plus|then)\b,?\s*)*", re.IGNORECASE),
    re.compile(r",?\s+(?:and\s+)?(?:also|plus|then|as well as)\b,?\s*", re.IGNORECASE),
    re.compile(r",?\s+and\s+", re.IGNORECASE),
    re.compile(r",\s*"),
)
_MIN_WORDS = 2


def clause_spans(text: str, count: int) -> list[tuple[int, int]]:
    """Cut `text` into `count` clauses, at the strongest boundaries that leave real clauses.

    Falls back to the whole text for every request when no boundary fits, which keeps each
    request's meaning at the cost of showing it the other's words.
    """
    if count <= 1:
        return [(0, len(text))]
    for boundary in _BOUNDARIES:
        cut = _first_cut(text, boundary)
        if cut is not None:
            end_first, start_rest = cut
            rest = clause_spans(text[start_rest:], count - 1)
            return [(0, end_first), *[(start_rest + a, start_rest + b) for a, b in rest]]
    return [(0, len(text))] * count


def _first_cut(text: str, boundary: re.Pattern[str]) -> tuple[int, int] | None:
    for match in boundary.finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        if len(before.split()) >= _MIN_WORDS and len(after.split()) >= _MIN_WORDS:
            return match.start(), match.end()
    return None


def split_message(intents: list[str], text: str, entities: list[dict[str, Any]]) -> list[Request]:
    """One request per intent, in the order said, each with the entities of its clause.

    An entity type a clause does not mention is taken from the other clauses ("where is order
    104233 and can I have its invoice": the invoice is for 104233 too).
    """
    spans = clause_spans(text, len(intents))
    own: list[list[dict[str, Any]]] = [[] for _ in intents]
    for entity in entities:
        start = entity.get("start")
        index = next(
            (i for i, (a, b) in enumerate(spans) if isinstance(start, int) and a <= start < b),
            None,
        )
        if index is None:
            for clause in own:
                clause.append(_value_only(entity))
        else:
            own[index].append(_value_only(entity))
    requests = []
    for i, intent in enumerate(intents):
        mine = own[i]
        said = {e["entity"] for e in mine}
        borrowed = [
            e for j, other in enumerate(own) if j != i for e in other if e["entity"] not in said
        ]
        a, b = spans[i]
        requests.append(Request(intent, text[a:b].strip(" ,"), _unique([*mine, *borrowed])))
    return requests


def _value_only(entity: dict[str, Any]) -> dict[str, Any]:
    """The parts of an entity that slot filling reads (positions belong to the whole text)."""
    kept: dict[str, Any] = {
        key: entity[key] for key in ("entity", "value", "role", "group") if key in entity
    }
    kept["extractor"] = entity.get("extractor", "split")
    return kept


def _unique(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for entity in entities:
        key = (str(entity.get("entity")), str(entity.get("value")))
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique


class ActionSplitRequest(ShopAction):
    """Start the first of several requests made in one message and keep the rest."""

    def name(self) -> str:
        """Used by the rules of the multi-intents in data/rules/combined.yml."""
        return "action_split_request"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Replay the first clause as its own message; queue the others."""
        intent = latest_intent(tracker) or ""
        intents = [part for part in intent.split(INTENT_SEPARATOR) if part]
        if len(intents) < 2:
            log.warning("action_split_request ran for the single intent %r", intent)
            return []
        message = tracker.latest_message
        requests = split_message(
            intents, str(message.get("text") or ""), list(message.get("entities") or [])
        )
        first, rest = requests[0], requests[1:]
        log.info(
            "split %s into %s in conversation %s",
            intent,
            [r.intent for r in requests],
            tracker.sender_id,
        )
        return [SlotSet(QUEUED_REQUESTS, [r.as_slot() for r in rest]), *replay(first, tracker)]
