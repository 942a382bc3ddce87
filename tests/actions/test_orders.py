import time

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.address import ActionChangeShippingAddress, ValidateChangeAddressForm
from actions.orders import ActionCancelOrder, ActionTrackOrder, ValidateCancelOrderForm
from crm.records.db import make_engine, make_session_factory
from crm.records.models import AuditLog, Order
from tests.actions.conftest import DOMAIN, install, responses, slot_events, tracker, verified


async def test_unverified_customer_is_asked_for_email_after_the_order_number(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelOrderForm().run(
        dispatcher,
        tracker(
            text="cancel 100102",
            intent="cancel_order",
            active_loop="cancel_order_form",
            set_this_turn={"order_number": "100102"},
        ),
        DOMAIN,
    )
    assert slot_events(events)["order_number"] == "100102"
    assert slot_events(events)["requested_slot"] == "verify_email"
    assert responses(dispatcher) == []


async def test_a_wrong_postcode_clears_both_credentials_and_counts(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelOrderForm().run(
        dispatcher,
        tracker(
            {"order_number": "100102", "verify_email": "ada@example.com"},
            text="SW1A 1AA",
            active_loop="cancel_order_form",
            set_this_turn={"verify_postcode": "SW1A 1AA"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert (slots["verify_email"], slots["verify_postcode"]) == (None, None)
    assert slots["verification_failures"] == 1
    assert slots["requested_slot"] == "verify_email"
    assert responses(dispatcher) == ["utter_verification_failed"]


async def test_verification_sets_identity_and_asks_to_confirm_an_open_order(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelOrderForm().run(
        dispatcher,
        tracker(
            {"order_number": "100102", "verify_email": "ADA@example.com"},
            text="m46ab",
            active_loop="cancel_order_form",
            set_this_turn={"verify_postcode": "m46ab"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["customer_id"] == 1
    assert slots["verified_until"] > time.time() + 60
    assert slots["order_status"] == "paid"
    assert slots["requested_slot"] == "confirm_cancel"
    assert slots["verify_email"] is None  # credentials are not kept
    assert responses(dispatcher) == ["utter_verified"]


async def test_an_expired_verification_asks_again(services):
    stale = {"customer_id": 1, "verified_until": time.time() - 1}
    events = await ValidateCancelOrderForm().run(
        CollectingDispatcher(),
        tracker(
            stale,
            text="100102",
            active_loop="cancel_order_form",
            set_this_turn={"order_number": "100102"},
        ),
        DOMAIN,
    )
    assert slot_events(events)["requested_slot"] == "verify_email"


def cancel_as_website_shopper(metadata, events=None):
    return ValidateCancelOrderForm().run(
        CollectingDispatcher(),
        tracker(
            text="cancel 100102",
            intent="cancel_order",
            active_loop="cancel_order_form",
            set_this_turn={"order_number": "100102"},
            metadata=metadata,
            events=events,
        ),
        DOMAIN,
    )


async def test_a_shopper_the_website_signed_in_is_not_asked_to_verify(services):
    slots = slot_events(await cancel_as_website_shopper({"signed_in_customer_id": 1}))
    assert slots["order_status"] == "paid"
    assert slots["requested_slot"] == "confirm_cancel"


async def test_only_the_latest_message_of_a_signed_in_shopper_counts(services):
    # Signed in earlier in the conversation, signed out now: verification again.
    earlier = [{"event": "user", "text": "hi", "metadata": {"signed_in_customer_id": 1}}]
    slots = slot_events(await cancel_as_website_shopper({}, events=earlier))
    assert slots["requested_slot"] == "verify_email"
    slots = slot_events(await cancel_as_website_shopper({"signed_in_customer_id": "1"}))
    assert slots["requested_slot"] == "verify_email"


async def test_someone_elses_order_stays_hidden_from_a_signed_in_shopper(services):
    # Grace (customer 2) signed in on the website asks for Ada's order.
    slots = slot_events(await cancel_as_website_shopper({"signed_in_customer_id": 2}))
    assert slots["order_number"] is None
    assert slots["requested_slot"] != "confirm_cancel"


async def test_a_shipped_order_ends_the_form_without_asking_to_confirm(services):
    events = await ValidateCancelOrderForm().run(
        CollectingDispatcher(),
        tracker(
            verified(),
            text="100103",
            active_loop="cancel_order_form",
            set_this_turn={"order_number": "100103"},
        ),
        DOMAIN,
    )
    slots = slot_events(events)
    assert slots["order_status"] == "shipped"
    assert slots["requested_slot"] is None


async def test_cancel_writes_the_order_and_the_audit_in_one_go(services, sessions):
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder().run(
        dispatcher,
        tracker(verified(order_number="100101", order_status="placed", confirm_cancel=True)),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_cancelled"]
    assert dispatcher.messages[0]["status"] == "cancelled"
    assert slot_events(events)["order_number"] is None
    with sessions() as session:
        assert session.scalar(select(Order.status).where(Order.number == "100101")) == "cancelled"
        assert session.scalars(select(AuditLog)).one().conversation_id == "action-test"


async def test_an_order_that_shipped_while_confirming_is_not_cancelled(services):
    dispatcher = CollectingDispatcher()
    await ActionCancelOrder().run(
        dispatcher,
        # The form saw "paid"; the records now say "shipped".
        tracker(verified(order_number="100103", order_status="paid", confirm_cancel=True)),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_cancel_not_possible_shipped"]


async def test_track_answers_with_the_status_response(services):
    dispatcher = CollectingDispatcher()
    await ActionTrackOrder().run(
        dispatcher, tracker(verified(order_number="100104", order_status="delivered")), DOMAIN
    )
    assert responses(dispatcher) == ["utter_order_status_delivered"]
    assert dispatcher.messages[0]["delivered_on"]


async def test_invalid_address_names_the_wrong_part(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateChangeAddressForm().run(
        dispatcher,
        tracker(
            verified(order_number="100101", order_status="placed"),
            text="12 Rose Street, Leeds, 99999, UK",
            active_loop="change_address_form",
            set_this_turn={"new_address": "12 Rose Street, Leeds, 99999, UK"},
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_invalid_address_postcode"]
    assert slot_events(events)["requested_slot"] == "new_address"


async def test_a_failing_database_gives_an_apology_with_an_error_id_and_no_details(
    services, tmp_path, caplog
):
    # A database without its tables: every query fails, as when the server is gone.
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    install(services.settings, broken, services.knowledge)
    dispatcher = CollectingDispatcher()
    events = await ActionChangeShippingAddress().run(
        dispatcher,
        tracker(
            verified(
                order_number="100101",
                order_status="placed",
                new_address="7 Deansgate, Manchester, M3 1AB, GB",
                confirm_address_change=True,
            )
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_technical_problem"]
    assert len(dispatcher.messages[0]["error_id"]) == 8
    assert slot_events(events)["order_number"] is None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert dispatcher.messages[0]["error_id"] in logged
    assert "action-test" in logged  # the conversation, to find it


async def test_a_form_whose_validation_fails_apologises_and_asks_again(services, tmp_path):
    # The order lookup after verification fails (a database without its tables).
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    install(services.settings, broken, services.knowledge)
    dispatcher = CollectingDispatcher()
    events = await ValidateChangeAddressForm().run(
        dispatcher,
        tracker(
            verified(requested_slot="order_number"),
            text="100101",
            active_loop="change_address_form",
            set_this_turn={"order_number": "100101"},
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_technical_problem"]
    assert slot_events(events) == {"order_number": None}
