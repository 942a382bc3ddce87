"""Password reset (no enumeration) and switching accounts."""

import pytest
from sqlalchemy import func, select

from crm.records.models import OutboxMessage
from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def outbox_count(agent, recipient):
    with agent.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient == recipient)
        )


def test_password_reset_for_an_existing_account_queues_a_link(agent):
    before = outbox_count(agent, "alan@example.com")
    sender = new_sender()
    assert said(agent.say(sender, "I forgot my password"), "utter_ask_reset_email")
    reply = agent.say(sender, "alan@example.com")
    assert said(reply, "utter_password_reset_sent")
    assert outbox_count(agent, "alan@example.com") == before + 1


def test_password_reset_answer_does_not_reveal_unknown_emails(agent):
    sender = new_sender()
    agent.say(sender, "reset my password please")
    unknown = agent.say(sender, "nobody-here@example.net")
    assert said(unknown, "utter_password_reset_sent")
    assert outbox_count(agent, "nobody-here@example.net") == 0
    other = new_sender()
    agent.say(other, "reset my password please")
    known = agent.say(other, "grace@example.org")
    assert [m["text"] for m in unknown] == [m["text"] for m in known]


def test_password_reset_asks_again_for_a_bad_address(agent):
    sender = new_sender()
    agent.say(sender, "I can't remember my password")
    assert said(agent.say(sender, "my email is grace at example"), "utter_invalid_email")


def test_switch_account_forgets_the_verification(agent):
    sender = new_sender()
    agent.say(sender, "where is order 100103")
    agent.say(sender, "ada@example.com")
    agent.say(sender, "M4 6AB")
    assert said(agent.say(sender, "I want to switch to my other account"), "utter_switched_account")
    assert agent.tracker(sender)["slots"]["customer_id"] is None
    assert said(agent.say(sender, "where is order 100201"), "utter_ask_verify_email")


def test_switch_account_without_being_verified(agent):
    reply = agent.say(new_sender(), "log me into a different account")
    assert said(reply, "utter_switch_not_verified")


def test_after_switching_the_other_account_sees_its_own_orders(agent):
    sender = new_sender()
    agent.say(sender, "where is order 100103")
    agent.say(sender, "ada@example.com")
    agent.say(sender, "M4 6AB")
    agent.say(sender, "switch account")
    agent.say(sender, "track order 100202")
    agent.say(sender, "grace@example.org")
    reply = agent.say(sender, "75001")
    assert said(reply, "utter_order_status_shipped")
    assert "100202" in reply[-1]["text"]
    assert said(agent.say(sender, "where is order 100103"), "utter_order_not_found")
