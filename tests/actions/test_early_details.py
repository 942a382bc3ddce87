"""Details the customer gives in the request are used, not asked for again (issue 29).

Each form reads what its first message already answers (`ShopFormValidation.early_details`):
the form is run as Rasa runs it when the task starts, and the next question is checked.
"""

from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.account import ValidateEditAccountForm
from actions.address import ValidateChangeAddressForm, ValidateSaveAddressForm
from actions.feedback import (
    TEAM_CATEGORIES,
    ActionOpenComplaint,
    ValidateComplaintForm,
    ValidateNewsletterForm,
    category_of,
)
from actions.money import ActionRequestRefund, ValidateRefundForm
from actions.ordering import ValidateChangeOrderForm, ValidatePlaceOrderForm, corrected_quantity
from crm.records.models import SupportTicket
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker, verified


async def start(form, text: str, intent: str, slots=None, events=None, mapped=None):
    """Run `form` on the message that starts its task; the slot events and what it said.

    `mapped` are the slots Rasa's own mappings filled from the message (an order number).
    """
    dispatcher = CollectingDispatcher()
    loop = form.form_name()
    run = await form.run(
        dispatcher,
        tracker(
            slots, text=text, intent=intent, active_loop=loop, events=events, set_this_turn=mapped
        ),
        DOMAIN,
    )
    return slot_events(run), responses(dispatcher)


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


async def test_an_address_in_the_request_is_read_back_after_verification(services):
    slots, said = await start(
        ValidateChangeAddressForm(),
        "I need the delivery address on order 100101 changed to 7 Beech Road, Didsbury M20 6TQ",
        "change_shipping_address",
        verified(),
        mapped={"order_number": "100101"},
    )
    assert slots["new_address"] == "7 Beech Road, Didsbury, M20 6TQ, GB"
    assert slots["requested_slot"] == "confirm_address_change"
    assert said == []


async def test_an_address_given_before_verification_waits_for_it(services):
    slots, _ = await start(
        ValidateChangeAddressForm(),
        "send order 100101 to 14 Canal Street, Manchester M1 3HE please",
        "change_shipping_address",
        mapped={"order_number": "100101"},
    )
    assert slots["new_address"] == "14 Canal Street, Manchester, M1 3HE, GB"
    assert slots["requested_slot"] == "verify_email"


async def test_an_incomplete_address_in_the_request_is_asked_for_without_complaint(services):
    slots, said = await start(
        ValidateChangeAddressForm(),
        "please send order 100101 to 7 Beech Road instead",
        "change_shipping_address",
        verified(),
        mapped={"order_number": "100101"},
    )
    assert "new_address" not in slots
    assert slots["requested_slot"] == "new_address"
    assert not [name for name in said if name.startswith("utter_invalid")]


async def test_an_answer_later_in_the_task_is_not_read_as_the_request(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateChangeAddressForm().run(
        dispatcher,
        tracker(
            verified(order_number="100101", order_status="placed", requested_slot="new_address"),
            text="hang on, does 2 Mill Lane, Cambridge CB2 1RX cost extra?",
            intent="ask_question",
            active_loop="change_address_form",
        ),
        DOMAIN,
    )
    assert "new_address" not in slot_events(events)


async def test_moving_house_saves_the_address_as_the_default_and_asks_to_confirm(services):
    slots, _ = await start(
        ValidateSaveAddressForm(),
        "I've moved across town, can you put my new address on the account: 3 Mill Lane, "
        "Cambridge CB2 1RX",
        "set_up_shipping_address",
        verified(),
    )
    assert slots["address_to_save"] == "3 Mill Lane, Cambridge, CB2 1RX, GB"
    assert slots["address_make_default"] is True
    assert slots["requested_slot"] == "confirm_save_address"


async def test_an_extra_address_is_saved_beside_the_default(services):
    slots, _ = await start(
        ValidateSaveAddressForm(),
        "add my work address as well: 2 Station Road, Leeds, LS1 4AB",
        "set_up_shipping_address",
        verified(),
    )
    assert slots["address_make_default"] is False
    assert slots["requested_slot"] == "confirm_save_address"


async def test_a_plain_new_address_still_asks_whether_it_is_the_default(services):
    slots, _ = await start(
        ValidateSaveAddressForm(),
        "save a new address: 2 Station Road, Leeds, LS1 4AB",
        "set_up_shipping_address",
        verified(),
    )
    assert "address_make_default" not in slots
    assert slots["requested_slot"] == "address_make_default"


async def test_the_new_email_in_the_request_goes_to_the_confirmation(services):
    slots, _ = await start(
        ValidateEditAccountForm(),
        "I should like to change the email address on my account to A.Lovelace@example.net, "
        "if that is possible.",
        "edit_account",
        verified(),
    )
    assert slots["contact_field"] == "email"
    assert slots["new_contact"] == "a.lovelace@example.net"
    assert slots["requested_slot"] == "confirm_contact_change"


async def test_of_two_addresses_the_new_one_is_the_last(services):
    slots, _ = await start(
        ValidateEditAccountForm(),
        "change my email from ada@example.com to ada.l@example.org",
        "edit_account",
    )
    assert slots["new_contact"] == "ada.l@example.org"
    assert slots["requested_slot"] == "verify_email"


async def test_the_new_phone_number_in_the_request_is_read_back_as_written_at_home(services):
    slots, _ = await start(
        ValidateEditAccountForm(),
        "can you update my mobile number to 07700 900456 please",
        "edit_account",
        verified(),
    )
    assert slots["contact_field"] == "phone"
    assert slots["new_contact"] == "07700 900456"  # stored as +447700900456
    assert slots["requested_slot"] == "confirm_contact_change"


async def test_a_new_name_in_the_request_goes_to_the_confirmation(services):
    slots, _ = await start(
        ValidateEditAccountForm(),
        "Hello, I need to change surname in my account, I am married now, it is Ada King, "
        "not Lovelace anymore",
        "edit_account",
        verified(),
    )
    assert slots["contact_field"] == "name"
    assert slots["new_contact"] == "Ada King"
    assert slots["requested_slot"] == "confirm_contact_change"


async def test_a_surname_alone_is_the_new_surname_and_the_old_one_is_never_taken(services):
    slots, _ = await start(
        ValidateEditAccountForm(),
        "please change my last name from Lovelace to King",
        "edit_account",
        verified(),
    )
    assert slots["new_contact"] == "King"


async def test_a_complaint_that_says_what_happened_opens_the_ticket_at_once(services, sessions):
    text = (
        "The parcel was left in the rain by the driver and everything is soaked. "
        "I'd like to make a complaint."
    )
    slots, said = await start(ValidateComplaintForm(), text, "complaint")
    assert slots["complaint_category"] == "delivery"
    assert slots["complaint_details"] == "The parcel was left in the rain by the driver and " + (
        "everything is soaked."
    )
    assert said == []  # nothing left to ask: Rasa ends the form, and the ticket is opened
    dispatcher = CollectingDispatcher()
    await ActionOpenComplaint().run(dispatcher, tracker(slots, text=text), DOMAIN)
    assert responses(dispatcher) == ["utter_complaint_logged"]
    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        ).one()
    assert ticket.category == "delivery"


async def test_a_damaged_item_of_a_named_order_is_offered_the_refund_at_once(services):
    text = "my order 100301 arrived yesterday, but the item was damaged in transit."
    slots, _ = await start(ValidateComplaintForm(), text, "complaint")
    dispatcher = CollectingDispatcher()
    await ActionOpenComplaint().run(dispatcher, tracker(slots, text=text), DOMAIN)
    assert responses(dispatcher) == ["utter_complaint_logged_fault"]
    assert dispatcher.messages[0]["order_number"] == "100301"


async def test_the_refund_after_such_a_complaint_takes_it_as_its_reason(services):
    complaint = "my order 100301 arrived yesterday, but the item was damaged in transit."
    slots, _ = await start(
        ValidateRefundForm(),
        "I should prefer a refund, please.",
        "get_refund",
        verified(),
        events=[user(complaint, "complaint")],
    )
    assert slots["refund_reason"] == complaint


async def test_a_replacement_rather_than_the_money_is_offered_to_the_team(services):
    slots, said = await start(
        ValidateRefundForm(), "I want a new one, not the money back.", "get_refund"
    )
    assert slots["refund_replacement"] is True
    assert slots["requested_slot"] is None  # nothing to ask: no verification, no reason
    assert said == []
    dispatcher = CollectingDispatcher()
    events = await ActionRequestRefund().run(dispatcher, tracker(slots), DOMAIN)
    assert responses(dispatcher) == ["utter_refund_replacement"]
    assert slot_events(events)["refund_replacement"] is None


async def test_words_without_a_category_are_routed_like_the_ticket(services):
    words = "I keep getting logged out whenever I try to pay and my basket empties itself"
    assert category_of(words) is None
    slots, _ = await start(ValidateComplaintForm(), f"{words}. I want to complain!", "complaint")
    team = services.handoff_policy.team("action-test", [f"{words}."])
    assert slots["complaint_category"] == TEAM_CATEGORIES[team]
    assert slots["complaint_details"] == f"{words}."


async def test_a_bare_complaint_request_asks_what_it_is_about(services):
    slots, _ = await start(
        ValidateComplaintForm(), "I want to make a formal complaint.", "complaint"
    )
    assert "complaint_details" not in slots
    assert "complaint_category" not in slots


async def test_a_complaint_about_that_takes_the_previous_message(services):
    before = "Order 100103 was shipped DAYS ago and the DPD tracking tells me nothing."
    now = "That's not good enough. I want to make a formal complaint."
    slots, _ = await start(
        ValidateComplaintForm(),
        now,
        "complaint",
        events=[{"event": "user", "text": before, "parse_data": {}, "metadata": {}}],
    )
    assert slots["complaint_details"] == f"{before} That's not good enough."
    assert slots["complaint_category"] == "delivery"


async def test_a_newsletter_address_in_the_request_is_not_asked_again(services):
    slots, _ = await start(
        ValidateNewsletterForm(),
        "please sign up grace.h@example.fr for the newsletter",
        "newsletter_subscription",
    )
    assert slots["newsletter_email"] == "grace.h@example.fr"
    assert slots["newsletter_choice"] == "subscribe"


def test_a_correction_takes_back_the_old_count():
    assert corrected_quantity("Sorry, not two, three sets. My sister want one also.") == 3
    assert corrected_quantity("no wait make that two") == 2
    assert corrected_quantity("yes please") is None
    assert corrected_quantity("three sets") == 3
    assert corrected_quantity("Quick one before I confirm: will the invoice show VAT?") is None
    assert corrected_quantity("no, I don't want that one") is None
    assert corrected_quantity("we need one for the cafe and one for home") is None


async def test_a_new_count_at_the_confirmation_reads_the_order_back_again(services):
    dispatcher = CollectingDispatcher()
    events = await ValidatePlaceOrderForm().run(
        dispatcher,
        tracker(
            verified(
                order_product="Glass Storage Jars (set of 4)",
                order_sku="KIT-008",
                order_quantity="2",
                requested_slot="confirm_place_order",
            ),
            text="Sorry, not two, three sets.",
            intent="nlu_fallback",
            active_loop="place_order_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_quantity"] == "3"
    assert slots["confirm_place_order"] is None
    assert slots["requested_slot"] == "confirm_place_order"


async def test_the_answer_naming_the_detail_may_give_the_new_value_too(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateEditAccountForm().run(
        dispatcher,
        tracker(
            verified(requested_slot="contact_field"),
            text="Also the phone please, new number is 07700 900552",
            intent="inform",
            active_loop="edit_account_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["contact_field"] == "phone"
    assert slots["new_contact"] == "07700 900552"
    assert slots["requested_slot"] == "confirm_contact_change"


# The read-back of adding one Bamboo Chopping Board to Ada's unpaid order.
ITEM_CHANGE_READ_BACK = {
    "order_number": "100101",
    "order_status": "placed",
    "change_product": "Bamboo Chopping Board",
    "change_sku": "KIT-003",
    "change_quantity": "1",
    "requested_slot": "confirm_item_change",
}


async def test_a_new_count_at_an_item_change_confirmation_is_read_back_again(services):
    slots = await correct(
        ValidateChangeOrderForm(),
        ITEM_CHANGE_READ_BACK,
        "no wait make that two",
        intent="deny",
        mapped={"confirm_item_change": False},
    )
    assert slots["change_quantity"] == "2"
    assert slots["confirm_item_change"] is None
    assert slots["requested_slot"] == "confirm_item_change"


async def test_a_plain_no_at_an_item_change_confirmation_stays_a_no(services):
    slots = await correct(
        ValidateChangeOrderForm(),
        ITEM_CHANGE_READ_BACK,
        "no thanks",
        intent="deny",
        mapped={"confirm_item_change": False},
    )
    assert slots["confirm_item_change"] is False
    assert "change_quantity" not in slots


async def correct(form, slots: dict, text: str, intent: str = "inform", mapped=None):
    """Run `form` on `text` said while its read-back waits for a yes or a no."""
    run = await form.run(
        CollectingDispatcher(),
        tracker(
            verified(**slots),
            text=text,
            intent=intent,
            active_loop=form.form_name(),
            set_this_turn=mapped,
        ),
        DOMAIN,
    )
    return slot_events(run)


async def test_a_corrected_email_at_the_read_back_is_read_back_again(services):
    slots = await correct(
        ValidateEditAccountForm(),
        {
            "contact_field": "email",
            "new_contact": "grace.hopper@example.fr",
            "requested_slot": "confirm_contact_change",
        },
        "Pardon, I make a mistake, it is grace.h@example.fr and not grace.hopper",
    )
    assert slots["new_contact"] == "grace.h@example.fr"
    assert slots["confirm_contact_change"] is None
    assert slots["requested_slot"] == "confirm_contact_change"


async def test_a_taken_back_email_is_not_the_new_one(services):
    slots = await correct(
        ValidateEditAccountForm(),
        {
            "contact_field": "email",
            "new_contact": "ada.l@example.org",
            "requested_slot": "confirm_contact_change",
        },
        "no, it should be ada.lovelace@example.org, not ada.l@example.org",
        intent="deny",
        mapped={"confirm_contact_change": False},
    )
    assert slots["new_contact"] == "ada.lovelace@example.org"
    assert slots["confirm_contact_change"] is None


async def test_a_plain_yes_at_the_read_back_confirms(services):
    slots = await correct(
        ValidateEditAccountForm(),
        {
            "contact_field": "email",
            "new_contact": "grace.h@example.fr",
            "requested_slot": "confirm_contact_change",
        },
        "yes please",
        intent="affirm",
        mapped={"confirm_contact_change": True},
    )
    assert slots["confirm_contact_change"] is True
    assert "new_contact" not in slots


async def test_a_corrected_address_at_the_read_back_is_read_back_again(services):
    slots = await correct(
        ValidateChangeAddressForm(),
        {
            "order_number": "100101",
            "order_status": "placed",
            "new_address": "7 Beech Road, Didsbury, M20 6TQ, GB",
            "requested_slot": "confirm_address_change",
        },
        "sorry, it's 9 Beech Road, Didsbury, M20 6TQ",
        intent="deny",
        mapped={"confirm_address_change": False},
    )
    assert slots["new_address"] == "9 Beech Road, Didsbury, M20 6TQ, GB"
    assert slots["confirm_address_change"] is None
    assert slots["requested_slot"] == "confirm_address_change"


async def test_a_question_at_the_read_back_is_not_a_correction(services):
    slots = await correct(
        ValidateEditAccountForm(),
        {
            "contact_field": "email",
            "new_contact": "a.lovelace@example.net",
            "requested_slot": "confirm_contact_change",
        },
        "will mail to ada@example.com still reach me afterwards?",
        intent="ask_question",
    )
    assert "new_contact" not in slots


async def test_a_complaint_chosen_from_the_buttons_takes_the_words_they_answered(services):
    said = "The courier left my parcel out in the rain all afternoon and the box fell apart"
    slots, _ = await start(
        ValidateComplaintForm(),
        "Make a complaint",  # the button's words (utter_choice_complaint)
        "complaint",
        events=[
            {"event": "user", "text": said, "parse_data": {}, "metadata": {}},
            {
                "event": "bot",
                "text": "Do you mean one of these?",
                "metadata": {"utter_action": "utter_clarify"},
            },
        ],
    )
    assert slots["complaint_details"] == said
    assert slots["complaint_category"] == "delivery"


async def test_a_complaint_that_an_order_has_not_come_gives_the_order_status_after(services):
    text = "Order 100103 should have been here on Monday and it's Thursday now, not impressed."
    slots, _ = await start(ValidateComplaintForm(), text, "complaint")
    dispatcher = CollectingDispatcher()
    events = await ActionOpenComplaint().run(dispatcher, tracker(slots, text=text), DOMAIN)
    assert responses(dispatcher) == ["utter_complaint_logged_order"]
    [replayed] = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "track_order"
    assert replayed["parse_data"]["entities"][0]["value"] == "100103"


async def test_a_complaint_about_it_after_verification_takes_the_request_before(services):
    earlier = "my order 100103 is three days late and nobody tells me anything"
    answers = [
        user(earlier, "complaint"),
        {"event": "active_loop", "name": "track_order_form"},
        user("ada@example.com", "inform"),
        user("M4 6AB", "inform"),
        {"event": "active_loop", "name": None},
    ]
    slots, _ = await start(
        ValidateComplaintForm(),
        "I'd like to complain about it formally",
        "complaint",
        events=answers,
    )
    assert earlier in slots["complaint_details"]
    assert "M4 6AB" not in slots["complaint_details"]
