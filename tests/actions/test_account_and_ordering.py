"""Sign-up, contact details, deletion, saved addresses, placing and changing orders."""

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.account import (
    ActionCreateAccount,
    ActionDeleteAccount,
    ActionUpdateContact,
    ValidateDeleteAccountForm,
    ValidateEditAccountForm,
    ValidateSignUpForm,
    contact_field_of,
)
from actions.address import ActionSaveAddress
from actions.followups import ActionContinue
from actions.ordering import (
    ActionAskConfirmItemChange,
    ActionAskOrderProduct,
    ActionChangeOrder,
    ActionPlaceOrderOrChange,
    ValidateChangeOrderForm,
    ValidatePlaceOrderForm,
    chosen_from,
    quantity_in,
)
from crm.records.models import Address, Customer, Order
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker, verified

ALAN = 3  # one delivered order: nothing stops his account's deletion


def test_quantities_are_read_from_digits_and_words():
    assert quantity_in("2 kettles") == 2
    assert quantity_in("three please") == 3
    assert quantity_in("a pair of them") == 2
    assert quantity_in("I want to place an order", articles=False) is None
    assert quantity_in("an enamel kettle") == 1
    assert quantity_in("lots") is None


def test_offered_products_can_be_picked_by_name_or_position():
    choices = ["Cotton Bath Towel", "Linen Tea Towels (set of 3)"]
    assert chosen_from("cotton bath towel", choices) == "Cotton Bath Towel"
    assert chosen_from("the second one", choices) == "Linen Tea Towels (set of 3)"
    assert chosen_from("2", choices) == "Linen Tea Towels (set of 3)"
    assert chosen_from("the last one", choices) == "Linen Tea Towels (set of 3)"
    assert chosen_from("3", choices) is None
    assert chosen_from("the blue one", choices) is None


def test_the_contact_detail_is_read_from_the_request():
    assert contact_field_of("I need to update my mobile") == "phone"
    assert contact_field_of("change my e-mail") == "email"
    assert contact_field_of("new@example.com") == "email"
    assert contact_field_of("my surname") == "name"
    assert contact_field_of("my favourite colour") is None


async def test_sign_up_names_need_a_first_and_a_last_name(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateSignUpForm().run(
        dispatcher,
        tracker(text="Cher", active_loop="sign_up_form", set_this_turn={"signup_name": "Cher"}),
        DOMAIN,
    )
    assert slot_events(events)["signup_name"] is None
    assert responses(dispatcher) == ["utter_invalid_signup_name"]


async def test_a_declined_sign_up_creates_nothing(services, sessions):
    dispatcher = CollectingDispatcher()
    slots = {
        "signup_name": "Ann Other",
        "signup_email": "ann@example.net",
        "signup_phone": "none",
        "confirm_sign_up": False,
    }
    events = await ActionCreateAccount().run(dispatcher, tracker(slots), DOMAIN)
    assert responses(dispatcher) == ["utter_sign_up_cancelled"]
    assert all(value is None for value in slot_events(events).values())
    with sessions() as session:
        assert (
            session.scalars(select(Customer).where(Customer.email == "ann@example.net")).all() == []
        )


async def test_the_detail_to_edit_comes_from_the_request(services):
    events = await ValidateEditAccountForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="please change my phone number",
            intent="edit_account",
            active_loop="edit_account_form",
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["contact_field"] == "phone"
    assert slots["requested_slot"] == "new_contact"


async def test_a_confirmed_name_change_changes_the_name(services, sessions):
    dispatcher = CollectingDispatcher()
    slots = verified(contact_field="name", new_contact="Ada King", confirm_contact_change=True)
    await ActionUpdateContact().run(dispatcher, tracker(slots), DOMAIN)
    assert responses(dispatcher) == ["utter_contact_updated_name"]
    with sessions() as session:
        customer = session.get(Customer, 1)
        assert customer is not None
        assert (customer.first_name, customer.last_name) == ("Ada", "King")


async def test_a_phone_number_read_back_as_written_is_stored_in_full(services, sessions):
    dispatcher = CollectingDispatcher()
    slots = verified(contact_field="phone", new_contact="07700 900552", confirm_contact_change=True)
    await ActionUpdateContact().run(dispatcher, tracker(slots), DOMAIN)
    assert responses(dispatcher) == ["utter_contact_updated_phone"]
    with sessions() as session:
        customer = session.get(Customer, 1)
        assert customer is not None and customer.phone == "+447700900552"
    again = CollectingDispatcher()
    await ActionUpdateContact().run(again, tracker(slots), DOMAIN)
    assert responses(again) == ["utter_contact_unchanged_phone"]


async def test_a_new_number_after_a_change_of_details_changes_that_too(services):
    text = "Also the phone please, new number is 07700 900552"
    events = await ActionContinue().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text=text,
            intent="inform",
            entities=[
                {"entity": "order_number", "value": "900552", "start": 43, "end": 49},
                {"entity": "phone", "value": "07700 900552", "start": 37, "end": 49},
            ],
            events=[
                {
                    "event": "user",
                    "text": "change my surname to King",
                    "parse_data": {"intent": {"name": "edit_account"}},
                }
            ],
        ),
        DOMAIN,
    )
    (replayed,) = [e for e in events if e.get("event") == "user"]
    # The digits inside the phone number are not taken for an order number.
    assert replayed["parse_data"]["intent"]["name"] == "edit_account"


async def test_open_orders_end_the_deletion_form_before_any_confirmation(services):
    events = await ValidateDeleteAccountForm().run(
        CollectingDispatcher(),
        tracker(verified(), text="delete my account", active_loop="delete_account_form"),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["erasure_blockers"] == "100101, 100102 and 100103"
    assert slots["requested_slot"] is None


async def test_a_deletion_is_scheduled_once_confirmed(services, sessions):
    events = await ValidateDeleteAccountForm().run(
        CollectingDispatcher(),
        tracker(verified(ALAN), text="delete my account", active_loop="delete_account_form"),
        DOMAIN,
    )
    assert slot_events(events)["requested_slot"] == "confirm_delete"
    dispatcher = CollectingDispatcher()
    slots = verified(ALAN, erasure_blockers="none", confirm_delete=True)
    await ActionDeleteAccount().run(dispatcher, tracker(slots), DOMAIN)
    assert responses(dispatcher) == ["utter_erasure_scheduled"]
    with sessions() as session:
        assert session.get(Customer, ALAN).status == "erasure_scheduled"


async def test_a_saved_address_becomes_the_default_when_asked(services, sessions):
    dispatcher = CollectingDispatcher()
    slots = verified(
        address_to_save="7 Deansgate, Manchester, M3 1AB, GB",
        address_make_default=True,
        confirm_save_address=True,
    )
    await ActionSaveAddress().run(dispatcher, tracker(slots), DOMAIN)
    assert responses(dispatcher) == ["utter_address_saved_default"]
    with sessions() as session:
        default = session.scalars(
            select(Address).where(Address.customer_id == 1, Address.is_default.is_(True))
        ).one()
    assert (default.line1, default.postcode) == ("7 Deansgate", "M3 1AB")


async def test_a_vague_product_offers_buttons(services):
    events = await ValidatePlaceOrderForm().run(
        CollectingDispatcher(),
        tracker(
            text="a towel",
            active_loop="place_order_form",
            set_this_turn={"order_product": "a towel"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_product"] is None
    assert slots["product_choices"] == ["Cotton Bath Towel", "Linen Tea Towels (set of 3)"]
    dispatcher = CollectingDispatcher()
    await ActionAskOrderProduct().run(
        dispatcher, tracker({"product_choices": slots["product_choices"]}), DOMAIN
    )
    assert responses(dispatcher) == ["utter_ask_product_choice"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == slots["product_choices"]


async def test_removing_an_item_is_confirmed_then_recomputes_the_total(services, sessions):
    # Order 100101 (Ada, placed): 2 x Linen Tea Towels and 1 x Bamboo Chopping Board.
    base = verified(order_number="100101", order_status="placed")
    events = await ValidateChangeOrderForm().run(
        CollectingDispatcher(),
        tracker(
            base,
            text="remove the chopping board",
            active_loop="change_order_form",
            set_this_turn={"change_product": "remove the chopping board"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert (slots["change_sku"], slots["change_quantity"]) == ("KIT-003", "0")
    assert slots["requested_slot"] == "confirm_item_change"
    dispatcher = CollectingDispatcher()
    await ActionAskConfirmItemChange().run(dispatcher, tracker({**base, **slots}), DOMAIN)
    assert responses(dispatcher) == ["utter_ask_confirm_item_remove"]
    dispatcher = CollectingDispatcher()
    await ActionChangeOrder().run(
        dispatcher, tracker({**base, **slots, "confirm_item_change": True}), DOMAIN
    )
    assert responses(dispatcher) == ["utter_order_items_changed"]
    with sessions() as session:
        order = session.scalars(select(Order).where(Order.number == "100101")).one()
        assert [item.quantity for item in order.items] == [2]


async def test_ordering_something_into_a_named_order_changes_that_order(services):
    text = "can you ad a Bambo chopping board to order 100102"
    number = {"entity": "order_number", "value": "100102", "start": 43, "end": 49}
    events = await ActionPlaceOrderOrChange().run(
        CollectingDispatcher(),
        tracker(text=text, intent="place_order", entities=[number]),
        DOMAIN,
    )
    (replayed,) = [e for e in events if e.get("event") == "user"]
    assert replayed["parse_data"]["intent"]["name"] == "change_order"
    assert replayed["parse_data"]["entities"] == [number]


async def test_an_order_that_only_mentions_another_is_placed_as_usual(services):
    text = "I'd like 2 enamel kettles, the same as in 100102"
    events = await ActionPlaceOrderOrChange().run(
        CollectingDispatcher(),
        tracker(
            text=text,
            intent="place_order",
            entities=[{"entity": "order_number", "value": "100102"}],
        ),
        DOMAIN,
    )
    assert events == [{"event": "followup", "timestamp": None, "name": "place_order_form"}]
