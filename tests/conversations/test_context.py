"""Context across turns, end to end: follow-ups that only make sense after the previous turn."""

import pytest
from sqlalchemy import select

from crm.records.models import Order, OrderItem, Product
from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def verify(agent, sender):
    assert said(agent.say(sender, "ada@example.com"), "utter_ask_verify_postcode")
    return agent.say(sender, "M4 6AB")


def test_an_elliptical_question_is_answered_about_the_new_country(agent):
    sender = new_sender()
    first = agent.say(sender, "can you send parcels to germany and what does that cost")
    assert said(first, "utter_delivery_to_place_eu")
    assert "£9.95" in first[0]["text"]
    reply = agent.say(sender, "and what about to canada?")
    assert said(reply, "utter_no_delivery_to_place")
    assert not said(reply, "utter_out_of_scope")
    assert "Canada" in reply[0]["text"]


def test_a_refund_on_it_after_tracking_uses_the_same_order(agent):
    sender = new_sender()
    agent.say(sender, "where is my order 100104")
    assert said(verify(agent, sender), "utter_order_status_delivered")
    reply = agent.say(sender, "could i get a refund on it instead?")
    assert not said(reply, "utter_ask_order_number")
    assert said(reply, "utter_ask_refund_reason")


def test_a_bare_order_number_after_a_question_about_a_charge_looks_the_order_up(agent):
    sender = new_sender()
    agent.say(sender, "you took the payment twice for my last order")
    reply = agent.say(sender, "yes it was 100103")
    assert not said(reply, "utter_help")
    assert said(reply, "utter_ask_verify_email")
    assert said(verify(agent, sender), "utter_order_status_shipped")


def test_a_bare_order_number_repeats_the_previous_request(agent):
    sender = new_sender()
    agent.say(sender, "track order 100103")
    verify(agent, sender)
    reply = agent.say(sender, "and 100102?")
    assert said(reply, "utter_order_status_paid")


def test_a_removal_asked_before_verification_is_read_back_after_it(agent):
    sender = new_sender()
    assert said(
        agent.say(sender, "please remove the candle from my order 100102"),
        "utter_ask_verify_email",
    )
    reply = verify(agent, sender)
    assert said(reply, "utter_ask_confirm_item_remove")
    assert not said(reply, "utter_ask_change_quantity")
    assert said(agent.say(sender, "yes"), "utter_order_items_changed")
    with agent.sessions() as session:
        skus = session.scalars(
            select(Product.sku).join(OrderItem).join(Order).where(Order.number == "100102")
        ).all()
    assert skus == ["KIT-005"]  # the kettle stays, the candle is gone


def test_a_question_pointing_back_at_a_missed_delivery_is_about_it(agent):
    sender = new_sender()
    agent.say(sender, "the courier came when I was at work and took my parcel away again")
    reply = agent.say(sender, "are they going to come back tomorrow or do I need to fetch it?")
    assert said(reply, "utter_knowledge_answer")
    assert "My parcel is late or hasn't arrived" in reply[0]["text"]
