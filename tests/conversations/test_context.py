"""Context across turns, end to end: follow-ups that only make sense after the previous turn."""

import pytest
from sqlalchemy import select

from crm.records.models import Order, OrderItem, Product
from tests.conversations.conftest import new_customer, new_sender, placed_orders, said
from tests.conversations.conftest import verify as verify_as

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


def test_what_if_the_tracked_order_is_late_is_answered_for_that_order(agent):
    sender = new_sender()
    agent.say(sender, "where's order 100103 got to")
    assert said(verify(agent, sender), "utter_order_status_shipped")
    reply = agent.say(sender, "and what if it hasn't turned up by monday?")
    assert said(reply, "utter_order_if_late")
    assert "100103" in reply[0]["text"] and "DPD" in reply[0]["text"]


def test_when_the_tracked_order_gets_to_a_named_place_is_that_orders_delivery(agent):
    # The order's number and the place together once sent the help centre's replay of the
    # question back to itself for ever; now the order's delivery answers it.
    sender = new_sender()
    agent.say(sender, "where's order 100103")
    assert said(verify(agent, sender), "utter_order_status_shipped")
    reply = agent.say(sender, "when will it get to manchester")
    assert said(reply, "utter_delivery_estimate_carrier") or said(
        reply, "utter_delivery_estimate_rules"
    )
    assert "100103" in " ".join(m.get("text") or "" for m in reply)


def test_how_long_to_send_it_back_counts_the_days_left_on_the_order(agent):
    sender = new_sender()
    agent.say(sender, "has 100104 been delivered yet")
    assert said(verify(agent, sender), "utter_order_status_delivered")
    agent.say(sender, "am I able to return it?")
    reply = agent.say(sender, "how long have i got")
    assert said(reply, "utter_return_window_left")
    assert "13 days" in reply[0]["text"]  # delivered 17 days ago (crm/tools/demo.py)


def test_a_question_that_reads_as_another_task_does_not_end_the_order(agent):
    sender = new_sender()
    agent.say(sender, "I'd like to order 2 enamel kettles")
    assert said(verify(agent, sender), "utter_ask_confirm_place_order")
    reply = agent.say(sender, "one thing first, will VAT be on the invoice?")
    assert said(reply, "utter_knowledge_answer")
    assert said(reply, "utter_ask_confirm_place_order")
    assert said(agent.say(sender, "yes"), "utter_order_placed")


def test_saving_an_account_address_says_a_delivered_order_keeps_its_own(agent):
    sender = new_sender()
    agent.say(sender, "could you add a new delivery address to my account please")
    assert said(verify(agent, sender), "utter_ask_address_to_save")
    agent.say(sender, "7 Deansgate, Manchester, m3 1ab")
    assert said(agent.say(sender, "yes"), "utter_ask_confirm_save_address")
    reply = agent.say(sender, "wait, does that alter where 100104 goes?")
    assert said(reply, "utter_account_address_not_order_delivered")
    assert said(reply, "utter_ask_confirm_save_address")  # and the read-back again


def test_the_other_order_described_gets_the_same_address_change(agent):
    # A shopper of its own: other tests change the demo customers' orders.
    shopper = new_customer(agent, [("KIT-005", 1)], [("KIT-005", 2)])
    first, second = (order.number for order in placed_orders(agent, shopper))
    sender = new_sender()
    agent.say(sender, f"please deliver order {first} to 22 Canal Street, Manchester, M1 3HE")
    assert said(verify_as(agent, sender, shopper), "utter_ask_confirm_address_change")
    agent.say(sender, "yes")
    reply = agent.say(sender, "and could the other one that hasn't shipped go there as well?")
    assert said(reply, "utter_ask_confirm_address_change")
    assert second in reply[-1]["text"] and "M1 3HE" in reply[-1]["text"]


def test_another_task_asked_for_mid_form_leaves_the_first_unchanged_and_says_so(agent):
    sender = new_sender()
    agent.say(sender, "I'd like to order 2 enamel kettles")
    assert said(verify(agent, sender), "utter_ask_confirm_place_order")
    reply = agent.say(sender, "actually just cancel my order 100101")
    assert said(reply, "utter_task_left")
    assert said(reply, "utter_ask_confirm_cancel")
