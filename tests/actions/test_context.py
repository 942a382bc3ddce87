"""Context across turns (actions/context.py, actions/followups.py): the order the conversation is
about, the last question, and a quantity said before verification.

Real actions, the real domain.yml and records; trackers as Rasa sends them.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.context import Question, previous_request, refers_back, resolve_follow_up
from actions.followups import ActionContinue
from actions.knowledge import ActionAnswerFromKnowledge
from actions.money import ValidateRefundForm
from actions.ordering import ActionAskConfirmItemChange, ValidateChangeOrderForm, requested_quantity
from actions.orders import ValidateTrackOrderForm
from actions.tasks import ActionResetTask
from tests.actions.conftest import DOMAIN, after_reply, responses, slot_events, tracker, verified


def place(value: str) -> dict[str, Any]:
    return {"entity": "place", "value": value}


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


# --- reading a follow-up ------------------------------------------------------------------


def test_a_follow_up_naming_another_place_asks_the_previous_question_about_it() -> None:
    previous = Question("can you ship to germany and what does it cost", [place("germany")])
    resolved = resolve_follow_up(previous, Question("and to canada?", [place("canada")]))
    assert resolved.text == "can you ship to canada and what does it cost"
    assert resolved.entities == [place("canada")]


def test_a_follow_up_with_its_own_question_keeps_the_previous_one_as_context() -> None:
    previous = Question("how much is delivery to belgium", [place("belgium")])
    resolved = resolve_follow_up(previous, Question("and how many days?", []))
    assert resolved.text == "and how many days? how much is delivery to belgium"
    assert resolved.entities == [place("belgium")]  # so the next follow-up can swap it


def test_a_follow_up_of_another_kind_adds_to_the_previous_question() -> None:
    previous = Question("do you send parcels to spain", [place("spain")])
    speed = {"entity": "delivery_speed", "value": "express"}
    resolved = resolve_follow_up(previous, Question("what about express?", [speed]))
    assert "spain" in resolved.text and "express" in resolved.text
    assert resolved.entities == [place("spain"), speed]


def test_without_a_previous_question_a_follow_up_is_read_alone() -> None:
    alone = Question("and klarna?", [{"entity": "payment_method", "value": "klarna"}])
    assert resolve_follow_up(None, alone) == alone


def test_overlapping_names_count_once() -> None:
    said = Question.of_message(
        "and the netherlands?", [place("the netherlands"), place("netherlands")]
    )
    assert said.entities == [place("the netherlands")]


def test_a_kept_question_survives_the_slot_and_junk_does_not() -> None:
    kept = Question("card fees to france", [place("france")])
    assert Question.from_slot(kept.as_slot()) == kept
    assert Question.from_slot({"text": ""}) is None
    assert Question.from_slot("nonsense") is None


def test_words_that_point_back() -> None:
    assert refers_back("can i get my money back for it")
    assert refers_back("cancel the same one")
    assert not refers_back("i want a refund")


# --- the last question, answered ----------------------------------------------------------


async def test_an_elliptical_follow_up_is_answered_as_the_previous_question(services) -> None:
    first = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        first,
        tracker(
            text="do you deliver to france and how much",
            intent="delivery_options",
            entities=[place("france")],
        ),
        DOMAIN,
    )
    kept = slot_events(events)["last_question"]
    assert kept["entities"] == [place("france")]
    dispatcher = CollectingDispatcher()
    events = await ActionContinue().run(
        dispatcher,
        tracker(
            {"last_question": kept},
            text="what about to the usa?",
            intent="follow_up",
            entities=[place("the usa")],
        ),
        DOMAIN,
    )
    # We don't deliver there: said from the delivery rules (tests/actions/test_delivery.py).
    assert responses(dispatcher) == ["utter_no_delivery_to_place"]
    assert slot_events(events)["last_question"]["text"] == "do you deliver to the usa and how much"


async def test_an_elliptical_question_in_the_middle_of_a_task_is_read_against_the_last(
    services,
) -> None:
    kept = {"text": "do i need an account to order", "entities": []}
    events = await ActionAnswerFromKnowledge().run(
        CollectingDispatcher(),
        tracker(
            {"last_question": kept},
            text="is it free?",
            intent="follow_up",
            active_loop="sign_up_form",
        ),
        DOMAIN,
    )
    assert (
        slot_events(events)["last_question"]["text"] == "is it free? do i need an account to order"
    )


async def test_out_of_scope_pointing_back_at_the_answer_just_given_is_a_follow_up(
    services,
) -> None:
    kept = {"text": "do u do gift cards?", "entities": []}
    dispatcher = CollectingDispatcher()
    events = await ActionContinue().run(
        dispatcher,
        tracker(
            {"last_question": kept},
            text="how long do they last",
            intent="out_of_scope",
            events=after_reply("utter_knowledge_answer", "do u do gift cards?"),
        ),
        DOMAIN,
    )
    assert responses(dispatcher)[0] == "utter_knowledge_answer"
    assert "valid for 24 months" in dispatcher.messages[0]["quote"]
    assert (
        slot_events(events)["last_question"]["text"] == "how long do they last do u do gift cards?"
    )


async def test_out_of_scope_on_its_own_is_still_out_of_scope(services) -> None:
    for events in ([], after_reply("utter_knowledge_answer", "do u do gift cards?")):
        dispatcher = CollectingDispatcher()
        await ActionContinue().run(
            dispatcher,
            tracker(
                text="what's the weather in Paris tomorrow", intent="out_of_scope", events=events
            ),
            DOMAIN,
        )
        assert responses(dispatcher) == ["utter_out_of_scope"]


async def test_a_stray_answer_without_an_order_still_gets_the_menu(services) -> None:
    dispatcher = CollectingDispatcher()
    assert await ActionContinue().run(dispatcher, tracker(text="blue"), DOMAIN) == []
    assert responses(dispatcher) == ["utter_help"]


def reply(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "...", "metadata": {"utter_action": response}}


async def ask(
    text: str, events: list[dict[str, Any]], **slots: Any
) -> tuple[CollectingDispatcher, str]:
    """Ask `text` as a general question after `events`: the reply, and the question remembered."""
    dispatcher = CollectingDispatcher()
    done = await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(slots, text=text, intent="ask_question", events=events), DOMAIN
    )
    return dispatcher, slot_events(done)["last_question"]["text"]


async def test_a_question_pointing_back_at_a_complaint_is_read_with_it(services) -> None:
    # Alone, "come back" finds the restock article; the complaint says what "they" are.
    complaint = "the courier came when I was at work and took my parcel away again"
    question = "are they going to come back tomorrow or do I need to fetch it?"
    alone, _ = await ask(question, [])
    assert alone.messages[0]["title"] != "My parcel is late or hasn't arrived"
    dispatcher, remembered = await ask(
        question, [user(complaint, "complaint"), reply("utter_complaint_logged")]
    )
    assert responses(dispatcher)[0] == "utter_knowledge_answer"
    assert dispatcher.messages[0]["title"] == "My parcel is late or hasn't arrived"
    assert remembered == f"{question} {complaint}"


async def test_a_question_unanswerable_alone_goes_on_from_the_answer_just_given(services) -> None:
    first = "my card got refused at the checkout"
    question = "so what other options do I have?"
    alone, _ = await ask(question, [])
    assert responses(alone) == ["utter_knowledge_unknown"]
    dispatcher, _ = await ask(
        question,
        [user(first, "payment_issue"), reply("utter_knowledge_answer")],
        last_question={"text": first, "entities": []},
    )
    assert responses(dispatcher)[0] == "utter_knowledge_answer"
    assert dispatcher.messages[0]["title"] == "My payment was declined"


async def test_a_new_question_after_an_answer_is_read_alone_even_with_an_it(services) -> None:
    # Read with "how long do refunds take?" it would land on refunds (a PayPal refund's days).
    first = "how long do refunds take"
    dispatcher, remembered = await ask(
        "can I pay for it with PayPal?",
        [user(first, "check_refund_policy"), reply("utter_knowledge_answer")],
        last_question={"text": first, "entities": []},
    )
    assert dispatcher.messages[0]["title"] == "Which payment methods do you accept?"
    assert remembered == "can I pay for it with PayPal?"


async def test_a_follow_up_quotes_what_its_own_words_ask_of_the_article(services) -> None:
    """The earlier question finds the article; the follow-up's words choose what to quote.

    Read whole, "and if I've used it?" with the earlier question quoted the 30-day period again,
    the answer just given; "and if it's already been dispatched?" the free cancellation.
    """
    asked = [
        ("how many days have I got to send something back?", "and if I've used it?", "used it"),
        ("is there a fee if I cancel an order?", "even if it's already been dispatched?", "return"),
        ("do you have promo codes?", "where do I put it?", "Promo code"),
    ]
    for first, follow_up, quoted in asked:
        kept = {"text": first, "entities": []}
        dispatcher = CollectingDispatcher()
        events = await ActionContinue().run(
            dispatcher,
            tracker(
                {"last_question": kept},
                text=follow_up,
                intent="follow_up",
                events=after_reply("utter_knowledge_answer", first),
            ),
            DOMAIN,
        )
        assert responses(dispatcher)[0] == "utter_knowledge_answer", follow_up
        assert quoted in dispatcher.messages[0]["quote"], follow_up
        assert slot_events(events)["last_question"]["text"] == f"{follow_up} {first}"


async def test_a_question_pointing_back_goes_on_from_the_last_question_past_small_talk(
    services,
) -> None:
    # "WELCOME10", a bare promo code, reads as thanks; "it" is still the code just asked about.
    first = "do u have promo codes"
    question = "where do i put it"
    alone, _ = await ask(question, [])
    assert responses(alone) == ["utter_knowledge_unknown"]
    events = [user(first, "ask_question"), reply("utter_knowledge_answer")]
    events += [user("WELCOME10", "thank"), reply("utter_youre_welcome")]
    dispatcher, remembered = await ask(
        question, events, last_question={"text": first, "entities": []}
    )
    assert responses(dispatcher)[0] == "utter_knowledge_answer"
    assert "checkout" in dispatcher.messages[0]["quote"]
    assert remembered == f"{question} {first}"


def test_only_the_message_just_before_is_a_previous_request() -> None:
    complaint = user("the courier took my parcel away again", "complaint")
    latest = {"text": "will they come back?", "intent": "ask_question"}
    found = previous_request(tracker(text=latest["text"], events=[complaint, reply("x")]))
    assert found is not None and found.text == "the courier took my parcel away again"
    answered = [complaint, reply("utter_ask_verify_email"), user("ada@example.com", "inform")]
    assert previous_request(tracker(text=latest["text"], events=answered)) is None
    assert previous_request(tracker(text=latest["text"])) is None


# --- a bare order number ------------------------------------------------------------------


def replayed(events: list[dict[str, Any]]) -> dict[str, Any]:
    (event,) = [e for e in events if e.get("event") == "user"]
    return event["parse_data"]


async def test_a_bare_order_number_repeats_the_previous_request_for_that_order(services) -> None:
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="and 100102",
            intent="follow_up",
            entities=[{"entity": "order_number", "value": "100102", "start": 4, "end": 10}],
            events=[user("when will 100103 arrive", "delivery_period")],
        ),
        DOMAIN,
    )
    parse = replayed(events)
    assert parse["intent"]["name"] == "delivery_period"
    assert parse["entities"][0]["value"] == "100102"


async def test_an_order_number_after_a_question_looks_the_order_up(services) -> None:
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            text="yes, order 100104",
            events=[user("i think you took the money twice", "payment_issue")],
        ),
        DOMAIN,
    )
    parse = replayed(events)
    assert parse["intent"]["name"] == "track_order"
    assert parse["entities"][0] == {
        "entity": "order_number",
        "value": "100104",
        "start": 11,
        "end": 17,
    }


# --- the order the conversation is about --------------------------------------------------


async def test_a_found_order_becomes_what_the_conversation_is_about(services) -> None:
    events = await ValidateTrackOrderForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="where is 100103",
            intent="track_order",
            active_loop="track_order_form",
            set_this_turn={"order_number": "100103"},
        ),
        DOMAIN,
    )
    assert slot_events(events)["context_order"] == "100103"


async def test_a_request_about_it_takes_the_current_order_and_still_verifies(services) -> None:
    events = await ValidateRefundForm().run(
        CollectingDispatcher(),
        tracker(
            {"context_order": "100104"},
            text="could i have my money back for it",
            intent="get_refund",
            active_loop="refund_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_number"] == "100104"
    assert slots["requested_slot"] == "verify_email"


async def test_the_current_order_is_not_taken_without_a_reference(services) -> None:
    events = await ValidateRefundForm().run(
        CollectingDispatcher(),
        tracker(
            verified(context_order="100104"),
            text="i would like a refund please",
            intent="get_refund",
            active_loop="refund_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots.get("order_number") is None
    assert slots["requested_slot"] == "order_number"


async def test_the_same_one_answers_which_order(services) -> None:
    events = await ValidateRefundForm().run(
        CollectingDispatcher(),
        tracker(
            verified(context_order="100104", requested_slot="order_number"),
            text="the same one",
            active_loop="refund_form",
            set_this_turn={"order_number": "the same one"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert (slots["order_number"], slots["order_status"]) == ("100104", "delivered")


async def test_stopping_a_task_keeps_what_the_conversation_is_about(services) -> None:
    events = await ActionResetTask().run(
        CollectingDispatcher(),
        tracker(
            verified(context_order="100102", order_number="100102", last_question={"text": "x"})
        ),
        DOMAIN,
    )
    cleared = slot_events(events)
    assert "order_number" in cleared
    assert "context_order" not in cleared and "last_question" not in cleared


# --- a quantity said before verification --------------------------------------------------


def test_how_many_a_change_request_asks_for() -> None:
    assert requested_quantity("please take the bath towel off 100104") == "0"
    assert requested_quantity("put 3 more storage jars in it") == "+3"
    assert requested_quantity("remove 1 of the tea towels") == "-1"
    assert requested_quantity("make it 4 camping mugs") == "4"
    assert requested_quantity("add another kettle") == "+1"
    assert requested_quantity("add a kettle to order 100101") == "+1"
    assert requested_quantity("can you ad a Bambo chopping board to 100102") == "+1"
    assert requested_quantity("could you put an enamel mug in it") == "+1"
    assert requested_quantity("I'd like a kettle in order 100101 too") is None
    assert requested_quantity("make it a pair of mugs") == "2"


async def test_a_removal_said_before_verification_is_read_back_after_it(services) -> None:
    start = {"order_number": "100102", "change_product": "candle"}
    events = await ValidateChangeOrderForm().run(
        CollectingDispatcher(),
        tracker(
            text="please take the candle off order 100102",
            intent="change_order",
            active_loop="change_order_form",
            set_this_turn=start,
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["change_quantity"] == "0"
    assert slots["requested_slot"] == "verify_email"
    base = {**start, "change_quantity": "0", "verify_email": "ada@example.com"}
    dispatcher = CollectingDispatcher()
    events = await ValidateChangeOrderForm().run(
        dispatcher,
        tracker(
            base,
            text="M4 6AB",
            active_loop="change_order_form",
            set_this_turn={"verify_postcode": "M4 6AB"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert (slots["change_sku"], slots["change_quantity"]) == ("HOM-005", "0")
    assert slots["requested_slot"] == "confirm_item_change"
    asked = CollectingDispatcher()
    await ActionAskConfirmItemChange().run(
        asked, tracker(verified(**{**base, **slots, "verify_email": None})), DOMAIN
    )
    assert responses(asked) == ["utter_ask_confirm_item_remove"]


async def test_more_of_an_item_counts_on_top_of_what_the_order_holds(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ValidateChangeOrderForm().run(
        dispatcher,
        tracker(
            verified(),
            text="put 2 more kettles in order 100102",
            intent="change_order",
            active_loop="change_order_form",
            set_this_turn={"order_number": "100102", "change_product": "kettles"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["change_quantity"] == "3"  # the order has one
    assert slots["requested_slot"] == "confirm_item_change"
