"""Questions about the current order asked in passing (actions/order_questions.py), and another
task's words in the middle of a form (actions/tasks.py).

Real actions, the real domain.yml, the demo records (dates relative to today); trackers as Rasa
sends them.
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.followups import ActionContinue
from actions.knowledge import ActionAnswerFromKnowledge
from actions.tasks import ActionTaskMidway, asks_a_question
from tests.actions.conftest import DOMAIN, after_reply, responses, slot_events, tracker, verified


async def test_what_if_it_does_not_come_is_answered_for_the_order_just_tracked(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionContinue().run(
        dispatcher,
        tracker(
            verified(context_order="100103"),
            text="and if it dosnt come by friday?",
            intent="follow_up",
            events=after_reply("utter_delivery_estimate_carrier", "when does it come"),
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_if_late"]
    assert "100103" in dispatcher.messages[0]["order_number"]
    assert dispatcher.messages[0]["carrier"] == "DPD"


async def test_what_if_it_is_late_about_a_delivered_order_goes_to_the_help_centre(
    services,
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionContinue().run(
        dispatcher,
        tracker(
            verified(context_order="100104"),
            text="and what if it doesn't arrive?",
            intent="follow_up",
        ),
        DOMAIN,
    )
    assert "utter_order_if_late" not in responses(dispatcher)


async def test_how_long_do_i_have_after_asking_to_send_it_back_counts_the_days_left(
    services,
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(
                context_order="100104",
                last_question={"text": "can i send it back", "entities": []},
            ),
            text="hows long do i hvae",
            intent="nlu_fallback",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_return_window_left"]
    # Delivered 17 days ago (crm/tools/demo.py); returns are open for 30 days from delivery.
    assert dispatcher.messages[0]["days_left"] == 13


async def test_how_long_without_talk_of_returns_is_not_the_return_window(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(context_order="100104"),
            text="how long does standard delivery take",
            intent="ask_question",
        ),
        DOMAIN,
    )
    assert "utter_return_window_left" not in responses(dispatcher)


async def test_a_new_account_address_does_not_move_a_delivered_order(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(),
            text="hang on, would that change where 100104 goes?",
            intent="follow_up",
            active_loop="save_address_form",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_account_address_not_order_delivered"]


async def test_a_new_account_address_does_not_move_an_open_order(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(),
            text="will my order 100102 go there too?",
            intent="follow_up",
            active_loop="save_address_form",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_account_address_not_open_order"]


async def test_someone_elses_order_is_left_to_the_help_centre(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(),
            text="would that change where 100301 goes?",
            intent="follow_up",
            active_loop="save_address_form",
        ),
        DOMAIN,
    )
    assert not any(r.startswith("utter_account_address") for r in responses(dispatcher))


# --- another task's words in the middle of a form ------------------------------------------


def test_a_question_is_told_from_a_request() -> None:
    assert asks_a_question("Quick one before I confirm: will the invoice show VAT?")
    assert asks_a_question("does that include delivery")
    assert asks_a_question("is it free?")
    assert not asks_a_question("cancel order 100102 instead")
    assert not asks_a_question("can you cancel 100102?")
    assert not asks_a_question("show me my invoices")


async def test_a_task_shaped_question_mid_form_is_answered_and_the_form_stays(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionTaskMidway().run(
        dispatcher,
        tracker(
            verified(order_product="Enamel Camping Mug", order_quantity="6"),
            text="Quick one before I confirm: will the invoice show VAT?",
            intent="check_invoice",
            active_loop="place_order_form",
        ),
        DOMAIN,
    )
    assert responses(dispatcher)[0] == "utter_knowledge_answer"
    assert "VAT" in dispatcher.messages[0]["quote"]
    assert not any(e.get("event") in ("active_loop", "user") for e in events)
    assert "order_product" not in slot_events(events)


async def test_a_task_request_mid_form_leaves_the_task_and_says_so(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionTaskMidway().run(
        dispatcher,
        tracker(
            verified(order_product="Enamel Camping Mug", order_quantity="6"),
            text="cancel order 100102 instead",
            intent="cancel_order",
            active_loop="place_order_form",
            entities=[{"entity": "order_number", "value": "100102"}],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_task_left"]
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events)
    slots = slot_events(events)
    assert slots["order_product"] is None and "customer_id" not in slots
    replayed = [e for e in events if e.get("event") == "user"]
    assert replayed[0]["parse_data"]["intent"]["name"] == "cancel_order"


# --- the previous request again, for an order described ------------------------------------


def _asked(text: str, intent: str) -> list[dict[str, object]]:
    return [
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "bot", "text": "...", "metadata": {"utter_action": "utter_address_changed"}},
    ]


async def test_the_other_unposted_order_gets_the_same_address_change(services) -> None:
    first = "please send 100101 to 7 Beech Road, Didsbury, M20 6TQ"
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(context_order="100101"),
            text="Oh and can the other one that hasn't been posted yet go there too?",
            intent="follow_up",
            events=_asked(first, "change_shipping_address"),
        ),
        DOMAIN,
    )
    replayed = [e for e in events if e.get("event") == "user"]
    assert replayed[0]["parse_data"]["intent"]["name"] == "change_shipping_address"
    assert replayed[0]["text"] == first.replace("100101", "100102")


async def test_a_description_that_fits_several_orders_is_not_guessed(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionContinue().run(
        dispatcher,
        tracker(
            verified(),
            text="and the ones that haven't been posted?",
            intent="follow_up",
            events=_asked("please send 100103 to 7 Beech Road, M20 6TQ", "change_shipping_address"),
        ),
        DOMAIN,
    )
    assert not [e for e in events if e.get("event") == "user"]


async def test_an_unclear_message_mid_form_is_asked_again_never_a_switch(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionTaskMidway().run(
        dispatcher,
        tracker(
            verified(order_product="Enamel Camping Mug", order_quantity="6"),
            text="hmm the blue ones maybe",
            intent="nlu_fallback",
            active_loop="place_order_form",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_default"]
    assert events == []
