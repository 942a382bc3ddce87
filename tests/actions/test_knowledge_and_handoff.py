from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handoff import ActionRequestHandoff
from actions.knowledge import ActionAnswerFromKnowledge
from crm.models import HandoffRequest
from tests.actions.conftest import DOMAIN, responses, tracker, verified


async def test_answers_with_quote_title_and_url(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="can I pay with klarna?", intent="ask_question"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_knowledge_answer"]
    message = dispatcher.messages[0]
    assert "Klarna" in message["quote"]
    assert message["url"].startswith("https://larkspur.example/help/")


async def test_abstains_on_questions_the_help_centre_does_not_answer(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="what is the capital of Peru", intent="nlu_fallback"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_knowledge_unknown"]


async def test_handoff_keeps_the_transcript_and_the_verified_customer(services, sessions):
    dispatcher = CollectingDispatcher()
    history = [{"event": "bot", "text": "Hi, I'm Larkspur's assistant.", "timestamp": 1.0}]
    await ActionRequestHandoff().run(
        dispatcher,
        tracker(verified(), text="a human please", intent="contact_human_agent", events=history),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_handoff_requested"]
    with sessions() as session:
        request = session.scalars(select(HandoffRequest)).one()
    assert request.customer_id == 1
    assert [line["text"] for line in request.transcript] == [
        "Hi, I'm Larkspur's assistant.",
        "a human please",
    ]
    assert dispatcher.messages[0]["reference"] == request.reference
