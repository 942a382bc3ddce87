"""The shop's products in the chat through the running servers (actions/products.py).

A question about a product and the same question about another; suggestions that follow the
request's words and budget; a pick among them; and "two of those" ordered.
"""

import re

import pytest

from tests.conversations.conftest import (
    new_customer,
    new_sender,
    placed_orders,
    said,
    verify,
)

pytestmark = pytest.mark.conversation


def _text(messages: list[dict]) -> str:
    return " ".join(str(m.get("text") or "") for m in messages)


def test_a_product_question_then_the_same_question_about_another(agent):
    sender = new_sender()
    reply = agent.say(sender, "is the cast iron casserole dishwasher safe?")
    assert said(reply, "utter_product_facts")
    assert "Not dishwasher safe" in _text(reply)
    reply = agent.say(sender, "and the chopping board?")
    assert said(reply, "utter_product_facts")
    assert "Bamboo Chopping Board" in _text(reply) and "dishwasher" in _text(reply)


def test_suggestions_in_budget_then_the_cheapest_then_two_of_those(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    reply = agent.say(sender, "looking for a present for a friend who loves to bake, under £35")
    assert said(reply, "utter_recommendations_within_budget")
    offered = [b["title"] for b in reply[-1]["buttons"]]
    assert len(offered) == 3
    reply = agent.say(sender, "which of them is the cheapest?")
    assert said(reply, "utter_product_cheapest")
    cheapest = reply[-1]["text"]
    assert re.search(r"£\d", cheapest)
    assert sum(name in cheapest for name in offered) == 1  # one of those suggested
    reply = agent.say(sender, "great, get me two of those")
    assert said(verify(agent, sender, shopper), "utter_ask_confirm_place_order")
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_order_placed")
    [order] = placed_orders(agent, shopper)
    assert list(order.items.values()) == [2]
    assert agent.tracker(sender)["slots"]["context_product"] in order.items
