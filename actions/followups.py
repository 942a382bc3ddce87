"""`action_continue`: a message that continues the previous turn, outside a task.

What the conversation is about is read in actions/context.py; this action decides what such a
message asks for and hands it to the skill that serves it.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, call, latest_intent, verified_customer
from actions.context import (
    LAST_QUESTION,
    ORDER_TASKS,
    SWAPPABLE,
    Question,
    last_request,
    refers_back,
)
from actions.handoff import asks_about_handoff, asks_for_the_person_mentioned
from actions.knowledge import ANSWERED_REPLIES, FOLLOW_UP, answer_question
from actions.products import order_request, product_entities
from actions.queue import Request, replay
from actions.recommend import refines_request, suggest_for_request
from actions.services import Services
from actions.turns import previous_turn
from actions.verification import (
    ORDER_NUMBER,
    RECENT_ORDERS,
    describes_an_order,
    find_order_number,
    orders_described,
)

EDIT_ACCOUNT = "edit_account"
OUT_OF_SCOPE = "out_of_scope"
PHONE = "phone"
EMAIL_ENTITY = "email"
# With an order number and nothing else to go on, the order is looked up.
LOOK_UP = "track_order"
# The requests a bare order number continues: those about one order, and "where's my refund?",
# which is about all of them until the customer says which ("it's for 100202").
CONTINUED_BY_A_NUMBER = ORDER_TASKS | {"track_refund"}
# Requests that answer with a list of orders' things, and the request for one of them: "£54.90"
# after the list of invoices asks for that order's invoice.
ONE_OF_LIST = {"check_invoice": "get_invoice"}


def order_number_in(tracker: Tracker) -> str | None:
    """The order number the customer's latest message names, if any.

    Six digits inside a phone number ("07700 900552") are not an order number.
    """
    entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
    text = str(tracker.latest_message.get("text") or "")
    phones = [e for e in entities if e.get("entity") == PHONE and e.get("value")]
    for phone in phones:
        text = text.replace(str(phone["value"]), " ")
    for entity in entities:
        if entity.get("entity") == ORDER_NUMBER and entity.get("value"):
            number = find_order_number(str(entity["value"]))
            if number is not None and not any(number in str(p["value"]) for p in phones):
                return number
    return find_order_number(text)


def contact_follow_up(tracker: Tracker) -> Request | None:
    """A new phone number or email address said after a change of account details.

    "Also the phone please, new number is 07700 900552" after changing the name asks the same
    skill again for this detail.
    """
    entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
    if not any(e.get("entity") in (PHONE, EMAIL_ENTITY) for e in entities):
        return None
    previous = last_request(tracker)
    if previous is None or previous.intent != EDIT_ACCOUNT:
        return None
    text = str(tracker.latest_message.get("text") or "")
    return Request(intent=EDIT_ACCOUNT, text=text, entities=entities)


def order_follow_up(tracker: Tracker, number: str) -> Request:
    """The request a bare order number continues, as if the customer had said it in full.

    After a request about an order ("when will 100103 arrive?", "add a kettle to 100201"), the
    same request, with what else it said, about this one: "and 100102", "sorry, I meant
    100101", "put it on 100201 after all"; after "where's my refund?", that order's refund
    ("it's for 100202"). After anything else (a question about a double charge, say), the
    order is looked up.
    """
    previous = last_request(tracker)
    if previous is None or previous.intent not in CONTINUED_BY_A_NUMBER:
        text = str(tracker.latest_message.get("text") or number)
        return Request(intent=LOOK_UP, text=text, entities=[_number_entity(text, number)])
    said = find_order_number(previous.text)
    text = previous.text.replace(said, number) if said else f"{previous.text} ({number})"
    kept = [e for e in previous.entities if e.get("entity") != ORDER_NUMBER]
    return Request(
        intent=previous.intent, text=text, entities=[*kept, _number_entity(text, number)]
    )


async def described_order_follow_up(tracker: Tracker) -> Request | None:
    """The previous order request again, for the one order the customer now describes.

    "Can the other one that hasn't been posted yet go there too?" after changing the address of
    100101 asks the same change for the verified customer's other unposted order; "the £54.90
    one" after the list of invoices asks for that order's invoice (`ONE_OF_LIST`). Only one
    order may fit; otherwise the message is left to the rest of `action_continue`.
    """
    customer_id = verified_customer(tracker)
    previous = last_request(tracker)
    text = str(tracker.latest_message.get("text") or "")
    if customer_id is None or previous is None:
        return None
    one_of_list = ONE_OF_LIST.get(previous.intent)
    if previous.intent not in ORDER_TASKS and one_of_list is None:
        return None
    if not describes_an_order(text):
        return None
    _, found = await orders_described(text, customer_id, tracker, by_product=False)
    if len(found) != 1:
        return None
    number = found[0].number
    if one_of_list is not None:
        # One line of the list the agent just gave: that order's own request.
        said = f"{text} ({number})"
        return Request(intent=one_of_list, text=said, entities=[_number_entity(said, number)])
    return order_follow_up(tracker, number)


async def product_order_follow_up(
    dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
) -> list[EventType] | None:
    """A product named after a request about an order: that request for the order holding it.

    "The bird feeder" after "has my stuff turned up yet" tracks the order with the bird feeder
    in it. In none of the customer's orders: with only one order, that order, saying the
    product is not in it; with several, the customer is asked which. None if the message names
    no product, or several orders hold it.
    """
    customer_id = verified_customer(tracker)
    previous = last_request(tracker)
    if customer_id is None or previous is None or previous.intent not in ORDER_TASKS:
        return None
    text = str(tracker.latest_message.get("text") or "")
    entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
    product = None
    for value in product_entities(entities):
        matches = await call(services.catalogue.find_products, value, limit=1)
        product = matches[0] if matches else None
        if product is not None:
            break
    if product is None:
        product = await call(services.catalogue.product_mentioned, text)
    if product is None:
        return None
    orders = list(await call(services.orders.list_orders, customer_id, limit=RECENT_ORDERS))
    holding = [o for o in orders if any(item.sku == product.sku for item in o.items)]
    if len(holding) == 1:
        return replay(order_follow_up(tracker, holding[0].number), tracker)
    if holding or not orders:
        return None
    if len(orders) == 1:
        only = orders[0].number
        dispatcher.utter_message(
            response="utter_product_not_in_your_order", product=product.name, order_number=only
        )
        return replay(order_follow_up(tracker, only), tracker)
    dispatcher.utter_message(response="utter_product_in_no_order", product=product.name)
    return []


def _number_entity(text: str, number: str) -> dict[str, object]:
    start = max(text.find(number), 0)
    return {"entity": ORDER_NUMBER, "value": number, "start": start, "end": start + len(number)}


def swaps_a_thing(tracker: Tracker) -> bool:
    """True if a bare answer names a thing the last question could be asked about again.

    "netherlands" after "how long does delivery take?" asks it about the Netherlands.
    """
    if Question.from_slot(tracker.get_slot(LAST_QUESTION)) is None:
        return False
    return any(
        isinstance(entity, dict) and entity.get("entity") in SWAPPABLE
        for entity in tracker.latest_message.get("entities") or []
    )


def continues_answer(tracker: Tracker) -> bool:
    """True if the message points back at the help-centre answer just given.

    "how long do they last?" after an answer about gift cards reads as out of scope on its
    own; it is the same subject.
    """
    text = str(tracker.latest_message.get("text") or "")
    return refers_back(text) and bool(ANSWERED_REPLIES & set(previous_turn(tracker)))


class ActionContinue(ShopAction):
    """A message that continues the previous turn outside a task, taken in its context.

    A question about the handoff under way gets its reference again; right after products were
    talked about, a bare count or "that one" orders the product in view and a detail refines
    the suggestions; a message read as out of scope that points back at the answer just given
    is a follow-up to it; an order number starts (or repeats) the task about that order; a new
    phone number or email address after a change of account details changes that too; an
    elliptical question is answered as the previous question about the new thing; anything
    else that the agent cannot place gets the help menu, or the help centre for a question.
    """

    def name(self) -> str:
        """Used by the rules for `follow_up` and for `inform` outside a task."""
        return "action_continue"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Continue with the order, the question, or offer the menu."""
        if asks_about_handoff(tracker) or asks_for_the_person_mentioned(tracker):
            return [FollowupAction("action_request_handoff")]
        # Right after products were talked about: "ok 2" or "I'll take that one" orders the
        # product in view; a detail after suggestions ("she's only got a tiny balcony") refines
        # them (actions/products.py, actions/recommend.py).
        text = str(tracker.latest_message.get("text") or "")
        ordered = await order_request(tracker, services, text)
        if ordered is not None:
            return replay(ordered, tracker)
        refined = refines_request(tracker)
        if refined is not None:
            return await suggest_for_request(dispatcher, tracker, services, refined)
        if latest_intent(tracker) == OUT_OF_SCOPE:
            if not continues_answer(tracker):
                dispatcher.utter_message(response="utter_out_of_scope")
                return []
            return await answer_question(dispatcher, tracker, services, follow_up=True)
        number = order_number_in(tracker)
        if number is not None:
            return replay(order_follow_up(tracker, number), tracker)
        described = await described_order_follow_up(tracker)
        if described is not None:
            return replay(described, tracker)
        by_product = await product_order_follow_up(dispatcher, tracker, services)
        if by_product is not None:
            return by_product
        contact = contact_follow_up(tracker)
        if contact is not None:
            return replay(contact, tracker)
        if latest_intent(tracker) == FOLLOW_UP or swaps_a_thing(tracker):
            return await answer_question(dispatcher, tracker, services, follow_up=True)
        dispatcher.utter_message(response="utter_help")
        return []
