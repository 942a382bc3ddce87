"""Greeting, help, bot challenge, thanks, goodbye, out of scope: through both running servers."""

import pytest

from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation

# The menu's buttons (their payloads are plain text) and what each one starts with.
MENU = {
    "track my order": "utter_ask_order_number",
    "cancel my order": "utter_ask_order_number",
    "I want to change my order": "utter_ask_order_number",
    "I want to place an order": "utter_ask_order_product",
    "I want a refund": "utter_ask_order_number",
    "I want to change my account details": "utter_ask_contact_field",
    "talk to a person": "utter_handoff_requested",
}


def test_greeting_offers_the_help_menu(agent):
    reply = agent.say(new_sender(), "hi there")
    assert said(reply, "utter_greet")
    payloads = [b["payload"] for b in reply[0]["buttons"]]
    assert payloads == list(MENU)


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("what can you do?", "utter_help"),
        ("are you a robot?", "utter_iamabot"),
        ("thanks a lot", "utter_youre_welcome"),
        ("bye", "utter_goodbye"),
        ("who will win the champions league?", "utter_out_of_scope"),
    ],
)
def test_small_talk(agent, text, response):
    assert said(agent.say(new_sender(), text), response)


def test_another_shops_opening_hours_are_out_of_scope(agent):
    # Read as contact_customer_service (our opening hours) before the other-business examples
    # of data/nlu/chitchat.yml (docs/nlu.md, "Out of scope in the shop").
    reply = agent.say(new_sender(), "what time does the Boots on Deansgate open tomorrow")
    assert said(reply, "utter_out_of_scope")


@pytest.mark.parametrize(
    "text",
    [
        "my Amazon parcel hasn't turned up, can you see where it is?",
        "please reset my netflix password, I'm locked out",
        "cancel the order I placed with Argos this morning",
    ],
)
def test_a_task_on_another_business_is_out_of_scope(agent, text):
    # The classifier reads these as our tasks; the other_business lookup and
    # bot/nlu/other_business.py turn them away before any form starts.
    assert said(agent.say(new_sender(), text), "utter_out_of_scope")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("where is my order 100102?", "email"),
        ("my Monzo card keeps getting declined at your checkout", "declined"),
    ],
)
def test_our_tasks_still_start_when_no_other_business_is_named(agent, text, says):
    # A bank is not in the lookup: paying us with its card is our payment problem.
    reply = agent.say(new_sender(), text)
    assert not said(reply, "utter_out_of_scope")
    assert says in " ".join(m.get("text") or "" for m in reply)


@pytest.mark.parametrize(("payload", "first_question"), MENU.items())
def test_help_buttons_are_understood_when_clicked(agent, payload, first_question):
    sender = new_sender()
    agent.say(sender, "help")
    assert said(agent.say(sender, payload), first_question)
