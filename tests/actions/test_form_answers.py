"""What a form takes as the answer to its question (actions/form_answers.py), and what
`action_task_midway` (actions/tasks.py) does with the rest.

A form asking for an email address, a postcode, a name or a count takes a message with that
shape whatever the NLU read; without it, a question or another task's words are left to the
rules (the form returns no slot, so Rasa lets the rules answer), and a bad answer is still
taken, so the form can say what is wrong with it. Real actions, the real domain.yml.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.account import ValidatePasswordResetForm, ValidateSignUpForm
from actions.feedback import ValidateNewsletterForm
from actions.form_answers import asks_a_question, goes_on
from actions.ordering import ValidatePlaceOrderForm, quantity_in
from actions.tasks import ActionTaskMidway
from actions.verification import VerifiedForm
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker, verified


async def asked(form: Any, slot: str, text: str, intent: str, slots: dict[str, Any] | None = None):
    """Run `form` on the customer's message while it asks for `slot`: slot events, replies."""
    dispatcher = CollectingDispatcher()
    run = await form.run(
        dispatcher,
        tracker(
            {"requested_slot": slot, **(slots or {})},
            text=text,
            intent=intent,
            active_loop=form.form_name(),
        ),
        DOMAIN,
    )
    return slot_events(run), responses(dispatcher)


def _answered(events: dict[str, Any]) -> set[str]:
    """The slots a run set, other than the next question: none means Rasa rejects the form."""
    return set(events) - {"requested_slot"}


async def test_a_sign_up_problem_is_not_taken_for_a_name(services) -> None:
    events, said = await asked(
        ValidateSignUpForm(),
        "signup_name",
        "ok i tried that and it keeps sayin my email is already in use?? i never signed up",
        "registration_problems",
    )
    assert _answered(events) == set()
    assert "utter_invalid_signup_name" not in said


async def test_a_complaint_about_the_reset_mail_is_not_taken_for_an_address(services) -> None:
    events, said = await asked(
        ValidatePasswordResetForm(),
        "reset_email",
        "The mail for reset dont arrive, I wait already 20 minutes",
        "registration_problems",
    )
    assert _answered(events) == set()
    assert said == []


async def test_an_address_is_the_answer_whatever_the_nlu_read(services) -> None:
    events, _ = await asked(
        ValidateNewsletterForm(),
        "newsletter_email",
        "it's grace@example.org",
        "newsletter_subscription",
        {"newsletter_choice": "unsubscribe"},
    )
    assert events["newsletter_email"] == "grace@example.org"


async def test_a_bad_answer_is_still_taken_so_the_form_says_what_is_wrong(services) -> None:
    events, said = await asked(
        ValidatePasswordResetForm(), "reset_email", "ada at example dot com", "inform"
    )
    assert events["reset_email"] is None
    assert said == ["utter_invalid_email"]


async def test_a_question_at_the_verification_is_left_to_the_rules(services) -> None:
    class Verify(VerifiedForm):
        def name(self) -> str:
            return "validate_track_order_form"

    events, said = await asked(
        Verify(), "verify_email", "how long does delivery take within the UK?", "delivery_period"
    )
    assert _answered(events) == set() and said == []
    events, _ = await asked(Verify(), "verify_postcode", "M4 6AB", "track_order")
    assert "verify_postcode" in events


async def test_a_delivery_question_is_no_count_and_carry_on_is_one(services) -> None:
    product = {"order_product": "Enamel Kettle", "order_sku": "KIT-005"}
    events, said = await asked(
        ValidatePlaceOrderForm(),
        "order_quantity",
        "oh before I forget, how long does delivery take within the UK?",
        "delivery_period",
        product,
    )
    assert _answered(events) == set() and said == []
    events, said = await asked(
        ValidatePlaceOrderForm(),
        "order_quantity",
        "lovely, carry on with the kettle then",
        "nlu_fallback",
        product,
    )
    assert events["order_quantity"] == "1"
    assert "utter_invalid_quantity" not in said


def test_a_question_after_a_lead_in_is_a_question() -> None:
    assert asks_a_question("wait will i be charged for cancelling")
    assert asks_a_question("oh before I forget, how long does delivery take within the UK?")
    assert asks_a_question("could you tell me how long delivery takes")
    assert not asks_a_question("ok fine yes cancel it")
    assert not asks_a_question("can you cancel 100102?")
    assert goes_on("Very well, that will do. Please proceed with the Hammock.")
    assert not goes_on("yes")


def test_years_and_days_are_no_count() -> None:
    assert quantity_in("after about three years of this, can I order the Fire Pit Bowl") is None
    assert quantity_in("three years on, I'd like the Fire Pit Bowl", articles=False) is None
    assert quantity_in("two fire pits within 3 days", articles=False) == 2


# --- action_task_midway -----------------------------------------------------------------------


async def midway(text: str, intent: str, loop: str, slots: dict[str, Any]):
    dispatcher = CollectingDispatcher()
    events = await ActionTaskMidway().run(
        dispatcher, tracker(slots, text=text, intent=intent, active_loop=loop), DOMAIN
    )
    return events, responses(dispatcher)


async def test_a_help_centre_problem_midway_is_answered_and_the_task_stays(services) -> None:
    events, said = await midway(
        "The mail for reset dont arrive, I wait already 20 minutes",
        "registration_problems",
        "password_reset_form",
        {"requested_slot": "reset_email"},
    )
    assert "utter_task_left" not in said
    assert not any(e.get("event") in ("active_loop", "user") for e in events)


async def test_the_same_task_asked_for_at_its_read_back_is_a_yes(services) -> None:
    slots = verified(order_number="100102", order_status="paid", requested_slot="confirm_cancel")
    events, said = await midway("ok fine yes cancel it", "cancel_order", "cancel_order_form", slots)
    assert said == []
    assert slot_events(events) == {"confirm_cancel": True}


async def test_the_same_task_held_back_at_its_read_back_is_no_yes(services) -> None:
    slots = verified(order_number="100102", order_status="paid", requested_slot="confirm_cancel")
    events, said = await midway(
        "no wait, don't cancel it", "cancel_order", "cancel_order_form", slots
    )
    assert "utter_task_left" not in said
    assert "confirm_cancel" not in slot_events(events)
