"""Answers from the help centre: quote the best passage and cite it, or say we do not know."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, call, latest_intent
from actions.responses import literal
from actions.services import Services

log = logging.getLogger(__name__)

# Help-centre topics (front matter `topic:`) that answer each policy intent; the NLU's reading
# of the question breaks near-ties between articles of different topics.
TOPICS: dict[str, tuple[str, ...]] = {
    "delivery_options": ("shipping",),
    "delivery_period": ("shipping",),
    "check_payment_methods": ("payments",),
    "payment_issue": ("payments",),
    "check_refund_policy": ("returns",),
    "check_cancellation_fee": ("orders", "returns"),
    "contact_customer_service": ("contact",),
    "registration_problems": ("accounts",),
}


class ActionAnswerFromKnowledge(ShopAction):
    """Any question that is not a task goes to the knowledge base."""

    ends_request = True

    def name(self) -> str:
        """Used by the rules for `ask_question` and `nlu_fallback`."""
        return "action_answer_from_knowledge"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Quote and cite, or abstain below the calibrated threshold."""
        question = str(tracker.latest_message.get("text") or "").strip()
        topics = TOPICS.get(latest_intent(tracker) or "", ())
        answer = (
            await call(services.knowledge.answer, question, topics=topics) if question else None
        )
        if answer is None:
            log.info("knowledge: no answer good enough (conversation %s)", tracker.sender_id)
            dispatcher.utter_message(response="utter_knowledge_unknown")
            return []
        log.info("knowledge: answered from %s, score %.3f", answer.article_id, answer.score)
        dispatcher.utter_message(
            response="utter_knowledge_answer",
            quote=literal(answer.quote),
            title=answer.title,
            url=answer.url,
        )
        return []
