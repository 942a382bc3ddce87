"""Satisfaction (CSAT) after a person closes the chat: a rating from 1 to 5, kept with the handoff.

The staff relay (bot/channels/staff.py) triggers `EXTERNAL_staff_closed` when a person closes a
conversation in the agent console; a rule starts `csat_form`, which asks `utter_ask_csat_score`.
Declining ("no thanks") or asking something else is handled by rules (data/rules/satisfaction.yml,
interruptions.yml); the rating is never required.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopFormValidation, TaskAction, call
from actions.services import Services

CSAT_SCORE = "csat_score"
_DIGIT = re.compile(r"(?<![\d.,])([1-5])(?![\d.,])")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_WORD = re.compile(r"\b(one|two|three|four|five)\b", re.I)
_STARS = re.compile(r"[⭐★]")
_OUT_OF_FIVE = re.compile(r"(?:/|\bout of)\s*(?:5|five)\b", re.I)


def rating_in(text: str) -> int | None:
    """The rating a customer typed: a digit ("4", "4/5", "5 stars"), a word, or star symbols.

    Two different ratings in one answer ("3 or 4") are no answer: asked again.
    """
    text = _OUT_OF_FIVE.sub(" ", text)
    digits = {int(found) for found in _DIGIT.findall(text)}
    words = {_WORDS[found.lower()] for found in _WORD.findall(text)}
    stars = len(_STARS.findall(text))
    candidates = digits | words | ({stars} if 1 <= stars <= 5 else set())
    return candidates.pop() if len(candidates) == 1 else None


class ValidateCsatForm(ShopFormValidation):
    """A rating from 1 to 5."""

    def name(self) -> str:
        """Validation action of `csat_form`."""
        return "validate_csat_form"

    async def validate_csat_score(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the number; anything else is asked again."""
        rating = rating_in(str(value or ""))
        if rating is None:
            dispatcher.utter_message(response="utter_invalid_rating")
            return {CSAT_SCORE: None}
        return {CSAT_SCORE: str(rating)}


class ActionRecordCsat(TaskAction):
    """Store the rating with the conversation's handoff and thank the customer."""

    forgets = (CSAT_SCORE,)

    def name(self) -> str:
        """Runs when `csat_form` completes."""
        return "action_record_csat"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """A second rating of the same handoff is thanked for but not stored over the first."""
        score = int(str(tracker.get_slot(CSAT_SCORE)))
        await call(services.handoffs.record_csat, tracker.sender_id, score)
        dispatcher.utter_message(
            response="utter_csat_thanks_high" if score >= 4 else "utter_csat_thanks_low",
            score=score,
        )
        return self.forget()
