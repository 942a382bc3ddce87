"""Customer verification, shared by every form that touches a customer's orders.

A customer proves who they are with the email on their account and the postcode of one of
their addresses. Success is remembered in the conversation (custom-mapped slots that only this
action server can set) until `VERIFICATION_TTL_MINUTES` pass; three failures end the attempt
and the skill offers a person instead. The records keep which conversations a customer verified
in (crm/records/history.py), so staff see the customer's past conversations in the console.
"""

from __future__ import annotations

import re
import time
from abc import ABC
from datetime import date
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
from actions.context import CONTEXT_ORDER, ORDER_TASKS, refers_back
from actions.form_answers import answer_to, looks_like_postcode
from actions.order_refs import describe, resolve
from actions.queue import QUEUED_REQUESTS, Request
from actions.services import get_services
from crm.records.errors import OrderNotFound
from crm.records.views import CHANGEABLE_STATUSES, OrderView

ORDER_NUMBER = "order_number"
ORDER_STATUS = "order_status"
EMAIL = "verify_email"
POSTCODE = "verify_postcode"
FAILURES = "verification_failures"
LOOKUP_FAILURES = "order_lookup_failures"
# The customer's words about an order they did not number ("the £54.90 one"), kept until the
# order is found; with it, verification comes first, so the words can be read against their orders.
ORDER_REFERENCE = "order_reference"
MAX_ATTEMPTS = 3
# How many of the customer's latest orders a description is read against.
RECENT_ORDERS = 10

# The statuses of the orders each task can act on: when a description fits several orders,
# those the task can act on come first ("cancel the other one" is not the cancelled one).
_NOT_CANCELLED = frozenset({"placed", "paid", "shipped", "delivered"})
TASK_STATUSES: dict[str, frozenset[str]] = {
    "track_order_form": _NOT_CANCELLED,
    "cancel_order_form": CHANGEABLE_STATUSES,
    "change_address_form": CHANGEABLE_STATUSES,
    "change_order_form": CHANGEABLE_STATUSES,
    "invoice_form": frozenset({"paid", "shipped", "delivered"}),
    "refund_form": frozenset({"delivered"}),
    "cancellation_fee_form": _NOT_CANCELLED,
    "delivery_period_form": frozenset({"placed", "paid", "shipped"}),
}
# Words that say the customer is correcting a number, not naming a second order.
_CORRECTION = re.compile(r"\b(?:meant|mean|not|instead|rather|sorry|wrong|actually)\b", re.I)

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


def numbers_named(tracker: Tracker) -> list[str]:
    """The distinct order numbers the customer's latest message names, in the order said."""
    numbers: list[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == ORDER_NUMBER and entity.get("value"):
            number = find_order_number(str(entity["value"]))
            if number and number not in numbers:
                numbers.append(number)
    return numbers


async def orders_described(
    text: str, customer_id: int, tracker: Tracker, *, by_product: bool = True
) -> tuple[list[OrderView], list[OrderView]]:
    """The verified customer's recent orders, and those of them that `text` describes.

    The task's statuses are a hint (`TASK_STATUSES`), and "the other one" is not the order the
    conversation was about (`context_order`).
    """
    orders = list(await call(get_services().orders.list_orders, customer_id, limit=RECENT_ORDERS))
    products = {item.name for order in orders for item in order.items} if by_product else set()
    description = describe(text, date.today(), products)
    current = tracker.get_slot(CONTEXT_ORDER)
    found = resolve(
        description,
        orders,
        current=str(current) if current else None,
        task_statuses=TASK_STATUSES.get(tracker.active_loop_name or ""),
    )
    return orders, found


def describes_an_order(text: str) -> bool:
    """True if `text` says something about an order: amount, state, carrier, date, "the other".

    Product names count only against the customer's orders (`orders_described`).
    """
    return describe(text, date.today()).says_anything


def verified_or_explain(dispatcher: CollectingDispatcher, tracker: Tracker) -> int | None:
    """The verified customer's id; otherwise say why not (locked or expired) and return None.

    For the action that runs when a verified form completes: the form may have ended without a
    verification (too many failures), or the verification may have expired since.
    """
    customer_id = verified_customer(tracker)
    if customer_id is None:
        if (tracker.get_slot(FAILURES) or 0) >= MAX_ATTEMPTS:
            dispatcher.utter_message(response="utter_verification_locked")
        else:
            dispatcher.utter_message(response="utter_verification_expired")
    return customer_id


class VerifiedForm(ShopFormValidation, ABC):
    """Verifies the customer (unless the conversation already did), then asks the task's slots.

    `leading_slots` are asked before verification (an order number, say), `task_slots` after.
    """

    leading_slots: tuple[str, ...] = ()

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Slots the task asks for after verification (none by default)."""
        return []

    def gave_up(self, tracker: Tracker) -> bool:
        """True after too many failed attempts: the form ends and the skill offers a person."""
        return (tracker.get_slot(FAILURES) or 0) >= MAX_ATTEMPTS

    def ready(self, tracker: Tracker) -> bool:
        """True when verification is done and the task may ask its own slots."""
        return True

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Leading slots, then credentials if needed, then the task's own slots."""
        if self.gave_up(tracker):
            return []
        if verified_customer(tracker) is None:
            return [*self.leading_slots, EMAIL, POSTCODE]
        if not self.ready(tracker):
            return list(self.leading_slots)
        return [*self.leading_slots, *self.task_slots(tracker)]

    async def extract_verify_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to "what's your email?", unless it is a question or another task's words.

        "it keeps saying my email is invalid" is not an address: the form steps aside for the
        rules (actions/form_answers.py) and asks again.
        """
        return answer_to(EMAIL, tracker, lambda text: find_email(text) is not None)

    async def extract_verify_postcode(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to "what's your postcode?", unless a question or another task's words."""
        return answer_to(POSTCODE, tracker, looks_like_postcode)

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
        # A success also records the conversation in the customer's history (same transaction).
        customer = await call(
            services.customers.verify,
            str(email),
            postcode,
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "unknown",
        )
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
        slots.update(await self.after_verification(customer.id, dispatcher, tracker))
        return slots

    async def after_verification(
        self, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Slots to set right after a successful verification (none by default)."""
        return {}


class VerifiedOrderForm(VerifiedForm, ABC):
    """Collects an order number and verification, then the task's slots.

    The task's slots follow once the order's status is known; `task_slots` decides which of
    them it still needs.
    """

    leading_slots = (ORDER_NUMBER,)
    # Whether product names in the request describe the order; not where the product is what
    # the task changes ("add a kettle to my order").
    products_describe_order = True

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """An order described but not numbered: verification first, then which order it is."""
        described = tracker.get_slot(ORDER_REFERENCE) and not tracker.get_slot(ORDER_NUMBER)
        if described and not self.gave_up(tracker) and verified_customer(tracker) is None:
            return [EMAIL, POSTCODE, *self.leading_slots]
        return await super().required_slots(domain_slots, dispatcher, tracker, domain)

    @staticmethod
    def describes_order(text: str) -> bool:
        """True if `text` says something about an order (its amount, state, carrier, date).

        Product names count only once the customer's orders are known (`orders_described`).
        """
        return describes_an_order(text)

    def gave_up(self, tracker: Tracker) -> bool:
        """Also give up after repeated unknown order numbers."""
        return super().gave_up(tracker) or (tracker.get_slot(LOOKUP_FAILURES) or 0) >= MAX_ATTEMPTS

    def ready(self, tracker: Tracker) -> bool:
        """The order has been found on the verified customer's account."""
        return tracker.get_slot(ORDER_STATUS) is not None

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A request that refers back ("can I get a refund on it?") is about the current order.

        Only when the task starts (the form has asked nothing yet) and the request names no
        order of its own; the order is then checked like any other (`validate_order_number`).
        """
        if tracker.get_slot(ORDER_NUMBER) or tracker.get_slot("requested_slot"):
            return {}
        text = str(tracker.latest_message.get("text") or "")
        current = self.current_order(tracker, text)
        if current is not None:
            return {ORDER_NUMBER: current}
        unplaced = refers_back(text) and not tracker.get_slot(CONTEXT_ORDER)
        if find_order_number(text) is None and (self.describes_order(text) or unplaced):
            # The words go to `validate_order_number`, which reads them against the orders.
            return {ORDER_NUMBER: text}
        return {}

    @staticmethod
    def current_order(tracker: Tracker, text: str) -> str | None:
        """The order the conversation is about, if `text` refers back to it and names none."""
        current = tracker.get_slot(CONTEXT_ORDER)
        if not current or find_order_number(text) is not None or not refers_back(text):
            return None
        return str(current)

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept six digits ("the same one" is the current order); once verified, look it up.

        An order described rather than numbered ("the £54.90 one") is found among the verified
        customer's orders, after verification if need be. Two orders named at once ("cancel
        100101 and 100102") are done one after the other: the second waits in the queue.
        """
        text = str(value or "")
        number = find_order_number(text) or self.current_order(tracker, text)
        queued: dict[str, Any] = {}
        named = numbers_named(tracker)
        correcting = _CORRECTION.search(_latest(tracker))
        if number in named and len(named) > 1 and not correcting:
            number, queued = named[0], self._queue_others(named[1:], tracker)
        customer_id = verified_customer(tracker)
        if number is None:
            reference = text if self.describes_order(text) or refers_back(text) else None
            if reference is None:
                dispatcher.utter_message(response="utter_invalid_order_number")
                return {ORDER_NUMBER: None}
            if customer_id is None:
                return {ORDER_NUMBER: None, ORDER_STATUS: None, ORDER_REFERENCE: reference}
            return await self._find_described(reference, customer_id, dispatcher, tracker)
        if customer_id is None:
            return {ORDER_NUMBER: number, ORDER_STATUS: None, **queued}
        return {**await self._look_up(number, customer_id, dispatcher, tracker), **queued}

    @staticmethod
    def _queue_others(numbers: list[str], tracker: Tracker) -> dict[str, Any]:
        """The same request for each further order named, kept to do next (actions/queue.py)."""
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        if intent not in ORDER_TASKS:
            return {}
        text = _latest(tracker)
        waiting = tracker.get_slot(QUEUED_REQUESTS)
        kept = list(waiting) if isinstance(waiting, list) else []
        for number in numbers:
            entity = {"entity": ORDER_NUMBER, "value": number}
            kept.append(Request(intent=intent, text=text, entities=[entity]).as_slot())
        return {QUEUED_REQUESTS: kept}

    async def _find_described(
        self, text: str, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """The one order the words describe, looked up; with several, the form asks which."""
        _, found = await orders_described(
            text, customer_id, tracker, by_product=self.products_describe_order
        )
        if len(found) == 1:
            slots = await self._look_up(found[0].number, customer_id, dispatcher, tracker)
            return {**slots, ORDER_REFERENCE: None}
        # `action_ask_order_number` lists the orders that fit (or all, when none does).
        return {ORDER_NUMBER: None, ORDER_STATUS: None, ORDER_REFERENCE: text}

    async def after_verification(
        self, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Look up the order given (or described) before verification."""
        number = tracker.get_slot(ORDER_NUMBER)
        if number:
            return await self._look_up(str(number), customer_id, dispatcher, tracker)
        reference = tracker.get_slot(ORDER_REFERENCE)
        if reference:
            return await self._find_described(str(reference), customer_id, dispatcher, tracker)
        return {}

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
        # The order is now what the conversation is about, beyond this task (actions/context.py).
        found = {
            ORDER_NUMBER: number,
            ORDER_STATUS: order.status,
            LOOKUP_FAILURES: 0,
            CONTEXT_ORDER: number,
        }
        found.update(await self.on_order_found(number, customer_id, dispatcher, tracker))
        return found

    async def on_order_found(
        self, number: str, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Slots the task derives from the order once it is found (none by default)."""
        return {}


def _latest(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")
