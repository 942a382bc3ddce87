"""What the skills about one order share: its response values, the form's outcome, ending the task.

Tracking, cancelling, re-addressing, changing items, invoices, refunds, cancellation fees and
delivery estimates all start from a `VerifiedOrderForm` (actions/verification.py) that found
the order; the action that runs when it completes checks that outcome here, and forgets the
order with the rest of the task (`OrderTask`). Whether an order can still change is the records'
rule (`is_changeable` in crm/records/views.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, TaskAction, response_text, verified_customer
from actions.responses import day
from actions.services import Services
from actions.verification import (
    LOOKUP_FAILURES,
    ORDER_NUMBER,
    ORDER_REFERENCE,
    ORDER_STATUS,
    orders_described,
    verified_or_explain,
)
from crm.records.errors import OrderNotFound
from crm.records.views import OrderView

# The slots a task about one order fills before its own: forgotten first when it ends.
ORDER_SLOTS: tuple[str, ...] = (ORDER_NUMBER, ORDER_STATUS, ORDER_REFERENCE)


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


def unverified_or_unknown(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Answer when the form ended without a verified customer or a known order."""
    if verified_or_explain(dispatcher, tracker) is None:
        return True
    if tracker.get_slot(ORDER_STATUS) is None or not tracker.get_slot(ORDER_NUMBER):
        dispatcher.utter_message(response="utter_order_lookup_gave_up")
        return True
    return False


class OrderTask(TaskAction, ABC):
    """The action that ends a task whose form asks for an order number (or may, as invoices do).

    Its `forgets` start with `ORDER_SLOTS`, and the count of unknown order numbers goes back to
    0, so the next request asks for its own order.
    """

    forgets = ORDER_SLOTS
    counters = (LOOKUP_FAILURES,)


class OrderAnswer(OrderTask, ABC):
    """Answers a question about one order of the verified customer, then ends the task.

    The form has verified the customer and found the order; `answer` says what the records
    say about it. An order that vanished in between gets the not-found answer.
    """

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
        return self.forget()


class ActionAskOrderNumber(ShopAction):
    """Every order form's question for the order number (Rasa's `action_ask_<slot>`).

    When the customer described the order instead ("the one I haven't paid for yet") and it
    fits several of their orders, or none, the question lists them as buttons (the payload is
    the number); otherwise it is the plain question.
    """

    def name(self) -> str:
        """Rasa asks for `order_number` with this action in every form."""
        return "action_ask_order_number"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """List the orders the description fits, or ask for the number."""
        reference = tracker.get_slot(ORDER_REFERENCE)
        customer_id = verified_customer(tracker)
        if not reference or customer_id is None:
            dispatcher.utter_message(response="utter_ask_order_number")
            return []
        orders, found = await orders_described(str(reference), customer_id, tracker)
        response = "utter_ask_which_order" if found else "utter_ask_which_order_none"
        dispatcher.utter_message(response=response, buttons=order_buttons(found or orders))
        return []


def order_buttons(orders: list[OrderView]) -> list[dict[str, str]]:
    """One button per order, titled as `utter_order_choice` words it; it sends the number."""
    template = response_text("utter_order_choice") or "{order_number}"
    return [
        {"title": template.format(**order_details(order)), "payload": order.number}
        for order in orders
    ]
