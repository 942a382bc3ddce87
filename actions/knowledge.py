"""Answers from the help centre: quote the best passage and cite it, or say we do not know.

When the agent cannot answer a second time in a row, or cannot answer a customer who is clearly
upset, it hands the conversation to a person instead of offering one again.

Every question is logged with what was answered (crm/records/answers.py); the answer offers "was
this helpful?" buttons, and the customer's vote is stored against that answer.
"""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, call, latest_intent
from actions.clarify import CLARIFY_UNANSWERED, FALLBACK, TOPICS, clarified_question, offer_choices
from actions.context import (
    CONTEXT_ORDER,
    LAST_QUESTION,
    ORDER_TASKS,
    Question,
    corrects,
    previous_request,
    refers_back,
    resolve_follow_up,
)
from actions.delivery import DELIVERY_TO_PLACE, say_delivery_to_place
from actions.handoff import (
    OFFERS,
    SAID_IT_IS_A_BOT,
    asks_about_handoff,
    asks_for_the_person_mentioned,
    hand_off,
    say_handed_off,
)
from actions.order_questions import answer_about_order
from actions.products import answer_about_product, wants_guide
from actions.queue import Request, is_replayed, replay
from actions.recommend import offer_after_question, refines_request, suggest_for_request
from actions.responses import literal
from actions.services import Services
from actions.turns import last_reply, previous_turn
from actions.verification import ORDER_NUMBER, find_order_number
from crm.insights.sentiment import is_negative
from knowledge.retrieve import Answer

log = logging.getLogger(__name__)

ANSWER_ID = "knowledge_answer_id"
# Replies that mean the agent did not understand or could not answer.
FAILED_REPLIES = frozenset({"utter_knowledge_unknown", "utter_default", CLARIFY_UNANSWERED})
ANSWER_RESPONSE = "utter_knowledge_answer"
# Replies that answered the last question.
ANSWERED_REPLIES = frozenset({ANSWER_RESPONSE, *DELIVERY_TO_PLACE})
HELPFUL = "answer_helpful"  # its counterpart, answer_not_helpful, is every other vote
YES, NO = "affirm", "deny"
# Replies that end by asking "would you like a person?": a yes to them asks for one.
OFFERS_PERSON = frozenset(
    {
        "utter_knowledge_unknown",
        "utter_complaint_logged",
        "utter_complaint_logged_fault",
        "utter_refund_replacement",
        "utter_product_fact_unknown",
        SAID_IT_IS_A_BOT,
        *OFFERS,
    }
)
FOLLOW_UP = "follow_up"
# The help centre's topic of care guides, sizes and guarantees.
PRODUCT_TOPICS = ("products",)


class ActionAnswerFromKnowledge(ShopAction):
    """Any question that is not a task goes to the knowledge base."""

    ends_request = True

    def name(self) -> str:
        """Used by the rules for `ask_question` and `nlu_fallback`."""
        return "action_answer_from_knowledge"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Quote and cite, or abstain below the calibrated threshold.

        A question about the handoff under way (its reference, the wait) is the handoff's.
        A question about "it" when the conversation is about an order ("when's it going to
        get here?") is that order's task, not a general question: it is asked again with the
        order's number.
        """
        if asks_about_handoff(tracker) or asks_for_the_person_mentioned(tracker):
            return [FollowupAction("action_request_handoff")]
        about = about_current_order(tracker)
        if about is not None:
            return replay(about, tracker)
        # A detail right after suggestions ("she's only got a tiny balcony tho") refines them.
        refined = refines_request(tracker, statements_only=True)
        if refined is not None:
            return await suggest_for_request(dispatcher, tracker, services, refined)
        elliptical = latest_intent(tracker) == FOLLOW_UP  # asked in the middle of a task
        return await answer_question(dispatcher, tracker, services, follow_up=elliptical)


def about_current_order(tracker: Tracker) -> Request | None:
    """The latest message as a request about the current order, if it refers back to one."""
    intent = latest_intent(tracker)
    current = tracker.get_slot(CONTEXT_ORDER)
    text = str(tracker.latest_message.get("text") or "")
    if intent not in ORDER_TASKS or not current or not refers_back(text):
        return None
    if find_order_number(text) is not None or is_replayed(tracker):
        return None
    entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
    order = {"entity": ORDER_NUMBER, "value": str(current)}
    return Request(intent=str(intent), text=text, entities=[*entities, order])


async def answer_question(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    services: Services,
    *,
    follow_up: bool = False,
) -> list[EventType]:
    """Answer the customer's latest message from the help centre, and remember the question.

    With `follow_up`, the message is an elliptical follow-up and is read against the last
    question (actions/context.py): the help centre is asked the question it stands for.
    """
    first = clarified_question(tracker)  # a choice button answers the message before it
    said = Question.of_message(
        (first or str(tracker.latest_message.get("text") or "")).strip(),
        [] if first else list(tracker.latest_message.get("entities") or []),
    )
    own = said
    last = Question.from_slot(tracker.get_slot(LAST_QUESTION))
    # The question the agent answered just before, which this message may go on from.
    answered = last if ANSWERED_REPLIES & set(previous_turn(tracker)) else None
    if follow_up or (answered is not None and corrects(own, answered)):
        said = resolve_follow_up(last, said)
    remembered = SlotSet(LAST_QUESTION, said.as_slot() if said.text else None)
    question = said.text
    # About the order the conversation is on ("and if it doesn't come by Friday?"): its records.
    if await answer_about_order(dispatcher, tracker, services, said):
        return [SlotSet(ANSWER_ID, None), remembered]
    # A question about one of the shop's products, or a pick among those just suggested, is
    # answered from the product's page (actions/products.py).
    about_product = await answer_about_product(dispatcher, tracker, services, said, own)
    if about_product is not None:
        # After a product's own care or guarantee line, the help centre's guide to it, if
        # it has one ("Caring for cast-iron pans"); nothing more if it has none.
        guide = (
            await call(services.knowledge.answer, question, topics=PRODUCT_TOPICS)
            if wants_guide(question)
            else None
        )
        if guide is None or guide.topic not in PRODUCT_TOPICS:
            return [SlotSet(ANSWER_ID, None), remembered, *about_product]
        answer_id = await say_answer(dispatcher, services, tracker, question, guide)
        return [SlotSet(ANSWER_ID, str(answer_id)), remembered, *about_product]
    served = say_delivery_to_place(dispatcher, own, said, answered)
    if served is False:  # we don't deliver there: an article about where we do adds nothing
        return [SlotSet(ANSWER_ID, None), remembered]
    topics = TOPICS.get(latest_intent(tracker) or "", ())
    answer = (
        await call(services.knowledge.answer, question, topics=topics, focus=own_words(said, own))
        if question
        else None
    )
    context = (
        None if said is not own or served else context_of(tracker, own, answered, answer, last)
    )
    if context is not None:
        # Read against what it may go on from; the reading the help centre answers better wins.
        reading = resolve_follow_up(context, own)
        other = await call(
            services.knowledge.answer, reading.text, topics=topics, focus=own_words(reading, own)
        )
        if other is not None and (answer is None or other.score > answer.score):
            answer, said, question = other, reading, reading.text
            remembered = SlotSet(LAST_QUESTION, said.as_slot())
    if answer is None and served:  # the delivery rules answered; the help centre had no more
        return [SlotSet(ANSWER_ID, None), remembered]
    if answer is None:
        log.info("knowledge: no answer good enough (conversation %s)", tracker.sender_id)
        if question:
            await call(
                services.answers.record_abstention,
                conversation_id=tracker.sender_id,
                question=question,
            )
        reason = failure_handoff_reason(tracker, question)
        if reason is None:
            # Unsure what the customer meant, and no article: the tasks it may be.
            unsure = latest_intent(tracker) == FALLBACK
            if not (unsure and offer_choices(dispatcher, tracker, CLARIFY_UNANSWERED)):
                dispatcher.utter_message(response="utter_knowledge_unknown")
            return [SlotSet(ANSWER_ID, None), remembered]
        # Not again "would you like a person?": the customer gets one.
        log.info("knowledge: handed off (%s), conversation %s", reason, tracker.sender_id)
        handoff = await hand_off(services, tracker, reason)
        say_handed_off(dispatcher, services, handoff, failed=True)
        return [SlotSet(ANSWER_ID, None), remembered]
    answer_id = await say_answer(dispatcher, services, tracker, question, answer)
    return [SlotSet(ANSWER_ID, str(answer_id)), remembered]


async def say_answer(
    dispatcher: CollectingDispatcher,
    services: Services,
    tracker: Tracker,
    question: str,
    answer: Answer,
) -> int:
    """Quote and cite the help centre's answer, log it, and offer what goes with its product."""
    log.info("knowledge: answered from %s, score %.3f", answer.article_id, answer.score)
    answer_id = await call(
        services.answers.record_answer,
        conversation_id=tracker.sender_id,
        question=question,
        article_id=answer.article_id,
        passage_id=answer.chunk_id,
        score=answer.score,
    )
    dispatcher.utter_message(
        response=ANSWER_RESPONSE,
        quote=literal(answer.quote),
        title=answer.title,
        url=answer.url,
    )
    await offer_after_question(dispatcher, services, tracker, answer.topic)
    return int(answer_id)


def context_of(
    tracker: Tracker,
    said: Question,
    answered: Question | None,
    alone: Answer | None,
    last: Question | None = None,
) -> Question | None:
    """What a question that is unclear on its own may go on from, if it should be read so.

    `alone` is the help centre's answer to the customer's words alone. When the agent has just
    answered a question, a question the help centre cannot answer alone is read against it
    ("what else can I pay with?" after an answer about a declined card); one it can answer
    alone is a new question, even with an "it" ("can I pay for it with PayPal?" after refunds
    is about paying, and read with "how long do refunds take?" it would land on refunds). After
    a request the help centre did not answer (a complaint, a task), the customer's previous
    message is the context of a question that is unanswerable alone or points back at it ("will
    they try again?" after "your driver found nobody home"). Otherwise the `last` question the
    help centre was asked is the context of one unanswerable alone that points back: "where do I
    put it?" after "do you have promo codes?" and a code the agent took for thanks.
    """
    if answered is not None:
        return answered if alone is None else None
    request = previous_request(tracker)
    if request is None:
        return last if alone is None and refers_back(said.text) else None
    if alone is not None and not refers_back(said.text):
        return None
    return Question.of_message(request.text, request.entities)


def own_words(reading: Question, own: Question) -> str | None:
    """The customer's own words when `reading` adds the question before them, else None.

    "And if I've used it?" read with "how many days have I got to send something back?" finds
    the returns policy, but quoted by the whole reading it repeats the 30-day answer just given:
    what to quote of the article is chosen mostly by the words the customer added
    (`KnowledgeBase.answer`'s focus). A follow-up that swapped a thing into the earlier
    question ("what about the US?" as "do you deliver to the US?") is a whole question already.
    """
    words = own.text.strip()
    if not words or reading.text == own.text or not reading.text.startswith(words):
        return None
    return words


def failure_handoff_reason(tracker: Tracker, question: str) -> str | None:
    """Why a person should take over now that the agent cannot answer, or None.

    Two failures in a row (the agent's previous reply was already "I don't know" or "I didn't
    understand"), or a question that reads clearly negative (crm/insights/sentiment.py): an upset
    customer is not asked to rephrase. Sentiment alone, while the agent is helping, hands
    nothing off.
    """
    if is_negative(question):
        return "negative_sentiment"
    if last_reply(tracker) in FAILED_REPLIES:
        return "repeated_misunderstanding"
    return None


def replies_to_answer(tracker: Tracker) -> bool:
    """True if the agent's last turn, before the customer's latest message, quoted an answer.

    A vote counts only then: "that didn't help" said later, about something else, must not be
    filed against an old answer.
    """
    return ANSWER_RESPONSE in previous_turn(tracker)


class ActionRecordAnswerFeedback(ShopAction):
    """Was this helpful? Store the vote on the answer just given, then thank or offer help.

    Also every plain yes or no outside a task (data/rules/conversation.yml).
    """

    ends_request = True

    def name(self) -> str:
        """Used by the rules for the votes, and for yes and no outside a task."""
        return "action_record_answer_feedback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Record the vote if it is about the answer just given; reply either way.

        A plain yes or no counts as a vote only right after an answer. A yes to the offer of a
        person (when the agent did not know, after a complaint) is a request for one; anything
        else gets the usual reply.
        """
        intent = latest_intent(tracker)
        about_answer = replies_to_answer(tracker)
        if intent == YES and last_reply(tracker) in OFFERS_PERSON:
            return [FollowupAction("action_request_handoff")]
        if intent in (YES, NO) and not about_answer:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        helpful = intent in (HELPFUL, YES)
        answer_id = tracker.get_slot(ANSWER_ID)
        if answer_id is not None and about_answer:
            recorded = await call(
                services.answers.record_vote,
                answer_id=int(answer_id),
                conversation_id=tracker.sender_id,
                helpful=helpful,
            )
            log.info(
                "knowledge: answer %s voted %s (recorded: %s)",
                answer_id,
                "helpful" if helpful else "not helpful",
                recorded,
            )
        dispatcher.utter_message(
            response="utter_answer_helpful" if helpful else "utter_answer_not_helpful"
        )
        return []
