"""Knowledge answers with a citation, honest abstention, and the handoff request."""

import pytest
from sqlalchemy import select

from crm.records.models import HandoffRequest, KnowledgeAnswer, SupportTicket
from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def test_a_question_is_answered_with_a_quote_and_its_source(agent):
    reply = agent.say(new_sender(), "how many days do I have to return an item?")
    assert said(reply, "utter_knowledge_answer")
    text = "\n".join(m["text"] for m in reply)
    assert "30 days" in text
    assert "https://larkspur.example/help/returns-" in text


def test_an_unanswerable_question_gets_an_honest_answer_and_a_person(agent):
    reply = agent.say(new_sender(), "how many watts does your toaster use")
    assert said(reply, "utter_knowledge_unknown")
    assert "talk to a person" in [b["payload"] for b in reply[-1]["buttons"]]


def test_two_questions_in_a_row_the_agent_cannot_answer_bring_a_person(agent):
    sender = new_sender()
    assert said(
        agent.say(sender, "how many watts does your toaster use"), "utter_knowledge_unknown"
    )
    # A second shop question the help centre cannot answer (an off-topic one is out of scope).
    reply = agent.say(sender, "does the wall clock tick loudly")
    assert said(reply, "utter_handoff_after_failure")
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
        ).one()
    assert request.reason == "repeated_misunderstanding"
    assert request.reference in reply[-1]["text"]
    assert request.transcript[-1]["text"] == "does the wall clock tick loudly"


def test_an_upset_customer_the_agent_cannot_answer_gets_a_person_at_once(agent):
    sender = new_sender()
    reply = agent.say(sender, "ugh, how many watts does the stupid kettle use")
    assert said(reply, "utter_handoff_after_failure")
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
        ).one()
    assert request.reason == "negative_sentiment"


def test_asking_for_a_person_records_a_handoff_with_the_transcript(agent):
    sender = new_sender()
    agent.say(sender, "hello")
    reply = agent.say(sender, "I'd like to talk to a human please")
    assert said(reply, "utter_handoff_requested")
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
        ).one()
    assert request.reference in reply[-1]["text"]
    assert request.channel == "rest"
    assert [line["role"] for line in request.transcript][:2] == ["customer", "agent"]
    assert request.transcript[0]["text"] == "hello"
    again = agent.say(sender, "talk to a person")
    assert request.reference in again[-1]["text"]  # one request per conversation


def test_a_complaint_about_a_parcel_and_its_handoff_land_in_shipping(agent):
    """The routing model (models/routing) reads the complaint; "a person" alone says nothing."""
    sender = new_sender()
    agent.say(sender, "I want to make a complaint")
    agent.say(sender, "delivery")
    reply = agent.say(sender, "the parcel was thrown over my fence and the vase inside is smashed")
    assert said(reply, "utter_complaint_logged")
    assert said(agent.say(sender, "yes, talk to a person"), "utter_handoff_requested")
    with agent.sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == sender)
        ).one()
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
        ).one()
    assert (ticket.team, request.team) == ("shipping", "shipping")


def _vote(agent, sender: str) -> bool | None:
    with agent.sessions() as session:
        return session.scalars(
            select(KnowledgeAnswer.helpful).where(KnowledgeAnswer.conversation_id == sender)
        ).one()


def test_the_helpful_button_stores_the_vote(agent):
    sender = new_sender()
    reply = agent.say(sender, "how many days do I have to return an item?")
    assert said(reply, "utter_knowledge_answer")
    buttons = reply[-1]["buttons"]
    assert [b["title"] for b in buttons] == ["Yes, it helped", "No, it didn't"]
    assert _vote(agent, sender) is None
    thanks = agent.say(sender, buttons[0]["payload"])
    assert said(thanks, "utter_answer_helpful")
    assert _vote(agent, sender) is True


def test_the_unhelpful_button_stores_the_vote_and_offers_a_person(agent):
    sender = new_sender()
    reply = agent.say(sender, "can I pay with paypal?")
    assert said(reply, "utter_knowledge_answer")
    sorry = agent.say(sender, reply[-1]["buttons"][1]["payload"])
    assert said(sorry, "utter_answer_not_helpful")
    assert "talk to a person" in [b["payload"] for b in sorry[-1]["buttons"]]
    assert _vote(agent, sender) is False


def test_a_typed_no_after_an_answer_is_a_vote(agent):
    sender = new_sender()
    assert said(agent.say(sender, "do you deliver to ireland?"), "utter_knowledge_answer")
    assert said(agent.say(sender, "no"), "utter_answer_not_helpful")
    assert _vote(agent, sender) is False


def test_declining_a_person_after_an_unknown_question_is_not_a_vote(agent):
    sender = new_sender()
    assert said(
        agent.say(sender, "how many watts does your toaster use"), "utter_knowledge_unknown"
    )
    assert said(agent.say(sender, "no thanks"), "utter_anything_else")
    with agent.sessions() as session:
        logged = session.scalars(
            select(KnowledgeAnswer).where(KnowledgeAnswer.conversation_id == sender)
        ).one()
    assert (logged.article_id, logged.helpful) == (None, None)
