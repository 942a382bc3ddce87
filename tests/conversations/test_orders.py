"""track_order and cancel_order, verified, against the records, through both servers."""

import pytest
from sqlalchemy import select

from crm.records.models import AuditLog, Order
from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def verify(agent, sender, email, postcode):
    assert said(agent.say(sender, email), "utter_ask_verify_postcode")
    return agent.say(sender, postcode)


def order_status(agent, number):
    with agent.sessions() as session:
        return session.scalar(select(Order.status).where(Order.number == number))


def test_track_order_asks_for_verification_then_answers_from_the_records(agent):
    sender = new_sender()
    assert said(agent.say(sender, "where is my order 100103?"), "utter_ask_verify_email")
    reply = verify(agent, sender, "ada@example.com", "m4 6ab")
    assert said(reply, "utter_verified")
    assert said(reply, "utter_order_status_shipped")
    text = reply[-1]["text"]
    assert "100103" in text and "DPD" in text


def test_verification_is_remembered_within_the_conversation(agent):
    sender = new_sender()
    agent.say(sender, "track order 100104")
    verify(agent, sender, "ada@example.com", "M4 6AB")
    reply = agent.say(sender, "and where is 100102?")
    assert said(reply, "utter_order_status_paid")


def test_someone_elses_order_looks_exactly_like_a_missing_one(agent):
    sender = new_sender()
    agent.say(sender, "where is my order")
    assert said(agent.say(sender, "100101"), "utter_ask_verify_email")
    foreign = verify(agent, sender, "grace@example.org", "75001")  # 100101 is Ada's
    assert said(foreign, "utter_order_not_found")
    missing = agent.say(sender, "999999")
    assert said(missing, "utter_order_not_found")
    assert foreign[-1]["text"].replace("100101", "N") == missing[-1]["text"].replace("999999", "N")


def test_three_failed_verifications_reveal_nothing(agent):
    sender = new_sender()
    agent.say(sender, "where is order 100103")
    for _ in range(2):
        assert said(
            verify(agent, sender, "ada@example.com", "SW1A 1AA"), "utter_verification_failed"
        )
    reply = verify(agent, sender, "ada@example.com", "SW1A 1AA")
    assert said(reply, "utter_verification_locked")
    assert not any("DPD" in (m.get("text") or "") for m in reply)


def test_cancel_an_unshipped_order_after_confirmation(agent):
    sender = new_sender()
    agent.say(sender, "I want to cancel order 100102")
    reply = verify(agent, sender, "ada@example.com", "M4 6AB")
    assert said(reply, "utter_ask_confirm_cancel")
    assert [b["payload"] for b in reply[-1]["buttons"]] == ["yes", "no"]
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_order_cancelled")
    assert "cancelled" in reply[-1]["text"]
    assert order_status(agent, "100102") == "cancelled"
    with agent.sessions() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.conversation_id == sender)).one()
    assert (audit.action, audit.before, audit.after) == (
        "order.cancel",
        {"status": "paid"},
        {"status": "cancelled"},
    )


def test_saying_no_keeps_the_order(agent):
    sender = new_sender()
    agent.say(sender, "cancel my order 100201")
    verify(agent, sender, "grace@example.org", "75001")
    assert said(agent.say(sender, "no"), "utter_cancel_kept")
    assert order_status(agent, "100201") == "paid"


def test_a_shipped_order_gets_the_returns_route_instead(agent):
    sender = new_sender()
    agent.say(sender, "cancel order 100202")
    reply = verify(agent, sender, "grace@example.org", "75001")
    assert said(reply, "utter_cancel_not_possible_shipped")
    assert not said(reply, "utter_ask_confirm_cancel")
    assert order_status(agent, "100202") == "shipped"


def test_stop_leaves_the_form_and_changes_nothing(agent):
    sender = new_sender()
    assert said(agent.say(sender, "cancel my order"), "utter_ask_order_number")
    assert said(agent.say(sender, "never mind"), "utter_stopped")
    assert agent.tracker(sender)["active_loop"] == {}
