"""A task stopped midway: `action_reset_task`.

Each skill's rules run it when the customer says "stop" or asks for a person while a form is
asking its questions. It forgets whatever the task had filled, the way a finished task forgets
its own slots (`forget_task` and `TaskAction` in actions/base.py); who the customer is stays.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import CUSTOMER_ID, CUSTOMER_NAME, VERIFIED_UNTIL, ShopAction, forget_task
from actions.context import CONTEXT_ORDER, LAST_QUESTION
from actions.services import Services
from actions.verification import FAILURES, LOOKUP_FAILURES


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
        filled = [
            slot
            for slot, value in tracker.slots.items()
            if slot not in self.KEEP and value is not None and slot != LOOKUP_FAILURES
        ]
        return forget_task(filled, (LOOKUP_FAILURES,))
