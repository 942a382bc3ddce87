"""place_order and change_order: products by name, priced confirmation, totals recomputed."""

import pytest
from sqlalchemy import select

from crm.records.models import AuditLog, Order, Refund
from tests.conversations.conftest import (
    new_customer,
    new_sender,
    placed_orders,
    said,
    set_status,
    verify,
)

pytestmark = pytest.mark.conversation


def test_place_an_order_by_product_name(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    reply = agent.say(sender, "I'd like to order 2 enamel kettles")
    assert said(reply, "utter_ask_verify_email")  # product and count came with the request
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_confirm_place_order")
    confirm = reply[-1]["text"]
    assert "2 × Enamel Kettle" in confirm and "£79.90" in confirm and "12 Rose Street" in confirm
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_order_placed")
    [order] = placed_orders(agent, shopper)
    assert (order.status, order.items) == ("placed", {"KIT-005": 2})
    assert order.total_pence == 7990  # over £50: UK Standard delivery is free
    # The payment link is in the confirmation; "you might also like" may follow it.
    link = f"https://larkspur.example/checkout/pay/{order.number}"
    assert any(link in (message.get("text") or "") for message in reply), reply


def test_several_matching_products_are_offered_as_buttons(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    reply = agent.say(sender, "I want to buy a towel")
    assert said(reply, "utter_ask_product_choice")
    assert {b["payload"] for b in reply[-1]["buttons"]} == {
        "Cotton Bath Towel",
        "Linen Tea Towels (set of 3)",
    }
    assert said(agent.say(sender, "Cotton Bath Towel"), "utter_ask_order_quantity")
    assert said(agent.say(sender, "three"), "utter_ask_verify_email")
    reply = verify(agent, sender, shopper)
    assert "3 × Cotton Bath Towel" in reply[-1]["text"]
    assert said(agent.say(sender, "no"), "utter_order_not_placed")
    assert placed_orders(agent, shopper) == []


def test_a_product_is_chosen_by_its_place_in_the_list(agent):
    sender = new_sender()
    reply = agent.say(sender, "I want to buy a towel")
    assert said(reply, "utter_ask_product_choice")
    second = reply[-1]["buttons"][1]["payload"]
    assert said(agent.say(sender, "the second one"), "utter_ask_order_quantity")
    assert agent.tracker(sender)["slots"]["order_product"] == second
    assert said(agent.say(sender, "stop"), "utter_stopped")


def test_an_unknown_product_and_a_bad_quantity_are_asked_again(agent):
    sender = new_sender()
    assert said(agent.say(sender, "I want to place an order"), "utter_ask_order_product")
    reply = agent.say(sender, "a spaceship")
    assert said(reply, "utter_product_not_found")
    assert said(reply, "utter_ask_order_product")
    reply = agent.say(sender, "the hammock")
    assert said(reply, "utter_ask_order_quantity")
    assert "Hammock" in reply[-1]["text"]  # the question names what is being counted
    reply = agent.say(sender, "50")
    assert said(reply, "utter_invalid_quantity")
    assert said(reply, "utter_ask_order_quantity")
    assert said(agent.say(sender, "stop"), "utter_stopped")


def test_an_unverified_customer_cannot_order(agent):
    sender = new_sender()
    agent.say(sender, "order the wall clock please")
    agent.say(sender, "1")
    for _ in range(3):
        agent.say(sender, "sam@example.com")
        reply = agent.say(sender, "LS1 4AB")
    assert said(reply, "utter_verification_locked")
    with agent.sessions() as session:
        assert not session.scalars(select(AuditLog).where(AuditLog.conversation_id == sender)).all()


def test_remove_an_item_from_an_unpaid_order(agent):
    shopper = new_customer(agent, [("KIT-006", 2), ("KIT-003", 1)])
    [before] = placed_orders(agent, shopper)
    sender = new_sender()
    agent.say(sender, f"I want to change my order {before.number}")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_change_product")
    reply = agent.say(sender, "please remove the chopping board")
    assert said(reply, "utter_ask_confirm_item_remove")
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_order_items_changed")
    [after] = placed_orders(agent, shopper)
    assert after.items == {"KIT-006": 2}
    assert after.total_pence == 2 * 1600 + 395  # under £50 again: delivery is charged
    with agent.sessions() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.conversation_id == sender)).one()
    assert audit.action == "order.change_item"


def test_fewer_items_on_a_paid_order_give_a_refund(agent):
    shopper = new_customer(agent, [("KIT-006", 3)])
    [order] = placed_orders(agent, shopper)
    set_status(agent, order.number, "paid")
    sender = new_sender()
    agent.say(sender, f"can I change the quantity in order {order.number}")
    verify(agent, sender, shopper)
    assert said(agent.say(sender, "tea towels"), "utter_ask_change_quantity")
    reply = agent.say(sender, "1")
    assert said(reply, "utter_ask_confirm_item_quantity")
    assert "has 3 × Linen Tea Towels" in reply[-1]["text"]
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_order_items_changed")
    assert said(reply, "utter_order_change_refund")
    with agent.sessions() as session:
        refund = session.scalars(
            select(Refund).join(Order).where(Order.number == order.number)
        ).one()
    assert refund.amount_pence == 3200


def test_a_shipped_order_cannot_be_changed(agent):
    shopper = new_customer(agent, [("HOM-008", 1)])
    [order] = placed_orders(agent, shopper)
    set_status(agent, order.number, "shipped")
    sender = new_sender()
    agent.say(sender, f"add a candle to order {order.number}")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_change_not_possible_shipped")
    assert placed_orders(agent, shopper)[0].items == {"HOM-008": 1}


def test_the_customer_can_switch_to_the_other_order_midway(agent):
    shopper = new_customer(agent, [("HOM-008", 1)], [("OUT-006", 1), ("OUT-004", 2)])
    first, second = placed_orders(agent, shopper)
    sender = new_sender()
    agent.say(sender, f"change order {first.number}")
    verify(agent, sender, shopper)
    assert said(agent.say(sender, "remove the wall clock"), "utter_ask_confirm_item_remove")
    reply = agent.say(sender, f"sorry, I meant order {second.number}")
    assert said(reply, "utter_ask_change_product")  # the item questions start again
    reply = agent.say(sender, "remove the wall clock")
    assert said(reply, "utter_item_not_in_order")  # that one is in the other order
    assert said(reply, "utter_ask_change_product")
    # Still a removal until the customer says otherwise; a count makes it a change of quantity.
    assert said(agent.say(sender, "the camping mugs, 4 of them"), "utter_ask_confirm_item_quantity")
    assert said(agent.say(sender, "yes"), "utter_order_items_changed")
    assert [o.items for o in placed_orders(agent, shopper)] == [
        {"HOM-008": 1},
        {"OUT-006": 1, "OUT-004": 4},
    ]


def test_the_only_item_cannot_be_removed(agent):
    shopper = new_customer(agent, [("OUT-006", 1)])
    [order] = placed_orders(agent, shopper)
    sender = new_sender()
    agent.say(sender, f"change order {order.number}")
    verify(agent, sender, shopper)
    assert said(agent.say(sender, "take out the hammock"), "utter_ask_confirm_item_remove")
    assert said(agent.say(sender, "yes"), "utter_change_would_empty")
    assert placed_orders(agent, shopper)[0].items == {"OUT-006": 1}


def test_a_sold_out_product_is_not_ordered_and_a_short_one_only_as_many_as_are_left(agent):
    sender = new_sender()
    reply = agent.say(sender, "I'd like to order the folding bistro set")  # stock 0 in the demo
    assert said(reply, "utter_product_out_of_stock")
    assert "Folding Bistro Set" in reply[0]["text"]
    assert said(reply, "utter_ask_order_product")  # another product, then
    reply = agent.say(sender, "raised bed kit")
    assert said(reply, "utter_ask_order_quantity")
    reply = agent.say(sender, "5")  # four are left
    assert said(reply, "utter_product_low_stock") and "4" in reply[0]["text"]
    assert said(reply, "utter_ask_order_quantity")
    assert said(agent.say(sender, "4"), "utter_ask_verify_email")


def test_a_new_count_at_the_confirmation_is_read_back_before_ordering(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "I'd like to order 2 enamel kettles")
    reply = verify(agent, sender, shopper)
    assert "2 × Enamel Kettle" in reply[-1]["text"]
    reply = agent.say(sender, "oh wait, not two, make it three please")
    assert said(reply, "utter_ask_confirm_place_order")
    assert "3 × Enamel Kettle" in reply[-1]["text"]
    assert said(agent.say(sender, "yes"), "utter_order_placed")
    [order] = placed_orders(agent, shopper)
    assert order.items == {"KIT-005": 3}


def test_a_question_at_how_many_is_answered_and_going_on_means_one(agent):
    # A delivery question is no count (actions/form_answers.py): the help centre answers it and
    # the form asks again; "let's carry on with the flask" after the aside orders one.
    shopper = new_customer(agent)
    sender = new_sender()
    assert said(agent.say(sender, "can I buy the insulated flask"), "utter_ask_order_quantity")
    reply = agent.say(sender, "hang on, how many days does standard delivery take in the UK?")
    assert not said(reply, "utter_invalid_quantity")
    assert said(reply, "utter_ask_order_quantity")
    assert agent.tracker(sender)["active_loop"]["name"] == "place_order_form"
    reply = agent.say(sender, "great, let's carry on with the flask")
    assert said(reply, "utter_ask_verify_email")
    reply = verify(agent, sender, shopper)
    assert "1 × Insulated Flask" in reply[-1]["text"]
    assert said(agent.say(sender, "no"), "utter_order_not_placed")
