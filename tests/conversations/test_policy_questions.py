"""Policy questions answered from the help centre, also in the middle of a task.

The six policy intents of the catalogue (delivery options, payment methods, payment problems,
refund policy, contact details, registration problems) are answered with a quote and the
article it comes from; a question asked while a form waits for an answer is answered, and the
form asks its question again.
"""

import pytest
from sqlalchemy import select

from crm.records.models import HandoffRequest
from tests.conversations.conftest import new_customer, new_sender, placed_orders, said, verify

pytestmark = pytest.mark.conversation

HELP = "https://larkspur.example/help/"

# Three ways of asking for each policy intent, and a fact the answer must contain.
ANSWERS = {
    "delivery_options": [
        ("what delivery options do you have?", "£3.95"),
        ("do you offer next day delivery", "next working day"),
        ("how much is delivery to Ireland?", "£9.95"),
        ("what if nobody is home for the delivery?", "tries again"),
    ],
    "check_payment_methods": [
        ("what payment methods do you accept?", "PayPal"),
        ("can I pay with PayPal?", "PayPal"),
        ("can I spread the cost over instalments", "Klarna"),
        ("do you take Apple Pay?", "Apple Pay"),
    ],
    "payment_issue": [
        ("my payment was declined", "declined"),
        ("my card keeps getting rejected at checkout", "bank"),
        ("why was I charged before my order shipped?", "charge"),
    ],
    "check_refund_policy": [
        ("what is your returns policy?", "30 days"),
        ("how many days do I have to send something back", "30 days"),
        ("how long do refunds take to arrive?", "working days"),
        ("how long is your return window", "30 days"),
        ("can I return something I bought in the sale?", "same terms"),
        ("how long does a refund to paypal take", "1 working day"),
    ],
    "contact_customer_service": [
        ("what's your phone number?", "0161 555 0134"),
        ("what are your opening hours?", "8:00–20:00"),
        ("how can I email customer service", "help@larkspur.example"),
        ("when is your support team available?", "8:00–20:00"),
    ],
    "registration_problems": [
        ("I never got my activation email", "spam"),
        ("my activation link has expired", "48 hours"),
        ("it says my email is already registered when I sign up", "Forgot password"),
        ("is there a fee for having an account with you", "free"),
    ],
}
# "What payment methods do you accept?" and "what are your opening hours?" are each the question of
# a whole article, and no one section answers them (the closest is "Methods we don't accept" or
# "Visiting us"): they are answered with the article's overview (docs/knowledge.md).
POLICY_QUESTIONS = [
    pytest.param(message, fact, id=f"{intent}-{n}")
    for intent, asked in ANSWERS.items()
    for n, (message, fact) in enumerate(asked)
]


@pytest.mark.parametrize(("message", "fact"), POLICY_QUESTIONS)
def test_policy_questions_are_answered_from_the_help_centre(agent, message, fact):
    reply = agent.say(new_sender(), message)
    assert said(reply, "utter_knowledge_answer"), reply
    text = "\n".join(m["text"] for m in reply)
    assert fact.casefold() in text.casefold(), text
    assert HELP in text  # cited with its link


def test_a_question_while_a_form_waits_is_answered_and_the_form_goes_on(agent):
    sender = new_sender()
    assert said(agent.say(sender, "where is my order?"), "utter_ask_order_number")
    reply = agent.say(sender, "what payment methods do you accept?")
    assert said(reply, "utter_knowledge_answer")
    assert said(reply, "utter_ask_order_number")  # back where it was
    agent.say(sender, "100103")
    agent.say(sender, "ada@example.com")
    assert said(agent.say(sender, "M4 6AB"), "utter_order_status_shipped")


def test_a_question_before_confirming_keeps_the_confirmation_open(agent):
    shopper = new_customer(agent, [("GAR-006", 1)])
    [order] = placed_orders(agent, shopper)
    sender = new_sender()
    agent.say(sender, f"cancel order {order.number}")
    assert said(verify(agent, sender, shopper), "utter_ask_confirm_cancel")
    reply = agent.say(sender, "how long do refunds take to arrive?")
    assert said(reply, "utter_knowledge_answer")
    assert said(reply, "utter_ask_confirm_cancel")
    assert said(agent.say(sender, "no"), "utter_cancel_kept")
    assert placed_orders(agent, shopper)[0].status == "placed"


def test_asking_for_a_person_midway_leaves_the_task_for_the_team(agent):
    shopper = new_customer(agent, [("GAR-007", 1)])
    sender = new_sender()
    agent.say(sender, "I want to change my delivery address")
    agent.say(sender, placed_orders(agent, shopper)[0].number)
    reply = agent.say(sender, "actually, can I talk to a real person")
    assert said(reply, "utter_handoff_requested")
    slots = agent.tracker(sender)["slots"]
    assert slots["order_number"] is None and slots["requested_slot"] is None
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
        ).one()
    assert request.transcript[0]["text"] == "I want to change my delivery address"


def test_the_person_offered_after_an_unknown_answer_can_be_accepted(agent):
    sender = new_sender()
    reply = agent.say(sender, "how many watts does your toaster use")
    assert said(reply, "utter_knowledge_unknown")
    assert said(agent.say(sender, reply[-1]["buttons"][0]["payload"]), "utter_handoff_requested")
