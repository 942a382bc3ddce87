"""Greeting, help, bot challenge, thanks, goodbye, out of scope: through both running servers."""

import pytest

from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def test_greeting_offers_the_help_menu(agent):
    reply = agent.say(new_sender(), "hi there")
    assert said(reply, "utter_greet")
    payloads = [b["payload"] for b in reply[0]["buttons"]]
    assert payloads == [
        "track my order",
        "cancel my order",
        "change my delivery address",
        "talk to a person",
    ]


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


def test_help_buttons_are_understood_when_clicked(agent):
    sender = new_sender()
    agent.say(sender, "help")
    assert said(agent.say(sender, "track my order"), "utter_ask_order_number")
