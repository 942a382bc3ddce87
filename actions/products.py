"""The shop's products in the chat: questions about one, comparisons, and "that one".

Customers ask about the catalogue the way they would ask in a shop: "is the casserole
dishwasher safe?", "what is the throw made of, and may it be washed?", "do you still have the
Wool Throw?", then "the chef's knife?" (the same question about another product); after a few
suggestions, "which one's the cheapest?" or "which of those is most durable?"; and then "that
one", "two of those", "ok 2" or "order one for me then".

Answers come from the product's page in the records (`CatalogueService.details`: price, stock,
and one sentence per aspect), cited as the product's details; an aspect the page does not state
is said to be unknown, never guessed. Three slots, set only here and in actions/recommend.py,
keep what the conversation is about (none decides a rule):

- `context_product`: the SKU of the one product last asked about, picked by a comparison or
  named ("it", "that one");
- `context_products`: the SKUs last suggested or compared ("those", "which one's the cheapest");
- `product_request`: the customer's words of the last request for suggestions, with the details
  said after it, so "she's only got a tiny balcony tho" refines them.

The help centre's actions (actions/knowledge.py), the follow-up action (actions/followups.py),
the clarification (actions/clarify.py) and the suggestions (actions/recommend.py) ask this module
first whether a message is about the products in view; the ordering form
(actions/ordering.py) takes the product and the count from here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import call, response_text
from actions.context import LAST_QUESTION, Question, refers_back, resolve_follow_up
from actions.queue import Request
from actions.responses import literal
from actions.services import Services
from actions.turns import previous_turn
from crm.insights.sentiment import is_negative
from crm.records.catalogue import (
    ASPECTS,
    AVAILABILITY,
    GIFT_WRAP,
    GUARANTEE,
    PRICE,
    ProductDetails,
    aspects_asked,
    words_of,
)
from crm.records.errors import ProductNotFound
from crm.records.views import format_money

CONTEXT_PRODUCT = "context_product"
CONTEXT_PRODUCTS = "context_products"
PRODUCT_REQUEST = "product_request"
PRODUCT_ENTITY = "product"
PLACE_ORDER = "place_order"

# Words of a customer describing something gone wrong: damaged, faulty, missing, late, a payment
# problem, a return. Sentiment alone misses the calm ones ("my kettle stopped working, is it
# under warranty?"). Stems, so "damaged", "faulty" and "returning" match. Such a message is the
# help centre's (and no reason to sell), never a product question.
PROBLEM = re.compile(
    r"\b(?:(?:broke|broken|breaks?|breaking|late|lost|rust(?:y|ed|ing|s)?|stain(?:s|ed)?|"
    r"wrong|dent(?:s|ed)?|missing)\b|damag|faulty|fault|defect|crack|chipped|leak|peel|"
    r"scratch|stopped\s+working|(?:not|isn'?t|doesn'?t|won'?t|never)\s+(?:work|arriv|com|"
    r"came|turn)|delay|refund|return|send\s+(?:it\s+|them\s+)?back|complain|charged|"
    r"declin|problem|issue|unhappy|disappoint)",
    re.IGNORECASE,
)

# The agent's replies after which "that one", "those" and a bare count are about products.
PRODUCT_REPLIES = frozenset(
    {
        "utter_product_available",
        "utter_product_few_left",
        "utter_product_sold_out",
        "utter_product_facts",
        "utter_product_fact_unknown",
        "utter_product_guarantee",
        "utter_product_cheapest",
        "utter_product_dearest",
        "utter_product_most_durable",
        "utter_product_durable_same",
        "utter_product_compare_aspect",
    }
)
SUGGESTION_REPLIES = frozenset(
    {
        "utter_recommendations",
        "utter_recommendations_for_request",
        "utter_recommendations_within_budget",
        "utter_similar_products",
        "utter_recommendations_unknown_product",
        "utter_products_like_this",
    }
)

# "Which one's the cheapest?", "which of those is most durable?": a pick among the products in
# view, by price or by how long they are guaranteed to last.
CHEAPEST = "cheapest"
DEAREST = "dearest"
DURABLE = "durable"
_SUPERLATIVES = {
    CHEAPEST: re.compile(
        r"cheapest|least expensive|lowest price|most affordable|(?:lowest|least) cost|"
        r"cheaper one|best value|costs? (?:the )?least",
        re.I,
    ),
    DEAREST: re.compile(
        r"most expensive|priciest|dearest|highest price|costs? (?:the )?most|(?:the )?best one",
        re.I,
    ),
    DURABLE: re.compile(
        r"durab|last(?:s)? (?:the )?longest|longest.?lasting|sturdiest|most robust|toughest|"
        r"hard(?:est)?.?wearing|best (?:quality|made|built)|built to last|strongest",
        re.I,
    ),
}
# Words that ask about several products at once: "which one", "those", "of them", "any of".
_AMONG = re.compile(
    r"\b(?:which|those|these|them|they|any of|all of|each|either|one'?s|ones|options|"
    r"of the \w+s)\b",
    re.I,
)
# A request to buy: "order one", "I'll take that one", "get me two of those", "ok 2".
_BUYS = re.compile(
    r"\b(?:order|buy|take|get me|get one|get two|i'?ll have|i'?d like|i want|purchase|add|"
    r"go (?:for|with)|have (?:one|two|that|those|it))\b",
    re.I,
)
_BARE_COUNT = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|yes|yeah|yep|right|then|please|pls|cool|great|go on|sure|x|×)\W*)*"
    r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a couple|a pair)"
    r"(?:\W+(?:please|pls|then|of (?:them|those|it)|thanks|ta))*\W*$",
    re.I,
)


@dataclass(frozen=True)
class InView:
    """What the conversation's products are: the one it is about and the ones last listed."""

    product: str | None
    products: tuple[str, ...]

    @classmethod
    def of(cls, tracker: Tracker) -> InView:
        """Read the context slots; anything malformed counts as nothing."""
        one = tracker.get_slot(CONTEXT_PRODUCT)
        many = tracker.get_slot(CONTEXT_PRODUCTS)
        listed = tuple(str(sku) for sku in many) if isinstance(many, list) else ()
        return cls(str(one) if one else None, listed)


def in_view(product: str | None, products: Sequence[str] | None = None) -> list[EventType]:
    """Events that make `product` the one in view (and `products` the ones listed, if given)."""
    events: list[EventType] = [SlotSet(CONTEXT_PRODUCT, product)]
    if products is not None:
        events.append(SlotSet(CONTEXT_PRODUCTS, list(products) or None))
    return events


def just_talked_about_products(tracker: Tracker) -> bool:
    """True if the agent's last turn answered about products or suggested some."""
    return bool((PRODUCT_REPLIES | SUGGESTION_REPLIES) & set(previous_turn(tracker)))


def just_suggested(tracker: Tracker) -> bool:
    """True if the agent's last turn suggested products."""
    return bool(SUGGESTION_REPLIES & set(previous_turn(tracker)))


def superlative(text: str) -> str | None:
    """Which pick a message asks for among several products, if any."""
    for kind, words in _SUPERLATIVES.items():
        if words.search(text):
            return kind
    return None


def named_in(text: str, candidates: Sequence[ProductDetails]) -> ProductDetails | None:
    """The one candidate whose name's words the text uses ("the throw" among the suggestions).

    Among a few products in view, one word is enough ("lantern", "throw", "mug"), which it is
    not over the whole catalogue.
    """
    said = set(words_of(text))
    named = [p for p in candidates if said & {w for w in words_of(p.name) if len(w) > 2}]
    return named[0] if len(named) == 1 else None


def product_entities(entities: Sequence[dict[str, Any]]) -> list[str]:
    """The product names the NLU found, in order."""
    return [
        str(e["value"])
        for e in entities
        if isinstance(e, dict) and e.get("entity") == PRODUCT_ENTITY and e.get("value")
    ]


async def product_named(
    services: Services, text: str, entities: Sequence[dict[str, Any]], view: InView
) -> ProductDetails | None:
    """The product a message names: by the NLU's entity, among those in view, or by its words."""
    for value in product_entities(entities):
        matches = await call(services.catalogue.find_products, value, limit=1)
        if matches:
            return await call(services.catalogue.details, matches[0].sku)
    listed = await call(services.catalogue.details_of, list(view.products))
    among = named_in(text, listed)
    if among is not None:
        return among
    mentioned = await call(services.catalogue.product_mentioned, text)
    if mentioned is not None:
        return await call(services.catalogue.details, mentioned.sku)
    return None


def aspect_label(aspect: str) -> str:
    """How an aspect is named to the customer (`utter_product_aspect_<aspect>` in domain.yml)."""
    return response_text(f"utter_product_aspect_{aspect}") or aspect.replace("_", " ")


def say_availability(dispatcher: CollectingDispatcher, product: ProductDetails) -> None:
    """Whether we sell it and can send it now, with its price."""
    price = format_money(product.price_pence)
    if product.stock == 0:
        dispatcher.utter_message(
            response="utter_product_sold_out", product=product.name, price=price
        )
    elif product.stock is not None and product.stock <= FEW_LEFT:
        dispatcher.utter_message(
            response="utter_product_few_left",
            product=product.name,
            price=price,
            available=product.stock,
        )
    else:
        dispatcher.utter_message(
            response="utter_product_available", product=product.name, price=price
        )


# At or below this many in stock, the answer says how many are left.
FEW_LEFT = 5


def say_facts(
    dispatcher: CollectingDispatcher, product: ProductDetails, aspects: Sequence[str]
) -> None:
    """The product's facts on `aspects`, and which of them its page does not state.

    With no aspect (a bare "the wool throw?"), what it is: its material and size.
    """
    if not aspects or {PRICE, AVAILABILITY} & set(aspects):
        say_availability(dispatcher, product)
    wanted = [a for a in aspects if a in ASPECTS] or ([] if aspects else ["material", "size"])
    known: list[str] = []
    unknown: list[str] = []
    for aspect in wanted:
        fact = product.fact(aspect)
        if fact is None:
            unknown.append(aspect)
        elif fact not in known:
            known.append(fact)
    if GIFT_WRAP in aspects:
        unknown.append(GIFT_WRAP)
    if known:
        dispatcher.utter_message(
            response="utter_product_facts", product=product.name, facts=literal(" ".join(known))
        )
    if GUARANTEE in aspects:
        if product.guarantee_years:
            dispatcher.utter_message(
                response="utter_product_guarantee",
                product=product.name,
                years=product.guarantee_years,
            )
        else:
            unknown.append(GUARANTEE)
    if unknown:
        labels = [aspect_label(a) for a in unknown]
        dispatcher.utter_message(
            response="utter_product_fact_unknown",
            product=product.name,
            aspect=" or ".join(labels),
        )


async def answer_about_product(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    services: Services,
    question: Question,
    own: Question,
) -> list[EventType] | None:
    """Answer a question about the products in view or one product, or None if it is not one.

    `question` is the message as the agent understood it (an elliptical follow-up already read
    against the previous question: "the chef's knife?" -> "can the chef's knife go in the
    dishwasher?"), `own` the customer's words. A problem ("my kettle leaks, is it under
    guarantee?") is the help centre's. A pick among the products in view ("which one's the
    cheapest?") is answered over them; a question about one product (named, one of those in
    view, or "it") is answered from its page, if it asks about something a page states or is
    little more than the product's name.
    """
    if PROBLEM.search(own.text) or POLICY.search(own.text) or is_negative(own.text):
        return None
    view = InView.of(tracker)
    compared = await compare(dispatcher, services, own.text, view)
    if compared is not None:
        return compared
    aspects = aspects_asked(question.text)
    resolved: list[EventType] = []
    if not aspects and PRODUCT_REPLIES & set(previous_turn(tracker)):
        # "ok and the chopping board" right after a product answer, whatever the NLU read:
        # the previous question about this product.
        last = Question.from_slot(tracker.get_slot(LAST_QUESTION))
        if last is not None and aspects_asked(last.text) and product_entities(own.entities):
            question = resolve_follow_up(last, own)
            aspects = aspects_asked(question.text)
            resolved = [SlotSet(LAST_QUESTION, question.as_slot())]
    product = await product_named(services, question.text, question.entities, view)
    if (
        product is None
        and view.product
        and aspects
        and (refers_back(own.text) or (not own.entities and just_talked_about_products(tracker)))
    ):
        product = await call(services.catalogue.details, view.product)
    if product is None:
        return None
    if not aspects and not only_names(own.text, product):
        return None
    say_facts(dispatcher, product, aspects)
    return [*resolved, *in_view(product.sku)]


def only_names(text: str, product: ProductDetails) -> bool:
    """True if the message is little more than the product's name ("the wool throw?")."""
    name = set(words_of(product.name))
    rest = [w for w in words_of(text) if w not in name and w not in ("about", "what", "how")]
    return len(rest) <= 1


async def compare(
    dispatcher: CollectingDispatcher, services: Services, text: str, view: InView
) -> list[EventType] | None:
    """A pick among the products in view: the cheapest, the dearest, the one built to last.

    Or, for "which of those is waterproof?", what each one's page says about that. None when
    the message asks neither or fewer than two products are in view.
    """
    if len(view.products) < 2 or not _AMONG.search(text):
        return None
    kind = superlative(text)
    aspects = [a for a in aspects_asked(text) if a in ASPECTS]
    if kind is None and not aspects:
        return None
    products = await call(services.catalogue.details_of, list(view.products))
    if len(products) < 2:
        return None
    if kind is None:
        lines = "\n".join(
            f"• {p.name}: {p.fact(aspects[0]) or aspect_unknown_line(aspects[0])}" for p in products
        )
        dispatcher.utter_message(
            response="utter_product_compare_aspect",
            aspect=aspect_label(aspects[0]),
            lines=literal(lines),
        )
        return in_view(None)
    picked = pick(products, kind)
    if kind == DURABLE:
        years = {p.guarantee_years or 0 for p in products}
        response = "utter_product_durable_same" if len(years) == 1 else "utter_product_most_durable"
        dispatcher.utter_message(
            response=response,
            product=picked.name,
            years=picked.guarantee_years or 0,
            material=literal(picked.fact("material") or ""),
        )
    else:
        dispatcher.utter_message(
            response=f"utter_product_{kind}",
            product=picked.name,
            price=format_money(picked.price_pence),
        )
    return in_view(picked.sku)


def aspect_unknown_line(aspect: str) -> str:
    """What a comparison line says for a product whose page is silent on the aspect."""
    return response_text("utter_product_aspect_not_stated") or "?"


def pick(products: Sequence[ProductDetails], kind: str) -> ProductDetails:
    """The cheapest, the dearest, or the longest guaranteed (the first listed on a tie)."""
    if kind == CHEAPEST:
        return min(products, key=lambda p: p.price_pence)
    if kind == DEAREST:
        return max(products, key=lambda p: p.price_pence)
    return max(products, key=lambda p: p.guarantee_years or 0)


async def order_request(tracker: Tracker, services: Services, text: str) -> Request | None:
    """An order for a product in view, said without naming it: "ok 2", "I'll take that one".

    Only right after the agent talked about products, and only a bare count or a request to
    buy that points back ("that one", "two of those", "order one for me then"). The product is
    one of those in view that the words name, else the one in view; the request is the
    customer's words with the product's name, read as `place_order`.
    """
    if not just_talked_about_products(tracker):
        return None
    bare = _BARE_COUNT.match(text) is not None
    if not bare and not (_BUYS.search(text) and refers_back(text)):
        return None
    product = await product_in_view(services, text, InView.of(tracker))
    if product is None:
        return None
    said = f"{text.strip()} ({product.name})"
    start = said.rfind(product.name)
    entity = {
        "entity": PRODUCT_ENTITY,
        "value": product.name,
        "start": start,
        "end": start + len(product.name),
    }
    return Request(intent=PLACE_ORDER, text=said, entities=[entity])


async def product_in_view(services: Services, text: str, view: InView) -> ProductDetails | None:
    """The product in view that the words name, else the one the conversation is about."""
    listed = await call(services.catalogue.details_of, list(view.products))
    named = named_in(text, listed)
    if named is not None:
        return named
    if view.product is None:
        return None
    try:
        return await call(services.catalogue.details, view.product)
    except ProductNotFound:
        return None


async def choices_in_view(services: Services, view: InView) -> list[str]:
    """The names of the products last listed, for "which one?" buttons."""
    listed = await call(services.catalogue.details_of, list(view.products))
    return [p.name for p in listed]


def bare_count(text: str) -> bool:
    """True if the message is little but a number ("ok 2", "two please")."""
    return _BARE_COUNT.match(text) is not None


def asks_about_products(tracker: Tracker) -> bool:
    """True if a message the NLU was unsure about asks about the products in view or named.

    A pick among the products just listed ("which one's the cheapest?"), or a question about
    something a product page states with a product named or in view ("the lantern.
    waterproof?", "is it dishwasher safe?"): the help centre's action answers it from the
    product's page rather than the customer being asked which task they meant.
    """
    text = str(tracker.latest_message.get("text") or "")
    if PROBLEM.search(text) or POLICY.search(text):
        return False
    view = InView.of(tracker)
    if len(view.products) >= 2 and _AMONG.search(text) and superlative(text):
        return True
    if not aspects_asked(text):
        return False
    named = product_entities(tracker.latest_message.get("entities") or [])
    return bool(named) or (
        bool(view.product or view.products) and just_talked_about_products(tracker)
    )


# Questions about delivery, returns or payment that happen to name a product ("how much is
# postage on the kettle?") are the help centre's.
POLICY = re.compile(
    r"deliver|postage|shipping|\bship\b|courier|dispatch|refund|exchange|voucher|discount|"
    r"promo|klarna|pay(?:ment|pal)?\b",
    re.I,
)


# Aspects the help centre has guides on (care of cast iron and wooden boards, the guarantee).
GUIDED = frozenset({"care", "dishwasher", GUARANTEE})


def wants_guide(question: str) -> bool:
    """True if a product question asks about something the help centre's guides cover."""
    return bool(GUIDED & set(aspects_asked(question)))
