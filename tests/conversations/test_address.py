"""change_shipping_address: validated, confirmed, audited; only before shipping."""

import pytest
from sqlalchemy import select

from crm.records.models import AuditLog, Order
from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def start(agent, sender, number, email, postcode):
    agent.say(sender, f"please change the delivery address for order {number}")
    agent.say(sender, email)
    return agent.say(sender, postcode)


def test_change_the_address_of_an_unshipped_order(agent):
    sender = new_sender()
    assert said(
        start(agent, sender, "100101", "ada@example.com", "M4 6AB"), "utter_ask_new_address"
    )
    reply = agent.say(sender, "7 Deansgate, Manchester, m3 1ab, UK")
    assert said(reply, "utter_ask_confirm_address_change")
    assert "M3 1AB" in reply[-1]["text"]
    assert said(agent.say(sender, "yes"), "utter_address_changed")
    with agent.sessions() as session:
        order = session.scalars(select(Order).where(Order.number == "100101")).one()
        audit = session.scalars(select(AuditLog).where(AuditLog.conversation_id == sender)).one()
    assert (order.ship_line1, order.ship_city, order.ship_postcode) == (
        "7 Deansgate",
        "Manchester",
        "M3 1AB",
    )
    assert audit.before["postcode"] == "M4 6AB"
    assert audit.after["postcode"] == "M3 1AB"


def test_an_invalid_postcode_is_asked_again_precisely(agent):
    sender = new_sender()
    start(agent, sender, "100101", "ada@example.com", "M4 6AB")
    reply = agent.say(sender, "7 Deansgate, Manchester, NOTAPOSTCODE, UK")
    assert said(reply, "utter_invalid_address_postcode")
    assert said(reply, "utter_ask_new_address")
    reply = agent.say(sender, "1 Hauptstrasse, Berlin, 10115, Germany")
    assert said(reply, "utter_ask_confirm_address_change")
    assert said(agent.say(sender, "no"), "utter_address_kept")


def test_a_shipped_order_keeps_its_address(agent):
    sender = new_sender()
    reply = start(agent, sender, "100103", "ada@example.com", "M4 6AB")
    assert said(reply, "utter_address_change_not_possible_shipped")
    assert not said(reply, "utter_ask_new_address")


def test_the_new_address_in_the_request_goes_straight_to_the_confirmation(agent):
    sender = new_sender()
    agent.say(
        sender, "please change the delivery address of 100101 to 22 Mill Street, Manchester M4 5JU"
    )
    agent.say(sender, "ada@example.com")
    reply = agent.say(sender, "M4 6AB")
    assert said(reply, "utter_ask_confirm_address_change")
    assert not said(reply, "utter_ask_new_address")
    assert "22 Mill Street" in reply[-1]["text"] and "M4 5JU" in reply[-1]["text"]
    assert said(agent.say(sender, "no"), "utter_address_kept")
