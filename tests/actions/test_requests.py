"""Two requests in one message: the split, the queue and its hand-over at the end of a task."""

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.base import transcript
from actions.knowledge import ActionAnswerFromKnowledge
from actions.queue import QUEUED_REQUESTS
from actions.requests import ActionSplitRequest, clause_spans, split_message
from actions.tasks import ActionResetTask
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker


def clauses(text: str, count: int = 2) -> list[str]:
    return [text[a:b] for a, b in clause_spans(text, count)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "where is my order and can i have the invoice for it",
            ["where is my order", "can i have the invoice for it"],
        ),
        ("where's my parcel? also i need the invoice", ["where's my parcel", "i need the invoice"]),
        (
            "track my order, and also change the address",
            ["track my order", "change the address"],
        ),
        ("update my email plus add an address", ["update my email", "add an address"]),
        ("change email, add address", ["change email", "add address"]),
    ],
)
def test_a_message_is_cut_at_its_strongest_boundary(text: str, expected: list[str]) -> None:
    assert clauses(text) == expected


def test_a_full_stop_wins_over_an_and_inside_the_first_clause() -> None:
    text = "my order of cups and plates has not come. can you send me the invoice"
    assert clauses(text) == [
        "my order of cups and plates has not come",
        "can you send me the invoice",
    ]


def test_without_a_boundary_each_request_keeps_the_whole_message() -> None:
    assert clauses("order and invoice") == ["order and invoice", "order and invoice"]


def order_entity(text: str, number: str) -> dict[str, Any]:
    start = text.index(number)
    return {
        "entity": "order_number",
        "value": number,
        "start": start,
        "end": start + len(number),
        "extractor": "RegexEntityExtractor",
    }


def test_an_entity_said_once_serves_both_requests() -> None:
    text = "where is order 104233 and can i have its invoice"
    track, invoice = split_message(
        ["track_order", "get_invoice"], text, [order_entity(text, "104233")]
    )
    assert (track.intent, track.text) == ("track_order", "where is order 104233")
    assert (invoice.intent, invoice.text) == ("get_invoice", "can i have its invoice")
    assert [e["value"] for e in track.entities] == ["104233"]
    assert [e["value"] for e in invoice.entities] == ["104233"]


def test_each_request_keeps_the_entity_of_its_own_clause() -> None:
    text = "where is order 104233 and the invoice for order 258961"
    entities = [order_entity(text, "104233"), order_entity(text, "258961")]
    track, invoice = split_message(["track_order", "get_invoice"], text, entities)
    assert [e["value"] for e in track.entities] == ["104233"]
    assert [e["value"] for e in invoice.entities] == ["258961"]


async def test_the_first_request_is_replayed_and_the_second_kept(services) -> None:
    text = "where is order 104233 and can i have its invoice"
    dispatcher = CollectingDispatcher()
    events = await ActionSplitRequest().run(
        dispatcher,
        tracker(
            text=text,
            intent="track_order+get_invoice",
            entities=[order_entity(text, "104233")],
        ),
        DOMAIN,
    )
    assert dispatcher.messages == []
    [queued] = slot_events(events)[QUEUED_REQUESTS]
    assert queued["intent"] == "get_invoice"
    assert queued["entities"][0]["value"] == "104233"
    listen, user = events[1:]
    assert listen == {**listen, "event": "action", "name": "action_listen"}
    assert user["text"] == "where is order 104233"
    assert user["parse_data"]["intent"]["name"] == "track_order"
    assert user["parse_data"]["entities"][0]["value"] == "104233"
    assert user["metadata"] == {"replayed": True}


async def test_a_single_intent_is_left_alone(services) -> None:
    events = await ActionSplitRequest().run(
        CollectingDispatcher(), tracker(text="where is my order", intent="track_order"), DOMAIN
    )
    assert events == []


QUEUED = [{"intent": "get_invoice", "text": "can i have its invoice", "entities": []}]


async def test_the_action_that_ends_a_request_starts_the_next(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker({QUEUED_REQUESTS: QUEUED}, text="can I pay with klarna?", intent="ask_question"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_knowledge_answer", "utter_next_request"]
    assert dispatcher.messages[1]["request"] == "can i have its invoice"
    slots = slot_events(events)
    assert slots.pop("last_question")["text"]  # the question is remembered (actions/context.py)
    assert slots == {QUEUED_REQUESTS: None, "knowledge_answer_id": "1"}
    assert events[-1]["parse_data"]["intent"]["name"] == "get_invoice"


async def test_a_question_inside_a_form_does_not_start_the_next_request(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            {QUEUED_REQUESTS: QUEUED},
            text="can I pay with klarna?",
            intent="ask_question",
            active_loop="track_order_form",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_knowledge_answer"]
    slots = slot_events(events)
    assert slots.pop("last_question")["text"]  # the question is remembered (actions/context.py)
    assert slots == {"knowledge_answer_id": "1"}  # the queue is left alone


async def test_a_malformed_queue_entry_is_dropped(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker({QUEUED_REQUESTS: ["not a request"]}, text="can I pay with klarna?"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_knowledge_answer"]
    slots = slot_events(events)
    assert slots.pop("last_question")["text"]  # the question is remembered (actions/context.py)
    assert slots == {QUEUED_REQUESTS: None, "knowledge_answer_id": "1"}


async def test_stopping_drops_the_queue(services) -> None:
    events = await ActionResetTask().run(
        CollectingDispatcher(), tracker({QUEUED_REQUESTS: QUEUED}, intent="stop"), DOMAIN
    )
    assert slot_events(events)[QUEUED_REQUESTS] is None


def test_the_transcript_shows_a_split_message_once() -> None:
    said = "where is my order and can i have the invoice"
    history = [
        {"event": "user", "text": said, "timestamp": 1.0},
        {
            "event": "user",
            "text": "where is my order",
            "timestamp": 1.0,
            "metadata": {"replayed": True},
        },
    ]
    lines = transcript(tracker(text="yes", intent="affirm", events=history))
    assert [line["text"] for line in lines] == [said, "yes"]
