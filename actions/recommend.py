"""Recommendations in the chat: in general, like a named product, and after an order.

"What would you recommend?", "something like the enamel kettle", a "you might also like"
after an order is placed, and products that go with the one a help-centre answer was about.

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
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, call, latest_intent, verified_customer
from actions.services import Services
from crm.insights.recommend import CHAT_LIMIT, Recommendation
from crm.insights.sentiment import is_negative

log = logging.getLogger(__name__)

# Help-centre topics (front matter `topic:`) whose answers are about the catalogue: care, sizes,
# assembly, materials, restocks. Only after one of these can a product suggestion help; after an
# answer about returns, payments, delivery, orders, accounts, privacy or contact details it reads
# as selling to someone who came with a question or a problem.
SUGGESTING_TOPICS = frozenset({"products"})
# Intents whose questions are general ones; the policy intents (payment problems, the refund
# policy, registration problems...) are never followed by products, whatever the answer's topic.
SUGGESTING_INTENTS = frozenset({"ask_question", "nlu_fallback"})
# Words of a customer describing something gone wrong: damaged, faulty, missing, late, a payment
# problem, a return. Sentiment alone misses the calm ones ("my kettle stopped working, is it
# under warranty?"). Stems, so "damaged", "faulty" and "returning" match.
PROBLEM = re.compile(
    r"\b(?:(?:broke|broken|breaks?|breaking|late|lost|rust(?:y|ed|ing|s)?|stain(?:s|ed)?|"
    r"wrong|dent(?:s|ed)?|missing)\b|damag|faulty|fault|defect|crack|chipped|leak|peel|"
    r"scratch|stopped\s+working|(?:not|isn'?t|doesn'?t|won'?t|never)\s+(?:work|arriv|com|"
    r"came|turn)|delay|refund|return|send\s+(?:it\s+|them\s+)?back|complain|charged|"
    r"declin|problem|issue|unhappy|disappoint)",
    re.IGNORECASE,
)

# What a tap on a product says for the customer: the way customers ask to order a product
# (data/nlu/ordering.yml has "i'd like to order the [Cast Iron Casserole 24cm](product)").
ORDER_REQUEST = "I'd like to order the {name}"


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
        """Find the named product, if any, then recommend around it and the customer."""
        customer_id = verified_customer(tracker)
        words = named_product(tracker)
        if words is None and latest_intent(tracker) == "ask_similar_product":
            words = str(tracker.latest_message.get("text") or "")
        seed = None
        if words:
            matches = await call(services.catalogue.find_products, words, limit=1)
            seed = matches[0] if matches else None
        products = await call(
            services.recommender.recommend,
            seed_sku=seed.sku if seed else None,
            customer_id=customer_id,
            k=CHAT_LIMIT,
        )
        if not products:
            dispatcher.utter_message(response="utter_no_recommendations")
            return []
        buttons = recommendation_buttons(products)
        if seed is not None:
            dispatcher.utter_message(
                response="utter_similar_products", product=seed.name, buttons=buttons
            )
        elif latest_intent(tracker) == "ask_similar_product":
            dispatcher.utter_message(
                response="utter_recommendations_unknown_product", buttons=buttons
            )
        else:
            dispatcher.utter_message(response="utter_recommendations", buttons=buttons)
        return []


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
