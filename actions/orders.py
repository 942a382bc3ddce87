"""Order skills: `track_order` and `cancel_order`."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import call, verified_customer
from actions.order_helpers import (
    ORDER_SLOTS,
    OrderAnswer,
    OrderTask,
    order_details,
    unverified_or_unknown,
)
from actions.services import Services
from actions.verification import ORDER_NUMBER, ORDER_STATUS, VerifiedOrderForm
from crm.records.errors import OrderNotCancellable, OrderNotFound
from crm.records.views import is_changeable

CONFIRM_CANCEL = "confirm_cancel"


class ValidateTrackOrderForm(VerifiedOrderForm):
    """Order number and verification for `track_order`."""

    def name(self) -> str:
        """Validation action of `track_order_form`."""
        return "validate_track_order_form"


class ActionTrackOrder(OrderAnswer):
    """Say where the order is, from the records."""

    def name(self) -> str:
        """Runs when `track_order_form` completes."""
        return "action_track_order"

    async def answer(
        self, dispatcher: CollectingDispatcher, services: Services, number: str, customer_id: int
    ) -> None:
        """Status, carrier and dates."""
        order = await call(services.orders.get_order, number, customer_id)
        dispatcher.utter_message(
            response=f"utter_order_status_{order.status}", **order_details(order)
        )


class ValidateCancelOrderForm(VerifiedOrderForm):
    """Order number, verification and, for an unshipped order, confirmation."""

    def name(self) -> str:
        """Validation action of `cancel_order_form`."""
        return "validate_cancel_order_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Ask for confirmation only when the order can still be cancelled."""
        return [CONFIRM_CANCEL] if is_changeable(tracker.get_slot(ORDER_STATUS)) else []

    async def validate_confirm_cancel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return {CONFIRM_CANCEL: value if isinstance(value, bool) else None}


class ActionCancelOrder(OrderTask):
    """Cancel an unshipped order after confirmation; shipped orders get the returns route."""

    forgets = (*ORDER_SLOTS, CONFIRM_CANCEL)

    def name(self) -> str:
        """Runs when `cancel_order_form` completes."""
        return "action_cancel_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Cancel, keep, or explain why not."""
        if unverified_or_unknown(dispatcher, tracker):
            return self.forget()
        number = str(tracker.get_slot(ORDER_NUMBER))
        status = str(tracker.get_slot(ORDER_STATUS))
        if not is_changeable(status):
            dispatcher.utter_message(
                response=f"utter_cancel_not_possible_{status}", order_number=number
            )
        elif tracker.get_slot(CONFIRM_CANCEL) is not True:
            dispatcher.utter_message(response="utter_cancel_kept", order_number=number)
        else:
            customer_id = verified_customer(tracker)
            assert customer_id is not None
            try:
                order = await call(
                    services.orders.cancel_order,
                    number,
                    customer_id,
                    actor="bot",
                    conversation_id=tracker.sender_id,
                )
            except OrderNotCancellable as refused:
                # The order moved on while the customer was confirming.
                dispatcher.utter_message(
                    response=f"utter_cancel_not_possible_{refused.status}", order_number=number
                )
            except OrderNotFound:
                dispatcher.utter_message(response="utter_order_not_found", order_number=number)
            else:
                dispatcher.utter_message(response="utter_order_cancelled", **order_details(order))
        return self.forget()
