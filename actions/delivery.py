"""Delivery skill: `delivery_period` for a named order, the carrier's estimate or the shop's rules.

Asked without an order number, the question is about delivery times in general and the
knowledge base answers it (data/rules/delivery.yml). A question about delivery to a named place
("do you ship to Germany?", "and the US?", "how much to Dublin?") gets that place's services,
times and prices from the shop's rules (crm/records/delivery.py) first, or that we don't deliver
there: a passage trimmed to one sentence too often loses the price or the other speed.
"""

from __future__ import annotations

import re

from rasa_sdk.executor import CollectingDispatcher

from actions.base import call
from actions.context import PLACE, Question
from actions.order_helpers import OrderAnswer
from actions.responses import day
from actions.services import Services
from actions.verification import VerifiedOrderForm
from crm.records.delivery import (
    EU_EXPRESS,
    EU_STANDARD,
    UK_EXPRESS,
    UK_STANDARD,
    DeliveryMethod,
    Destination,
    destination,
    methods_to,
)
from crm.records.views import format_money

UK = "GB"
DELIVERY_TO_PLACE = frozenset(
    {"utter_delivery_to_place_uk", "utter_delivery_to_place_eu", "utter_no_delivery_to_place"}
)


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


# What a question about delivery to a place sounds like, once read against the previous one.
_ABOUT_DELIVERY = re.compile(
    r"\b(?:deliver\w*|ship\w*|post(?:age|ed|ing)?|send|sent|courier|arriv\w*|get (?:it )?to|"
    r"how long|how much|cost\w*|price\w*|charge\w*|fee|express|next.?day|custom\w*|dut(?:y|ies))\b",
    re.I,
)


# A question about sending something back is about returns, not delivery, wherever it is from.
_ABOUT_RETURNS = re.compile(r"\b(?:return\w*|refund\w*|send (?:\w+ )?back)\b", re.I)


def destination_named(*questions: Question) -> Destination | None:
    """The first place the questions name that the delivery rules can place, in their order."""
    for question in questions:
        for entity in question.entities:
            if entity["entity"] == PLACE:
                found = destination(str(entity["value"]))
                if found is not None:
                    return found
    return None


def say_delivery_to_place(
    dispatcher: CollectingDispatcher,
    said: Question,
    asked: Question,
    answered: Question | None = None,
) -> bool | None:
    """Delivery to a place, from the shop's rules rather than a trimmed help-centre passage.

    `said` is the customer's own message, `asked` the question it stands for (an elliptical
    follow-up read against the last question), so "and the US?" after "do you ship to
    Germany?" is about the US, and "how long does it take?" after "how much is postage to
    Ireland?" about Ireland. `answered` is the question the agent answered just before: a
    delivery question that names no place ("how long would it take to get to her?") is about
    its place. Returns True when the place is served (its services, times and
    prices were said, and the help centre may add to them), False when we don't deliver there
    (said so; nothing more to add), None when the question is not about delivery to a place.
    """
    if not _ABOUT_DELIVERY.search(asked.text) or _ABOUT_RETURNS.search(said.text):
        return None
    place = destination_named(said, asked, *([answered] if answered else []))
    if place is None:
        return None
    if place.country is None:
        dispatcher.utter_message(response="utter_no_delivery_to_place", place=place.name)
        return False
    methods = {method.name: method for method in methods_to(place.country)}
    if place.country == UK:
        standard, express = methods[UK_STANDARD], methods[UK_EXPRESS]
        region = "uk"
    else:
        standard, express = methods[EU_STANDARD], methods[EU_EXPRESS]
        region = "eu"
    dispatcher.utter_message(
        response=f"utter_delivery_to_place_{region}",
        place=place.name,
        standard_days=_days(standard),
        standard_price=format_money(standard.price_pence),
        free_over=format_money(standard.free_over_pence or 0),
        express_days=_days(express),
        express_price=format_money(express.price_pence),
    )
    return True


def _days(method: DeliveryMethod) -> str:
    """A service's working days as customers read them: "3–5", or "1"."""
    if method.min_days == method.max_days:
        return str(method.min_days)
    return f"{method.min_days}–{method.max_days}"
