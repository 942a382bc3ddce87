"""Money skills: invoices, refunds and cancellation fees for an order.

The policy questions of the same areas (payment methods, the refund policy) are answered by the
knowledge base; these skills answer from the customer's own records.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.base import ShopAction, call, transcript, verified_customer
from actions.context import CONTEXT_ORDER, refers_back, requests
from actions.entities import parse_amount, parse_period
from actions.order_helpers import ORDER_SLOTS, OrderAnswer, OrderTask, unverified_or_unknown
from actions.refund_words import gives_reason, only_that_item, units_asked
from actions.responses import day
from actions.services import Services, get_services
from actions.verification import (
    ORDER_NUMBER,
    VerifiedForm,
    VerifiedOrderForm,
    orders_described,
    verified_or_explain,
)
from crm.records.delivery import uk_date
from crm.records.errors import InvoiceNotFound, OrderNotFound, RefundNotAllowed
from crm.records.money import RefundEligibility, RefundItem
from crm.records.views import OrderView, format_money

INVOICE_PERIOD = "invoice_period"
INVOICE_AMOUNT = "invoice_amount"
REFUND_ELIGIBLE = "refund_eligible"
REFUND_REASON = "refund_reason"
CONFIRM_REFUND = "confirm_refund"
REFUND_REPLACEMENT = "refund_replacement"
# The one item of the order a request is for ("the kettle only"): {"sku", "name", "quantity"
# (None: every unit), "only" (the customer said the rest is not part of it)}.
REFUND_ITEM = "refund_item"
# "I want a new one, not the money back": a replacement, which the team arranges.
_REPLACEMENT = re.compile(
    r"\b(?:replacement|replace (?:it|them)|new one|another one|exchange|swap (?:it|them))\b", re.I
)
_NOT_MONEY = re.compile(
    r"\bnot (?:the |my |a )?(?:money|refund)\b|\b(?:rather than|instead of) (?:a |the |my )?"
    r"(?:money|refund)\b|\bdon'?t want (?:a |the |my )?(?:money|refund)\b",
    re.I,
)
# How far back a refund request looks for what was wrong with the order (customer messages).
RECENT_MESSAGES = 3


# --- invoices -----------------------------------------------------------------------------


class ValidateInvoiceListForm(VerifiedForm):
    """Verification only: the list covers every order, or the one named in the request."""

    def name(self) -> str:
        """Validation action of `invoice_list_form`."""
        return "validate_invoice_list_form"


def _joined(value: Any) -> str:
    """An entity slot's values as one text (a list slot holds each match of each pattern)."""
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


class ActionListInvoices(OrderTask):
    """`check_invoice`: the customer's invoices, newest first, with download links."""

    forgets = (*ORDER_SLOTS, INVOICE_PERIOD, INVOICE_AMOUNT)

    def name(self) -> str:
        """Runs when `invoice_list_form` completes."""
        return "action_list_invoices"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """List up to ten invoices: all, one order's, a period's and/or of one amount."""
        customer_id = verified_or_explain(dispatcher, tracker)
        if customer_id is not None:
            number = tracker.get_slot(ORDER_NUMBER)
            named_period = tracker.get_slot(INVOICE_PERIOD)
            named_amount = tracker.get_slot(INVOICE_AMOUNT)
            today = uk_date(datetime.now(UTC))
            period = parse_period(_joined(named_period), today) if named_period else None
            amount = parse_amount(_joined(named_amount)) if named_amount else None
            invoices = await call(
                services.invoices.list_invoices,
                customer_id,
                order_number=number or None,
                since=period.start if period else None,
                until=period.end if period else None,
            )
            if amount is not None:
                invoices = [invoice for invoice in invoices if invoice.amount_pence == amount]
            which = "_".join(
                part for part, given in (("amount", amount), ("period", period)) if given
            )
            values: dict[str, Any] = {
                "period": period.label if period else "",
                "amount": format_money(amount) if amount is not None else "",
            }
            if not invoices:
                dispatcher.utter_message(
                    response=f"utter_no_invoices_{which}" if which else "utter_no_invoices",
                    **values,
                )
            else:
                lines = "\n".join(
                    f"• {i.number}, order {i.order_number}, {i.amount_display}, "
                    f"{day(i.issued_on)}: {i.url}"
                    for i in invoices[:10]
                )
                dispatcher.utter_message(
                    response=f"utter_invoice_list_{which}" if which else "utter_invoice_list",
                    count=len(invoices),
                    invoice_lines=lines,
                    **values,
                )
        return self.forget()


class ValidateInvoiceForm(VerifiedOrderForm):
    """Order number and verification for `get_invoice`."""

    def name(self) -> str:
        """Validation action of `invoice_form`."""
        return "validate_invoice_form"


class ActionGetInvoice(OrderAnswer):
    """`get_invoice`: the download link of one order's invoice."""

    def name(self) -> str:
        """Runs when `invoice_form` completes."""
        return "action_get_invoice"

    async def answer(
        self, dispatcher: CollectingDispatcher, services: Services, number: str, customer_id: int
    ) -> None:
        """Give the link, or say why there is none yet."""
        try:
            invoice = await call(services.invoices.get_invoice, customer_id, number)
        except InvoiceNotFound:
            dispatcher.utter_message(response="utter_invoice_not_ready", order_number=number)
            return
        dispatcher.utter_message(
            response="utter_invoice_link",
            order_number=number,
            invoice_number=invoice.number,
            amount=invoice.amount_display,
            url=invoice.url,
        )


# --- refunds ------------------------------------------------------------------------------


def wants_replacement(text: str) -> bool:
    """True if a refund request asks for a replacement instead of the money."""
    if not _REPLACEMENT.search(text):
        return False
    return not re.search(r"\brefund|money back\b", text, re.I) or bool(_NOT_MONEY.search(text))


class ValidateRefundForm(VerifiedOrderForm):
    """Order, verification, then (only when eligible) a reason and a confirmation.

    A request for a replacement rather than the money ends the form at once: the team arranges
    replacements, and the customer is offered a person (`ActionRequestRefund`).
    """

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing to ask for a replacement; otherwise as every order form."""
        if tracker.get_slot(REFUND_REPLACEMENT):
            return []
        return await super().required_slots(domain_slots, dispatcher, tracker, domain)

    def name(self) -> str:
        """Validation action of `refund_form`."""
        return "validate_refund_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Ask for a reason and confirmation only when a refund is possible."""
        return [REFUND_REASON, CONFIRM_REFUND] if tracker.get_slot(REFUND_ELIGIBLE) else []

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """The reason, when the request or a message just before it says why.

        "the item was damaged in transit", then "I should prefer a refund"; "it's not what I
        expected, I'd like my money back": not asked again (`actions/refund_words.py`).
        """
        if wants_replacement(text):
            return {REFUND_REPLACEMENT: True}
        details: dict[str, Any] = {}
        reason = self.reason_given(text, tracker)
        if reason is not None:
            details[REFUND_REASON] = reason
        item = await self.item_asked(text, tracker)
        if item is not None:
            details[REFUND_ITEM] = item
        return details

    @staticmethod
    def reason_given(text: str, tracker: Tracker) -> str | None:
        """The request, or one of the customer's messages just before it, when it says why."""
        said = [line["text"] for line in transcript(tracker) if line["role"] == "customer"]
        for candidate in [text, *reversed(said[-RECENT_MESSAGES:])]:
            if gives_reason(candidate):
                return candidate.strip()[:500]
        return None

    async def item_asked(self, text: str, tracker: Tracker) -> dict[str, Any] | None:
        """The item named in the request, or in the message that said what was wrong with it."""
        reason = self.reason_given(text, tracker) or text
        for candidate in dict.fromkeys([text, reason]):
            item = await item_named(candidate)
            if item is not None:
                return item
        return None

    async def on_order_found(
        self, number: str, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Check eligibility now, so an ineligible order is explained without questions.

        A request for one item is checked for that item (`refund_asked`); when the order is
        found as the task starts, the request's item is read here first.
        """
        item = tracker.get_slot(REFUND_ITEM)
        if item is None and tracker.get_slot(REQUESTED_SLOT) is None:
            item = await self.item_asked(_latest_text(tracker), tracker)
        eligibility, _ = await refund_asked(get_services(), number, customer_id, item)
        return {REFUND_ELIGIBLE: eligibility.eligible, REFUND_ITEM: item}

    async def validate_refund_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any short text; kept with the refund for the team."""
        reason = str(value or "").strip()
        if not 2 <= len(reason) <= 500:
            dispatcher.utter_message(response="utter_invalid_refund_reason")
            return {REFUND_REASON: None}
        return {REFUND_REASON: reason}

    async def validate_confirm_refund(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return {CONFIRM_REFUND: value if isinstance(value, bool) else None}


class ActionRequestRefund(OrderTask):
    """`get_refund`: create a refund for an eligible order after confirmation."""

    forgets = (
        *ORDER_SLOTS,
        REFUND_ELIGIBLE,
        REFUND_REASON,
        CONFIRM_REFUND,
        REFUND_REPLACEMENT,
        REFUND_ITEM,
    )

    def name(self) -> str:
        """Runs when `refund_form` completes."""
        return "action_request_refund"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Request it, keep it, or explain why not; a replacement is offered to the team."""
        done = self.forget()
        if tracker.get_slot(REFUND_REPLACEMENT):
            dispatcher.utter_message(response="utter_refund_replacement")
            return done
        if unverified_or_unknown(dispatcher, tracker):
            return done
        customer_id = verified_customer(tracker)
        assert customer_id is not None
        number = str(tracker.get_slot(ORDER_NUMBER))
        eligibility, _ = await refund_asked(
            services, number, customer_id, tracker.get_slot(REFUND_ITEM)
        )
        if eligibility.reason == "not_on_order":
            await self.not_on_order(dispatcher, services, number, customer_id, tracker)
        elif not eligibility.eligible:
            dispatcher.utter_message(
                response=f"utter_refund_not_possible_{eligibility.reason}",
                order_number=number,
                deadline=day(eligibility.deadline),
            )
        elif tracker.get_slot(CONFIRM_REFUND) is not True:
            dispatcher.utter_message(response="utter_refund_kept", order_number=number)
        else:
            try:
                refund = await call(
                    services.refunds.request_refund,
                    number,
                    customer_id,
                    reason=str(tracker.get_slot(REFUND_REASON) or ""),
                    actor="bot",
                    conversation_id=tracker.sender_id,
                    item=_item_of(eligibility, tracker),
                )
            except RefundNotAllowed as refused:
                dispatcher.utter_message(
                    response=f"utter_refund_not_possible_{refused.reason}",
                    order_number=number,
                    deadline=day(eligibility.deadline),
                )
            else:
                order = await call(services.orders.get_order, number, customer_id)
                dispatcher.utter_message(
                    response="utter_refund_requested",
                    order_number=number,
                    amount=refund.amount_display,
                    expected_by=day(refund.expected_by),
                    refund_what=refund_what(eligibility, order),
                )
        return done

    @staticmethod
    async def not_on_order(
        dispatcher: CollectingDispatcher,
        services: Services,
        number: str,
        customer_id: int,
        tracker: Tracker,
    ) -> None:
        """The item asked for alone is not on this order: say what is, and where it is."""
        asked = dict(tracker.get_slot(REFUND_ITEM) or {})
        order = await call(services.orders.get_order, number, customer_id)
        orders = await call(services.orders.list_orders, customer_id, limit=10)
        elsewhere = next(
            (
                other.number
                for other in orders
                if other.number != number and any(i.sku == asked.get("sku") for i in other.items)
            ),
            None,
        )
        dispatcher.utter_message(
            response="utter_refund_item_elsewhere"
            if elsewhere
            else "utter_refund_item_not_on_order",
            order_number=number,
            item=asked.get("name") or "that item",
            items=items_listed(order),
            other_order=elsewhere or "",
        )


async def item_named(text: str) -> dict[str, Any] | None:
    """The one product the words name, with how many of it and whether it alone is meant."""
    product = await call(get_services().catalogue.product_mentioned, text)
    if product is None:
        return None
    return {
        "sku": product.sku,
        "name": product.name,
        "quantity": units_asked(text, product.name),
        "only": only_that_item(text),
    }


def _latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def _item_of(eligibility: RefundEligibility, tracker: Tracker) -> RefundItem | None:
    """The item the assessed refund is for (None: the whole order)."""
    asked = tracker.get_slot(REFUND_ITEM)
    if eligibility.item is None or not isinstance(asked, dict):
        return None
    return RefundItem(str(asked["sku"]), eligibility.quantity)


async def refund_asked(
    services: Services, number: str, customer_id: int, asked: Any
) -> tuple[RefundEligibility, str | None]:
    """The refund the request asks for, assessed; and the item named that the order lacks.

    One item of the order when the request names one that is on it. A product the order does
    not have is refused (`not_on_order`) when the customer wants that item alone ("the kettle
    only"); otherwise it was said in passing, and the refund is the whole order's, read back
    with what the order holds. `asked` is the `refund_item` slot's value.
    """
    if isinstance(asked, dict) and asked.get("sku"):
        quantity = asked.get("quantity")
        item = RefundItem(str(asked["sku"]), int(quantity) if quantity else None)
        eligibility = await call(services.refunds.eligibility, number, customer_id, item=item)
        if eligibility.reason != "not_on_order" or asked.get("only"):
            return eligibility, None
        whole = await call(services.refunds.eligibility, number, customer_id)
        return whole, str(asked.get("name") or "")
    return await call(services.refunds.eligibility, number, customer_id), None


def items_listed(order: OrderView) -> str:
    """The order's lines as the customer reads them: "1 × Wool Throw, 2 × Linen Cushion Cover"."""
    return ", ".join(f"{item.quantity} × {item.name}" for item in order.items)


def refund_what(eligibility: RefundEligibility, order: OrderView) -> str:
    """What a refund covers: the item's units, or the whole order's lines."""
    if eligibility.item is not None:
        return f"{eligibility.quantity} × {eligibility.item}"
    return f"the whole order ({items_listed(order)})"


class ActionAskConfirmRefund(ShopAction):
    """The refund read back before the yes or no: its amount, and what it is for."""

    def name(self) -> str:
        """Asks `confirm_refund` in `refund_form`."""
        return "action_ask_confirm_refund"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Say what would be refunded (and that an item named is not on the order), then ask."""
        customer_id = verified_customer(tracker)
        number = str(tracker.get_slot(ORDER_NUMBER) or "")
        if customer_id is None or not number:
            return []
        eligibility, missing = await refund_asked(
            services, number, customer_id, tracker.get_slot(REFUND_ITEM)
        )
        order = await call(services.orders.get_order, number, customer_id)
        if missing:
            dispatcher.utter_message(
                response="utter_refund_item_not_on_order_whole",
                order_number=number,
                item=missing,
                items=items_listed(order),
            )
        dispatcher.utter_message(
            response="utter_ask_confirm_refund",
            order_number=number,
            amount=format_money(eligibility.amount_pence, order.currency),
            refund_what=refund_what(eligibility, order),
        )
        return []


class ValidateRefundStatusForm(VerifiedForm):
    """Verification only: the answer covers every refund, or the named order's."""

    def name(self) -> str:
        """Validation action of `refund_status_form`."""
        return "validate_refund_status_form"


class ActionTrackRefund(OrderTask):
    """`track_refund`: each refund's state and dates."""

    def name(self) -> str:
        """Runs when `refund_status_form` completes."""
        return "action_track_refund"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """One message per refund (at most five), or say there are none.

        An order named ("where's my refund for 100105?") is the one asked about; so is the
        order the conversation is about when the request points back at it ("when will it be
        in my account?"), and an order the request describes ("I cancelled something a while
        ago and never saw the money back") when only one fits. For an order, no refund is
        explained from its state (cancelled before payment: there is nothing to wait for).
        """
        customer_id = verified_or_explain(dispatcher, tracker)
        found: list[EventType] = []
        if customer_id is not None:
            number = tracker.get_slot(ORDER_NUMBER) or self.order_referred_to(tracker)
            try:
                order = (
                    await call(services.orders.get_order, str(number), customer_id)
                    if number
                    else await self.described_order(tracker, customer_id)
                )
            except OrderNotFound:
                dispatcher.utter_message(response="utter_order_not_found", order_number=number)
                return self.forget()
            if order is not None:
                number = order.number
                # The order is what the conversation is about now ("I want to complain about it").
                found = [SlotSet(CONTEXT_ORDER, order.number)]
            refunds = await call(
                services.refunds.list_refunds, customer_id, order_number=number or None
            )
            if not refunds and order is not None:
                unpaid = order.status == "cancelled" and order.paid_at is None
                response = "utter_no_refund_unpaid" if unpaid else "utter_no_refund"
                dispatcher.utter_message(
                    response=response, order_number=order.number, status=order.status
                )
            elif not refunds:
                dispatcher.utter_message(response="utter_no_refunds")
            for refund in refunds[:5]:
                dispatcher.utter_message(
                    response=f"utter_refund_status_{refund.status}",
                    order_number=refund.order_number,
                    amount=refund.amount_display,
                    requested_on=day(refund.requested_on),
                    completed_on=day(refund.completed_on),
                    expected_by=day(refund.expected_by) or "within 5 working days",
                )
        return [*self.forget(), *found]

    @staticmethod
    def order_referred_to(tracker: Tracker) -> str | None:
        """The conversation's order, when the request that started the task points back at it."""
        asked = requests(list(tracker.events))
        current = tracker.get_slot(CONTEXT_ORDER)
        if not asked or not current or not refers_back(asked[0].text):
            return None
        return str(current)

    @staticmethod
    async def described_order(tracker: Tracker, customer_id: int) -> OrderView | None:
        """The one order the request that started the task describes, if it describes one."""
        asked = requests(list(tracker.events))
        if not asked or not VerifiedOrderForm.describes_order(asked[0].text):
            return None
        _, found = await orders_described(asked[0].text, customer_id, tracker)
        return found[0] if len(found) == 1 else None

    def on_error(self, tracker: Tracker) -> list[EventType]:
        """A failure forgets nothing, unlike the other tasks: the order named stays."""
        return []


# --- cancellation fee for a named order ---------------------------------------------------


class ValidateCancellationFeeForm(VerifiedOrderForm):
    """Order number and verification for `check_cancellation_fee` about one order."""

    def name(self) -> str:
        """Validation action of `cancellation_fee_form`."""
        return "validate_cancellation_fee_form"


class ActionCancellationFee(OrderAnswer):
    """What cancelling this order would cost, from its state and the shop's rules."""

    def name(self) -> str:
        """Runs when `cancellation_fee_form` completes."""
        return "action_cancellation_fee"

    async def answer(
        self, dispatcher: CollectingDispatcher, services: Services, number: str, customer_id: int
    ) -> None:
        """Free before shipping; the returns route (and its cost) after."""
        quote = await call(services.orders.cancellation_quote, number, customer_id)
        response = f"utter_cancellation_fee_{quote.route}"
        if quote.route == "return":
            response += "_free" if not quote.return_cost_pence else "_paid"
        dispatcher.utter_message(
            response=response,
            order_number=number,
            status=quote.status,
            return_cost=format_money(quote.return_cost_pence or 0),
            return_deadline=day(quote.return_deadline) or "30 days after delivery",
        )
