"""Two requests in one message: the first is done, then the second, each by its own rules."""

import pytest
from sqlalchemy import select

from crm.records.models import Address, AuditLog, Customer, Order
from tests.conversations.conftest import (
    new_customer,
    new_sender,
    placed_orders,
    said,
    said_in_order,
    verify,
)

pytestmark = pytest.mark.conversation


def test_track_an_order_and_get_its_invoice(agent):
    sender = new_sender()
    reply = agent.say(sender, "where is my order 100104 and can i have the invoice for it")
    assert said(reply, "utter_ask_verify_email")
    agent.say(sender, "ada@example.com")
    reply = agent.say(sender, "M4 6AB")
    # the order's state, then the invoice of the same order, without asking for it again
    assert said_in_order(
        reply, "utter_order_status_delivered", "utter_next_request", "utter_invoice_link"
    )
    assert any("can i have the invoice for it" in m.get("text", "") for m in reply)
    assert "https://larkspur.example/account/invoices/" in reply[-1]["text"]
    assert agent.tracker(sender)["slots"]["queued_requests"] is None


def test_track_an_order_then_change_its_delivery_address(agent):
    shopper = new_customer(agent, [("KIT-005", 1)])
    [order] = placed_orders(agent, shopper)
    sender = new_sender()
    agent.say(sender, f"where is order {order.number}? I need to change the delivery address")
    reply = verify(agent, sender, shopper)
    # same order, verification remembered
    assert said_in_order(
        reply, "utter_order_status_placed", "utter_next_request", "utter_ask_new_address"
    )
    assert said(
        agent.say(sender, "7 Deansgate, Manchester, m3 1ab"), "utter_ask_confirm_address_change"
    )
    assert said(agent.say(sender, "yes"), "utter_address_changed")
    with agent.sessions() as session:
        postcode = session.scalar(select(Order.ship_postcode).where(Order.number == order.number))
    assert postcode == "M3 1AB"


def test_change_the_phone_number_and_save_an_address(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "I want to update my phone number and save a new shipping address")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_new_contact")
    assert said(agent.say(sender, "+44 7700 900456"), "utter_ask_confirm_contact_change")
    reply = agent.say(sender, "yes")
    assert said_in_order(
        reply, "utter_contact_updated_phone", "utter_next_request", "utter_ask_address_to_save"
    )
    assert said(
        agent.say(sender, "7 Deansgate, Manchester, m3 1ab"), "utter_ask_address_make_default"
    )
    assert said(agent.say(sender, "no"), "utter_ask_confirm_save_address")
    assert said(agent.say(sender, "yes"), "utter_address_saved_extra")
    with agent.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.id == shopper.id)).one()
        postcodes = session.scalars(
            select(Address.postcode).where(Address.customer_id == shopper.id)
        ).all()
        audits = session.scalars(select(AuditLog).where(AuditLog.conversation_id == sender)).all()
    assert customer.phone == "+447700900456"
    assert sorted(postcodes) == ["LS1 4AB", "M3 1AB"]
    assert len(audits) == 2


def test_saying_no_to_the_first_still_leads_to_the_second(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "change my email and add a new delivery address")
    verify(agent, sender, shopper)
    assert said(agent.say(sender, "sam.new@example.org"), "utter_ask_confirm_contact_change")
    reply = agent.say(sender, "no")
    assert said_in_order(reply, "utter_contact_kept", "utter_ask_address_to_save")
    with agent.sessions() as session:
        email = session.scalar(select(Customer.email).where(Customer.id == shopper.id))
    assert email == shopper.email


def test_stopping_the_first_drops_the_second(agent):
    sender = new_sender()
    reply = agent.say(sender, "where is my order and where is my refund")
    assert said(reply, "utter_ask_order_number")
    assert agent.tracker(sender)["slots"]["queued_requests"][0]["intent"] == "track_refund"
    assert said(agent.say(sender, "stop"), "utter_stopped")
    assert agent.tracker(sender)["slots"]["queued_requests"] is None
    assert said(agent.say(sender, "thanks"), "utter_youre_welcome")
