"""Whether a message answers the question a form asked, or is something else said in its place.

A form that asks for something with a shape (an email address, a postcode, a name, a count)
used to take whatever came next as the answer, unless the NLU read it as a help-centre question
(`not_intent` in domain.yml). So "it keeps saying my email is invalid" or "how long does
delivery take within the UK?", read as another task's words, became a bad email address or a
bad count, and the customer heard "that doesn't look like an email address". The slots with a
shape are extracted here instead (`extract_<slot>` in each form's validation): a message without
the shape that reads as another task or as a question is left unanswered, so the form steps
aside and the rules of data/rules/interruptions.yml answer it (`action_task_midway`), then the
form asks again. A message with the shape is the answer, whatever the NLU read; one without it
that reads as an answer is kept, so the form can say what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.forms import REQUESTED_SLOT

FALLBACK = "nlu_fallback"
# Readings that never answer a form's question: the rules stop the task, hand it over or answer
# the question (they were the slots' `not_intent` in domain.yml).
NEVER_ANSWERS = frozenset(
    {
        "stop",
        "contact_human_agent",
        "ask_question",
        "check_refund_policy",
        "check_payment_methods",
        "delivery_options",
        "contact_customer_service",
        "follow_up",
    }
)
# Other tasks' readings, which data/rules/interruptions.yml sends to `action_task_midway` in the
# middle of a form (its `task_intents`, the fallback aside).
TASK_INTENTS = frozenset(
    {
        "track_order",
        "cancel_order",
        "change_shipping_address",
        "create_account",
        "delete_account",
        "edit_account",
        "recover_password",
        "switch_account",
        "place_order",
        "change_order",
        "set_up_shipping_address",
        "check_invoice",
        "get_invoice",
        "check_cancellation_fee",
        "get_refund",
        "track_refund",
        "complaint",
        "review",
        "newsletter_subscription",
        "delivery_period",
        "ask_recommendation",
        "ask_similar_product",
        "payment_issue",
        "registration_problems",
    }
)

# Words before a question that do not change it: "oh", "wait", "before I say yes", "incidentally".
_LEAD_IN = (
    r"(?:(?:oh|ah|um+|hmm+|wait|hang on|hold on|actually|sorry|btw|by the way|incidentally|"
    r"quick(?: one| question)?|one (?:more )?thing|one question|before (?:i|you) \w+(?: \w+)?)"
    r"\b[\s,:;.!-]*)*"
)
# A clause that asks rather than requests: "will the invoice show VAT?", "does that include
# delivery", "how long does it take". "Can you ...", "could you ...", "will you ..." request,
# except when they ask to be told something ("could you tell me how long it takes").
_ASKS = re.compile(
    rf"^{_LEAD_IN}(?:"
    r"(?:will|would|does|do|did|is|are|was|were|has|have|should|shall|can|could|may|might)"
    r"(?!\s+(?:you|u|ya)\b)|how|what|when|why|which|who|whose|where|if"
    r"|(?:can|could|would|will|might)\s+(?:you|u|ya)\s+(?:please\s+)?"
    r"(?:tell|let me know|explain|confirm|say)"
    r")\b",
    re.I,
)
# Where a clause starts: after a lead-in like "quick one before I confirm:" or "hang on,".
_CLAUSE = re.compile(r"[:;,.!?\-–]\s*|\s+(?:and|but|so)\s+", re.I)
_REQUEST_OPENING = re.compile(r"^\W*(?:can|could|will|would)\s+(?:you|u)\b|^\W*please\b", re.I)


def asks_a_question(text: str) -> bool:
    """True if the message asks something rather than requests a task.

    A question mark makes it a question unless it opens as a request ("can you cancel
    100102?"); without one, a clause that opens as a question counts, after any lead-in
    ("wait will i be charged for cancelling").
    """
    clauses = [c.strip() for c in _CLAUSE.split(text or "") if c.strip()]
    if not clauses:
        return False
    opens_as_question = any(_ASKS.match(clause) for clause in clauses) or bool(
        _ASKS.match((text or "").strip())
    )
    if "?" in text:
        return opens_as_question or not _REQUEST_OPENING.match(text)
    return opens_as_question


def steps_aside(tracker: Tracker, shaped: bool) -> bool:
    """True if the latest message is not the answer to the form's question but a rule's.

    `shaped` says whether the message holds what the question asks for (an email address,
    say): then it is the answer, whatever the NLU read, unless the NLU read it as a question
    for the help centre, a stop or a request for a person, which never answer.
    """
    intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
    if intent in NEVER_ANSWERS:
        return True
    if shaped:
        return False
    if intent in TASK_INTENTS:
        return True
    text = str(tracker.latest_message.get("text") or "")
    return intent == FALLBACK and asks_a_question(text)


def answer_to(slot: str, tracker: Tracker, shape: Callable[[str], bool]) -> dict[str, Any]:
    """`{slot: text}` when the latest message answers the form's question for `slot`.

    For a slot's `extract_<slot>`: nothing when the form asks something else, when the message
    is empty, or when it steps aside (`steps_aside`), so that the form lets the rules take it.
    """
    if tracker.get_slot(REQUESTED_SLOT) != slot:
        return {}
    text = str(tracker.latest_message.get("text") or "")
    if not text.strip() or steps_aside(tracker, shape(text)):
        return {}
    return {slot: text}


# "carry on with the kettle", "please proceed", "go ahead then": back to the task after an aside.
_GOES_ON = re.compile(
    r"\b(?:carry on|go on|go ahead|proceed|continue|crack on|back to (?:the|my) \w+|"
    r"let'?s (?:do it|go ahead|carry on))\b",
    re.I,
)


def goes_on(text: str) -> bool:
    """True if the customer says to go on with the task under way."""
    return bool(_GOES_ON.search(text or ""))


_DIGIT = re.compile(r"\d")
_SHORT = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9 -]{1,9}\s*$")


def looks_like_postcode(text: str) -> bool:
    """A postcode has a digit (UK, Irish and European ones all do), or is a short code."""
    return bool(_DIGIT.search(text) or _SHORT.match(text))


def looks_like_name(text: str) -> bool:
    """A name is a few words, with no digits and no question mark."""
    words = text.split()
    return 0 < len(words) <= 4 and "?" not in text and not _DIGIT.search(text)
