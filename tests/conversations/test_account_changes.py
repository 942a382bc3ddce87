"""create_account, edit_account, delete_account and set_up_shipping_address, with the records."""

import uuid

import pytest
from sqlalchemy import select

from crm.records.models import Address, AuditLog, Customer, OutboxMessage
from tests.conversations.conftest import new_customer, new_sender, said, verify

pytestmark = pytest.mark.conversation


def customer(agent, email):
    with agent.sessions() as session:
        return session.scalars(select(Customer).where(Customer.email == email)).one_or_none()


def outbox(agent, email):
    with agent.sessions() as session:
        return [
            m.kind
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email))
        ]


# --- create_account ---------------------------------------------------------------------------


def test_sign_up_creates_a_pending_account_and_an_activation_email(agent):
    email = f"mary-{uuid.uuid4().hex[:8]}@example.com"
    sender = new_sender()
    assert said(agent.say(sender, "I'd like to open an account"), "utter_ask_signup_name")
    assert said(agent.say(sender, "Mary Seacole"), "utter_ask_signup_email")
    assert said(agent.say(sender, email.upper()), "utter_ask_signup_phone")
    reply = agent.say(sender, "07700 900123")
    assert said(reply, "utter_ask_confirm_sign_up")
    assert "+447700900123" in reply[-1]["text"]
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_sign_up_requested")
    created = customer(agent, email)
    assert (created.first_name, created.last_name, created.phone, created.status) == (
        "Mary",
        "Seacole",
        "+447700900123",
        "pending_activation",
    )
    assert outbox(agent, email) == ["account_activation"]


def test_sign_up_asks_again_precisely_and_can_be_declined(agent):
    email = f"kit-{uuid.uuid4().hex[:8]}@example.com"
    sender = new_sender()
    agent.say(sender, "sign me up please")
    reply = agent.say(sender, "Kit")
    assert said(reply, "utter_invalid_signup_name")
    assert said(reply, "utter_ask_signup_name")
    agent.say(sender, "Kit Marlowe")
    reply = agent.say(sender, "kit@nowhere")
    assert said(reply, "utter_invalid_email")
    agent.say(sender, email)
    reply = agent.say(sender, "12345")
    assert said(reply, "utter_invalid_phone")
    reply = agent.say(sender, "skip")
    assert said(reply, "utter_ask_confirm_sign_up")
    assert "phone" not in reply[-1]["text"]
    assert said(agent.say(sender, "no"), "utter_sign_up_cancelled")
    assert customer(agent, email) is None
    assert outbox(agent, email) == []


def test_signing_up_with_a_known_address_reveals_nothing(agent):
    sender = new_sender()
    agent.say(sender, "create an account for me")
    agent.say(sender, "Alan Turing")
    agent.say(sender, "alan@example.com")
    agent.say(sender, "no")
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_sign_up_requested")  # the same answer as for a new address
    with agent.sessions() as session:
        assert (
            len(session.scalars(select(Customer).where(Customer.last_name == "Turing")).all()) == 1
        )
    assert "account_exists" in outbox(agent, "alan@example.com")


# --- edit_account -----------------------------------------------------------------------------


def test_change_the_phone_number(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "I need to update my phone number")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_new_contact")
    reply = agent.say(sender, "+44 7700 900456")
    assert said(reply, "utter_ask_confirm_contact_change")
    assert said(agent.say(sender, "yes"), "utter_contact_updated_phone")
    assert customer(agent, shopper.email).phone == "+447700900456"
    with agent.sessions() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.conversation_id == sender)).one()
    assert audit.after == {"phone": "+447700900456"}


def test_an_email_address_of_another_account_is_refused(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "change my email address")
    verify(agent, sender, shopper)
    agent.say(sender, "grace@example.org")
    assert said(agent.say(sender, "yes"), "utter_email_taken")
    assert customer(agent, shopper.email) is not None


def test_which_detail_is_asked_and_a_bad_value_asked_again(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    assert said(agent.say(sender, "update my account details"), "utter_ask_contact_field")
    assert said(agent.say(sender, "my email address"), "utter_ask_verify_email")
    verify(agent, sender, shopper)
    reply = agent.say(sender, "not-an-email")
    assert said(reply, "utter_invalid_email")
    assert said(reply, "utter_ask_new_contact")
    new = f"sam-{uuid.uuid4().hex[:8]}@example.com"
    assert said(agent.say(sender, new), "utter_ask_confirm_contact_change")
    assert said(agent.say(sender, "no"), "utter_contact_kept")
    assert customer(agent, new) is None


# --- delete_account ---------------------------------------------------------------------------


def test_delete_an_account_after_confirmation(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "please delete my account")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_confirm_delete")
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_erasure_scheduled")
    deleted = customer(agent, shopper.email)
    assert deleted.status == "erasure_scheduled"
    assert deleted.erasure_due_at.strftime("%-d %b %Y") in reply[-1]["text"]
    assert "erasure_scheduled" in outbox(agent, shopper.email)


def test_orders_in_progress_block_a_deletion(agent):
    shopper = new_customer(agent, [("HOM-005", 2)])
    sender = new_sender()
    agent.say(sender, "I want to close my account")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_delete_blocked")
    assert not said(reply, "utter_ask_confirm_delete")
    assert customer(agent, shopper.email).status == "active"


def test_a_customer_who_says_no_keeps_the_account(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "remove my account")
    verify(agent, sender, shopper)
    assert said(agent.say(sender, "no"), "utter_delete_kept")
    assert customer(agent, shopper.email).status == "active"


# --- set_up_shipping_address ------------------------------------------------------------------


def saved(agent, shopper):
    with agent.sessions() as session:
        return [
            (a.line1, a.postcode, a.is_default)
            for a in session.scalars(
                select(Address).where(Address.customer_id == shopper.id).order_by(Address.id)
            )
        ]


def test_save_a_new_default_address(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "could you add a new delivery address to my account please")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_address_to_save")
    assert said(
        agent.say(sender, "7 Deansgate, Manchester, m3 1ab"), "utter_ask_address_make_default"
    )
    reply = agent.say(sender, "yes")
    assert said(reply, "utter_ask_confirm_save_address")
    assert "M3 1AB" in reply[-1]["text"]
    assert said(agent.say(sender, "yes"), "utter_address_saved_default")
    assert saved(agent, shopper) == [
        ("12 Rose Street", "LS1 4AB", False),
        ("7 Deansgate", "M3 1AB", True),
    ]


def test_a_bad_postcode_is_asked_again_and_an_extra_address_saved(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "save another address to my account")
    verify(agent, sender, shopper)
    reply = agent.say(sender, "1 Hauptstrasse, Berlin, 1011, Germany")
    assert said(reply, "utter_invalid_address_postcode")
    assert said(reply, "utter_ask_address_to_save")
    agent.say(sender, "1 Hauptstrasse, Berlin, 10115, Germany")
    agent.say(sender, "no")
    assert said(agent.say(sender, "yes"), "utter_address_saved_extra")
    assert saved(agent, shopper)[1] == ("1 Hauptstrasse", "10115", False)


def test_an_address_is_not_saved_without_confirmation(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "set up a shipping address")
    verify(agent, sender, shopper)
    agent.say(sender, "3 Kings Parade, Cambridge, CB2 1SJ")
    agent.say(sender, "yes")
    assert said(agent.say(sender, "no"), "utter_address_not_saved")
    assert saved(agent, shopper) == [("12 Rose Street", "LS1 4AB", True)]


# --- details given in the request (issue 29) ----------------------------------------------------


def test_a_new_phone_number_in_the_request_is_only_confirmed(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "hiya, could you switch my mobile to 07700 900789 please")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_confirm_contact_change")
    assert not said(reply, "utter_ask_new_contact")
    assert "07700 900789" in reply[-1]["text"]  # read back as written; stored in full
    assert said(agent.say(sender, "yes"), "utter_contact_updated_phone")
    assert customer(agent, shopper.email).phone == "+447700900789"


def test_having_moved_saves_the_address_in_the_request_as_the_default(agent):
    shopper = new_customer(agent)
    sender = new_sender()
    agent.say(sender, "we've moved house, add my new home address: 9 Harbour Lane, Bristol BS1 5TT")
    reply = verify(agent, sender, shopper)
    assert said(reply, "utter_ask_confirm_save_address")
    assert "9 Harbour Lane" in reply[-1]["text"] and "BS1 5TT" in reply[-1]["text"]
    assert said(agent.say(sender, "yes"), "utter_address_saved_default")
    assert saved(agent, shopper) == [
        ("12 Rose Street", "LS1 4AB", False),
        ("9 Harbour Lane", "BS1 5TT", True),
    ]
