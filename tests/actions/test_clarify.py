"""Ask, don't guess: the "Do you mean ...?" buttons and where a choice leads."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.clarify import ActionClarify
from actions.knowledge import ActionAnswerFromKnowledge
from crm.records.models import KnowledgeAnswer
from tests.actions.conftest import DOMAIN, after_reply, responses, tracker

FALLBACK = ("nlu_fallback", 0.4)


def _titles(dispatcher: CollectingDispatcher) -> list[str]:
    return [button["title"] for button in dispatcher.messages[0]["buttons"]]


def _choice(intent: str) -> str:
    return str(DOMAIN["responses"][f"utter_choice_{intent}"][0]["text"])


async def test_a_message_between_two_tasks_gets_a_button_for_each(services):
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            text="i want to sort out 100102, i dont want it anymore",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("cancel_order", 0.46), ("change_order", 0.31), ("greet", 0.02)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_clarify"]
    assert _titles(dispatcher) == [_choice("cancel_order"), _choice("change_order")]
    # Plain text, never an intent command: the payload is the choice's own words.
    assert all(b["payload"] == b["title"] for b in dispatcher.messages[0]["buttons"])
    assert events == []


async def test_at_most_three_choices_and_none_below_the_floor(services):
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(
        dispatcher,
        tracker(
            text="money back for the thing",
            intent="nlu_fallback",
            ranking=[
                FALLBACK,
                ("get_refund", 0.35),
                ("track_refund", 0.3),
                ("check_refund_policy", 0.2),
                ("get_invoice", 0.1),
                ("complaint", 0.05),
            ],
        ),
        DOMAIN,
    )
    assert _titles(dispatcher) == [
        _choice("get_refund"),
        _choice("track_refund"),
        _choice("check_refund_policy"),
    ]


async def test_readings_the_help_centre_answers_alike_are_not_asked_about(services):
    """Both buttons would answer the same message from the help centre: no question."""
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            text="worried about a customs charge on a hammock for my cousin, does that happen?",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("delivery_period", 0.37), ("ask_question", 0.34)],
        ),
        DOMAIN,
    )
    assert dispatcher.messages == []
    assert events[0]["event"] == "followup"
    assert events[0]["name"] == "action_answer_from_knowledge"


async def test_readings_about_the_current_order_are_still_asked_about(services):
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(
        dispatcher,
        tracker(
            {"context_order": "100103"},
            text="so when is it going to get here",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("delivery_period", 0.37), ("delivery_options", 0.34)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_clarify"]


async def test_one_weak_task_reading_goes_to_the_help_centre_first(services):
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            text="will the invoice show VAT",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("get_invoice", 0.39), ("ask_question", 0.33), ("greet", 0.02)],
        ),
        DOMAIN,
    )
    assert dispatcher.messages == []
    assert [e["event"] for e in events] == ["followup"]


async def test_a_two_request_reading_offers_its_first_task(services):
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(
        dispatcher,
        tracker(
            text="order 100102 and the bill",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("track_order+get_invoice", 0.38), ("get_invoice", 0.3)],
        ),
        DOMAIN,
    )
    assert _titles(dispatcher) == [_choice("track_order"), _choice("get_invoice")]


async def test_a_question_goes_on_to_the_help_centre(services):
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            text="are your candles soy wax",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("ask_question", 0.38), ("place_order", 0.2)],
        ),
        DOMAIN,
    )
    assert dispatcher.messages == []
    assert [(e["event"], e["name"]) for e in events] == [
        ("followup", "action_answer_from_knowledge")
    ]


async def test_no_answer_and_unsure_offers_the_tasks_it_may_be(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            text="the capital of Peru for my parcel",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("out_of_scope", 0.36), ("track_order", 0.3)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_clarify_unanswered"]
    assert _titles(dispatcher) == [_choice("track_order")]


async def test_no_answer_and_nothing_to_offer_says_so(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            text="what is the capital of Peru",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("out_of_scope", 0.39), ("greet", 0.05)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_knowledge_unknown"]


async def test_a_help_centre_choice_answers_the_first_message(services, sessions):
    question = "can you send stuff to norway and what does it cost"
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            text=_choice("delivery_options"),
            intent="delivery_options",
            events=after_reply("utter_clarify", question),
        ),
        DOMAIN,
    )
    assert responses(dispatcher)[0] == "utter_knowledge_answer"
    with sessions() as session:
        (logged,) = session.scalars(select(KnowledgeAnswer))
    assert logged.question == question


async def test_new_words_after_the_buttons_are_a_new_question(services, sessions):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            text="no, I mean can I pay with klarna",
            intent="check_payment_methods",
            events=after_reply(
                "utter_clarify", "can you send stuff to norway and what does it cost"
            ),
        ),
        DOMAIN,
    )
    with sessions() as session:
        (logged,) = session.scalars(select(KnowledgeAnswer))
    assert logged.question == "no, I mean can I pay with klarna"


async def test_a_complaint_that_says_what_went_wrong_is_taken_as_one(services):
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(
        dispatcher,
        tracker(
            text="your checkout is a joke, it threw me out three times before I could pay",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("complaint", 0.3), ("registration_problems", 0.17)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == []
    replayed = [e for e in events if e.get("event") == "user"]
    assert replayed[0]["parse_data"]["intent"]["name"] == "complaint"


async def test_a_bare_wish_to_complain_between_tasks_is_still_asked_about(services):
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(
        dispatcher,
        tracker(
            text="complaint",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("complaint", 0.35), ("review", 0.3)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_clarify"]


async def test_a_follow_up_reading_with_nothing_to_follow_offers_the_tasks_next(services):
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(
        dispatcher,
        tracker(
            text="question about order 100102",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("follow_up", 0.29), ("change_order", 0.26), ("track_order", 0.16)],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_clarify"]
    assert _titles(dispatcher) == [_choice("change_order"), _choice("track_order")]


async def test_a_follow_up_reading_after_a_question_is_not_asked_about(services):
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(
        dispatcher,
        tracker(
            {"last_question": {"text": "do you deliver to france", "entities": []}},
            text="and how about order 100102",
            intent="nlu_fallback",
            ranking=[FALLBACK, ("follow_up", 0.29), ("change_order", 0.26), ("track_order", 0.16)],
        ),
        DOMAIN,
    )
    assert "utter_clarify" not in responses(dispatcher)
