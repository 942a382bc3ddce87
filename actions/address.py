"""Addresses: an unshipped order's delivery address, and the addresses saved on the account.

`change_shipping_address` re-addresses one order; `set_up_shipping_address` saves an address
for future orders, optionally as the default.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import TaskAction, call, verified_customer, yes_or_no
from actions.corrections import swap_correction
from actions.order_helpers import ORDER_SLOTS, OrderTask, order_details, unverified_or_unknown
from actions.services import Services
from actions.verification import (
    EMAIL,
    ORDER_NUMBER,
    ORDER_STATUS,
    POSTCODE,
    VerifiedForm,
    VerifiedOrderForm,
    verified_or_explain,
)
from crm.records.addresses import InvalidAddress, find_address, parse_address
from crm.records.errors import AddressChangeNotAllowed, OrderNotFound
from crm.records.views import is_changeable

NEW_ADDRESS = "new_address"
CONFIRM_ADDRESS = "confirm_address_change"
ADDRESS_TO_SAVE = "address_to_save"
MAKE_DEFAULT = "address_make_default"
CONFIRM_SAVE = "confirm_save_address"


# How a customer says the saved address replaces the default ("for future orders": the default
# is where new orders go), or joins it.
_AS_DEFAULT = re.compile(
    r"\b(default|main|primary|moved|moving|relocat\w*|from now on|instead of|replac\w*|"
    r"(?:for|on|with) (?:all )?(?:my )?(?:future|new|next|upcoming) (?:orders?|deliver\w*)|"
    r"going forward)\b",
    re.I,
)
_AS_EXTRA = re.compile(
    r"\b(extra|another|additional|second|as well|also|work|office|holiday|parents'?)\b", re.I
)


def address_in(text: str) -> str | None:
    """An address written in the request itself, formatted as a valid answer would be."""
    address = find_address(text)
    return None if address is None else address.formatted()


def default_wanted(text: str) -> bool | None:
    """Whether the request says the address becomes the default ("I've moved") or joins it."""
    if _AS_DEFAULT.search(text):
        return True
    return False if _AS_EXTRA.search(text) else None


def corrected_address(text: str, current: Any) -> str | None:
    """The address read back with the customer's correction of part of it, if it still parses.

    "Its Ancoats Street not Road, same number and postcode" changes one word of the address
    read back; the rest stays as it was.
    """
    swapped = swap_correction(text, str(current)) if current else None
    if swapped is None:
        return None
    try:
        return parse_address(swapped).formatted()
    except InvalidAddress:
        return None


# The read-back of each address task, and the address it reads back.
READ_BACK_ADDRESS = {CONFIRM_ADDRESS: NEW_ADDRESS, CONFIRM_SAVE: ADDRESS_TO_SAVE}


def corrects_address_read_back(tracker: Tracker) -> bool:
    """True if, at an address read-back, the latest message corrects part of the address."""
    slot = READ_BACK_ADDRESS.get(str(tracker.get_slot("requested_slot")))
    text = str(tracker.latest_message.get("text") or "")
    return slot is not None and corrected_address(text, tracker.get_slot(slot)) is not None


def checked_address(slot: str, value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """Parse and validate an address; re-ask naming the part that is wrong."""
    try:
        address = parse_address(str(value or ""))
    except InvalidAddress as invalid:
        dispatcher.utter_message(response=f"utter_invalid_address_{invalid.field}")
        return {slot: None}
    return {slot: address.formatted()}


class ValidateChangeAddressForm(VerifiedOrderForm):
    """Order number, verification, then the new address and its confirmation."""

    confirmation = CONFIRM_ADDRESS

    def name(self) -> str:
        """Validation action of `change_address_form`."""
        return "validate_change_address_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Ask for an address only when the order has not shipped yet."""
        if is_changeable(tracker.get_slot(ORDER_STATUS)):
            return [NEW_ADDRESS, CONFIRM_ADDRESS]
        return []

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """The new address, when the request names it ("send 100102 to 14 Canal Street, ...").

        At the read-back, a correction of part of it ("Street, not Road") changes that part.
        """
        corrected = corrected_address(text, tracker.get_slot(NEW_ADDRESS))
        return {NEW_ADDRESS: address_in(text) or corrected}

    async def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Parse and validate; re-ask naming the part that is wrong."""
        return checked_address(NEW_ADDRESS, value, dispatcher)

    async def validate_confirm_address_change(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_ADDRESS, value)


class ActionChangeShippingAddress(OrderTask):
    """Update the order's delivery address once the customer confirmed it."""

    forgets = (*ORDER_SLOTS, NEW_ADDRESS, CONFIRM_ADDRESS)

    def name(self) -> str:
        """Runs when `change_address_form` completes."""
        return "action_change_shipping_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Change, keep, or explain why not."""
        done = self.forget()
        if unverified_or_unknown(dispatcher, tracker):
            return done
        number = str(tracker.get_slot(ORDER_NUMBER))
        status = str(tracker.get_slot(ORDER_STATUS))
        if not is_changeable(status):
            dispatcher.utter_message(
                response=f"utter_address_change_not_possible_{status}", order_number=number
            )
            return done
        if tracker.get_slot(CONFIRM_ADDRESS) is not True or not tracker.get_slot(NEW_ADDRESS):
            dispatcher.utter_message(response="utter_address_kept", order_number=number)
            return done
        customer_id = verified_customer(tracker)
        assert customer_id is not None
        try:
            order = await call(
                services.orders.change_shipping_address,
                number,
                customer_id,
                parse_address(str(tracker.get_slot(NEW_ADDRESS))),
                actor="bot",
                conversation_id=tracker.sender_id,
            )
        except AddressChangeNotAllowed as refused:
            dispatcher.utter_message(
                response=f"utter_address_change_not_possible_{refused.status}",
                order_number=number,
            )
        except (OrderNotFound, InvalidAddress):
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
        else:
            dispatcher.utter_message(
                response="utter_address_changed",
                address=order.shipping_address,
                **order_details(order),
            )
        return done


class ValidateSaveAddressForm(VerifiedForm):
    """Verification, the address, whether it becomes the default, then a confirmation."""

    confirmation = CONFIRM_SAVE

    def name(self) -> str:
        """Validation action of `save_address_form`."""
        return "validate_save_address_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Address, default or not, confirmation."""
        return [ADDRESS_TO_SAVE, MAKE_DEFAULT, CONFIRM_SAVE]

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """The address, and whether it becomes the default, when the request says so.

        At the read-back, a correction of part of the address ("flat 4, not 3") changes that part.
        """
        corrected = corrected_address(text, tracker.get_slot(ADDRESS_TO_SAVE))
        if corrected is not None and address_in(text) is None:
            return {ADDRESS_TO_SAVE: corrected}
        address = address_in(text)
        return {ADDRESS_TO_SAVE: address, MAKE_DEFAULT: default_wanted(text) if address else None}

    async def validate_address_to_save(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Parse and validate; re-ask naming the part that is wrong."""
        return checked_address(ADDRESS_TO_SAVE, value, dispatcher)

    async def validate_address_make_default(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(MAKE_DEFAULT, value)

    async def validate_confirm_save_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_SAVE, value)


SAVE_SLOTS = (ADDRESS_TO_SAVE, MAKE_DEFAULT, CONFIRM_SAVE, EMAIL, POSTCODE)


class ActionSaveAddress(TaskAction):
    """`set_up_shipping_address`: add the address to the account, audited."""

    forgets = SAVE_SLOTS

    def name(self) -> str:
        """Runs when `save_address_form` completes."""
        return "action_save_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Save it, or say that nothing changed."""
        done = self.forget()
        customer_id = verified_or_explain(dispatcher, tracker)
        if customer_id is None:
            return done
        text = tracker.get_slot(ADDRESS_TO_SAVE)
        if tracker.get_slot(CONFIRM_SAVE) is not True or not text:
            dispatcher.utter_message(response="utter_address_not_saved")
            return done
        address = parse_address(str(text))
        make_default = tracker.get_slot(MAKE_DEFAULT) is True
        before = await call(services.accounts.get_profile, customer_id)
        after = await call(
            services.accounts.add_address,
            customer_id,
            address,
            make_default=make_default,
            actor="bot",
            conversation_id=tracker.sender_id,
        )
        if after == before:
            dispatcher.utter_message(response="utter_address_already_saved", address=text)
        elif after.addresses[0] == address.formatted():
            dispatcher.utter_message(response="utter_address_saved_default", address=text)
        else:
            dispatcher.utter_message(
                response="utter_address_saved_extra", address=text, default=after.addresses[0]
            )
        return done
