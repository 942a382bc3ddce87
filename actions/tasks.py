"""A task interrupted midway: `action_reset_task` and `action_task_midway`.

Each skill's rules run `action_reset_task` when the customer says "stop" or asks for a person
while a form is asking its questions. It forgets whatever the task had filled, the way a
finished task forgets its own slots (`forget_task` and `TaskAction` in actions/base.py); who
the customer is stays.

Another task's words in the middle of a form ("quick one before I confirm: will the invoice
show VAT?") are usually a question about the task under way, not a new request: the rules in
data/rules/interruptions.yml send them to `action_task_midway`, which answers a question from
the help centre and lets the form ask again; only a request ("cancel order 100102 instead")
leaves the task, unchanged, and says so, before the new task starts. A problem the help centre
answers ("the reset mail doesn't arrive") is answered too, and the task under way asked for
again ("carry on with the address") just goes on. A message the NLU is unsure about
(`nlu_fallback`) that a form cannot take as its answer is treated the same way, except that it
never leaves the task: unless it is a question, the form asks again. Which messages a form
cannot take as its answer is decided in actions/form_answers.py.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.address import corrects_address_read_back
from actions.base import (
    CUSTOMER_ID,
    CUSTOMER_NAME,
    VERIFIED_UNTIL,
    ShopAction,
    forget_task,
    latest_intent,
)
from actions.clarify import FALLBACK
from actions.context import CONTEXT_ORDER, LAST_QUESTION, ORDER_TASKS
from actions.form_answers import asks_a_question
from actions.knowledge import answer_question
from actions.queue import Request, replay
from actions.services import Services
from actions.verification import FAILURES, LOOKUP_FAILURES, find_order_number

# Readings whose rules outside a form go to the help centre: they have no task to switch to,
# so in the middle of one they are a problem to answer ("the reset mail doesn't arrive").
HELP_CENTRE_TASKS = frozenset({"registration_problems", "payment_issue"})
# Every read-back's yes-or-no slot is named so (domain.yml): confirm_cancel, confirm_delete, ...
CONFIRMATION = "confirm_"
# Words that keep a request for the task from being a yes to its read-back.
_HOLDS_BACK = re.compile(r"\b(?:no|not|don'?t|do not|never|wait|hold on|hang on|before)\b|\?", re.I)
# Each task's form (the start rules of data/rules/<skill>.yml): the same task asked for in its
# own form is not a new request.
TASK_FORMS = {
    "track_order": "track_order_form",
    "cancel_order": "cancel_order_form",
    "place_order": "place_order_form",
    "change_order": "change_order_form",
    "change_shipping_address": "change_address_form",
    "set_up_shipping_address": "save_address_form",
    "check_invoice": "invoice_list_form",
    "get_invoice": "invoice_form",
    "get_refund": "refund_form",
    "track_refund": "refund_status_form",
    "recover_password": "password_reset_form",
    "create_account": "sign_up_form",
    "edit_account": "edit_account_form",
    "delete_account": "delete_account_form",
    "complaint": "complaint_form",
    "review": "review_form",
    "newsletter_subscription": "newsletter_form",
}


# Each task's form: its own words at its read-back are an answer, not a new request.
TASK_FORMS = {
    "cancel_order": "cancel_order_form",
    "change_shipping_address": "change_address_form",
    "get_refund": "refund_form",
    "newsletter_subscription": "newsletter_form",
    "create_account": "sign_up_form",
    "edit_account": "edit_account_form",
    "delete_account": "delete_account_form",
    "set_up_shipping_address": "save_address_form",
    "place_order": "place_order_form",
    "change_order": "change_order_form",
}
CONFIRMATION = "confirm_"
# "yes cancel THAT one", "yep, go ahead and change it": a yes that repeats the task's words.
_YES_FIRST = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|ya|aye|ok(?:ay)?|sure|correct|right|please)\b", re.I
)


def confirms_own_task(tracker: Tracker) -> str | None:
    """The read-back's slot, if the message says yes to it in the task's own words.

    "Yes cancel THAT one" at "Shall I cancel order 100101?" reads as a request to cancel, but
    it answers the question: the task under way is confirmed, not started again. A message
    naming another order is a new request.
    """
    requested = str(tracker.get_slot("requested_slot") or "")
    if not requested.startswith(CONFIRMATION):
        return None
    if TASK_FORMS.get(str(latest_intent(tracker))) != tracker.active_loop_name:
        return None
    text = str(tracker.latest_message.get("text") or "")
    named = find_order_number(text)
    if named is not None and named != str(tracker.get_slot("order_number") or ""):
        return None
    return requested if _YES_FIRST.match(text) else None


class ActionResetTask(ShopAction):
    """Forget a task's slots when the customer stops it or asks for a person midway."""

    # Who the customer is outlives any one task; so does the count of failed verifications,
    # or stopping a form would reset the limit on guessing, and what the conversation is about.
    KEEP = frozenset(
        {
            CUSTOMER_ID,
            CUSTOMER_NAME,
            VERIFIED_UNTIL,
            FAILURES,
            CONTEXT_ORDER,
            LAST_QUESTION,
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
        return reset_task(tracker)


def reset_task(tracker: Tracker) -> list[EventType]:
    """The events that forget every slot the task under way filled; verification stays."""
    filled = [
        slot
        for slot, value in tracker.slots.items()
        if slot not in ActionResetTask.KEEP and value is not None and slot != LOOKUP_FAILURES
    ]
    return forget_task(filled, (LOOKUP_FAILURES,))


class ActionTaskMidway(ShopAction):
    """Another task's words while a form waits: a question is answered, a request switches.

    The rules follow this action with the form, which asks its question again; a switch
    replays the message, so the new task's own rules take it from there.
    """

    def name(self) -> str:
        """Used by the rules for task intents in the middle of a form."""
        return "action_task_midway"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Answer from the help centre, or leave the task unchanged and start the new one."""
        text = str(tracker.latest_message.get("text") or "")
        intent = str(latest_intent(tracker))
        confirmed = confirms_own_task(tracker)
        if confirmed is not None:
            # The form goes on with its yes, as if the customer had only said "yes".
            return [SlotSet(confirmed, True)]
        if corrects_address_read_back(tracker):
            # "Its Ancoats Street not Road" corrects the address read back, whatever the NLU
            # made of it: the form takes the correction and reads the address back again.
            return []
        # "where is order 100103?" asks for that order's task, whatever its phrasing.
        names_order = intent in ORDER_TASKS and find_order_number(text) is not None
        if (asks_a_question(text) or intent in HELP_CENTRE_TASKS) and not names_order:
            return await answer_question(dispatcher, tracker, services)
        if intent == FALLBACK:
            # Neither a question nor a task the NLU is sure of: the form asks its question again.
            dispatcher.utter_message(response="utter_default")
            return []
        if TASK_FORMS.get(intent) == tracker.active_loop_name and not names_order:
            # "ok fine yes cancel it", "please do save the Trumpington Street address": the task
            # under way, asked for again, goes on where it was (leaving it to start afresh would
            # lose it); at its read-back, that is a yes.
            requested = str(tracker.get_slot("requested_slot") or "")
            if requested.startswith(CONFIRMATION) and not _HOLDS_BACK.search(text):
                return [SlotSet(requested, True)]
            return []
        dispatcher.utter_message(response="utter_task_left")
        entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
        request = Request(intent=intent, text=text, entities=entities)
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *reset_task(tracker),
            *replay(request, tracker),
        ]
