"""Order skills: `track_order` and `cancel_order`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime
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
    call,
    verified_customer,
)
from actions.services import Services
from actions.verification import (
    FAILURES,
    LOOKUP_FAILURES,
    MAX_ATTEMPTS,
    ORDER_NUMBER,
    ORDER_STATUS,
    VerifiedOrderForm,
)
from crm.records.errors import OrderNotCancellable, OrderNotFound
from crm.records.views import OrderView, is_changeable

CONFIRM_CANCEL = "confirm_cancel"


def day(value: date | datetime | None) -> str:
    """A date as customers read it, e.g. 'Tue 24 Nov 2026'."""
    return value.strftime("%a %-d %b %Y") if value else ""


def order_details(order: OrderView) -> dict[str, Any]:
    """The values the order responses in domain.yml interpolate."""
    return {
        "order_number": order.number,
        "status": order.status,
        "placed_on": day(order.placed_at),
        "shipped_on": day(order.shipped_at),
        "delivered_on": day(order.delivered_at),
        "cancelled_on": day(order.cancelled_at),
        "eta": day(order.estimated_delivery) or "to be confirmed",
        "carrier": order.carrier or "our courier",
        "tracking_number": order.tracking_number or "not yet available",
        "delivery_method": order.delivery_method,
        "total": order.total_display,
        "item_count": sum(item.quantity for item in order.items),
    }


def end_of_task(*slots: str) -> list[EventType]:
    """Forget the task's slots so the next request starts fresh; verification is kept."""
    return [SlotSet(slot, None) for slot in (ORDER_NUMBER, ORDER_STATUS, *slots)] + [
        SlotSet(LOOKUP_FAILURES, 0)
    ]


def verified_or_explain(dispatcher: CollectingDispatcher, tracker: Tracker) -> int | None:
    """The verified customer's id; otherwise say why not and return None."""
    customer_id = verified_customer(tracker)
    if customer_id is None:
        if (tracker.get_slot(FAILURES) or 0) >= MAX_ATTEMPTS:
            dispatcher.utter_message(response="utter_verification_locked")
        else:
            dispatcher.utter_message(response="utter_verification_expired")
    return customer_id


def unverified_or_unknown(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Answer when the form ended without a verified customer or a known order."""
    if verified_or_explain(dispatcher, tracker) is None:
        return True
    if tracker.get_slot(ORDER_STATUS) is None or not tracker.get_slot(ORDER_NUMBER):
        dispatcher.utter_message(response="utter_order_lookup_gave_up")
        return True
    return False


class OrderAnswer(ShopAction, ABC):
    """Answers a question about one order of the verified customer, then ends the task.

    The form has verified the customer and found the order; `answer` says what the records
    say about it. An order that vanished in between gets the not-found answer.
    """

    ends_request = True

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, services: Services, number: str, customer_id: int
    ) -> None:
        """Look the answer up and utter it."""

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Check the form's outcome, then answer."""
        if not unverified_or_unknown(dispatcher, tracker):
            customer_id = verified_customer(tracker)
            assert customer_id is not None
            number = str(tracker.get_slot(ORDER_NUMBER))
            try:
                await self.answer(dispatcher, services, number, customer_id)
            except OrderNotFound:
                dispatcher.utter_message(response="utter_order_not_found", order_number=number)
        return end_of_task()

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """Start the next request fresh."""
        return end_of_task()


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


class ActionCancelOrder(ShopAction):
    """Cancel an unshipped order after confirmation; shipped orders get the returns route."""

    ends_request = True

    def name(self) -> str:
        """Runs when `cancel_order_form` completes."""
        return "action_cancel_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Cancel, keep, or explain why not."""
        if unverified_or_unknown(dispatcher, tracker):
            return end_of_task(CONFIRM_CANCEL)
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
        return end_of_task(CONFIRM_CANCEL)

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """Start the next request fresh."""
        return end_of_task(CONFIRM_CANCEL)


class ActionResetTask(ShopAction):
    """Forget a task's slots when the customer stops it or asks for a person midway."""

    # Who the customer is outlives any one task; so does the count of failed verifications,
    # or stopping a form would reset the limit on guessing.
    KEEP = frozenset(
        {
            CUSTOMER_ID,
            CUSTOMER_NAME,
            VERIFIED_UNTIL,
            FAILURES,
            "requested_slot",
            "session_started_metadata",
        }
    )

    def name(self) -> str:
        """Used by the rules that interrupt a form."""
        return "action_reset_task"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Clear every slot a task may have filled; verification stays."""
        events: list[EventType] = [
            SlotSet(slot, None)
            for slot, value in tracker.slots.items()
            if slot not in self.KEEP and value is not None and slot != LOOKUP_FAILURES
        ]
        return [*events, SlotSet(LOOKUP_FAILURES, 0)]
