"""Delivery skill: `delivery_period` for a named order, the carrier's estimate or the shop's rules.

Asked without an order number, the question is about delivery times in general and the
knowledge base answers it (data/rules/delivery.yml).
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.base import call
from actions.order_helpers import OrderAnswer
from actions.responses import day
from actions.services import Services
from actions.verification import VerifiedOrderForm


class ValidateDeliveryPeriodForm(VerifiedOrderForm):
    """Order number and verification for `delivery_period` about one order."""

    def name(self) -> str:
        """Validation action of `delivery_period_form`."""
        return "validate_delivery_period_form"


class ActionDeliveryPeriod(OrderAnswer):
    """When this order should arrive: the carrier's estimate, or the shop's delivery rules."""

    def name(self) -> str:
        """Runs when `delivery_period_form` completes."""
        return "action_delivery_period"

    async def answer(
        self, dispatcher: CollectingDispatcher, services: Services, number: str, customer_id: int
    ) -> None:
        """Answer with the delivery window of the order."""
        estimate = await call(services.orders.delivery_estimate, number, customer_id)
        dispatcher.utter_message(
            response=f"utter_delivery_estimate_{estimate.basis}",
            order_number=number,
            method=estimate.method,
            earliest=day(estimate.earliest),
            latest=day(estimate.latest),
            delivered_on=day(estimate.delivered_on),
        )
