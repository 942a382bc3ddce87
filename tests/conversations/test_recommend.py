"""Recommendations through the running servers: buttons, similar products, after an order."""

import pytest

from actions.recommend import ORDER_REQUEST
from tests.conversations.conftest import (
    new_customer,
    new_sender,
    placed_orders,
    said,
    said_in_order,
    verify,
)

pytestmark = pytest.mark.conversation

SOLD_OUT = {"Folding Bistro Set", "Jute Doormat"}  # stock 0 in the demo data


def _buttons(message: dict) -> list[str]:
    buttons = message.get("buttons") or []
    for button in buttons:
        assert button["payload"] == ORDER_REQUEST.format(name=button["title"])
    return [button["title"] for button in buttons]


def test_what_would_you_recommend_gets_products_as_buttons_and_a_tap_orders(agent):
    sender = new_sender()
    reply = agent.say(sender, "what would you recommend?")
    assert said(reply, "utter_recommendations")
    offered = _buttons(reply[-1])
    assert len(offered) == 3 and not SOLD_OUT & set(offered)
    # A tap sends the button's payload: the ordering form starts with that product.
    reply = agent.say(sender, reply[-1]["buttons"][0]["payload"])
    assert said(reply, "utter_ask_order_quantity")
    assert agent.tracker(sender)["slots"]["order_product"] == offered[0]
    assert said(agent.say(sender, "stop"), "utter_stopped")


def test_something_like_the_enamel_kettle_offers_similar_items_not_the_kettle(agent):
    sender = new_sender()
    reply = agent.say(sender, "something like the enamel kettle")
    assert said(reply, "utter_similar_products")
    assert "Enamel Kettle" in reply[-1]["text"]
    offered = _buttons(reply[-1])
    assert len(offered) == 3
    assert "Enamel Kettle" not in offered and not SOLD_OUT & set(offered)
    assert "Enamel Camping Mug" in offered


def test_an_order_is_followed_by_you_might_also_like(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "I'd like to order a picnic blanket")
    agent.say(sender, "1")
    assert said(verify(agent, sender, shopper), "utter_ask_confirm_place_order")
    reply = agent.say(sender, "yes")
    assert said_in_order(reply, "utter_order_placed", "utter_recommendations_after_order")
    [order] = placed_orders(agent, shopper)
    assert order.items == {"OUT-003": 1}
    offered = _buttons(reply[-1])
    assert 1 <= len(offered) <= 3
    assert "Picnic Blanket" not in offered and not SOLD_OUT & set(offered)


def test_an_answer_about_a_product_is_followed_by_what_goes_with_it(agent):
    reply = agent.say(new_sender(), "how do I look after my bamboo chopping board?")
    assert said_in_order(reply, "utter_knowledge_answer", "utter_products_like_this")
    offered = _buttons(reply[-1])
    assert len(offered) == 3 and "Bamboo Chopping Board" not in offered
    assert not SOLD_OUT & set(offered)


def test_an_answer_about_returns_or_a_problem_is_followed_by_no_products(agent):
    """Issue 29: "can I return a candle i burned once?" was answered, then sold candles."""
    for question in (
        "can I return a candle i burned once?",
        "my enamel kettle stopped working, is it still under warranty?",
    ):
        reply = agent.say(new_sender(), question)
        assert said(reply, "utter_knowledge_answer"), question
        assert not said(reply, "utter_products_like_this"), question
