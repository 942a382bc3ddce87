"""The shop's products in the chat: real actions, the real domain and the demo catalogue.

Questions about a product answered from its page, comparisons among the products in view,
suggestions that follow the request's words, and orders for "that one" (actions/products.py).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionClarify
from actions.followups import ActionContinue
from actions.knowledge import ActionAnswerFromKnowledge
from actions.ordering import ORDER_PRODUCT, PRODUCT_CHOICES, ValidatePlaceOrderForm
from actions.products import CONTEXT_PRODUCT, CONTEXT_PRODUCTS, PRODUCT_REQUEST
from actions.recommend import ORDER_REQUEST, ActionRecommend
from tests.actions.conftest import (
    DOMAIN,
    after_reply,
    responses,
    slot_events,
    tracker,
)

PRICES = {  # crm/tools/demo.py
    "Linen Tea Towels (set of 3)": 1600,
    "Stoneware Mixing Bowl Set": 3200,
    "Enamel Kettle": 3995,
    "Copper Measuring Cups": 2400,
    "Glass Storage Jars (set of 4)": 2800,
    "Bamboo Chopping Board": 1850,
    "Loose Leaf Breakfast Tea": 850,
}


def _product(value: str) -> list[dict[str, Any]]:
    return [{"entity": "product", "value": value}]


def _message(dispatcher: CollectingDispatcher, response: str) -> dict[str, Any]:
    return next(m for m in dispatcher.messages if m["response"] == response)


def _offered(dispatcher: CollectingDispatcher) -> list[str]:
    [message] = [m for m in dispatcher.messages if m.get("buttons")]
    return [b["title"] for b in message["buttons"]]


async def _ask(text: str, *, intent: str = "ask_question", **kwargs: Any):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text=text, intent=intent, **kwargs), DOMAIN
    )
    return dispatcher, events


async def test_a_question_about_a_product_is_answered_from_its_page(services):
    dispatcher, events = await _ask(
        "can the Cast Iron Casserole go in the dishwasher?",
        entities=_product("Cast Iron Casserole"),
    )
    facts = _message(dispatcher, "utter_product_facts")
    assert facts["product"] == "Cast Iron Casserole 24cm"
    assert "Not dishwasher safe" in facts["facts"]
    # The help centre's cast-iron care guide follows the product's own line.
    assert responses(dispatcher)[:2] == ["utter_product_facts", "utter_knowledge_answer"]
    assert "cast-iron" in _message(dispatcher, "utter_knowledge_answer")["title"]
    assert slot_events(events)[CONTEXT_PRODUCT] == "KIT-001"


async def test_two_aspects_at_once_and_a_product_named_by_a_word_of_its_name(services):
    dispatcher, _ = await _ask(
        "What is the throw made of, and may it be washed?", entities=_product("throw")
    )
    facts = _message(dispatcher, "utter_product_facts")
    assert facts["product"] == "Wool Throw"
    assert "lambswool" in facts["facts"] and "hand wash" in facts["facts"]


async def test_still_sold_says_the_price_and_the_stock(services):
    dispatcher, _ = await _ask("do you still have the wool throw?", entities=_product("wool throw"))
    assert responses(dispatcher) == ["utter_product_available"]  # 9 in stock
    message = dispatcher.messages[0]
    assert message["product"] == "Wool Throw" and message["price"] == "£65.00"


async def test_a_sold_out_product_is_said_to_be_sold_out(services):
    dispatcher, _ = await _ask("is the jute doormat in stock?", entities=_product("jute doormat"))
    assert responses(dispatcher) == ["utter_product_sold_out"]


async def test_what_the_page_does_not_say_is_not_guessed(services):
    """'it' is the product in view; gift wrapping is on no product page."""
    dispatcher, events = await _ask(
        "and would you be able to gift-wrap it?",
        slots={CONTEXT_PRODUCT: "HOM-001"},
        events=after_reply("utter_product_facts", "what is the throw made of?"),
    )
    assert responses(dispatcher) == ["utter_product_fact_unknown"]
    assert dispatcher.messages[0]["product"] == "Wool Throw"
    assert dispatcher.messages[0]["aspect"] == "gift wrapping"
    assert slot_events(events)[CONTEXT_PRODUCT] == "HOM-001"


async def test_a_problem_with_a_product_goes_to_the_help_centre_not_its_page(services):
    dispatcher, _ = await _ask(
        "my enamel kettle leaks, is it still under guarantee?",
        entities=_product("enamel kettle"),
    )
    assert "utter_product_facts" not in responses(dispatcher)
    assert "utter_product_guarantee" not in responses(dispatcher)


async def test_a_question_naming_a_product_but_no_aspect_is_the_help_centre_s(services):
    dispatcher, _ = await _ask("how do I return the hammock?", entities=_product("hammock"))
    assert not {r for r in responses(dispatcher) if r and r.startswith("utter_product_")}


async def test_the_same_question_about_another_product(services):
    """'the chef's knife?' after a dishwasher question asks it about the knife."""
    question = {
        "text": "can the Cast Iron Casserole go in the dishwasher?",
        "entities": [{"entity": "product", "value": "Cast Iron Casserole"}],
    }
    dispatcher = CollectingDispatcher()
    await ActionContinue().run(
        dispatcher,
        tracker(
            {"last_question": question, CONTEXT_PRODUCT: "KIT-001"},
            text="the chef's knife?",
            intent="inform",
            entities=_product("chef's knife"),
            events=after_reply("utter_product_facts", question["text"]),
        ),
        DOMAIN,
    )
    facts = _message(dispatcher, "utter_product_facts")
    assert facts["product"] == "Chef's Knife 20cm"
    assert "dishwasher" in facts["facts"]


async def test_the_same_question_when_the_nlu_was_unsure(services):
    """'ok and the chopping board' read as nlu_fallback still follows the last question."""
    question = {
        "text": "can the chef's knife go in the dishwasher?",
        "entities": [{"entity": "product", "value": "chef's knife"}],
    }
    dispatcher, _ = await _ask(
        "ok and the chopping board",
        intent="nlu_fallback",
        slots={"last_question": question, CONTEXT_PRODUCT: "KIT-002"},
        entities=_product("chopping board"),
        events=after_reply("utter_product_facts", question["text"]),
    )
    facts = _message(dispatcher, "utter_product_facts")
    assert facts["product"] == "Bamboo Chopping Board"
    assert "dishwasher" in facts["facts"]


async def test_the_cheapest_of_those_just_suggested(services):
    listed = ["KIT-004", "KIT-006", "KIT-008"]
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            {CONTEXT_PRODUCTS: listed},
            text="which one's the cheapest",
            intent="nlu_fallback",
            ranking=[("nlu_fallback", 0.4), ("out_of_scope", 0.22), ("ask_similar_product", 0.2)],
            events=after_reply("utter_recommendations_for_request", "kitchen stuff"),
        ),
        DOMAIN,
    )
    # Not "Do you mean ...?": the help centre's action answers it from the products in view.
    assert [e.get("name") for e in events if e.get("event") == "followup"] == [
        "action_answer_from_knowledge"
    ]
    dispatcher, events = await _ask(
        "which one's the cheapest",
        intent="nlu_fallback",
        slots={CONTEXT_PRODUCTS: listed},
        events=after_reply("utter_recommendations_for_request", "kitchen stuff"),
    )
    assert responses(dispatcher) == ["utter_product_cheapest"]
    assert dispatcher.messages[0]["product"] == "Linen Tea Towels (set of 3)"
    assert dispatcher.messages[0]["price"] == "£16.00"
    assert slot_events(events)[CONTEXT_PRODUCT] == "KIT-006"


async def test_the_most_durable_is_the_longest_guaranteed(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher,
        tracker(
            {CONTEXT_PRODUCTS: ["KIT-005", "KIT-001", "OUT-004"]},
            text="and which of those would last the longest?",
            intent="ask_recommendation",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_product_most_durable"]
    assert dispatcher.messages[0]["product"] == "Cast Iron Casserole 24cm"
    assert dispatcher.messages[0]["years"] == 5


async def test_a_bare_count_after_a_product_answer_orders_it(services):
    dispatcher = CollectingDispatcher()
    events = await ActionContinue().run(
        dispatcher,
        tracker(
            {CONTEXT_PRODUCT: "OUT-002"},
            text="ok 2",
            intent="inform",
            events=after_reply("utter_product_facts", "the lantern. waterproof?"),
        ),
        DOMAIN,
    )
    [replayed] = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "place_order"
    [entity] = replayed["parse_data"]["entities"]
    assert entity["value"] == "Solar Lantern"
    assert replayed["text"][entity["start"] : entity["end"]] == "Solar Lantern"


async def test_a_bare_count_out_of_the_blue_orders_nothing(services):
    dispatcher = CollectingDispatcher()
    events = await ActionContinue().run(
        dispatcher,
        tracker(
            {CONTEXT_PRODUCT: "OUT-002"},
            text="ok 2",
            intent="inform",
            events=after_reply("utter_order_status_shipped", "where is 100103"),
        ),
        DOMAIN,
    )
    assert not [e for e in events if e.get("event") == "user"]


async def _place_order_slots(text: str, slots: dict[str, Any], reply: str) -> dict[str, Any]:
    events = await ValidatePlaceOrderForm().run(
        CollectingDispatcher(),
        tracker(
            slots,
            text=text,
            intent="place_order",
            active_loop="place_order_form",
            events=after_reply(reply),
        ),
        DOMAIN,
    )
    return slot_events(events)


async def test_order_one_for_me_then_orders_the_product_in_view(services):
    slots = await _place_order_slots(
        "Lovely, order one for me then", {CONTEXT_PRODUCT: "HOM-001"}, "utter_product_few_left"
    )
    assert slots[ORDER_PRODUCT] == "Wool Throw"
    assert slots["order_sku"] == "HOM-001"
    assert slots["order_quantity"] == "1"


async def test_that_one_among_several_listed_offers_them_as_choices(services):
    slots = await _place_order_slots(
        "i'll take that one",
        {CONTEXT_PRODUCTS: ["GAR-002", "GAR-006", "GAR-001"]},
        "utter_recommendations_for_request",
    )
    assert ORDER_PRODUCT not in slots or slots[ORDER_PRODUCT] is None
    assert slots[PRODUCT_CHOICES] == [
        "Terracotta Pot 30cm",
        "Bird Feeder",
        "Stainless Steel Trowel",
    ]


async def test_the_lantern_among_several_listed_is_that_one(services):
    slots = await _place_order_slots(
        "get me two lanterns please then",
        {CONTEXT_PRODUCTS: ["OUT-003", "OUT-002", "OUT-004"]},
        "utter_recommendations_for_request",
    )
    assert slots[ORDER_PRODUCT] == "Solar Lantern"


async def test_a_request_in_words_with_a_budget_gets_fitting_products(services):
    dispatcher = CollectingDispatcher()
    text = "need a housewarming gift for my bestie, kitchen stuff, under 40 quid ideally"
    events = await ActionRecommend().run(
        dispatcher, tracker(text=text, intent="ask_recommendation"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_recommendations_within_budget"]
    assert dispatcher.messages[0]["budget"] == "£40.00"
    offered = _offered(dispatcher)
    assert len(offered) == 3 and set(offered) <= set(PRICES)  # kitchen things under £40
    assert all(
        b["payload"] == ORDER_REQUEST.format(name=b["title"])
        for b in dispatcher.messages[0]["buttons"]
    )
    slots = slot_events(events)
    assert slots[PRODUCT_REQUEST] == [text]
    assert len(slots[CONTEXT_PRODUCTS]) == 3


async def test_camping_gets_outdoor_things(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher,
        tracker(text="going camping next month what do u suggest", intent="ask_recommendation"),
        DOMAIN,
    )
    outdoor = {"Solar Lantern", "Picnic Blanket", "Enamel Camping Mug", "Hammock",
               "Insulated Flask 750ml"}  # fmt: skip
    assert set(_offered(dispatcher)) <= outdoor


async def test_a_detail_said_next_refines_the_suggestions(services):
    first = "my mum's just got into gardening what should i get her"
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            {PRODUCT_REQUEST: [first], CONTEXT_PRODUCTS: ["GAR-002", "GAR-003", "GAR-005"]},
            text="she's only got a tiny balcony tho",
            intent="nlu_fallback",
            ranking=[("nlu_fallback", 0.4), ("ask_question", 0.33), ("out_of_scope", 0.22)],
            events=after_reply("utter_recommendations_for_request", first),
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_recommendations_for_request"]
    offered = _offered(dispatcher)
    assert "Raised Bed Kit" not in offered and "Terracotta Pot 30cm" in offered
    assert slot_events(events)[PRODUCT_REQUEST] == [first, "she's only got a tiny balcony tho"]


async def test_a_detail_read_as_a_question_still_refines_but_a_question_does_not(services):
    first = "my mum's just got into gardening what should i get her"
    slots = {PRODUCT_REQUEST: [first], CONTEXT_PRODUCTS: ["GAR-002", "GAR-003", "GAR-005"]}
    reply = after_reply("utter_recommendations_for_request", first)
    dispatcher, _ = await _ask("she's only got a tiny balcony tho", slots=slots, events=reply)
    assert responses(dispatcher) == ["utter_recommendations_for_request"]
    assert "Raised Bed Kit" not in _offered(dispatcher)
    dispatcher, _ = await _ask("do you deliver to france?", slots=slots, events=reply)
    assert "utter_recommendations_for_request" not in responses(dispatcher)


async def test_a_request_that_says_nothing_of_what_would_suit_stays_general(services):
    """History and popularity still serve "what goes well with what i bought"."""
    for text in ("what goes well with what i bought", "gift ideas for my mum", "what's popular?"):
        dispatcher = CollectingDispatcher()
        await ActionRecommend().run(
            dispatcher, tracker(text=text, intent="ask_recommendation"), DOMAIN
        )
        assert responses(dispatcher) == ["utter_recommendations"], text
