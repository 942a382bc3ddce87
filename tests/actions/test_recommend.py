"""Recommendations in the chat: real actions, the real domain and the demo records."""

from __future__ import annotations

import dataclasses

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions.knowledge import ActionAnswerFromKnowledge
from actions.ordering import ActionPlaceOrder
from actions.recommend import ORDER_REQUEST, ActionRecommend, suggests_products
from actions.services import use_services
from crm.insights.recommend import Recommender
from crm.records.db import make_engine, make_session_factory
from crm.records.models import Order, Product
from tests.actions.conftest import (
    ADA,
    DOMAIN,
    product_embedder,
    responses,
    tracker,
    verified,
)

SOLD_OUT = {"Folding Bistro Set", "Jute Doormat"}  # stock 0 in the demo data
# What Ada (verified) bought in the last days and cannot use up; the candle she can.
ADA_JUST_BOUGHT = {
    "Linen Tea Towels (set of 3)",
    "Bamboo Chopping Board",
    "Enamel Kettle",
    "Cast Iron Casserole 24cm",
    "Wool Throw",
    "Linen Cushion Cover",
}


def _offered(dispatcher: CollectingDispatcher) -> list[str]:
    [message] = [m for m in dispatcher.messages if m.get("buttons")]
    for button in message["buttons"]:
        assert button["payload"] == ORDER_REQUEST.format(name=button["title"])
    return [button["title"] for button in message["buttons"]]


async def test_a_general_request_gets_three_products_as_order_buttons(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher, tracker(text="what would you recommend?", intent="ask_recommendation"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_recommendations"]
    offered = _offered(dispatcher)
    assert len(offered) == 3
    assert not SOLD_OUT & set(offered)


async def test_something_like_a_product_never_offers_it(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher,
        tracker(
            text="something like the enamel kettle",
            intent="ask_similar_product",
            entities=[{"entity": "product", "value": "enamel kettle"}],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_similar_products"]
    assert dispatcher.messages[0]["product"] == "Enamel Kettle"
    offered = _offered(dispatcher)
    assert len(offered) == 3 and "Enamel Kettle" not in offered
    assert not SOLD_OUT & set(offered)
    assert "Enamel Camping Mug" in offered  # its closest description


async def test_the_product_is_read_from_the_words_without_an_entity(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher,
        tracker(text="anything similar to the picnic blanket", intent="ask_similar_product"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_similar_products"]
    assert "Picnic Blanket" not in _offered(dispatcher)


async def test_an_unknown_product_gets_popular_products(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher,
        tracker(text="something like a spaceship", intent="ask_similar_product"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_recommendations_unknown_product"]
    assert len(_offered(dispatcher)) == 3


async def test_a_verified_customer_is_not_offered_what_they_just_bought(services):
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher,
        tracker(verified(), text="any gift ideas?", intent="ask_recommendation"),
        DOMAIN,
    )
    offered = _offered(dispatcher)
    assert len(offered) == 3
    assert not (ADA_JUST_BOUGHT | SOLD_OUT) & set(offered)
    # The same request unverified may offer them: the exclusion is Ada's history.
    everyone = services.recommender.recommend(k=40)
    assert ADA_JUST_BOUGHT & {r.name for r in everyone}


async def test_nothing_to_offer_is_said(services, sessions):
    with sessions.begin() as session:
        session.execute(update(Product).values(stock=0))
    dispatcher = CollectingDispatcher()
    await ActionRecommend().run(
        dispatcher, tracker(text="what would you recommend?", intent="ask_recommendation"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_no_recommendations"]


async def test_a_placed_order_is_followed_by_you_might_also_like(services):
    dispatcher = CollectingDispatcher()
    await ActionPlaceOrder().run(
        dispatcher,
        tracker(
            verified(
                order_product="Picnic Blanket",
                order_sku="OUT-003",
                order_quantity="1",
                confirm_place_order=True,
            ),
            text="yes",
            intent="affirm",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_placed", "utter_recommendations_after_order"]
    offered = _offered(dispatcher)
    assert len(offered) == 3
    assert not ({"Picnic Blanket"} | ADA_JUST_BOUGHT | SOLD_OUT) & set(offered)


async def test_a_failing_recommender_leaves_the_order_placed_without_an_apology(
    services, sessions, tmp_path
):
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    use_services(dataclasses.replace(services, recommender=Recommender(broken, product_embedder())))
    before = _orders_of_ada(sessions)
    dispatcher = CollectingDispatcher()
    await ActionPlaceOrder().run(
        dispatcher,
        tracker(
            verified(
                order_product="Hammock",
                order_sku="OUT-006",
                order_quantity="1",
                confirm_place_order=True,
            ),
            text="yes",
            intent="affirm",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_placed"]
    assert _orders_of_ada(sessions) == before + 1


def _orders_of_ada(sessions) -> int:
    with sessions() as session:
        return len(session.scalars(select(Order.id).where(Order.customer_id == ADA)).all())


async def test_an_answer_about_a_product_offers_what_goes_with_it(services):
    dispatcher = CollectingDispatcher()
    question = "how do I look after my bamboo chopping board?"
    await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text=question, intent="ask_question"), DOMAIN
    )
    # The board's own care line (actions/products.py), the help centre's guide, then companions.
    assert responses(dispatcher) == [
        "utter_product_facts",
        "utter_knowledge_answer",
        "utter_products_like_this",
    ]
    assert dispatcher.messages[2]["product"] == "Bamboo Chopping Board"
    offered = _offered(dispatcher)
    assert len(offered) == 3 and "Bamboo Chopping Board" not in offered
    assert not SOLD_OUT & set(offered)


async def test_an_answer_about_no_product_offers_nothing_more(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="how long do refunds take?", intent="ask_question"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_knowledge_answer"]


async def _answer_and_offers(text: str, intent: str) -> list[str | None]:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(dispatcher, tracker(text=text, intent=intent), DOMAIN)
    return responses(dispatcher)


async def test_no_products_after_an_answer_about_returns_even_when_a_product_is_named(services):
    """Issue 29: "can I return a candle i burned once?" was answered, then candles were sold."""
    question = "can I return a candle i burned once?"
    assert services.catalogue.product_mentioned(question) is not None  # it names one
    for intent in ("check_refund_policy", "ask_question"):
        assert await _answer_and_offers(question, intent) == ["utter_knowledge_answer"]


async def test_no_products_after_a_problem_with_a_product(services):
    """A fault, damage or a payment problem is answered without selling anything."""
    for question, intent in (
        ("my enamel kettle stopped working after a month, is it under warranty?", "ask_question"),
        ("the cast iron casserole 24cm arrived with a crack, what do I do?", "ask_question"),
        ("I was charged twice for the wool throw", "payment_issue"),
    ):
        said = await _answer_and_offers(question, intent)
        assert said[0] in ("utter_knowledge_answer", "utter_knowledge_unknown"), question
        assert "utter_products_like_this" not in said, question


@pytest.mark.parametrize(
    ("intent", "topic", "question", "offers"),
    [
        ("ask_question", "products", "how do I look after my bamboo chopping board?", True),
        ("ask_question", "products", "is the stainless steel trowel ok in a dishwasher", True),
        ("nlu_fallback", "products", "what size is the wool throw", True),
        ("ask_question", "returns", "can I return a candle i burned once?", False),
        ("ask_question", "shipping", "do you deliver the hammock to ireland", False),
        ("ask_question", "privacy", "what do you do with my data", False),
        ("ask_question", "accounts", "how do I change my email", False),
        ("check_refund_policy", "products", "what is the warranty on the kettle", False),
        ("payment_issue", "payments", "my card was declined buying the lamp", False),
        ("ask_question", "products", "my kettle stopped working, is it under warranty?", False),
        ("ask_question", "products", "the pan arrived damaged", False),
        ("ask_question", "products", "my hose is leaking at the tap", False),
        ("ask_question", "products", "this is the worst board I have ever owned, awful", False),
    ],
)
def test_products_follow_only_a_general_question_answered_from_a_catalogue_article(
    intent: str, topic: str, question: str, offers: bool
) -> None:
    assert suggests_products(intent, topic, question) is offers
