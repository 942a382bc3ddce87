"""Ask, don't guess: "Do you mean ...?" when the NLU cannot tell which task a message asks for.

Rasa's FallbackClassifier (config.yml) turns a message into `nlu_fallback` when the classifier's
best reading is weak or too close to the next one. Starting the wrong task then costs the customer
more than a question does, so outside a form `action_clarify` reads the classifier's ranking: when
its best reading is a task and a second task came close enough, the customer gets the tasks it
hesitated between as buttons (two or three). Otherwise the message is a question for the help
centre (`action_answer_from_knowledge`), which offers the task buttons (even a single one) when
it has no answer, rather than only saying it does not know.

Each button sends its task's choice phrasing, the text of `utter_choice_<intent>` in domain.yml.
That phrasing is also a training example of the intent, and the classifier gives a phrasing it
was trained on its label with certainty (bot/nlu/intent_model.py), so a choice goes straight to
its task. What the first message said is not lost: its order number or product already filled
their slots, and a help-centre choice answers the first message, not the button's words.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.address import address_in
from actions.base import ShopAction, response_names, response_text
from actions.context import CONTEXT_ORDER, LAST_QUESTION, ORDER_TASKS, last_request, refers_back
from actions.feedback import what_happened
from actions.handoff import asks_for_the_person_mentioned
from actions.products import asks_about_products, order_request
from actions.queue import Request, replay
from actions.recommend import refines_request, suggest_for_request
from actions.services import Services
from actions.turns import previous_turn, user_texts
from actions.verification import ORDER_NUMBER, find_order_number

CHOICE = "utter_choice_"
CLARIFY = "utter_clarify"  # the NLU hesitated between tasks
CLARIFY_UNANSWERED = "utter_clarify_unanswered"  # the help centre had nothing either
FALLBACK = "nlu_fallback"
COMPLAINT = "complaint"
# The tasks whose details include a postal address.
ADDRESS_TASKS = frozenset({"change_shipping_address", "set_up_shipping_address"})
# A reading below this share of the classifier's confidence is not worth a button. Asked
# before the help centre only when the classifier hesitated between at least FEWEST tasks: with
# one weak task reading, the rest is questions or out of scope, and the help centre goes first.
FLOOR = 0.1
FEWEST = 2
MOST = 3
# Readings that mean the message continues the conversation rather than asks something new.
CONTINUING = frozenset({"inform", "follow_up"})
# Help-centre topics (front matter `topic:`) that answer each policy intent; the NLU's reading
# of the question breaks near-ties between articles of different topics.
TOPICS: dict[str, tuple[str, ...]] = {
    "delivery_options": ("shipping",),
    "delivery_period": ("shipping",),
    "check_payment_methods": ("payments",),
    "payment_issue": ("payments",),
    "check_refund_policy": ("returns",),
    "check_cancellation_fee": ("orders", "returns"),
    "contact_customer_service": ("contact",),
    "registration_problems": ("accounts",),
}
# Readings the help centre answers, whichever of them is right: no task starts for them (the
# delivery period and the cancellation fee only without an order), so asking which one the
# customer meant changes nothing but costs a click; the help centre answers the message itself.
HELP_CENTRE_READINGS = frozenset({"ask_question", *TOPICS})


def _with_number(tracker: Tracker, number: str) -> list[dict[str, Any]]:
    """The message's entities, with its order number among them."""
    entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
    if any(e.get("entity") == ORDER_NUMBER for e in entities):
        return entities
    text = str(tracker.latest_message.get("text") or "")
    start = max(text.find(number), 0)
    found = {"entity": ORDER_NUMBER, "value": number, "start": start, "end": start + len(number)}
    return [*entities, found]


def choices(tracker: Tracker) -> list[str]:
    """The tasks the classifier hesitated between, most likely first, that have a choice button."""
    offered = {name.removeprefix(CHOICE) for name in response_names(CHOICE)}
    found: list[str] = []
    for entry in tracker.latest_message.get("intent_ranking") or []:
        name = str(entry.get("name") or "").split("+")[0]  # a two-request reading: its first
        if name == FALLBACK:
            continue
        if float(entry.get("confidence") or 0.0) < FLOOR:
            break
        if name in offered and name not in found:
            found.append(name)
        if len(found) == MOST:
            break
    return found


def continues_order_task(tracker: Tracker, readings: list[str]) -> bool:
    """True if the message names an order and may do again the last request about an order."""
    previous = last_request(tracker)
    if previous is None or previous.intent not in ORDER_TASKS:
        return False
    if find_order_number(str(tracker.latest_message.get("text") or "")) is None:
        return False
    return previous.intent in readings or best_reading(tracker) in CONTINUING


def follows_nothing(tracker: Tracker) -> bool:
    """True if the best reading continues the conversation, but nothing came before to continue.

    "question about order 100102" as a first message may read best as a follow-up; with no
    earlier request, question or order, the tasks it was read as come next.
    """
    if best_reading(tracker) not in CONTINUING:
        return False
    nothing_said = last_request(tracker) is None
    return (
        nothing_said and not tracker.get_slot(CONTEXT_ORDER) and not tracker.get_slot(LAST_QUESTION)
    )


def complains_outright(tracker: Tracker) -> bool:
    """True if the best reading is a complaint and the message already says what went wrong.

    "Your website is a shambles, it keeps logging me out at checkout" is a complaint whatever
    else it might be; its ticket opens at once (actions/feedback.py), where a "Do you mean ...?"
    would make an upset customer say it again.
    """
    text = str(tracker.latest_message.get("text") or "")
    return best_reading(tracker) == COMPLAINT and what_happened(text) is not None


def address_task(tracker: Tracker, readings: list[str]) -> str | None:
    """The address task among the readings, if the message writes out an address.

    "Could you send the order I haven't paid for yet to 7 Beech Road, Didsbury, M20 6TQ?" may
    read as several tasks, but only the address tasks have any use for the address it gives.
    """
    candidates = [name for name in readings if name in ADDRESS_TASKS]
    if not candidates or address_in(str(tracker.latest_message.get("text") or "")) is None:
        return None
    return candidates[0]


def only_questions(tracker: Tracker, readings: list[str]) -> bool:
    """True if every reading is a question for the help centre, about no order in particular.

    "when's it coming?" about the order just named is that order's task, not a question.
    """
    text = str(tracker.latest_message.get("text") or "")
    about_order = find_order_number(text) is not None or (
        bool(tracker.get_slot(CONTEXT_ORDER)) and refers_back(text)
    )
    return not about_order and all(name in HELP_CENTRE_READINGS for name in readings)


def best_reading(tracker: Tracker) -> str | None:
    """The classifier's top intent before the fallback replaced it."""
    for entry in tracker.latest_message.get("intent_ranking") or []:
        name = str(entry.get("name") or "")
        if name and name != FALLBACK:
            return name.split("+")[0]
    return None


def choice_buttons(intents: list[str]) -> list[dict[str, str]]:
    """One button per task: its choice phrasing, sent back as plain text."""
    buttons = []
    for intent in intents:
        title = response_text(f"{CHOICE}{intent}")
        if title:
            buttons.append({"title": title, "payload": title})
    return buttons


def offer_choices(dispatcher: CollectingDispatcher, tracker: Tracker, response: str) -> bool:
    """Say `response` with a button per task the classifier hesitated between, if any."""
    buttons = choice_buttons(choices(tracker))
    if not buttons:
        return False
    dispatcher.utter_message(response=response, buttons=buttons)
    return True


def clarified_question(tracker: Tracker) -> str | None:
    """The message a choice answers, when the customer's latest message is a choice button.

    A help-centre task chosen from the buttons must answer what the customer first wrote
    ("can I send it to Spain?"), not the button's words ("Ask about delivery options").
    """
    if not {CLARIFY, CLARIFY_UNANSWERED} & set(previous_turn(tracker)):
        return None
    texts = user_texts(tracker)
    latest = texts[-1].strip().casefold() if texts else ""
    titles = {(response_text(name) or "").strip().casefold() for name in response_names(CHOICE)}
    if len(texts) < 2 or latest not in titles:
        return None
    return texts[-2]


class ActionClarify(ShopAction):
    """A message the NLU was unsure about: ask which task, or pass it to the help centre."""

    def name(self) -> str:
        """Used by the rule for `nlu_fallback` outside a form."""
        return "action_clarify"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Offer the tasks when the best reading is one; otherwise answer from the help centre.

        An order number after a task about an order, read as that task or as a bare answer
        ("OK then put it on 100201 after all"), continues that task (`action_continue`).
        """
        if asks_for_the_person_mentioned(tracker):
            return [FollowupAction("action_request_handoff")]
        found = choices(tracker)
        if continues_order_task(tracker, found):
            return [FollowupAction("action_continue")]
        text = str(tracker.latest_message.get("text") or "")
        number = find_order_number(text)
        if number is not None and len(found) == 1 and found[0] in ORDER_TASKS:
            # "ok check 100101 for me pls": an order number and one task about an order in view,
            # the only one a button would offer: that task, for that order.
            entities = _with_number(tracker, number)
            return replay(Request(intent=found[0], text=text, entities=entities), tracker)
        settled = COMPLAINT if complains_outright(tracker) else address_task(tracker, found)
        if settled is not None:
            entities = list(tracker.latest_message.get("entities") or [])
            return replay(Request(intent=settled, text=text, entities=entities), tracker)
        # About the products just talked about: "ok 2", a detail for the suggestions, "which
        # one's the cheapest?", "the lantern. waterproof?" (actions/products.py).
        ordered = await order_request(tracker, services, text)
        if ordered is not None:
            return replay(ordered, tracker)
        if asks_about_products(tracker):
            return [FollowupAction("action_answer_from_knowledge")]
        refined = refines_request(tracker)
        if refined is not None:
            return await suggest_for_request(dispatcher, tracker, services, refined)
        if (
            (best_reading(tracker) in found or follows_nothing(tracker))
            and len(found) >= FEWEST
            and not only_questions(tracker, found)
        ):
            offer_choices(dispatcher, tracker, CLARIFY)
            return []
        return [FollowupAction("action_answer_from_knowledge")]
