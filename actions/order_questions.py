"""Questions about the order the conversation is about, asked in passing.

After "where's my parcel?" a customer goes on about that order without naming it: "and if it
doesn't come by Friday?", "how long do I have?" (to send it back), "what's happening with it
anyway?" (its state, even after a task about it was dropped), "how do I pay for it then?" (an
unpaid order's own payment link), or, while saving a new address on the account, "would that
change where 100301 goes?". The help centre answers such
questions only in general; the records answer them for this order. `answer_about_order` reads
the question against the verified customer's order (`context_order`, or the number the question
names) and answers from the order's dates and the returns rule, or leaves the question to the
help centre (actions/knowledge.py calls it first).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import call, verified_customer
from actions.context import CONTEXT_ORDER, LAST_QUESTION, Question, last_request, refers_back
from actions.order_helpers import order_details
from actions.responses import day
from actions.services import Services
from actions.verification import find_order_number
from crm.records.delivery import uk_date
from crm.records.errors import OrderNotFound
from crm.records.views import CHANGEABLE_STATUSES, OrderView

# "what if it doesn't come by friday?", "and if it never turns up": the order not arriving.
_IF_NOT_ARRIVED = re.compile(
    r"\b(?:if|when|in case|what happens)\b.{0,40}?"
    r"(?:\b(?:do(?:es)?n'?t|dosn'?t|dont|doesnt|does not|do not|never|hasn'?t|has not|isn'?t|"
    r"is not|won'?t|will not|not)\s+(?:\w+\s+)?(?:come|came|arrive[sd]?|turn(?:s|ed)? up|"
    r"get here|show(?:s|ed)? up|here|delivered|make it)\b|\b(?:is|it'?s|gets?) (?:lost|late)\b)",
    re.I,
)
# "how long do I have?", "until when?", "what's the deadline?": time left for something.
_TIME_LEFT = re.compile(
    r"\bhow\w* (?:long|many days|much time)\b|\buntil when\b|\bdeadline\b|\btime limit\b"
    r"|\b(?:too late|still time|in time)\b|\bwhen (?:do|must|should) i\b|\blast day\b",
    re.I,
)
# What a return is called: "send it back", "return it", "a refund".
_RETURNS = re.compile(r"\b(?:return\w*|send (?:\w+ )?back|sent back|refund\w*|exchange)\b", re.I)
# "would that change where 100301 goes?": whether a new address moves an order.
_WHERE_IT_GOES = re.compile(
    r"\b(?:go(?:es)?|going|sent|send|deliver\w*|arriv\w*|ship\w*|address|redirect\w*|"
    r"affect\w*|change\w*|apply|applies)\b",
    re.I,
)
# "what's happening with it?", "any news on it?", "and when it arrive then?": the order's state.
_STATUS = re.compile(
    r"\b(?:what'?s|whats|what is) (?:happening|going on|up)\b|\bany (?:news|update)s?\b"
    r"|\b(?:status|progress)\b|\bwhere(?:'s| is) (?:it|that one)\s*(?:now|at)?\W*$"
    r"|\bwhen\b.{0,25}?\b(?:arriv\w*|come|coming|get (?:here|to me)|turn\w* up|be here"
    r"|show\w* up|deliver\w*|land\w*)\b",
    re.I,
)
# "how do I pay for it then?", "where do I pay?", "send me the payment link": paying an order.
_PAY = re.compile(
    r"\b(?:how|where) (?:do|can|should|would) (?:i|we) pay\b|\bpay (?:for )?(?:it|that|this)\b"
    r"|\bpayment link\b|\blink to pay\b|\b(?:finish|complete) (?:the )?payment\b",
    re.I,
)
_UNPAID = "placed"
# The tasks that change an address on the account, not on an order.
_ACCOUNT_ADDRESS_FORMS = frozenset({"save_address_form"})
_ACCOUNT_ADDRESS_INTENTS = frozenset({"set_up_shipping_address"})
_NOT_YET_ARRIVED = frozenset({"placed", "paid", "shipped"})


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def _about(tracker: Tracker, question: Question, *, implied: bool = False) -> str | None:
    """The order the question is about: the one it names, or the current one it refers back to.

    An elliptical follow-up ("and if it doesn't come by Friday?") refers back by being one, and
    so does a question `implied` by the previous one ("how long do I have?" after "can I send
    it back?").
    """
    text = _text(tracker)
    named = find_order_number(text)
    if named is not None:
        return named
    current = tracker.get_slot(CONTEXT_ORDER)
    if not current:
        return None
    if implied or refers_back(text) or question.text != text.strip():
        return str(current)
    return None


def _about_account_address(tracker: Tracker) -> bool:
    """True while the customer is saving an address on the account, or just did."""
    if tracker.active_loop_name in _ACCOUNT_ADDRESS_FORMS:
        return True
    previous = last_request(tracker)
    return previous is not None and previous.intent in _ACCOUNT_ADDRESS_INTENTS


def _about_returns(tracker: Tracker, question: Question) -> bool:
    """True if the question, or the one before it, is about sending the order back."""
    if _RETURNS.search(question.text):
        return True
    last = Question.from_slot(tracker.get_slot(LAST_QUESTION))
    return last is not None and bool(_RETURNS.search(last.text))


def last_question_about_returns(tracker: Tracker) -> bool:
    """True if the help centre's last answer was about sending something back for a refund."""
    last = Question.from_slot(tracker.get_slot(LAST_QUESTION))
    return last is not None and bool(_RETURNS.search(last.text))


async def answer_about_order(
    dispatcher: CollectingDispatcher, tracker: Tracker, services: Services, question: Question
) -> bool:
    """Answer `question` for the order it is about, if the records can; False to pass it on.

    Only for a verified customer's own order: someone else's number, or no verification, is
    left to the help centre like any general question.
    """
    customer_id = verified_customer(tracker)
    if customer_id is None:
        return False
    text = _text(tracker)
    account_address = _about_account_address(tracker) and bool(_WHERE_IT_GOES.search(text))
    late = bool(_IF_NOT_ARRIVED.search(text))
    time_left = bool(_TIME_LEFT.search(text)) and _about_returns(tracker, question)
    pay = bool(_PAY.search(text))
    status = bool(_STATUS.search(text))
    if not (account_address or late or time_left or pay or status):
        return False
    number = _about(tracker, question, implied=time_left)
    if number is None:
        return False
    try:
        order = await call(services.orders.get_order, number, customer_id)
    except OrderNotFound:
        return False
    if account_address:
        return _say_address_scope(dispatcher, order)
    if late:
        return _say_if_late(dispatcher, order)
    if time_left:
        return await _say_time_to_return(dispatcher, services, order, customer_id)
    if pay:
        return _say_how_to_pay(dispatcher, services, order)
    dispatcher.utter_message(response=f"utter_order_status_{order.status}", **order_details(order))
    return True


def _say_how_to_pay(dispatcher: CollectingDispatcher, services: Services, order: OrderView) -> bool:
    """An unpaid order's own payment link and the ways to pay; a paid one is the help centre's."""
    if order.status != _UNPAID:
        return False
    dispatcher.utter_message(
        response="utter_order_how_to_pay",
        payment_url=services.orders.payment_url(order.number),
        **order_details(order),
    )
    return True


def _say_address_scope(dispatcher: CollectingDispatcher, order: OrderView) -> bool:
    """A new address on the account is for new orders; this one keeps its own."""
    details = order_details(order)
    if order.status in CHANGEABLE_STATUSES:
        dispatcher.utter_message(response="utter_account_address_not_open_order", **details)
    else:
        dispatcher.utter_message(
            response=f"utter_account_address_not_order_{order.status}", **details
        )
    return True


def _say_if_late(dispatcher: CollectingDispatcher, order: OrderView) -> bool:
    """What to do if the order misses its estimate: when to come back, and what we do then."""
    if order.status not in _NOT_YET_ARRIVED:
        return False
    dispatcher.utter_message(response="utter_order_if_late", **order_details(order))
    return True


async def _say_time_to_return(
    dispatcher: CollectingDispatcher, services: Services, order: OrderView, customer_id: int
) -> bool:
    """The days left to send a delivered order back, from the returns rule."""
    if order.status != "delivered":
        return False
    eligibility = await call(services.refunds.eligibility, order.number, customer_id)
    if eligibility.deadline is None:
        return False
    left = (eligibility.deadline - uk_date(datetime.now(UTC))).days
    details = order_details(order)
    if left < 0:
        dispatcher.utter_message(
            response="utter_return_window_passed", deadline=day(eligibility.deadline), **details
        )
    else:
        dispatcher.utter_message(
            response="utter_return_window_left",
            deadline=day(eligibility.deadline),
            days_left=left,
            **details,
        )
    return True
