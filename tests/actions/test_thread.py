"""Keeping the thread: a bare detail read with what came before, a correction of part of what
was read back (issue 29, the dev conversations' "bare detail" and "correction" kinds).

Real actions, the real domain.yml and records; trackers as Rasa sends them.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.address import ValidateChangeAddressForm, ValidateSaveAddressForm
from actions.clarify import ActionClarify
from actions.corrections import swap_correction
from actions.feedback import ValidateNewsletterForm
from actions.followups import ActionContinue
from actions.handoff import ActionPersonOrOrder, ActionRequestHandoff
from actions.knowledge import ActionAnswerFromKnowledge
from actions.ordering import ValidateChangeOrderForm
from actions.tasks import ActionTaskMidway
from tests.actions.conftest import (
    DOMAIN,
    after_reply,
    responses,
    slot_events,
    tracker,
    verified,
)

READ_BACK = "22 Ancoats Road, Manchester, M4 5AA, GB"


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def replayed(events: list[dict[str, Any]]) -> dict[str, Any]:
    (event,) = [e for e in events if e.get("event") == "user"]
    return event["parse_data"]


# --- a correction of part of what was read back -----------------------------------------------


def test_a_correction_replaces_only_the_words_taken_back() -> None:
    assert (
        swap_correction("oh wait sorry its Ancoats Street not Road, same number", READ_BACK)
        == "22 Ancoats Street, Manchester, M4 5AA, GB"
    )
    assert swap_correction("not Road but Street", READ_BACK) == (
        "22 Ancoats Street, Manchester, M4 5AA, GB"
    )
    assert swap_correction("it's 24 instead of 22", READ_BACK) == (
        "24 Ancoats Road, Manchester, M4 5AA, GB"
    )


def test_words_that_take_back_nothing_read_back_are_no_correction() -> None:
    assert swap_correction("not Lane, Street", READ_BACK) is None  # no Lane in it
    assert swap_correction("yes that's right", READ_BACK) is None
    assert swap_correction("not that one, the other", READ_BACK) is None


async def test_part_of_an_order_address_corrected_at_the_read_back_is_read_back_again(
    services,
) -> None:
    text = "oh wait sorry its Ancoats Street not Road, same number and postcode"
    at_read_back = verified(
        order_number="100102",
        order_status="paid",
        new_address=READ_BACK,
        requested_slot="confirm_address_change",
    )
    # Whatever the NLU made of it, the task is not left: the form takes the correction.
    dispatcher = CollectingDispatcher()
    midway = await ActionTaskMidway().run(
        dispatcher,
        tracker(at_read_back, text=text, intent="nlu_fallback", active_loop="change_address_form"),
        DOMAIN,
    )
    assert midway == [] and responses(dispatcher) == []
    events = await ValidateChangeAddressForm().run(
        CollectingDispatcher(),
        tracker(at_read_back, text=text, intent="deny", active_loop="change_address_form"),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["new_address"] == "22 Ancoats Street, Manchester, M4 5AA, GB"
    assert slots["requested_slot"] == "confirm_address_change"


async def test_part_of_an_address_to_save_corrected_at_the_read_back(services) -> None:
    events = await ValidateSaveAddressForm().run(
        CollectingDispatcher(),
        tracker(
            verified(
                address_to_save=READ_BACK,
                address_make_default=True,
                requested_slot="confirm_save_address",
            ),
            text="sorry it's Street not Road",
            intent="inform",
            active_loop="save_address_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["address_to_save"] == "22 Ancoats Street, Manchester, M4 5AA, GB"
    assert slots["requested_slot"] == "confirm_save_address"


# --- a bare detail after an answer ------------------------------------------------------------


async def test_an_amount_after_the_list_of_invoices_asks_for_that_invoice(services) -> None:
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="£54.90",
            intent="inform",
            events=[user("I need the invoices on this account for my accounts", "check_invoice")],
        ),
        DOMAIN,
    )
    parse = replayed(events)
    assert parse["intent"]["name"] == "get_invoice"
    assert parse["entities"][0]["value"] == "100102"


async def test_an_address_saved_for_future_orders_is_read_back_as_the_default(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ValidateSaveAddressForm().run(
        dispatcher,
        tracker(
            verified(),
            text="Please save a new address on my account for future orders: Flat 3, 22 Ancoats "
            "Street, Manchester M4 5BQ.",
            intent="set_up_shipping_address",
            active_loop="save_address_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["address_to_save"].startswith("Flat 3, 22 Ancoats Street, Manchester, M4 5BQ")
    assert slots["address_make_default"] is True
    assert slots["requested_slot"] == "confirm_save_address"


# --- a question about the order in context ----------------------------------------------------


async def test_whats_happening_with_it_after_a_dropped_task_gives_the_orders_state(
    services,
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(context_order="100102"),
            text="whats happening with it anyway",
            intent="nlu_fallback",
            events=[user("cancel 100102", "cancel_order"), user("no stop leave it", "stop")],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_status_paid"]
    assert dispatcher.messages[0]["order_number"] == "100102"


async def test_how_do_i_pay_for_it_gives_the_unpaid_orders_own_payment_link(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(context_order="100101"),
            text="wait it's not paid?? how do i pay for it then",
            intent="payment_issue",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_how_to_pay"]
    assert dispatcher.messages[0]["payment_url"].endswith("/checkout/pay/100101")


async def test_how_to_pay_for_a_paid_order_is_left_to_the_help_centre(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            verified(context_order="100102"), text="how do i pay for it", intent="ask_question"
        ),
        DOMAIN,
    )
    assert "utter_order_how_to_pay" not in responses(dispatcher)


# --- more thread: a product, an order number, a yes in the task's words ----------------------

GRACE, ALAN = 2, 3


async def test_a_product_after_a_tracking_request_with_one_order_tracks_that_order(
    services,
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionContinue().run(
        dispatcher,
        tracker(
            verified(ALAN),
            text="the bird feeder",
            intent="inform",
            events=[user("has my stuff turned up yet", "track_order")],
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_product_not_in_your_order"]
    parse = replayed(events)
    assert parse["intent"]["name"] == "track_order"
    assert parse["entities"][-1]["value"] == "100301"


async def test_a_product_after_a_tracking_request_tracks_the_order_holding_it(services) -> None:
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="the kettle",
            intent="inform",
            events=[user("where's my stuff", "track_order")],
        ),
        DOMAIN,
    )
    assert replayed(events)["entities"][-1]["value"] == "100102"


async def test_an_order_number_with_one_order_task_in_view_does_that_task(services) -> None:
    events = await ActionClarify().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="ok check 100101 for me pls",
            intent="nlu_fallback",
            ranking=[("nlu_fallback", 0.5), ("track_order", 0.4), ("ask_question", 0.05)],
        ),
        DOMAIN,
    )
    parse = replayed(events)
    assert parse["intent"]["name"] == "track_order"
    assert parse["entities"][-1]["value"] == "100101"


async def test_a_yes_in_the_tasks_own_words_confirms_it(services) -> None:
    events = await ActionTaskMidway().run(
        CollectingDispatcher(),
        tracker(
            verified(order_number="100101", order_status="placed", requested_slot="confirm_cancel"),
            text="yes cancel THAT one",
            intent="cancel_order",
            active_loop="cancel_order_form",
        ),
        DOMAIN,
    )
    assert slot_events(events) == {"confirm_cancel": True}


async def test_an_order_number_given_for_the_item_moves_to_that_order(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ValidateChangeOrderForm().run(
        dispatcher,
        tracker(
            verified(order_number="100101", order_status="placed", requested_slot="change_product"),
            text="100102",
            intent="inform",
            active_loop="change_order_form",
            set_this_turn={"change_product": "100102"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_number"] == "100102"
    assert "utter_product_not_found" not in responses(dispatcher)


async def test_an_item_and_its_count_in_one_answer_are_read_back(services) -> None:
    events = await ValidateChangeOrderForm().run(
        CollectingDispatcher(),
        tracker(
            verified(
                GRACE, order_number="100201", order_status="paid", requested_slot="change_product"
            ),
            text="The Glass Storage Jars, 2 instead of 1",
            intent="inform",
            active_loop="change_order_form",
            set_this_turn={"change_product": "The Glass Storage Jars, 2 instead of 1"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["change_product"] == "Glass Storage Jars (set of 4)"
    assert slots["change_quantity"] == "2"
    assert slots["requested_slot"] == "confirm_item_change"


async def test_another_item_after_nothing_to_remove_is_removed_instead(services) -> None:
    dispatcher = CollectingDispatcher()
    text = "No sorry, the Glass Storage Jars, not the cups. Keep the cups."
    await ValidateChangeOrderForm().run(
        dispatcher,
        tracker(
            verified(
                order_number="100102",
                order_status="paid",
                change_quantity="0",
                requested_slot="change_product",
            ),
            text=text,
            intent="inform",
            active_loop="change_order_form",
            set_this_turn={"change_product": text},
        ),
        DOMAIN,
    )
    assert responses(dispatcher)[0] == "utter_item_not_in_order"
    assert dispatcher.messages[0]["product"].startswith("Glass Storage Jars")


async def test_taking_the_newsletter_request_back_ends_it_unchanged(services) -> None:
    events = await ValidateNewsletterForm().run(
        CollectingDispatcher(),
        tracker(
            {"newsletter_choice": "unsubscribe", "requested_slot": "newsletter_email"},
            text="actually no hang on, leave it, I'll keep them till the sale's over",
            intent="deny",
            active_loop="newsletter_form",
            set_this_turn={"newsletter_email": "actually no hang on"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["requested_slot"] is None
    assert slots["confirm_newsletter"] is False


# --- a person -----------------------------------------------------------------------------------


async def test_get_me_one_right_after_saying_it_is_a_bot_hands_over(services) -> None:
    events = await ActionPersonOrOrder().run(
        CollectingDispatcher(),
        tracker(
            text="then get me one. now.",
            intent="place_order",
            events=after_reply("utter_iamabot", "am I talking to a real person or a bot"),
        ),
        DOMAIN,
    )
    assert events == [{"event": "followup", "name": "action_request_handoff", "timestamp": None}]


async def test_an_order_right_after_saying_it_is_a_bot_is_placed(services) -> None:
    events = await ActionPersonOrOrder().run(
        CollectingDispatcher(),
        tracker(
            text="ok then I'd like to order a kettle",
            intent="place_order",
            events=after_reply("utter_iamabot", "are you a bot"),
        ),
        DOMAIN,
    )
    assert events[0]["name"] == "place_order_form"


async def test_whether_a_person_could_tell_more_is_offered_about_the_order(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHandoff().run(
        dispatcher,
        tracker(
            verified(context_order="100103"),
            text="could a real person tell me more about it?",
            intent="contact_human_agent",
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_offer_person_order"]
    assert dispatcher.messages[0]["order_number"] == "100103"
    assert events == []


async def test_asking_for_a_person_still_hands_over_at_once(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionRequestHandoff().run(
        dispatcher,
        tracker(text="can I talk to a real person?", intent="contact_human_agent"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_handoff_requested"]
