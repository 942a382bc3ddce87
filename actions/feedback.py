"""Feedback skills: complaints (a ticket, and a person offered), reviews, and the newsletter."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.base import ShopFormValidation, TaskAction, call, transcript, verified_customer
from actions.context import CONTEXT_ORDER, last_request, refers_back
from actions.corrections import takes_back
from actions.form_answers import answer_to
from actions.queue import Request, replay
from actions.services import Services, get_services
from actions.verification import ORDER_NUMBER, find_email, find_order_number
from config.contract import GENERAL_TEAM
from crm.desk.handoff_policy import ROUTING_WINDOW

COMPLAINT_CATEGORY = "complaint_category"
COMPLAINT_DETAILS = "complaint_details"
REVIEW_RATING = "review_rating"
REVIEW_COMMENT = "review_comment"
NEWSLETTER_CHOICE = "newsletter_choice"
NEWSLETTER_EMAIL = "newsletter_email"
CONFIRM_NEWSLETTER = "confirm_newsletter"

# Words a customer may use for each ticket category; the buttons send the first one.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "delivery": ("delivery", "parcel", "courier", "late", "shipping", "driver"),
    "product": ("product", "item", "broken", "faulty", "damaged", "quality"),
    "service": ("service", "staff", "support", "rude", "agent", "chat"),
    "billing": ("billing", "payment", "charge", "charged", "refund", "invoice", "price"),
    "website": ("website", "site", "app", "login", "checkout", "page"),
    "other": ("other", "something else"),
}
# The ticket category of each staff team's work, for words that name no category themselves:
# the routing model reads the whole complaint, as it does when the ticket is routed.
TEAM_CATEGORIES: dict[str, str] = {
    "shipping": "delivery",
    "billing": "billing",
    "technical": "website",
    "account": "website",
    GENERAL_TEAM: "other",
}
# A sentence that only asks for a complaint ("I'd like to make a formal complaint.") says
# nothing of what happened; a description is a few words more than that.
_ASKS_TO_COMPLAIN = re.compile(r"\b(complain\w*|complaint|recorded|record it|report)\b", re.I)
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_REQUEST_WORDS = 12
_DETAIL_WORDS = 5
# An item that arrived damaged, faulty or wrong: the returns route applies, not only a ticket.
_FAULT = re.compile(
    r"\b(?:damaged?|broken|faulty|defective|chip(?:ped|s)?|crack(?:ed|s)?|leak(?:s|ing|ed)?|"
    r"dent(?:ed|s)?|smashed|shattered|torn|ripped|stain(?:ed|s)?|scratch(?:ed|es)?|"
    r"wrong (?:colou?r|size|item|product|one|thing)|not working|(?:doesn'?t|does not) work|"
    r"stopped working|missing (?:a )?parts?)\b",
    re.I,
)
# An order that has not come when it should: late, lost, or "delivered" but not there.
_NOT_ARRIVED = re.compile(
    r"\b(?:late|delay\w*|overdue|(?:meant|supposed|due|promised) to (?:be here|arrive|come|be "
    r"delivered)|should (?:have been|be) (?:here|delivered)|should have (?:arrived|come)|"
    r"(?:still )?(?:hasn'?t|has not|haven'?t|not|never|didn'?t|did not) (?:yet )?"
    r"(?:arrived?|come|turned up|been delivered|here|received)|nothing (?:here|came|arrived)|"
    r"where(?:'s| is) (?:it|my|the)|lost|no sign of)\b",
    re.I,
)
_RATING = re.compile(r"\b([1-5])\b")
_UNSUBSCRIBE = re.compile(r"\b(un-?subscribe|stop|cancel|remove|opt[ -]?out|no more)\b", re.I)


def category_of(text: str) -> str | None:
    """The ticket category a customer's words name, if any."""
    words = text.lower()
    for category, keys in CATEGORIES.items():
        if any(re.search(rf"\b{re.escape(key)}\b", words) for key in keys):
            return category
    return None


def describes_fault(text: str) -> bool:
    """True if the words say an item arrived damaged, faulty or wrong."""
    return bool(_FAULT.search(text or ""))


def says_not_arrived(text: str) -> bool:
    """True if the words say an order is late or has not arrived."""
    return bool(_NOT_ARRIVED.search(text or ""))


def what_happened(text: str, before: str | None = None) -> str | None:
    """The description a complaint request already holds, without the request itself.

    "The kettle arrived dented. I'd like to complain." holds one; "I want to make a formal
    complaint" does not. A request that points back ("that's not good enough, I want to
    complain") is about the customer's previous message, `before`, which is taken with it.
    """
    sentences = [part.strip() for part in _SENTENCE.findall(text) if part.strip()]
    kept = [
        sentence
        for sentence in sentences
        if not (_ASKS_TO_COMPLAIN.search(sentence) and len(sentence.split()) < _REQUEST_WORDS)
    ]
    details = " ".join(kept)
    if before and refers_back(text):
        details = f"{before.strip()} {details}".strip()
    return details if len(details.split()) >= _DETAIL_WORDS else None


class ValidateComplaintForm(ShopFormValidation):
    """Category (buttons or words) and what happened, in the customer's words.

    A request that already says what happened opens the ticket at once: the category is read
    from its words, or from the team the routing model gives them.
    """

    def name(self) -> str:
        """Validation action of `complaint_form`."""
        return "validate_complaint_form"

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """What happened and its category, when the request tells it."""
        # `text` is the latest message, or the one a clarification's choice answers. What it
        # points back at is the customer's previous request, past their answers to a task's
        # questions (an email, a postcode).
        said = [line["text"] for line in transcript(tracker) if line["role"] == "customer"]
        previous = last_request(tracker)
        before = None
        if len(said) >= 2 and said[-1] == text:
            before = previous.text if previous is not None else said[-2]
        details = what_happened(text, before)
        if details is None:
            return {}
        category = category_of(details)
        if category is None:
            routing = get_services().handoff_policy
            team = await call(routing.team, tracker.sender_id, [details])
            category = TEAM_CATEGORIES.get(team, "other")
        return {COMPLAINT_DETAILS: details[:2000], COMPLAINT_CATEGORY: category}

    async def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Map the answer to a category, or ask again with the buttons."""
        category = category_of(str(value or ""))
        if category is None:
            dispatcher.utter_message(response="utter_invalid_complaint_category")
        return {COMPLAINT_CATEGORY: category}

    async def validate_complaint_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """At least a few words, at most a few paragraphs."""
        details = str(value or "").strip()
        if len(details.split()) < 3 or len(details) > 2000:
            dispatcher.utter_message(response="utter_invalid_complaint_details")
            return {COMPLAINT_DETAILS: None}
        return {COMPLAINT_DETAILS: details}


class ActionOpenComplaint(TaskAction):
    """`complaint`: a ticket with its category; the customer is offered a person.

    An item of a named order that arrived damaged, faulty or wrong is also offered the returns
    route for that order: a refund (the refund form takes the complaint as its reason).
    """

    # The request goes on with the offer of a person, so a request waiting from the same
    # message does not start yet.
    ends_request = False
    forgets = (COMPLAINT_CATEGORY, COMPLAINT_DETAILS)

    def name(self) -> str:
        """Runs when `complaint_form` completes."""
        return "action_open_complaint"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Open the ticket, routed to a team by the complaint's words, and give its reference."""
        details = str(tracker.get_slot(COMPLAINT_DETAILS) or "")
        said = [line["text"] for line in transcript(tracker) if line["role"] == "customer"]
        # The details are usually the last message already; as a slot they may not be.
        words = [text for text in said[-ROUTING_WINDOW:] if text != details] + [details]
        team = await call(services.handoff_policy.team, tracker.sender_id, words)
        ticket = await call(
            services.tickets.open_ticket,
            customer_id=verified_customer(tracker),
            conversation_id=tracker.sender_id,
            category=str(tracker.get_slot(COMPLAINT_CATEGORY) or "other"),
            subject=details[:80],
            description=details,
            team=team,
        )
        named = find_order_number(details)
        number = named or tracker.get_slot(ORDER_NUMBER) or tracker.get_slot(CONTEXT_ORDER)
        if named and says_not_arrived(details) and not describes_fault(details):
            # "Order 100103 was meant to be here on Tuesday": where it is now, after the apology
            # (the tracking verifies the customer first, if need be).
            dispatcher.utter_message(
                response="utter_complaint_logged_order",
                reference=ticket.reference,
                order_number=named,
            )
            start = details.find(named)
            entity = {"entity": ORDER_NUMBER, "value": named, "start": start, "end": start + 6}
            look_up = Request(intent="track_order", text=details, entities=[entity])
            return [*self.forget(), *replay(look_up, tracker)]
        if number and describes_fault(details):
            # A damaged, faulty or wrong item can also go back for a refund: offered at once.
            dispatcher.utter_message(
                response="utter_complaint_logged_fault",
                reference=ticket.reference,
                order_number=str(number),
            )
        else:
            dispatcher.utter_message(response="utter_complaint_logged", reference=ticket.reference)
        return self.forget()


class ValidateReviewForm(ShopFormValidation):
    """A rating from 1 to 5 and a comment."""

    def name(self) -> str:
        """Validation action of `review_form`."""
        return "validate_review_form"

    async def validate_review_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A digit from 1 to 5 anywhere in the answer ("4", "4 stars", "4/5")."""
        match = _RATING.search(str(value or ""))
        if match is None:
            dispatcher.utter_message(response="utter_invalid_rating")
            return {REVIEW_RATING: None}
        return {REVIEW_RATING: match.group(1)}

    async def validate_review_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Free text up to 2000 characters."""
        comment = str(value or "").strip()
        if not comment or len(comment) > 2000:
            dispatcher.utter_message(response="utter_invalid_review_comment")
            return {REVIEW_COMMENT: None}
        return {REVIEW_COMMENT: comment}


class ActionRecordReview(TaskAction):
    """`review`: store the rating and comment with the conversation (and customer, if known)."""

    forgets = (REVIEW_RATING, REVIEW_COMMENT)

    def name(self) -> str:
        """Runs when `review_form` completes."""
        return "action_record_review"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Record it and thank the customer."""
        rating = int(str(tracker.get_slot(REVIEW_RATING)))
        await call(
            services.reviews.record_review,
            customer_id=verified_customer(tracker),
            conversation_id=tracker.sender_id,
            rating=rating,
            comment=str(tracker.get_slot(REVIEW_COMMENT) or ""),
            order_number=tracker.get_slot(ORDER_NUMBER),
        )
        dispatcher.utter_message(
            response="utter_review_thanks_high" if rating >= 4 else "utter_review_thanks_low",
            rating=rating,
        )
        return self.forget()


class ValidateNewsletterForm(ShopFormValidation):
    """Subscribe or unsubscribe which address, then confirm.

    The choice comes from the request's words; a verified customer's own address is used
    without asking.
    """

    def name(self) -> str:
        """Validation action of `newsletter_form`."""
        return "validate_newsletter_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Skip the address for a verified customer."""
        if verified_customer(tracker) is not None:
            return [NEWSLETTER_CHOICE, CONFIRM_NEWSLETTER]
        return [NEWSLETTER_CHOICE, NEWSLETTER_EMAIL, CONFIRM_NEWSLETTER]

    async def extract_newsletter_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Read subscribe or unsubscribe from the message that asked for the newsletter."""
        if tracker.get_slot(NEWSLETTER_CHOICE) is not None:
            return {}
        if tracker.latest_message.get("intent", {}).get("name") != "newsletter_subscription":
            return {}
        text = str(tracker.latest_message.get("text") or "")
        return {NEWSLETTER_CHOICE: "unsubscribe" if _UNSUBSCRIBE.search(text) else "subscribe"}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A message taking the request back ("actually no, leave it") ends it unchanged.

        Asked for an address, "leave it, I'll keep them till the sale's over" is no address to
        complain about: nothing is confirmed, so `action_newsletter` keeps the subscription.
        """
        text = str(tracker.latest_message.get("text") or "")
        if tracker.get_slot(REQUESTED_SLOT) and find_email(text) is None and takes_back(text):
            return [SlotSet(CONFIRM_NEWSLETTER, False), SlotSet(REQUESTED_SLOT, None)]
        return await super().get_validation_events(dispatcher, tracker, domain)

    async def early_details(self, text: str, tracker: Tracker) -> dict[str, Any]:
        """The address, when the request gives one ("sign up a@b.com")."""
        return {NEWSLETTER_EMAIL: find_email(text)}

    async def extract_newsletter_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The address asked for, unless the message is a question or another task's words."""
        return answer_to(NEWSLETTER_EMAIL, tracker, lambda text: find_email(text) is not None)

    async def validate_newsletter_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Anything that looks like an email address."""
        email = find_email(str(value or ""))
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
        return {NEWSLETTER_EMAIL: email}

    async def validate_confirm_newsletter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return {CONFIRM_NEWSLETTER: value if isinstance(value, bool) else None}


class ActionNewsletter(TaskAction):
    """`newsletter_subscription`: subscribe or unsubscribe after confirmation."""

    forgets = (NEWSLETTER_CHOICE, NEWSLETTER_EMAIL, CONFIRM_NEWSLETTER)

    def name(self) -> str:
        """Runs when `newsletter_form` completes."""
        return "action_newsletter"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Change the subscription, or keep it."""
        done = self.forget()
        choice = str(tracker.get_slot(NEWSLETTER_CHOICE) or "subscribe")
        if tracker.get_slot(CONFIRM_NEWSLETTER) is not True:
            dispatcher.utter_message(response="utter_newsletter_kept")
            return done
        customer_id = verified_customer(tracker)
        if customer_id is not None:
            email = await call(get_services().accounts.customer_email, customer_id)
        else:
            email = str(tracker.get_slot(NEWSLETTER_EMAIL) or "")
        change = (
            services.newsletter.subscribe
            if choice == "subscribe"
            else services.newsletter.unsubscribe
        )
        changed = await call(
            change, email, customer_id=customer_id, conversation_id=tracker.sender_id
        )
        if not changed:
            dispatcher.utter_message(response=f"utter_newsletter_already_{choice}d")
        else:
            dispatcher.utter_message(response=f"utter_newsletter_{choice}d")
        return done
