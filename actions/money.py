"""Money skills: invoices, refunds and cancellation fees for an order.

The policy questions of the same areas (payment methods, the refund policy) are answered by the
knowledge base; these skills answer from the customer's own records.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import call, transcript, verified_customer
from actions.context import requests
from actions.entities import parse_amount, parse_period
from actions.feedback import describes_fault
from actions.order_helpers import ORDER_SLOTS, OrderAnswer, OrderTask, unverified_or_unknown
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
from crm.records.errors import InvoiceNotFound, RefundNotAllowed
from crm.records.views import OrderView, format_money

INVOICE_PERIOD = "invoice_period"
INVOICE_AMOUNT = "invoice_amount"
REFUND_ELIGIBLE = "refund_eligible"
REFUND_REASON = "refund_reason"
CONFIRM_REFUND = "confirm_refund"
REFUND_REPLACEMENT = "refund_replacement"
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
        """The reason, when the request or a complaint just before it says what is wrong.

        "the item was damaged in transit", then "I should prefer a refund": not asked again.
        """
        if wants_replacement(text):
            return {REFUND_REPLACEMENT: True}
        said = [line["text"] for line in transcript(tracker) if line["role"] == "customer"]
        for candidate in [text, *reversed(said[-RECENT_MESSAGES:])]:
            if describes_fault(candidate):
                return {REFUND_REASON: candidate.strip()[:500]}
        return {}

    async def on_order_found(
        self, number: str, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Check eligibility now, so an ineligible order is explained without questions."""
        eligibility = await call(get_services().refunds.eligibility, number, customer_id)
        return {REFUND_ELIGIBLE: eligibility.eligible}

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

    forgets = (*ORDER_SLOTS, REFUND_ELIGIBLE, REFUND_REASON, CONFIRM_REFUND, REFUND_REPLACEMENT)

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
        eligibility = await call(services.refunds.eligibility, number, customer_id)
        if not eligibility.eligible:
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
                )
            except RefundNotAllowed as refused:
                dispatcher.utter_message(
                    response=f"utter_refund_not_possible_{refused.reason}",
                    order_number=number,
                    deadline=day(eligibility.deadline),
                )
            else:
                dispatcher.utter_message(
                    response="utter_refund_requested",
                    order_number=number,
                    amount=refund.amount_display,
                    expected_by=day(refund.expected_by),
                )
        return done


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

        Without an order number, an order the request describes ("I cancelled something a
        while ago and never saw the money back") is the one asked about, when only one fits.
        """
        customer_id = verified_or_explain(dispatcher, tracker)
        if customer_id is not None:
            number = tracker.get_slot(ORDER_NUMBER)
            order = None if number else await self.described_order(tracker, customer_id)
            if order is not None:
                number = order.number
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
        return self.forget()

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
