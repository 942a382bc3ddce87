"""Account skills: sign-up, password reset, contact details, deletion, switching accounts.

Sign-up and password reset are open to anyone and answer the same whether or not an email
address has an account; changing contact details and scheduling deletion need a verified
customer and a confirmation.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import (
    CUSTOMER_ID,
    CUSTOMER_NAME,
    VERIFIED_UNTIL,
    ShopAction,
    ShopFormValidation,
    TaskAction,
    call,
    latest_intent,
    signed_in_customer,
    verified_customer,
    yes_or_no,
)
from actions.context import CONTEXT_ORDER
from actions.form_answers import answer_to, looks_like_name
from actions.responses import day
from actions.services import Services, get_services
from actions.verification import (
    EMAIL,
    FAILURES,
    POSTCODE,
    VerifiedForm,
    find_email,
    verified_or_explain,
)
from crm.records.accounts import EmailTaken, OrdersInFlight, ProfileView
from crm.records.contacts import (
    InvalidContact,
    display_phone,
    find_phone,
    normalise_email,
    normalise_name,
    normalise_phone,
)

RESET_EMAIL = "reset_email"
SIGNUP_NAME = "signup_name"
SIGNUP_EMAIL = "signup_email"
SIGNUP_PHONE = "signup_phone"
CONFIRM_SIGN_UP = "confirm_sign_up"
CONTACT_FIELD = "contact_field"
NEW_CONTACT = "new_contact"
CONFIRM_CONTACT = "confirm_contact_change"
ERASURE_BLOCKERS = "erasure_blockers"
CONFIRM_DELETE = "confirm_delete"
NO_PHONE = "none"
NOTHING_BLOCKS = "none"

# What to say when a sign-up detail turns out to be invalid, per field.
INVALID_SIGN_UP = {
    "name": "utter_invalid_signup_name",
    "email": "utter_invalid_email",
    "phone": "utter_invalid_phone",
}
_SKIP = re.compile(r"^\s*(no|nope|skip|none|no thanks|rather not|i'?d rather not|n/?a)\b", re.I)
_PHONE_WORDS = re.compile(r"\b(phone|mobile|number|cell|telephone|tel)\b", re.I)
_EMAIL_WORDS = re.compile(r"\b(e-?mail|address)\b", re.I)
_EMAILS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# "c@d.com, not a@b.com": an address the customer takes back.
_TAKEN_BACK_EMAIL = re.compile(r"\b(?:not|instead of|rather than)\s+\S+@\S+", re.I)
_NAME_WORDS = re.compile(r"\b(name|surname|(?:first|last|family|maiden|married) ?name)\b", re.I)
_SURNAME_WORDS = re.compile(r"\b(surname|(?:last|family|married) ?name)\b", re.I)
# A name as customers write it: one to three capitalised words ("Ada King", "O'Neill").
_CAPITALISED = r"[A-Z][A-Za-z'’-]+(?:\s+[A-Z][A-Za-z'’-]+){0,2}"
# "to Ada King", "it is Ada King", "now King": the new name follows one of these words.
_NEW_NAME = re.compile(rf"\b(?:to|is|it's|now|be|as|become)\s+({_CAPITALISED})")
# "..., not Lovelace anymore": a name the customer is leaving behind.
_TAKEN_BACK_NAME = re.compile(rf"\b(?:not|no longer|instead of|rather than|from)\s+{_CAPITALISED}")
NAME = "name"


class ValidatePasswordResetForm(ShopFormValidation):
    """Asks for the account's email address; no verification, since nothing is revealed."""

    def name(self) -> str:
        """Validation action of `password_reset_form`."""
        return "validate_password_reset_form"

    async def extract_reset_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The address asked for; "the reset mail never came" is answered, not taken for one."""
        return answer_to(RESET_EMAIL, tracker, lambda text: find_email(text) is not None)

    async def validate_reset_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Anything that looks like an email address."""
        email = find_email(str(value or ""))
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
            return {RESET_EMAIL: None}
        return {RESET_EMAIL: email}


class ActionRequestPasswordReset(TaskAction):
    """`recover_password`: a reset link goes to the outbox if the account exists.

    The answer is the same either way, so the chat never tells whether an email has an account.
    """

    forgets = (RESET_EMAIL,)

    def name(self) -> str:
        """Runs when `password_reset_form` completes."""
        return "action_request_password_reset"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Queue the link (if any) and say what happens next."""
        email = str(tracker.get_slot(RESET_EMAIL) or "")
        try:
            await call(
                services.accounts.request_password_reset,
                email,
                conversation_id=tracker.sender_id,
            )
        except InvalidContact:
            dispatcher.utter_message(response="utter_invalid_email")
        else:
            dispatcher.utter_message(response="utter_password_reset_sent")
        return self.forget()


class ActionSwitchAccount(ShopAction):
    """`switch_account`: forget who this conversation is verified as, so another can verify."""

    ends_request = True

    def name(self) -> str:
        """Used by the `switch_account` rule."""
        return "action_switch_account"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Clear the verification and say so; a website sign-in can only end on the website."""
        was_verified = tracker.get_slot(CUSTOMER_ID) is not None
        if signed_in_customer(tracker) is not None:
            response = "utter_switch_signed_in"
        elif was_verified:
            response = "utter_switched_account"
        else:
            response = "utter_switch_not_verified"
        dispatcher.utter_message(response=response)
        return [
            SlotSet(CUSTOMER_ID, None),
            SlotSet(CUSTOMER_NAME, None),
            SlotSet(VERIFIED_UNTIL, None),
            SlotSet(FAILURES, 0),
            # The order the conversation was about was the other account's.
            SlotSet(CONTEXT_ORDER, None),
        ]


# --- create_account -----------------------------------------------------------------------


class ValidateSignUpForm(ShopFormValidation):
    """Name, email, an optional phone number and a confirmation; no verification needed."""

    def name(self) -> str:
        """Validation action of `sign_up_form`."""
        return "validate_sign_up_form"

    async def extract_signup_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The name asked for; "it says my email is already in use??" is answered instead."""
        return answer_to(SIGNUP_NAME, tracker, looks_like_name)

    async def extract_signup_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The address asked for, unless the message is a question or another task's words."""
        return answer_to(SIGNUP_EMAIL, tracker, lambda text: find_email(text) is not None)

    async def validate_signup_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A first and a last name, each a valid name."""
        parts = str(value or "").split()
        try:
            if len(parts) < 2:
                raise InvalidContact("name", "first and last name needed")
            first = normalise_name(parts[0])
            last = normalise_name(" ".join(parts[1:]))
        except InvalidContact:
            dispatcher.utter_message(response="utter_invalid_signup_name")
            return {SIGNUP_NAME: None}
        return {SIGNUP_NAME: f"{first} {last}"}

    async def validate_signup_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A valid email address, normalised."""
        try:
            return {SIGNUP_EMAIL: normalise_email(find_email(str(value or "")) or str(value))}
        except InvalidContact:
            dispatcher.utter_message(response="utter_invalid_email")
            return {SIGNUP_EMAIL: None}

    async def validate_signup_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A valid phone number (E.164), or "no" to leave it out."""
        text = str(value or "")
        if _SKIP.match(text) or latest_intent(tracker) == "deny":
            return {SIGNUP_PHONE: NO_PHONE}
        settings = get_services().settings
        try:
            return {SIGNUP_PHONE: normalise_phone(text, settings.default_phone_region)}
        except InvalidContact:
            dispatcher.utter_message(response="utter_invalid_phone")
            return {SIGNUP_PHONE: None}

    async def validate_confirm_sign_up(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_SIGN_UP, value)


SIGN_UP_SLOTS = (SIGNUP_NAME, SIGNUP_EMAIL, SIGNUP_PHONE, CONFIRM_SIGN_UP)


class ActionCreateAccount(TaskAction):
    """`create_account`: a pending account and an activation email, after confirmation.

    The answer is the same when the address already has an account (that address gets an
    email saying so instead), so the chat never reveals who is a customer.
    """

    forgets = SIGN_UP_SLOTS

    def name(self) -> str:
        """Runs when `sign_up_form` completes."""
        return "action_create_account"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Create, or say that nothing was created."""
        done = self.forget()
        if tracker.get_slot(CONFIRM_SIGN_UP) is not True:
            dispatcher.utter_message(response="utter_sign_up_cancelled")
            return done
        first, _, last = str(tracker.get_slot(SIGNUP_NAME) or "").partition(" ")
        phone = tracker.get_slot(SIGNUP_PHONE)
        try:
            request = await call(
                services.accounts.create_account,
                first_name=first,
                last_name=last,
                email=str(tracker.get_slot(SIGNUP_EMAIL) or ""),
                phone=None if phone in (None, NO_PHONE) else str(phone),
                conversation_id=tracker.sender_id,
                actor="bot",
            )
        except InvalidContact as invalid:
            dispatcher.utter_message(response=INVALID_SIGN_UP[invalid.field])
        else:
            dispatcher.utter_message(
                response="utter_sign_up_requested", email_masked=request.email_masked
            )
        return done


# --- edit_account -------------------------------------------------------------------------


def contact_field_of(text: str) -> str | None:
    """Which account detail the customer's words name: "phone", "email", "name", or None."""
    if _PHONE_WORDS.search(text):
        return "phone"
    if _EMAIL_WORDS.search(text) or "@" in text:
        return "email"
    if _NAME_WORDS.search(text):
        return NAME
    return None


def new_name_in(text: str) -> str | None:
    """The new name a request gives ("it is Ada King, not Lovelace anymore" -> "Ada King").

    One word after "surname" or "last name" is the surname alone. A name the customer leaves
    behind ("not Lovelace", "from Lovelace") is never the new one.
    """
    found = _NEW_NAME.findall(_TAKEN_BACK_NAME.sub(" ", text))
    if not found:
        return None
    name = " ".join(str(found[-1]).split())
    if len(name.split()) == 1 and not _SURNAME_WORDS.search(text):
        return None  # "my name is Ada": who they are, not what to change it to
    return name


def split_name(value: str, current_first: str) -> tuple[str, str]:
    """First and last name of a new name; a surname alone keeps the first name."""
    parts = value.split()
    if len(parts) == 1:
        return current_first, normalise_name(parts[0])
    return normalise_name(parts[0]), normalise_name(" ".join(parts[1:]))


class ValidateEditAccountForm(VerifiedForm):
    """Which detail (email, phone or name), verification, the new value, then a confirmation."""

    leading_slots = (CONTACT_FIELD,)
    details_with = (CONTACT_FIELD,)
    confirmation = CONFIRM_CONTACT

    def name(self) -> str:
        """Validation action of `edit_account_form`."""
        return "validate_edit_account_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """The new value and the confirmation."""
        return [NEW_CONTACT, CONFIRM_CONTACT]

    async def extract_contact_field(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the detail from the request itself ("change my phone number") or the answer."""
        if tracker.get_slot(CONTACT_FIELD) is not None:
            return {}
        asked = tracker.get_slot("requested_slot") == CONTACT_FIELD
        if not asked and latest_intent(tracker) != "edit_account":
            return {}
        field = contact_field_of(str(tracker.latest_message.get("text") or ""))
        if field is None and asked:
            dispatcher.utter_message(response="utter_invalid_contact_field")
        return {CONTACT_FIELD: field}

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """The new address, number or name, when the request gives it.

        "change my email to a@b.com", "my surname is King now". With two addresses ("from
        a@b.com to c@d.com") the new one is the last, unless it is taken back ("c@d.com, not
        a@b.com").
        """
        field = tracker.get_slot(CONTACT_FIELD)
        try:
            if field == "phone":
                region = get_services().settings.default_phone_region
                phone = find_phone(text, region)
                return {NEW_CONTACT: display_phone(phone, region) if phone else None}
            if field == NAME:
                return {NEW_CONTACT: new_name_in(text)}
            emails = _EMAILS.findall(_TAKEN_BACK_EMAIL.sub(" ", text))
            if field == "email" and emails:
                return {NEW_CONTACT: normalise_email(emails[-1])}
        except InvalidContact:
            pass
        return {}

    async def validate_contact_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only the details this skill can change."""
        return {CONTACT_FIELD: value if value in ("email", "phone", NAME) else None}

    async def validate_new_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Normalise the new email address, phone number or name; re-ask naming what is wrong.

        A phone number is kept as the customer writes it at home, so the read-back shows it.
        """
        text = str(value or "")
        field = tracker.get_slot(CONTACT_FIELD)
        try:
            if field == "phone":
                region = get_services().settings.default_phone_region
                return {NEW_CONTACT: display_phone(normalise_phone(text, region), region)}
            if field == NAME:
                name = new_name_in(text) or text
                split_name(name, "-")  # raises for anything that is not a name
                return {NEW_CONTACT: " ".join(name.split())}
            return {NEW_CONTACT: normalise_email(find_email(text) or text)}
        except InvalidContact as invalid:
            dispatcher.utter_message(response=f"utter_invalid_{invalid.field}")
            return {NEW_CONTACT: None}

    async def validate_confirm_contact_change(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_CONTACT, value)


EDIT_SLOTS = (CONTACT_FIELD, NEW_CONTACT, CONFIRM_CONTACT, EMAIL, POSTCODE)


class ActionUpdateContact(TaskAction):
    """`edit_account`: change the email address, phone number or name, audited."""

    forgets = EDIT_SLOTS

    def name(self) -> str:
        """Runs when `edit_account_form` completes."""
        return "action_update_contact"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Change it, keep it, or say why not."""
        done = self.forget()
        customer_id = verified_or_explain(dispatcher, tracker)
        if customer_id is None:
            return done
        field = str(tracker.get_slot(CONTACT_FIELD) or "email")
        value = str(tracker.get_slot(NEW_CONTACT) or "")
        if tracker.get_slot(CONFIRM_CONTACT) is not True or not value:
            dispatcher.utter_message(response="utter_contact_kept")
            return done
        before = await call(services.accounts.get_profile, customer_id)
        try:
            change = _change(field, value, before)
            if not change:
                dispatcher.utter_message(response=f"utter_contact_unchanged_{field}", value=value)
                return done
            await call(
                services.accounts.update_contact,
                customer_id,
                **change,
                actor="bot",
                conversation_id=tracker.sender_id,
            )
        except EmailTaken:
            dispatcher.utter_message(response="utter_email_taken")
        except InvalidContact as invalid:
            dispatcher.utter_message(response=f"utter_invalid_{invalid.field}")
        else:
            dispatcher.utter_message(response=f"utter_contact_updated_{field}", value=value)
        return done


def _change(field: str, value: str, before: ProfileView) -> dict[str, str]:
    """What `update_contact` is asked to change; empty when the account already holds it."""
    if field == NAME:
        first, last = split_name(value, before.first_name)
        return (
            {}
            if (first, last) == (before.first_name, before.last_name)
            else {
                "first_name": first,
                "last_name": last,
            }
        )
    if field == "phone":
        region = get_services().settings.default_phone_region
        return {} if normalise_phone(value, region) == before.phone else {"phone": value}
    return {} if value == before.email else {"email": value}


# --- delete_account -----------------------------------------------------------------------


async def erasure_blockers(customer_id: int) -> str:
    """The orders that stop an erasure, as customers read them ("100101 and 100102")."""
    numbers = await call(get_services().accounts.orders_in_flight, customer_id)
    return _and_list(numbers) if numbers else NOTHING_BLOCKS


def _and_list(items: tuple[str, ...] | list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


class ValidateDeleteAccountForm(VerifiedForm):
    """Verification, a check for orders in progress, then a confirmation.

    The check runs once the customer is verified (right after verification, or at the start
    for an already verified conversation), so a customer who cannot delete the account yet is
    told why instead of being asked to confirm.
    """

    def name(self) -> str:
        """Validation action of `delete_account_form`."""
        return "validate_delete_account_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """The check, then the confirmation unless something blocks the erasure."""
        blockers = tracker.get_slot(ERASURE_BLOCKERS)
        if blockers in (None, NOTHING_BLOCKS):
            return [ERASURE_BLOCKERS, CONFIRM_DELETE]
        return [ERASURE_BLOCKERS]

    async def after_verification(
        self, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Check for orders in progress as soon as the customer is known."""
        return {ERASURE_BLOCKERS: await erasure_blockers(customer_id)}

    async def extract_erasure_blockers(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """For a conversation verified before this request, check at once."""
        customer_id = verified_customer(tracker)
        if customer_id is None or tracker.get_slot(ERASURE_BLOCKERS) is not None:
            return {}
        return {ERASURE_BLOCKERS: await erasure_blockers(customer_id)}

    async def validate_erasure_blockers(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Set only by this action server, from the records: kept as it is."""
        return {ERASURE_BLOCKERS: value}

    async def validate_confirm_delete(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_DELETE, value)


DELETE_SLOTS = (ERASURE_BLOCKERS, CONFIRM_DELETE, EMAIL, POSTCODE)


class ActionDeleteAccount(TaskAction):
    """`delete_account`: schedule the erasure of the customer's data, after confirmation."""

    forgets = DELETE_SLOTS

    def name(self) -> str:
        """Runs when `delete_account_form` completes."""
        return "action_delete_account"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Schedule, keep, or explain which orders stand in the way."""
        done = self.forget()
        customer_id = verified_or_explain(dispatcher, tracker)
        if customer_id is None:
            return done
        blockers = tracker.get_slot(ERASURE_BLOCKERS)
        if blockers not in (None, NOTHING_BLOCKS):
            dispatcher.utter_message(response="utter_delete_blocked", orders=blockers)
            return done
        if tracker.get_slot(CONFIRM_DELETE) is not True:
            dispatcher.utter_message(response="utter_delete_kept")
            return done
        try:
            erasure = await call(
                services.accounts.schedule_erasure,
                customer_id,
                actor="bot",
                conversation_id=tracker.sender_id,
            )
        except OrdersInFlight as blocked:
            # An order was placed while the customer was confirming.
            dispatcher.utter_message(
                response="utter_delete_blocked", orders=_and_list(blocked.numbers)
            )
        else:
            dispatcher.utter_message(response="utter_erasure_scheduled", due_on=day(erasure.due_on))
        return done
