"""Ask, don't guess, end to end: "Do you mean ...?" buttons, and a choice going to its task."""

from typing import Any

import pytest

from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def buttons(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [button for message in messages for button in message.get("buttons") or []]


def test_a_message_between_tasks_gets_buttons_and_a_choice_starts_that_task(agent):
    sender = new_sender()
    reply = agent.say(sender, "question about order 100102")
    assert said(reply, "utter_clarify")
    offered = buttons(reply)
    assert 2 <= len(offered) <= 3
    assert all(b["payload"] == b["title"] for b in offered)  # plain text, never /intent
    (track,) = [b for b in offered if b["title"] == "Track an order"]
    # The choice goes to its task, and the order number of the first message is kept.
    chosen = agent.say(sender, track["payload"])
    assert said(chosen, "utter_ask_verify_email")
    assert not said(chosen, "utter_ask_order_number")
    assert said(agent.say(sender, "ada@example.com"), "utter_ask_verify_postcode")
    assert said(agent.say(sender, "M4 6AB"), "utter_order_status_paid")


def test_a_choice_button_is_understood_with_certainty(agent):
    # Whatever the model, a button's words are a known phrasing of its intent.
    for text, intent in [
        ("Cancel an order", "cancel_order"),
        ("Ask about delivery options and prices", "delivery_options"),
        ("Get a suggestion of what to buy", "ask_recommendation"),
    ]:
        sender = new_sender()
        agent.say(sender, text)
        latest = agent.tracker(sender)["latest_message"]["intent"]
        assert (latest["name"], latest["confidence"]) == (intent, 1.0), text
