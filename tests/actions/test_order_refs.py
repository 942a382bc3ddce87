"""Which order the customer means (actions/order_refs.py and the order forms that use it).

Descriptions are read against the demo customers' real orders (crm/tools/demo.py): Ada has
100101 placed (unpaid), 100102 paid (£54.90), 100103 shipped with DPD, 100104 delivered by Royal
Mail and 100105 cancelled; Alan has only 100301, delivered.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionClarify
from actions.followups import ActionContinue
from actions.knowledge import ActionAnswerFromKnowledge
from actions.money import ActionTrackRefund, ValidateRefundForm
from actions.order_helpers import ActionAskOrderNumber
from actions.order_refs import describe, resolve
from actions.orders import ValidateCancelOrderForm, ValidateTrackOrderForm
from actions.services import Services
from crm.records.views import OrderView
from tests.actions.conftest import ADA, DOMAIN, responses, slot_events, tracker, verified

ALAN = 3
TODAY = date.today()


def ada_orders(services: Services) -> list[OrderView]:
    return list(services.orders.list_orders(ADA, limit=10))


def numbers(orders: list[OrderView]) -> list[str]:
    return sorted(order.number for order in orders)


def user(text: str, intent: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent}, "entities": entities or []},
    }


def number_entity(value: str, text: str) -> dict[str, Any]:
    start = text.find(value)
    return {"entity": "order_number", "value": value, "start": start, "end": start + 6}


# --- reading a description ----------------------------------------------------------------


def test_an_amount_a_state_or_a_carrier_picks_the_order(services) -> None:
    orders = ada_orders(services)
    for words, expected in (
        ("the £54.90 one", ["100102"]),
        ("the one I haven't paid for yet", ["100101"]),
        ("my parcel still hasn't turned up, it went out with DPD", ["100103"]),
        ("the one Royal Mail brought", ["100104"]),
        ("i cancelled something a while ago", ["100105"]),
        ("the ones that haven't been posted yet", ["100101", "100102"]),
    ):
        assert numbers(resolve(describe(words, TODAY), orders)) == expected, words


def test_a_negation_is_not_read_as_its_verb(services) -> None:
    said = describe("it still hasn't arrived", TODAY)
    assert said.statuses == frozenset({"placed", "paid", "shipped"})
    assert describe("the bits that came last week", TODAY).statuses == frozenset({"delivered"})


def test_misspelt_words_still_describe_the_order(services) -> None:
    assert describe("my parcle is late", TODAY).statuses == frozenset({"shipped"})
    assert describe("it was delivred on monday", TODAY).statuses == frozenset({"delivered"})


def test_a_parcel_yields_to_any_other_state_named(services) -> None:
    # Most often on its way, but "it says my parcel was delivered" is about a delivered order.
    assert describe("where is my package", TODAY).statuses == frozenset({"shipped"})
    said = describe("says my parcel was delivered but theres nothing here", TODAY)
    assert said.statuses == frozenset({"delivered"})
    assert describe("the package I cancelled", TODAY).statuses == frozenset({"cancelled"})


def test_the_other_one_is_not_the_order_the_conversation_was_about(services) -> None:
    orders = ada_orders(services)
    said = describe("can the other one that hasn't been posted go there too", TODAY)
    assert numbers(resolve(said, orders, current="100101")) == ["100102"]


def test_what_the_task_can_act_on_narrows_but_never_empties(services) -> None:
    orders = ada_orders(services)
    anything = describe("my last order", TODAY)
    refundable = resolve(describe("money back for it", TODAY), orders, task_statuses={"delivered"})
    assert numbers(refundable) == ["100104"]
    # Nothing the task can act on fits a cancelled order: the description still holds.
    cancelled = resolve(describe("the cancelled one", TODAY), orders, task_statuses={"placed"})
    assert numbers(cancelled) == ["100105"]
    assert len(resolve(anything, orders)) == 1


def test_a_product_the_customer_bought_names_its_order(services) -> None:
    orders = ada_orders(services)
    products = {item.name for order in orders for item in order.items}
    item = orders[0].items[0].name
    found = resolve(describe(f"the order with the {item.lower()}", TODAY, products), orders)
    assert orders[0].number in numbers(found)
    assert all(any(i.name == item for i in order.items) for order in found)


def test_plain_words_say_nothing_about_an_order() -> None:
    assert not describe("where is my order", TODAY).says_anything
    assert not describe("i want a refund", TODAY).says_anything
    # Real words a slip away from a word about an order's state are left alone.
    assert not describe("cancel my order", TODAY).says_anything
    assert describe("my delivery is late", TODAY).statuses == frozenset(
        {"placed", "paid", "shipped"}
    )


# --- the forms ----------------------------------------------------------------------------


async def test_a_described_order_is_verified_first_then_found(services) -> None:
    dispatcher = CollectingDispatcher()
    text = "could you cancel the order I haven't paid for yet"
    events = await ValidateCancelOrderForm().run(
        dispatcher,
        tracker(text=text, intent="cancel_order", active_loop="cancel_order_form"),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_reference"] == text
    assert slots["requested_slot"] == "verify_email"
    assert "utter_invalid_order_number" not in responses(dispatcher)
    # Verification over, the words are read against Ada's orders.
    events = await ValidateCancelOrderForm().run(
        CollectingDispatcher(),
        tracker(
            {"order_reference": text, "verify_email": "ada@example.com"},
            text="M4 6AB",
            active_loop="cancel_order_form",
            set_this_turn={"verify_postcode": "M4 6AB"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert (slots["order_number"], slots["order_status"]) == ("100101", "placed")
    assert slots["order_reference"] is None
    assert slots["requested_slot"] == "confirm_cancel"


async def test_an_answer_describing_the_order_finds_it(services) -> None:
    events = await ValidateTrackOrderForm().run(
        CollectingDispatcher(),
        tracker(
            verified(requested_slot="order_number"),
            text="the £54.90 one",
            active_loop="track_order_form",
            set_this_turn={"order_number": "the £54.90 one"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert (slots["order_number"], slots["order_status"]) == ("100102", "paid")


async def test_an_answer_that_is_neither_number_nor_description_is_refused(services) -> None:
    dispatcher = CollectingDispatcher()
    await ValidateTrackOrderForm().run(
        dispatcher,
        tracker(
            verified(requested_slot="order_number"),
            text="banana",
            active_loop="track_order_form",
            set_this_turn={"order_number": "banana"},
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_invalid_order_number"]


async def test_the_only_order_a_task_fits_is_taken(services) -> None:
    events = await ValidateRefundForm().run(
        CollectingDispatcher(),
        tracker(
            verified(ALAN),
            text="can I just get my money back for it",
            intent="get_refund",
            active_loop="refund_form",
        ),
        DOMAIN,
    )
    assert slot_events(events)["order_number"] == "100301"


async def test_several_orders_that_fit_are_offered_as_buttons(services) -> None:
    text = "the ones that haven't been posted yet"
    events = await ValidateTrackOrderForm().run(
        CollectingDispatcher(),
        tracker(verified(), text=text, intent="track_order", active_loop="track_order_form"),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_number"] is None and slots["requested_slot"] == "order_number"
    dispatcher = CollectingDispatcher()
    await ActionAskOrderNumber().run(
        dispatcher,
        tracker(verified(order_reference=text), active_loop="track_order_form"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_ask_which_order"]
    buttons = dispatcher.messages[0]["buttons"]
    assert sorted(b["payload"] for b in buttons) == ["100101", "100102"]
    titles = {b["payload"]: b["title"] for b in buttons}
    assert titles["100102"].startswith("Order 100102: £54.90, paid")


async def test_without_a_description_the_plain_question_is_asked(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskOrderNumber().run(dispatcher, tracker(verified()), DOMAIN)
    assert responses(dispatcher) == ["utter_ask_order_number"]


async def test_a_description_nothing_fits_lists_the_recent_orders(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskOrderNumber().run(
        dispatcher,
        tracker(verified(order_reference="the £999.99 one"), active_loop="track_order_form"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_ask_which_order_none"]
    assert len(dispatcher.messages[0]["buttons"]) == 5


# --- several orders, and corrections ------------------------------------------------------


async def test_two_orders_named_at_once_are_done_one_after_the_other(services) -> None:
    text = "cancel 100101 and 100102 pls, both of them"
    entities = [number_entity("100101", text), number_entity("100102", text)]
    events = await ValidateCancelOrderForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text=text,
            intent="cancel_order",
            entities=entities,
            active_loop="cancel_order_form",
            set_this_turn={"order_number": "100102"},  # Rasa fills the slot with the last one
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_number"] == "100101"
    (queued,) = slots["queued_requests"]
    assert queued["intent"] == "cancel_order"
    assert queued["entities"] == [{"entity": "order_number", "value": "100102"}]


async def test_a_corrected_number_is_not_a_second_order(services) -> None:
    text = "sorry, not 100101, I meant 100102"
    entities = [number_entity("100101", text), number_entity("100102", text)]
    events = await ValidateCancelOrderForm().run(
        CollectingDispatcher(),
        tracker(
            verified(requested_slot="confirm_cancel"),
            text=text,
            entities=entities,
            active_loop="cancel_order_form",
            set_this_turn={"order_number": "100102"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_number"] == "100102"
    assert "queued_requests" not in slots


async def test_a_correction_after_the_task_repeats_the_request_for_the_new_order(
    services,
) -> None:
    first = "Please cancel order 100104."
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="sorry I meant 100101",
            entities=[number_entity("100101", "sorry I meant 100101")],
            events=[
                user(first, "cancel_order", [number_entity("100104", first)]),
                user("ada@example.com", "inform"),
                user("M4 6AB", "inform"),
            ],
        ),
        DOMAIN,
    )
    (replayed,) = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "cancel_order"
    assert replayed["text"] == "Please cancel order 100101."
    assert replayed["parse_data"]["entities"][-1]["value"] == "100101"


async def test_a_hesitant_reading_with_an_order_number_continues_the_order_task(
    services,
) -> None:
    first = "Please add one Enamel Kettle to order 100201."
    product = {"entity": "product", "value": "Enamel Kettle"}
    text = "OK then put it on 100201 after all"

    def hesitant(**extra: Any) -> Tracker:
        return tracker(
            verified(),
            text=text,
            intent="nlu_fallback",
            entities=[number_entity("100201", text)],
            events=[
                user(first, "change_order", [product, number_entity("100201", first)]),
                user("Sorry, I meant order 100202.", "inform"),
            ],
            **extra,
        )

    events = await ActionClarify().run(
        CollectingDispatcher(),
        hesitant(ranking=[("nlu_fallback", 0.4), ("change_order", 0.39), ("inform", 0.28)]),
        DOMAIN,
    )
    assert events == [{"event": "followup", "timestamp": None, "name": "action_continue"}]
    events = await ActionContinue().run(CollectingDispatcher(), hesitant(), DOMAIN)
    (replayed,) = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "change_order"
    assert product in replayed["parse_data"]["entities"]


async def test_answers_inside_a_task_are_not_the_request_a_correction_repeats(services) -> None:
    first = "Please add one Enamel Kettle to order 100201."
    inside = "Sorry, I meant order 100202."
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="put it on 100201 after all",
            entities=[number_entity("100201", "put it on 100201 after all")],
            events=[
                user(first, "change_order", [number_entity("100201", first)]),
                {"event": "active_loop", "name": "change_order_form"},
                # Read as another task, but said while the form was asking its questions.
                user(inside, "cancel_order", [number_entity("100202", inside)]),
                {"event": "active_loop", "name": None},
            ],
        ),
        DOMAIN,
    )
    (replayed,) = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "change_order"


# --- a question about "it" ------------------------------------------------------------------


async def test_a_question_about_it_goes_to_the_current_orders_task(services) -> None:
    text = "so when's it actually going to get here?"
    events = await ActionAnswerFromKnowledge().run(
        CollectingDispatcher(),
        tracker(verified(context_order="100103"), text=text, intent="delivery_period"),
        DOMAIN,
    )
    (replayed,) = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "delivery_period"
    assert {"entity": "order_number", "value": "100103"} in replayed["parse_data"]["entities"]


async def test_its_own_replay_is_answered_not_replayed_again(services) -> None:
    # "when will it get to paris" came back with the order's number; when the rules send the
    # replay here again (a place beside the number), replaying it once more looped for ever.
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(context_order="100202"),
            text="when will it get to paris",
            intent="delivery_period",
            entities=[{"entity": "place", "value": "paris"}],
            metadata={"replayed": True},
        ),
        DOMAIN,
    )
    assert not [e for e in events if e.get("event") == "user"]
    assert responses(dispatcher)


async def test_a_general_question_still_goes_to_the_help_centre(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(context_order="100103"),
            text="how long does delivery to ireland take",
            intent="delivery_period",
        ),
        DOMAIN,
    )
    assert not [e for e in events if e.get("event") == "user"]
    assert responses(dispatcher)[0].startswith("utter_knowledge")


# --- a refund of a described order --------------------------------------------------------


async def test_the_refund_of_a_described_cancelled_order_is_explained(services) -> None:
    dispatcher = CollectingDispatcher()
    text = "i cancelled something a while ago and never saw the money back"
    await ActionTrackRefund().run(
        dispatcher, tracker(verified(), text=text, intent="track_refund"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_no_refund_unpaid"]
    assert dispatcher.messages[0]["order_number"] == "100105"


async def test_without_a_description_every_refund_is_reported(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionTrackRefund().run(
        dispatcher, tracker(verified(), text="where is my refund", intent="track_refund"), DOMAIN
    )
    assert "utter_no_refund_unpaid" not in responses(dispatcher)
