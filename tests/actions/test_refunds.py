"""Refund requests in customers' words: the reason they give, and the one item they mean.

The refund form is run as Rasa runs it when the task starts (`tests/actions/test_early_details`'s
`start`), then the read-back and the request against the real records.
"""

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.followups import ActionContinue
from actions.money import (
    ActionAskConfirmRefund,
    ActionRequestRefund,
    ActionTrackRefund,
    ValidateRefundForm,
)
from actions.ordering import ActionPlaceOrderOrChange
from actions.refund_words import gives_reason, only_that_item, units_asked
from crm.records.models import Order, Refund
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker, verified
from tests.actions.test_early_details import start, user


@pytest.mark.parametrize(
    "text",
    [
        "the vase turned up chipped on one side",
        "the mirror arived smahsed",  # hurried typing: "arrived smashed"
        "honestly it isn't what I expected at all",
        "it looks nothing like the photos on your site",
        "they sent me the wrong colour",
        "I paid for three but only two were in the box",
        "one of the legs has snapped off",
        "the jumper doesn't fit, it's too small",
        "I've changed my mind about it",
        "we don't need it any more",
    ],
)
def test_words_that_say_why_are_a_reason(text: str) -> None:
    assert gives_reason(text)


@pytest.mark.parametrize(
    "text",
    [
        "I want my money back",
        "refund order 100104 please",
        "can I get a refund on it?",
        "where is my refund?",
        "I'd like to return the wall clock",
    ],
)
def test_a_bare_request_is_no_reason(text: str) -> None:
    assert not gives_reason(text)


@pytest.mark.parametrize(
    ("text", "units", "only"),
    [
        ("the throw is fine, refund just the cushion cover", 1, True),
        ("both cushion covers are stained", None, False),
        ("three of the mugs are chipped", 3, False),
        ("the covers came torn", None, False),
        ("I got two covers, one is missing, refund the missing one", 1, True),
    ],
)
def test_how_many_of_an_item_and_whether_it_alone(text: str, units: Any, only: bool) -> None:
    assert units_asked(text, "Linen Cushion Cover" if "mug" not in text else "Camping Mug") == units
    assert only_that_item(text) is only


async def test_a_reason_in_the_request_goes_straight_to_the_read_back(services):
    slots, said = await start(
        ValidateRefundForm(),
        "Honestly the order isn't what I expected at all, could I have my money back for 100104?",
        "get_refund",
        verified(),
        mapped={"order_number": "100104"},
    )
    assert slots["refund_reason"].startswith("Honestly")
    assert slots["requested_slot"] == "confirm_refund"
    assert said == []


async def test_a_bare_request_is_asked_the_reason(services):
    slots, _ = await start(
        ValidateRefundForm(),
        "I'd like my money back for order 100104",
        "get_refund",
        verified(),
        mapped={"order_number": "100104"},
    )
    assert "refund_reason" not in slots
    assert slots["requested_slot"] == "refund_reason"


async def ask(slots: dict[str, Any]) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    await ActionAskConfirmRefund().run(
        dispatcher, tracker(slots, active_loop="refund_form"), DOMAIN
    )
    return dispatcher


async def test_one_item_of_the_order_is_refunded_alone(services, sessions):
    slots, _ = await start(
        ValidateRefundForm(),
        "One cushion cover from 100104 came ripped, I'd like a refund for that only",
        "get_refund",
        verified(),
        mapped={"order_number": "100104"},
    )
    assert slots["refund_item"]["sku"] == "HOM-002"
    assert slots["requested_slot"] == "confirm_refund"
    state = verified(**slots)
    dispatcher = await ask(state)
    assert responses(dispatcher) == ["utter_ask_confirm_refund"]
    assert (dispatcher.messages[0]["amount"], dispatcher.messages[0]["refund_what"]) == (
        "£22.00",
        "1 × Linen Cushion Cover",
    )
    dispatcher = CollectingDispatcher()
    await ActionRequestRefund().run(dispatcher, tracker({**state, "confirm_refund": True}), DOMAIN)
    assert responses(dispatcher) == ["utter_refund_requested"]
    assert dispatcher.messages[0]["amount"] == "£22.00"
    with sessions() as session:
        stored = session.execute(
            select(Refund.amount_pence, Refund.quantity)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number == "100104")
        ).all()
    assert [tuple(row) for row in stored] == [(2200, 1)]


async def test_an_item_alone_that_is_on_another_order_is_not_refunded_here(services, sessions):
    slots, _ = await start(
        ValidateRefundForm(),
        "The kettle from 100104 came with a dent, refund the kettle only please",
        "get_refund",
        verified(),
        mapped={"order_number": "100104"},
    )
    assert slots["refund_eligible"] is False  # nothing asked: the form ends
    dispatcher = CollectingDispatcher()
    await ActionRequestRefund().run(dispatcher, tracker(verified(**slots)), DOMAIN)
    assert responses(dispatcher) == ["utter_refund_item_elsewhere"]
    assert (dispatcher.messages[0]["item"], dispatcher.messages[0]["other_order"]) == (
        "Enamel Kettle",
        "100102",
    )
    with sessions() as session:
        assert session.scalars(select(Refund.id).where(Refund.quantity.is_not(None))).all() == []


async def test_an_item_named_in_passing_that_the_order_lacks_reads_back_the_whole_order(
    services,
):
    slots, _ = await start(
        ValidateRefundForm(),
        "refund 100104 please, the lamp came smashed",
        "get_refund",
        verified(),
        mapped={"order_number": "100104"},
    )
    dispatcher = await ask(verified(**slots))
    assert responses(dispatcher) == [
        "utter_refund_item_not_on_order_whole",
        "utter_ask_confirm_refund",
    ]
    assert dispatcher.messages[1]["amount"] == "£109.00"
    assert dispatcher.messages[1]["refund_what"].startswith("the whole order (")


# --- a refund's status, for one order ---------------------------------------------------------


async def track(slots: dict[str, Any], text: str, events=None) -> tuple[CollectingDispatcher, Any]:
    dispatcher = CollectingDispatcher()
    run = await ActionTrackRefund().run(
        dispatcher, tracker(slots, text=text, intent="track_refund", events=events), DOMAIN
    )
    return dispatcher, slot_events(run)


async def test_the_refund_of_a_named_order_is_that_orders(services):
    # 100105 was cancelled before it was paid: nothing to wait for, and it is now the order
    # the conversation is about.
    dispatcher, slots = await track(
        verified(order_number="100105"), "has the money for 100105 come back yet?"
    )
    assert responses(dispatcher) == ["utter_no_refund_unpaid"]
    assert dispatcher.messages[0]["order_number"] == "100105"
    assert slots["context_order"] == "100105"


async def test_a_named_order_without_a_refund_says_so_for_that_order(services):
    dispatcher, _ = await track(verified(order_number="100104"), "any news on my 100104 refund")
    assert responses(dispatcher) == ["utter_no_refund"]
    assert dispatcher.messages[0]["status"] == "delivered"


async def test_a_refund_asked_about_it_is_the_conversations_orders(services):
    dispatcher, _ = await track(
        verified(context_order="100105"), "so when does it reach my bank then"
    )
    assert responses(dispatcher) == ["utter_no_refund_unpaid"]


async def test_someone_elses_order_has_no_refund_to_show(services):
    dispatcher, _ = await track(verified(order_number="100301"), "refund for 100301?")
    assert responses(dispatcher) == ["utter_order_not_found"]


async def test_an_order_number_after_asking_about_a_refund_asks_it_for_that_order(services):
    asked = user("I returned something weeks ago, where's my money", "track_refund")
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="it was 100104",
            entities=[{"entity": "order_number", "value": "100104", "start": 7, "end": 13}],
            events=[asked],
        ),
        DOMAIN,
    )
    [parse] = [e["parse_data"] for e in events if e.get("event") == "user"]
    assert parse["intent"]["name"] == "track_refund"
    assert parse["entities"][-1]["value"] == "100104"


# --- "start one for 100104" after an answer about returns -------------------------------------


async def test_starting_one_for_an_order_after_a_returns_answer_is_its_refund(services):
    number = {"entity": "order_number", "value": "100104", "start": 23, "end": 29}
    returns = {"text": "how do returns work", "entities": []}
    events = await ActionPlaceOrderOrChange().run(
        CollectingDispatcher(),
        tracker(
            {"last_question": returns},
            text="right, kick one off for 100104 please",
            intent="place_order",
            entities=[number],
        ),
        DOMAIN,
    )
    (replayed,) = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "get_refund"


async def test_a_product_ordered_after_a_returns_answer_is_still_an_order(services):
    returns = {"text": "how do returns work", "entities": []}
    events = await ActionPlaceOrderOrChange().run(
        CollectingDispatcher(),
        tracker(
            {"last_question": returns},
            text="ok then order me a wall clock like in 100104",
            intent="place_order",
            entities=[{"entity": "order_number", "value": "100104"}],
        ),
        DOMAIN,
    )
    assert events == [{"event": "followup", "timestamp": None, "name": "place_order_form"}]
