"""`change_shipping_address`: a new delivery address for an order that has not shipped."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopAction, call, verified_customer
from actions.orders import OPEN_STATES, end_of_task, order_details, unverified_or_unknown
from actions.services import Services
from actions.verification import ORDER_NUMBER, ORDER_STATUS, VerifiedOrderForm
from crm.addresses import InvalidAddress, parse_address
from crm.services import AddressChangeNotAllowed, OrderNotFound

NEW_ADDRESS = "new_address"
CONFIRM_ADDRESS = "confirm_address_change"


class ValidateChangeAddressForm(VerifiedOrderForm):
    """Order number, verification, then the new address and its confirmation."""

    def name(self) -> str:
        """Validation action of `change_address_form`."""
        return "validate_change_address_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Ask for an address only when the order has not shipped yet."""
        if tracker.get_slot(ORDER_STATUS) in OPEN_STATES:
            return [NEW_ADDRESS, CONFIRM_ADDRESS]
        return []

    async def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Parse and validate; re-ask naming the part that is wrong."""
        try:
            address = parse_address(str(value or ""))
        except InvalidAddress as invalid:
            dispatcher.utter_message(response=f"utter_invalid_address_{invalid.field}")
            return {NEW_ADDRESS: None}
        return {NEW_ADDRESS: address.formatted()}

    async def validate_confirm_address_change(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return {CONFIRM_ADDRESS: value if isinstance(value, bool) else None}


class ActionChangeShippingAddress(ShopAction):
    """Update the order's delivery address once the customer confirmed it."""

    def name(self) -> str:
        """Runs when `change_address_form` completes."""
        return "action_change_shipping_address"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Change, keep, or explain why not."""
        done = end_of_task(NEW_ADDRESS, CONFIRM_ADDRESS)
        if unverified_or_unknown(dispatcher, tracker):
            return done
        number = str(tracker.get_slot(ORDER_NUMBER))
        status = str(tracker.get_slot(ORDER_STATUS))
        if status not in OPEN_STATES:
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

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """Start the next request fresh."""
        return end_of_task(NEW_ADDRESS, CONFIRM_ADDRESS)
