"""The delivery skill (actions/delivery.py): when a named order should arrive, and delivery to a
named place from the shop's rules; real SQLite, the real help centre."""

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.delivery import ActionDeliveryPeriod
from actions.followups import ActionContinue
from actions.knowledge import ActionAnswerFromKnowledge
from tests.actions.conftest import DOMAIN, after_reply, responses, slot_events, tracker, verified


async def test_an_unshipped_order_gets_the_window_of_the_delivery_rules(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionDeliveryPeriod().run(
        dispatcher, tracker(verified(order_number="100102", order_status="paid")), DOMAIN
    )
    assert responses(dispatcher) == ["utter_delivery_estimate_rules"]
    message = dispatcher.messages[0]
    assert message["order_number"] == "100102"
    assert message["earliest"] and message["latest"]
    # The task is over: the order is forgotten, so the next request asks for its own.
    assert slot_events(events) == {
        "order_number": None,
        "order_status": None,
        "order_reference": None,
        "order_lookup_failures": 0,
    }


async def test_a_shipped_order_gets_the_carriers_estimate(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionDeliveryPeriod().run(
        dispatcher, tracker(verified(order_number="100103", order_status="shipped")), DOMAIN
    )
    assert responses(dispatcher) == ["utter_delivery_estimate_carrier"]


async def test_someone_elses_order_is_not_found(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionDeliveryPeriod().run(
        dispatcher,
        tracker(verified(customer_id=2, order_number="100102", order_status="paid")),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_not_found"]


# --- delivery to a named place, from the shop's rules -------------------------------------


def place(value: str) -> dict[str, str]:
    return {"entity": "place", "value": value}


async def asked(
    text: str, intent: str, *places: str, **context: Any
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    """The help-centre action's reply to `text` naming `places`; `context`: tracker's options."""
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            context.pop("slots", None),
            text=text,
            intent=intent,
            entities=[place(p) for p in places],
            **context,
        ),
        DOMAIN,
    )
    return dispatcher, events


async def test_delivery_to_a_country_we_serve_gives_both_speeds_with_times_and_prices(
    services,
) -> None:
    dispatcher, _ = await asked("how much is postage to ireland?", "delivery_options", "ireland")
    assert responses(dispatcher)[0] == "utter_delivery_to_place_eu"
    facts = dispatcher.messages[0]
    assert facts["place"] == "Ireland"
    assert (facts["standard_days"], facts["standard_price"]) == ("5–8", "£9.95")
    assert (facts["express_days"], facts["express_price"]) == ("2–4", "£19.95")


async def test_a_city_or_a_part_of_the_uk_is_placed_in_its_country(services) -> None:
    dispatcher, _ = await asked(
        "do you deliver to northern ireland", "delivery_options", "northern ireland"
    )
    assert responses(dispatcher)[0] == "utter_delivery_to_place_uk"
    assert dispatcher.messages[0]["place"] == "Northern Ireland"
    assert dispatcher.messages[0]["free_over"] == "£50.00"


async def test_a_place_we_do_not_deliver_to_is_told_so_without_an_article(services) -> None:
    dispatcher, events = await asked("can you ship to spain", "delivery_options", "spain")
    assert responses(dispatcher) == ["utter_no_delivery_to_place"]
    assert dispatcher.messages[0]["place"] == "Spain"
    assert slot_events(events)["last_question"]["entities"] == [place("spain")]


async def test_a_follow_up_without_a_place_keeps_the_place_of_the_last_question(services) -> None:
    kept = {"text": "how much is postage to germany", "entities": [place("germany")]}
    dispatcher = CollectingDispatcher()
    await ActionContinue().run(
        dispatcher,
        tracker({"last_question": kept}, text="and how long does it take?", intent="follow_up"),
        DOMAIN,
    )
    assert responses(dispatcher)[0] == "utter_delivery_to_place_eu"
    assert dispatcher.messages[0]["place"] == "Germany"


async def test_a_bare_place_after_a_delivery_question_asks_it_about_that_place(services) -> None:
    kept = {"text": "how long does delivery take", "entities": []}
    dispatcher = CollectingDispatcher()
    await ActionContinue().run(
        dispatcher,
        tracker(
            {"last_question": kept},
            text="netherlands",
            intent="inform",
            entities=[place("netherlands")],
        ),
        DOMAIN,
    )
    assert responses(dispatcher)[0] == "utter_delivery_to_place_eu"
    assert dispatcher.messages[0]["place"] == "the Netherlands"


async def test_a_place_in_a_question_about_something_else_adds_no_delivery_facts(
    services,
) -> None:
    dispatcher, _ = await asked(
        "is there a shop in manchester I can visit", "ask_question", "manchester"
    )
    assert not [r for r in responses(dispatcher) if "delivery_to_place" in r]


async def test_a_delivery_question_right_after_one_about_a_place_is_about_that_place(
    services,
) -> None:
    kept = {"text": "what about germany?", "entities": [place("germany")]}
    dispatcher, _ = await asked(
        "how long would it take to get to her?",
        "delivery_period",
        slots={"last_question": kept},
        events=after_reply("utter_delivery_to_place_eu", "what about germany?"),
    )
    assert responses(dispatcher)[0] == "utter_delivery_to_place_eu"
    assert dispatcher.messages[0]["place"] == "Germany"


async def test_a_correction_of_the_place_asks_the_last_question_about_the_new_one(
    services,
) -> None:
    kept = {"text": "do you deliver to northern ireland?", "entities": [place("northern ireland")]}
    dispatcher, events = await asked(
        "sorry, I meant the republic of ireland",
        "nlu_fallback",
        "republic of ireland",
        slots={"last_question": kept},
        events=after_reply("utter_delivery_to_place_uk", kept["text"]),
    )
    assert responses(dispatcher)[0] == "utter_delivery_to_place_eu"
    assert dispatcher.messages[0]["place"] == "Ireland"
    assert "deliver to republic of ireland" in slot_events(events)["last_question"]["text"]


async def test_a_question_about_returns_from_a_place_gets_no_delivery_facts(services) -> None:
    dispatcher, _ = await asked(
        "who pays the postage to return something from germany?", "check_refund_policy", "germany"
    )
    assert not [r for r in responses(dispatcher) if "delivery_to_place" in r]
