from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.account import ActionRequestPasswordReset, ActionSwitchAccount
from actions.feedback import ValidateNewsletterForm, ValidateReviewForm, category_of
from actions.money import ActionRequestRefund, ValidateRefundForm
from crm.records.models import OutboxMessage
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker, verified


def test_complaint_categories_come_from_buttons_or_words():
    assert category_of("delivery") == "delivery"
    assert category_of("the parcel came late") == "delivery"
    assert category_of("I was charged twice") == "billing"
    assert category_of("hmm") is None


async def test_an_eligible_order_asks_for_a_reason(services):
    events = await ValidateRefundForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="refund 100104",
            active_loop="refund_form",
            set_this_turn={"order_number": "100104"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["refund_eligible"] is True
    assert slots["requested_slot"] == "refund_reason"


async def test_an_ineligible_order_is_explained_without_questions(services):
    events = await ValidateRefundForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="refund 100102",
            active_loop="refund_form",
            set_this_turn={"order_number": "100102"},
        ),
        DOMAIN,
    )
    assert slot_events(events)["refund_eligible"] is False
    assert slot_events(events)["requested_slot"] is None
    dispatcher = CollectingDispatcher()
    await ActionRequestRefund().run(
        dispatcher, tracker(verified(order_number="100102", order_status="paid")), DOMAIN
    )
    assert responses(dispatcher) == ["utter_refund_not_possible_not_delivered"]


async def test_review_ratings_are_read_from_words(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateReviewForm().run(
        dispatcher,
        tracker(
            text="I'd say 4/5",
            active_loop="review_form",
            set_this_turn={"review_rating": "I'd say 4/5"},
        ),
        DOMAIN,
    )
    assert slot_events(events)["review_rating"] == "4"


async def test_newsletter_choice_comes_from_the_request(services):
    events = await ValidateNewsletterForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="please stop sending me the newsletter",
            intent="newsletter_subscription",
            active_loop="newsletter_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["newsletter_choice"] == "unsubscribe"
    assert slots["requested_slot"] == "confirm_newsletter"  # verified: no address asked


async def test_password_reset_answers_the_same_and_writes_only_for_real_accounts(
    services, sessions
):
    answers = []
    for email in ("alan@example.com", "nobody@example.net"):
        dispatcher = CollectingDispatcher()
        await ActionRequestPasswordReset().run(dispatcher, tracker({"reset_email": email}), DOMAIN)
        answers.append(responses(dispatcher))
    assert answers == [["utter_password_reset_sent"]] * 2
    with sessions() as session:
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert "alan@example.com" in recipients
    assert "nobody@example.net" not in recipients


async def test_switching_account_clears_the_verification(services):
    dispatcher = CollectingDispatcher()
    events = await ActionSwitchAccount().run(dispatcher, tracker(verified()), DOMAIN)
    assert responses(dispatcher) == ["utter_switched_account"]
    assert slot_events(events)["customer_id"] is None


async def test_a_website_sign_in_is_not_switched_in_the_chat(services):
    dispatcher = CollectingDispatcher()
    signed_in = tracker(metadata={"signed_in_customer_id": 1})
    await ActionSwitchAccount().run(dispatcher, signed_in, DOMAIN)
    assert responses(dispatcher) == ["utter_switch_signed_in"]
