"""Context across turns: the order the conversation is about, and the last question it asked.

Customers do not repeat themselves. After a question about an order, "can I get a refund on it?"
means that order; after "when will 100103 arrive?", a bare "and 100102" asks the same of
another order; after "do you deliver to France?", "what about the US?" asks the same of another
country. Two slots, set by the action server only and never deciding a rule, keep the thread:

- `context_order`: the last order the conversation was about (found on the verified customer's
  account by any task's form, actions/verification.py). It outlives the task that found it: a
  finished task forgets its own slots (`TaskAction`), not what the conversation is about. A
  task about one order started without an order number takes it when the request refers back
  to one ("it", "that order", "the same one"); the form still verifies the customer.
- `last_question`: the last question the help centre was asked, as the agent understood it
  (an elliptical follow-up already resolved), with the things it named (entities).

`action_continue` (actions/followups.py) serves the customer's messages that continue the
previous turn outside a task: an elliptical follow-up (`follow_up`) and a bare answer (`inform`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker

CONTEXT_ORDER = "context_order"
LAST_QUESTION = "last_question"

# The intents whose task is about one order: its form asks for an order number.
ORDER_TASKS = frozenset(
    {
        "track_order",
        "cancel_order",
        "change_shipping_address",
        "get_invoice",
        "get_refund",
        "check_cancellation_fee",
        "delivery_period",
        "change_order",
    }
)

# Words that point back at something already said: "it", "that order", "the same one".
_REFERS_BACK = re.compile(
    r"\b(it|its|it's|that|this|same|them|they|those|these|one|above|again)\b", re.I
)
# The words an elliptical follow-up opens with ("and for Ireland?", "what about express?").
_LEAD_IN = re.compile(
    r"^\W*(?:(?:and|or|but|so|ok(?:ay)?|also|what|how|about|for|to|with|then|if)\b\W*)+", re.I
)
# Words that take back what was just said: "I meant ...", "sorry, ... instead".
_CORRECTION = re.compile(
    r"\b(?:i meant|i mean|meant to say|sorry|pardon|actually|instead|rather|correction)\b", re.I
)
# Entity kinds a follow-up can swap for the previous question's ("what about Germany?").
PLACE = "place"
SWAPPABLE = frozenset({PLACE, "payment_method", "product", "delivery_speed"})


def refers_back(text: str) -> bool:
    """True if the message points at something the conversation already named."""
    return bool(_REFERS_BACK.search(text or ""))


@dataclass(frozen=True)
class Question:
    """A question as the help centre was asked it, and the things it named (entity spans)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    def as_slot(self) -> dict[str, Any]:
        """The plain JSON kept in the `last_question` slot."""
        return {"text": self.text, "entities": self.entities}

    @classmethod
    def from_slot(cls, value: Any) -> Question | None:
        """Read a kept question back; anything malformed counts as none."""
        if not isinstance(value, dict) or not str(value.get("text") or "").strip():
            return None
        entities = value.get("entities")
        kept = [e for e in entities if _named(e)] if isinstance(entities, list) else []
        return cls(text=str(value["text"]), entities=kept)

    @classmethod
    def of_message(cls, text: str, entities: list[dict[str, Any]]) -> Question:
        """The customer's message as a question, with the swappable things it names."""
        named = [_entity(e) for e in entities if _named(e)]
        # Overlapping lookups ("netherlands" in "the netherlands"): the longest words count.
        longest = [
            e
            for e in named
            if not any(
                o["entity"] == e["entity"]
                and len(o["value"]) > len(e["value"])
                and e["value"].lower() in o["value"].lower()
                for o in named
            )
        ]
        return cls(text=text, entities=longest)

    def kinds(self) -> set[str]:
        """The kinds of thing the question names."""
        return {str(e["entity"]) for e in self.entities}


def _named(entity: Any) -> bool:
    """An entity of a kind a follow-up may swap, with the words that named it."""
    return (
        isinstance(entity, dict)
        and entity.get("entity") in SWAPPABLE
        and isinstance(entity.get("value"), str)
    )


def _entity(entity: dict[str, Any]) -> dict[str, Any]:
    """Only what the next turn needs of an entity: its kind and its words."""
    return {"entity": entity["entity"], "value": entity["value"]}


def resolve_follow_up(previous: Question | None, follow_up: Question) -> Question:
    """The question an elliptical follow-up asks, read against the previous question.

    A follow-up that names a thing of a kind the previous question named asks the previous
    question again about the new thing ("do you deliver to France?", "what about the US?" ->
    "do you deliver to the US?"). Any other follow-up keeps the previous question as its
    context ("how much is postage to Ireland?", "and how long does it take?"). The result names
    the things both named, so the next follow-up resolves against it in turn.
    """
    if previous is None:
        return follow_up
    swapped = previous.text
    replaced: set[str] = set()
    for new in follow_up.entities:
        for old in previous.entities:
            if old["entity"] == new["entity"] and old["value"] not in replaced:
                swapped = _replace_words(swapped, old["value"], new["value"])
                replaced.add(old["value"])
    kept = [e for e in previous.entities if e["value"] not in replaced]
    entities = [*kept, *follow_up.entities]
    if replaced:
        rest = _LEAD_IN.sub("", follow_up.text).strip()
        text = swapped if _only_names(rest, follow_up.entities) else f"{rest} {swapped}"
        return Question(text=text, entities=entities)
    return Question(text=f"{follow_up.text.strip()} {previous.text.strip()}", entities=entities)


def corrects(said: Question, previous: Question) -> bool:
    """True if the message takes back a thing the previous question named and names another.

    "I do beg your pardon, I meant the Republic of Ireland" after "do you deliver to Northern
    Ireland?" asks the same question about the Republic of Ireland.
    """
    return bool(_CORRECTION.search(said.text)) and bool(said.kinds() & previous.kinds())


def _replace_words(text: str, old: str, new: str) -> str:
    """`text` with the words `old` (any case) replaced by `new`."""
    return re.sub(rf"\b{re.escape(old)}\b", new, text, flags=re.I)


def _only_names(rest: str, entities: list[dict[str, Any]]) -> bool:
    """True if what follows the lead-in is little more than the things named ("the US?")."""
    for entity in entities:
        rest = _replace_words(rest, entity["value"], " ")
    words = re.findall(r"[a-z']+", rest.lower())
    return len([w for w in words if w not in ("the", "a", "an", "to", "in", "for", "of")]) == 0


# Intents that answer or continue a turn rather than ask for something: a request is looked for
# before them (an email and a postcode answered for verification sit between a request and
# its correction).
_NOT_REQUESTS = frozenset(
    {
        "inform",
        "affirm",
        "deny",
        "follow_up",
        "nlu_fallback",
        "thank",
        "answer_helpful",
        "answer_not_helpful",
    }
)


@dataclass(frozen=True)
class Said:
    """A customer's message as the NLU read it: intent, words and entities."""

    intent: str
    text: str
    entities: list[dict[str, Any]]


def requests(events: list[dict[str, Any]]) -> list[Said]:
    """The customer's requests in `events`, latest first: what they asked with no task under way.

    Answers to a task's questions (an email and a postcode, "sorry, I meant order 100202") are
    not requests, nor are yes, no and thanks.
    """
    said: list[Said] = []
    in_task = False
    for event in events:
        kind = event.get("event")
        if kind == "active_loop":
            in_task = bool(event.get("name"))
        elif kind == "user" and not in_task:
            parse = event.get("parse_data") or {}
            name = str((parse.get("intent") or {}).get("name") or "")
            if name and name not in _NOT_REQUESTS:
                entities = [e for e in parse.get("entities") or [] if isinstance(e, dict)]
                said.append(Said(intent=name, text=str(event.get("text") or ""), entities=entities))
    return said[::-1]


def last_request(tracker: Tracker) -> Said | None:
    """The customer's last request before the latest message, past any answers to questions.

    "sorry I meant 100101" after "cancel 100104" and the verification that followed it corrects
    the cancellation, not the postcode.
    """
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            found = requests(events[:index])
            return found[0] if found else None
    return None


def previous_request(tracker: Tracker) -> Said | None:
    """The customer's message just before the latest one, if it asked for something.

    "Will they try again?" after "your driver says nobody was home" goes on from that message
    (a complaint, not a question the help centre answered); an older request, or a yes, an
    email address or a postcode in between, is not what a pronoun points at.
    """
    events = list(tracker.events)
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if len(users) < 2:
        return None
    found = requests(events[: users[-1]])
    previous = events[users[-2]]
    if not found or found[0].text != str(previous.get("text") or ""):
        return None
    return found[0]


def previous_intent(tracker: Tracker) -> str | None:
    """The intent of the customer's message before the latest one."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if seen_latest:
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            return str(name) if name else None
        seen_latest = True
    return None
