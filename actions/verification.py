"""Customer verification, shared by every form that touches a customer's orders.

A customer proves who they are with the email on their account and the postcode of one of
their addresses. Success is remembered in the conversation (custom-mapped slots that only this
action server can set) until `VERIFICATION_TTL_MINUTES` pass; three failures end the attempt
and the skill offers a person instead.
"""

from __future__ import annotations

import re
import time
from abc import ABC
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import (
    CUSTOMER_ID,
    CUSTOMER_NAME,
    VERIFIED_UNTIL,
    ShopFormValidation,
    call,
    verified_customer,
)
from actions.services import get_services
from crm.services import OrderNotFound

ORDER_NUMBER = "order_number"
ORDER_STATUS = "order_status"
EMAIL = "verify_email"
POSTCODE = "verify_postcode"
FAILURES = "verification_failures"
LOOKUP_FAILURES = "order_lookup_failures"
MAX_ATTEMPTS = 3

_ORDER_NUMBER = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")


def find_order_number(text: str) -> str | None:
    """The first six-digit number in `text`, the form every order number has."""
    match = _ORDER_NUMBER.search(text or "")
    return match.group(1) if match else None


def find_email(text: str) -> str | None:
    """The first email address in `text`."""
    match = _EMAIL.search(text or "")
    return match.group(0) if match else None


class VerifiedOrderForm(ShopFormValidation, ABC):
    """Collects an order number and, unless already verified, the customer's credentials.

    Subclasses add the slots of their own task after these; `task_slots` decides which of them
    are still needed once the order's status is known.
    """

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Slots the task asks for after verification (none by default)."""
        return []

    def _gave_up(self, tracker: Tracker) -> bool:
        return (tracker.get_slot(FAILURES) or 0) >= MAX_ATTEMPTS or (
            tracker.get_slot(LOOKUP_FAILURES) or 0
        ) >= MAX_ATTEMPTS

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Order number, then credentials if needed, then the task's own slots."""
        if self._gave_up(tracker):
            return []
        if verified_customer(tracker) is None:
            return [ORDER_NUMBER, EMAIL, POSTCODE]
        if tracker.get_slot(ORDER_STATUS) is None:
            return [ORDER_NUMBER]
        return [ORDER_NUMBER, *self.task_slots(tracker)]

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept six digits; once verified, also check that the order is the customer's."""
        number = find_order_number(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {ORDER_NUMBER: None}
        customer_id = verified_customer(tracker)
        if customer_id is None:
            return {ORDER_NUMBER: number, ORDER_STATUS: None}
        return await self._look_up(number, customer_id, dispatcher, tracker)

    async def validate_verify_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept anything that looks like an email address; the check comes with the postcode."""
        email = find_email(str(value or ""))
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
            return {EMAIL: None}
        return {EMAIL: email}

    async def validate_verify_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Check email and postcode together, so a failure never says which one was wrong."""
        postcode = str(value or "").strip()
        email = tracker.get_slot(EMAIL)
        if not _POSTCODE.match(postcode):
            dispatcher.utter_message(response="utter_invalid_postcode")
            return {POSTCODE: None}
        if not email:
            return {POSTCODE: None}
        services = get_services()
        customer = await call(services.customers.verify, str(email), postcode)
        if customer is None:
            failures = int(tracker.get_slot(FAILURES) or 0) + 1
            if failures < MAX_ATTEMPTS:
                dispatcher.utter_message(response="utter_verification_failed")
            return {EMAIL: None, POSTCODE: None, FAILURES: failures}
        ttl = services.settings.verification_ttl_minutes * 60
        dispatcher.utter_message(response="utter_verified", customer_first_name=customer.first_name)
        slots: dict[str, Any] = {
            # The credentials are not kept once they have done their job.
            EMAIL: None,
            POSTCODE: None,
            FAILURES: 0,
            CUSTOMER_ID: customer.id,
            CUSTOMER_NAME: customer.first_name,
            VERIFIED_UNTIL: time.time() + ttl,
        }
        number = tracker.get_slot(ORDER_NUMBER)
        if number:
            slots.update(await self._look_up(str(number), customer.id, dispatcher, tracker))
        return slots

    async def _look_up(
        self, number: str, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Remember the order's status, or ask again: a missing and a foreign order look alike."""
        try:
            order = await call(get_services().orders.get_order, number, customer_id)
        except OrderNotFound:
            failures = int(tracker.get_slot(LOOKUP_FAILURES) or 0) + 1
            if failures < MAX_ATTEMPTS:
                dispatcher.utter_message(response="utter_order_not_found", order_number=number)
            return {ORDER_NUMBER: None, ORDER_STATUS: None, LOOKUP_FAILURES: failures}
        return {ORDER_NUMBER: number, ORDER_STATUS: order.status, LOOKUP_FAILURES: 0}
