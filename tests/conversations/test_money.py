"""Invoices, refunds, cancellation fees and delivery estimates, from the customer's records."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from crm.records.models import Order, Refund
from tests.conversations.conftest import new_customer, new_sender, placed_orders, said, verify

pytestmark = pytest.mark.conversation


def verified_as_ada(agent, sender):
    agent.say(sender, "where is my order 100104")
    agent.say(sender, "ada@example.com")
    agent.say(sender, "M4 6AB")


def test_get_the_invoice_of_a_paid_order(agent):
    sender = new_sender()
    assert said(
        agent.say(sender, "can you send me the invoice for order 100102"), "utter_ask_verify_email"
    )
    agent.say(sender, "ada@example.com")
    reply = agent.say(sender, "M4 6AB")
    assert said(reply, "utter_invoice_link")
    assert "https://larkspur.example/account/invoices/" in reply[-1]["text"]


def test_an_unpaid_order_has_no_invoice_yet(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    assert said(agent.say(sender, "I need the invoice for 100101"), "utter_invoice_not_ready")


def test_someone_elses_invoice_is_not_found(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    assert said(agent.say(sender, "download the invoice for order 100201"), "utter_order_not_found")


def test_list_my_invoices(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    reply = agent.say(sender, "show me all my invoices")
    assert said(reply, "utter_invoice_list")
    assert "100102" in reply[-1]["text"] and "100104" in reply[-1]["text"]


def test_request_a_refund_for_a_delivered_order_then_track_it(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    assert said(agent.say(sender, "I want a refund for order 100104"), "utter_ask_refund_reason")
    assert said(agent.say(sender, "the lamp arrived damaged"), "utter_ask_confirm_refund")
    assert said(agent.say(sender, "yes"), "utter_refund_requested")
    with agent.sessions() as session:
        refund = session.scalars(select(Refund).join(Order).where(Order.number == "100104")).one()
    assert (refund.status, refund.reason) == ("requested", "return: the lamp arrived damaged")
    assert said(agent.say(sender, "where is my refund?"), "utter_refund_status_requested")
    again = agent.say(sender, "I'd like my money back for 100104")
    assert said(again, "utter_refund_not_possible_already_refunded")


def test_an_undelivered_order_cannot_be_refunded(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    reply = agent.say(sender, "refund order 100103 please")
    assert said(reply, "utter_refund_not_possible_not_delivered")
    assert not said(reply, "utter_ask_refund_reason")


def test_changing_your_mind_requests_nothing(agent):
    sender = new_sender()
    agent.say(sender, "I want a refund for order 100301")
    agent.say(sender, "alan@example.com")
    agent.say(sender, "CB2 1SJ")
    agent.say(sender, "wrong size")
    assert said(agent.say(sender, "no"), "utter_refund_kept")
    with agent.sessions() as session:
        refunds = session.scalars(select(Refund).join(Order).where(Order.number == "100301"))
        assert refunds.all() == []


def test_cancellation_fee_of_a_named_order_comes_from_its_state(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    assert said(
        agent.say(sender, "is there a fee to cancel order 100102?"), "utter_cancellation_fee_cancel"
    )
    assert said(
        agent.say(sender, "what would it cost to cancel 100104"),
        "utter_cancellation_fee_return_free",
    )


def test_cancellation_fee_in_general_comes_from_the_help_centre(agent):
    reply = agent.say(new_sender(), "do you charge a cancellation fee?")
    assert said(reply, "utter_knowledge_answer")


def test_delivery_period_of_a_named_order(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    assert said(
        agent.say(sender, "how long will order 100102 take to arrive?"),
        "utter_delivery_estimate_rules",
    )
    assert said(
        agent.say(sender, "how long will order 100103 take to arrive?"),
        "utter_delivery_estimate_carrier",
    )


def test_delivery_period_in_general_comes_from_the_help_centre(agent):
    reply = agent.say(new_sender(), "how long does delivery to Germany take?")
    assert said(reply, "utter_knowledge_answer")
    assert "working days" in "\n".join(m["text"] for m in reply)


def test_a_customer_without_paid_orders_has_no_invoices(agent):
    shopper = new_customer(agent, [("HOM-005", 1)])  # placed, not paid: no invoice yet
    sender = new_sender()
    agent.say(sender, "list my invoices")
    assert said(verify(agent, sender, shopper), "utter_no_invoices")


def test_invoices_are_not_listed_without_verification(agent):
    sender = new_sender()
    agent.say(sender, "show me my invoices")
    for _ in range(3):
        agent.say(sender, "ada@example.com")
        reply = agent.say(sender, "CB2 1SJ")
    assert said(reply, "utter_verification_locked")
    assert not said(reply, "utter_invoice_list")


def test_a_customer_without_refunds_is_told_so(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "has my refund been processed?")
    assert said(verify(agent, sender, shopper), "utter_no_refunds")


def test_a_refund_question_can_be_stopped(agent):
    sender = new_sender()
    assert said(agent.say(sender, "where's my refund"), "utter_ask_verify_email")
    assert said(agent.say(sender, "stop"), "utter_stopped")
    assert agent.tracker(sender)["active_loop"] in ({}, None, {"name": None})


def test_a_cancelled_order_costs_nothing_to_cancel(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    reply = agent.say(sender, "is there a cancellation fee for order 100105?")
    assert said(reply, "utter_cancellation_fee_none")


def test_delivery_period_of_a_shipped_order_is_the_carriers_estimate(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    reply = agent.say(sender, "how long will order 100103 take to arrive?")
    assert said(reply, "utter_delivery_estimate_carrier")


def test_invoices_of_a_period(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    reply = agent.say(sender, "show me my invoices from the past 7 days")
    assert said(reply, "utter_invoice_list_period")
    text = reply[-1]["text"]
    assert "INV-100102" in text and "INV-100103" in text
    assert "INV-100104" not in text  # paid 20 days ago


def test_an_invoice_found_by_its_amount(agent):
    sender = new_sender()
    verified_as_ada(agent, sender)
    reply = agent.say(sender, "find the invoice for £54.90")
    assert said(reply, "utter_invoice_list_amount")
    assert "INV-100102" in reply[-1]["text"] and "INV-100103" not in reply[-1]["text"]
    assert said(agent.say(sender, "which invoice was the £12.34 one"), "utter_no_invoices_amount")


def test_a_reason_and_one_item_in_the_request_go_straight_to_the_read_back(agent):
    # A shopper of its own: other tests refund the demo customers' delivered orders.
    shopper = new_customer(agent, [("HOM-002", 2), ("HOM-001", 1)])
    [order] = placed_orders(agent, shopper)
    with agent.sessions.begin() as session:
        session.execute(
            update(Order)
            .where(Order.number == order.number)
            .values(status="delivered", delivered_at=datetime.now(UTC))
        )
    sender = new_sender()
    agent.say(
        sender,
        f"I'd like a refund for just one of the cushion covers on {order.number}, it arrived torn",
    )
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_confirm_refund")
    assert not said(reply, "utter_ask_refund_reason")
    assert "£22.00" in reply[-1]["text"] and "Linen Cushion Cover" in reply[-1]["text"]
    assert said(agent.say(sender, "yes"), "utter_refund_requested")
    with agent.sessions() as session:
        refund = session.scalars(
            select(Refund).join(Order).where(Order.number == order.number)
        ).one()
    assert (refund.amount_pence, refund.quantity) == (2200, 1)
