"""Account skills that need no order: password reset and switching accounts.

Creating, editing and deleting an account follow in the next step of the catalogue.
"""

from __future__ import annotations

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
    call,
)
from actions.services import Services
from actions.verification import FAILURES, find_email
from crm.contacts import InvalidContact

RESET_EMAIL = "reset_email"


class ValidatePasswordResetForm(ShopFormValidation):
    """Asks for the account's email address; no verification, since nothing is revealed."""

    def name(self) -> str:
        """Validation action of `password_reset_form`."""
        return "validate_password_reset_form"

    async def validate_reset_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Anything that looks like an email address."""
        email = find_email(str(value or ""))
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
            return {RESET_EMAIL: None}
        return {RESET_EMAIL: email}


class ActionRequestPasswordReset(ShopAction):
    """`recover_password`: a reset link goes to the outbox if the account exists.

    The answer is the same either way, so the chat never tells whether an email has an account.
    """

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
        return [SlotSet(RESET_EMAIL, None)]

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """Forget the address."""
        return [SlotSet(RESET_EMAIL, None)]


class ActionSwitchAccount(ShopAction):
    """`switch_account`: forget who this conversation is verified as, so another can verify."""

    def name(self) -> str:
        """Used by the `switch_account` rule."""
        return "action_switch_account"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Clear the verification and say so."""
        was_verified = tracker.get_slot(CUSTOMER_ID) is not None
        dispatcher.utter_message(
            response="utter_switched_account" if was_verified else "utter_switch_not_verified"
        )
        return [
            SlotSet(CUSTOMER_ID, None),
            SlotSet(CUSTOMER_NAME, None),
            SlotSet(VERIFIED_UNTIL, None),
            SlotSet(FAILURES, 0),
        ]
