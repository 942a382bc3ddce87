"""Recommendations in the chat: in general, like a named product, and after an order.

"What would you recommend?", "something like the enamel kettle", a "you might also like"
after an order is placed, and products that go with the one a help-centre answer was about.
A request that says what it is for ("kitchen stuff for a housewarming, under 40 quid", "going
camping") gets the products most like its words within its budget, and a detail said next
("she's only got a tiny balcony tho") refines them (`suggest_for_request`). What was suggested
stays in view (actions/products.py), so "which one's the cheapest?" and "two of those" work.

The products come from :class:`crm.insights.recommend.Recommender` (co-purchases blended with
description similarity; never out of stock, never the product asked about, never a
non-consumable the customer just bought). A verified customer's history shapes them; anyone
else gets what goes with the named product, or what is popular. They are offered as buttons
whose payload is an order request the NLU reads as `place_order` with the product, so a tap
starts the ordering form with the product filled in.
"""

from __future__ import annotations

import logging
import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, call, latest_intent, verified_customer
from actions.entities import price_ceiling
from actions.products import (
    PROBLEM,
    PRODUCT_REQUEST,
    InView,
    compare,
    in_view,
    say_facts,
)
from actions.services import Services
from actions.turns import previous_turn
from crm.insights.recommend import CHAT_LIMIT, Recommendation
from crm.insights.sentiment import is_negative
from crm.records.catalogue import ASPECTS, aspects_asked
from crm.records.views import format_money

log = logging.getLogger(__name__)

# Help-centre topics (front matter `topic:`) whose answers are about the catalogue: care, sizes,
# assembly, materials, restocks. Only after one of these can a product suggestion help; after an
# answer about returns, payments, delivery, orders, accounts, privacy or contact details it reads
# as selling to someone who came with a question or a problem.
SUGGESTING_TOPICS = frozenset({"products"})
# Intents whose questions are general ones; the policy intents (payment problems, the refund
# policy, registration problems...) are never followed by products, whatever the answer's topic.
SUGGESTING_INTENTS = frozenset({"ask_question", "nlu_fallback"})
# What a tap on a product says for the customer: the way customers ask to order a product
# (data/nlu/ordering.yml has "i'd like to order the [Cast Iron Casserole 24cm](product)").
ORDER_REQUEST = "I'd like to order the {name}"


# Words of a request for suggestions that say nothing about what would suit: asking, politeness,
# who it is for in general. What is left ("housewarming kitchen", "camping", "father feels
# cold", "tiny balcony") is what the products are matched to.
_GENERIC_WORDS = """
    what which would could should do does did you u ur your i im i'm am is are was be been my
    me we a an the and or but so for to of in on at with about any anything something some
    thing things stuff recommend recommendation recommendations suggest suggestion suggestions
    idea ideas get got buy buying present presents gift gifts give want need needs looking look
    please pls thanks thank hi hello hey good morning evening afternoon her him his she he they
    them their lol tho though ideally really just like nice help choose pick think maybe
    perhaps under below less than max quid pounds budget around who that this it it's its can
    have has only there here if also too very terribly u? one ones else whats what's
"""
# Words about what is popular, what the customer bought, or who it is for in general: without
# other words, the request is a general one (popularity, or the customer's history).
_META_WORDS = """
    else sell might product products popular moment people ppl usually show most goes well
    bought ordered order next based i've i'd you'd personal personally suit think stuck treat
    myself top picks pick item items were seller sellers best trending right now make out
    customers buying don't know from shop liked idk few inspiration surprise new
    mum mom mother dad father parents friend bestie sister brother wife husband partner gf bf
    grandma gran grandad grandpa nan colleague someone man woman
"""
_GENERIC = frozenset(_GENERIC_WORDS.split()) | frozenset(_META_WORDS.split())
_WORD = re.compile(r"[a-z][a-z']*")
_MONEY = re.compile(r"(?:£|€)?\s?\d+(?:[.,]\d{2})?\s?(?:quid|pounds?|gbp|eur|euros?)?", re.I)


def request_words(text: str) -> str:
    """The words of a request that say what would suit, or "" when it says nothing of that."""
    plain = re.sub(r"['’]s\b", "", _MONEY.sub(" ", text.casefold()))
    return " ".join(w for w in _WORD.findall(plain) if w not in _GENERIC and len(w) > 1)


def recommendation_buttons(products: list[Recommendation]) -> list[dict[str, str]]:
    """One button per product: its name, and an order request for it as the payload."""
    return [
        {"title": product.name, "payload": ORDER_REQUEST.format(name=product.name)}
        for product in products[:CHAT_LIMIT]
    ]


def named_product(tracker: Tracker) -> str | None:
    """The product the customer named: the entity if the NLU found one, else None."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "product" and entity.get("value"):
            return str(entity["value"])
    return None


class ActionRecommend(ShopAction):
    """Offer up to three products, in general or like the one the customer named."""

    ends_request = True

    def name(self) -> str:
        """Runs on `ask_recommendation` and `ask_similar_product`."""
        return "action_recommend"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Find the named product, if any, then recommend around it and the customer.

        "Which one's the cheapest?" after suggestions is a pick among them
        (actions/products.py), whichever of the two intents the NLU read. A request in general
        is matched to its words (`suggest_for_request`); one about a named product ("anything
        like the Enamel Kettle that suits induction?") first answers what it asks about the
        product from its page, then suggests products like it (cheaper ones, if it says so).
        """
        text = str(tracker.latest_message.get("text") or "")
        compared = await compare(dispatcher, services, text, InView.of(tracker))
        if compared is not None:
            return compared
        customer_id = verified_customer(tracker)
        words = named_product(tracker)
        similar = latest_intent(tracker) == "ask_similar_product"
        if words is None and similar:
            words = text
        seed = None
        if words:
            matches = await call(services.catalogue.find_products, words, limit=1)
            seed = matches[0] if matches else None
        if seed is None and not similar:
            return await suggest_for_request(dispatcher, tracker, services, [text])
        ceiling = price_ceiling(text)
        if seed is not None and CHEAPER.search(text):
            ceiling = min(ceiling or seed.price_pence, seed.price_pence - 1)
        products = await call(
            services.recommender.recommend,
            seed_sku=seed.sku if seed else None,
            customer_id=customer_id,
            k=CHAT_LIMIT,
            max_price_pence=ceiling,
        )
        if seed is not None:
            asked = [a for a in aspects_asked(text) if a in ASPECTS]
            if asked:
                say_facts(dispatcher, await call(services.catalogue.details, seed.sku), asked)
        if not products:
            dispatcher.utter_message(response="utter_no_recommendations")
            return in_view(seed.sku if seed else None, [seed.sku] if seed else [])
        buttons = recommendation_buttons(products)
        if seed is not None:
            dispatcher.utter_message(
                response="utter_similar_products", product=seed.name, buttons=buttons
            )
        else:
            dispatcher.utter_message(
                response="utter_recommendations_unknown_product", buttons=buttons
            )
        listed = [*([seed.sku] if seed else []), *(p.sku for p in products)]
        return in_view(seed.sku if seed else None, listed)


# "Something like the throw but cheaper": below the named product's price.
CHEAPER = re.compile(r"\bcheaper\b|less expensive|lower price|more affordable", re.I)


async def suggest_for_request(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    services: Services,
    texts: list[str],
) -> list[EventType]:
    """Up to three products for a request in the customer's words and the details said after it.

    The words that say what would suit (`request_words`) rank the products by description
    similarity; a limit said in any of them ("under 40 quid") leaves out dearer ones. A
    request that says nothing of either ("what would you recommend?") gets what goes with the
    customer's history, or what is popular, as before. The request is kept (`product_request`)
    so a detail said next refines it, and the products suggested are in view.
    """
    ceilings = [c for c in (price_ceiling(t) for t in texts) if c is not None]
    ceiling = min(ceilings) if ceilings else None
    request = [words for words in (request_words(t) for t in texts) if words]
    products = await call(
        services.recommender.recommend,
        customer_id=verified_customer(tracker),
        k=CHAT_LIMIT,
        request=request,
        max_price_pence=ceiling,
    )
    kept = [SlotSet(PRODUCT_REQUEST, texts[-5:])]
    if not products:
        if ceiling is not None:
            dispatcher.utter_message(
                response="utter_no_recommendations_within_budget", budget=format_money(ceiling)
            )
        else:
            dispatcher.utter_message(response="utter_no_recommendations")
        return [*kept, *in_view(None, [])]
    buttons = recommendation_buttons(products)
    if ceiling is not None:
        dispatcher.utter_message(
            response="utter_recommendations_within_budget",
            budget=format_money(ceiling),
            buttons=buttons,
        )
    elif request:
        dispatcher.utter_message(response="utter_recommendations_for_request", buttons=buttons)
    else:
        dispatcher.utter_message(response="utter_recommendations", buttons=buttons)
    return [*kept, *in_view(None, [p.sku for p in products])]


# A message that asks something rather than tells: "do you deliver to France?" after
# suggestions is a question for the help centre, not a detail of the request.
_ASKS = re.compile(
    r"\?|^\W*(?:what|how|when|where|why|who|which|do|does|did|can|could|is|are|will|would|"
    r"should|may|have|has)\b",
    re.I,
)


def refines_request(tracker: Tracker, *, statements_only: bool = False) -> list[str] | None:
    """The request a detail said right after suggestions refines, with the detail; else None.

    "she's only got a tiny balcony tho" after suggestions for a mum who gardens: the same
    request with the detail. Only right after suggestions for a request in words; with
    `statements_only` (a message the NLU read as a question), only one that asks nothing.
    """
    if not {
        "utter_recommendations_for_request",
        "utter_recommendations_within_budget",
        "utter_recommendations",
    } & set(previous_turn(tracker)):
        return None
    kept = tracker.get_slot(PRODUCT_REQUEST)
    text = str(tracker.latest_message.get("text") or "").strip()
    if not isinstance(kept, list) or not kept or not text:
        return None
    if not request_words(text) and price_ceiling(text) is None:
        return None
    if statements_only and _ASKS.search(text):
        return None
    return [*(str(t) for t in kept), text]


def suggests_products(intent: str | None, topic: str, question: str) -> bool:
    """Whether products may follow a help-centre answer of `topic` to `question`.

    Only a general question (`SUGGESTING_INTENTS`) answered from a catalogue article
    (`SUGGESTING_TOPICS`), asked without a problem in its words (`PROBLEM`) or a clearly
    negative tone: "how do I look after my chopping board?" may get boards' companions, "can I
    return a candle I burned once?" and "my kettle arrived damaged, what now?" never do.
    """
    return (
        intent in SUGGESTING_INTENTS
        and topic in SUGGESTING_TOPICS
        and PROBLEM.search(question) is None
        and not is_negative(question)
    )


async def offer_after_question(
    dispatcher: CollectingDispatcher, services: Services, tracker: Tracker, topic: str
) -> None:
    """After a help-centre answer (of article topic `topic`) about one product: what goes with it.

    Only where a suggestion helps (`suggests_products`). The product is the one the NLU found,
    or the one product the question's words name (`CatalogueService.product_mentioned`); a
    question about no product, or several, gets nothing more. The answer is already given, so
    a failure is logged and the offer left out.
    """
    question = str(tracker.latest_message.get("text") or "")
    if not suggests_products(latest_intent(tracker), topic, question):
        return
    try:
        product = None
        words = named_product(tracker)
        if words is not None:
            matches = await call(services.catalogue.find_products, words, limit=1)
            product = matches[0] if matches else None
        if product is None:
            product = await call(services.catalogue.product_mentioned, question)
        if product is None:
            return
        products = await call(
            services.recommender.recommend,
            seed_sku=product.sku,
            customer_id=verified_customer(tracker),
            k=CHAT_LIMIT,
        )
    except Exception:
        log.exception("recommendations after a product question failed")
        return
    if products:
        dispatcher.utter_message(
            response="utter_products_like_this",
            product=product.name,
            buttons=recommendation_buttons(products),
        )


async def offer_after_order(
    dispatcher: CollectingDispatcher, services: Services, customer_id: int, sku: str
) -> None:
    """After an order is placed: "you might also like" with up to three products.

    The order is already placed, so a failure here is logged and the offer left out: the
    customer must not read an apology after a successful order.
    """
    try:
        products = await call(
            services.recommender.recommend, seed_sku=sku, customer_id=customer_id, k=CHAT_LIMIT
        )
    except Exception:
        log.exception("recommendations after an order failed")
        return
    if products:
        dispatcher.utter_message(
            response="utter_recommendations_after_order", buttons=recommendation_buttons(products)
        )
