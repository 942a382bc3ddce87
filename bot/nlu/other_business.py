"""Requests about another company's orders or accounts are out of scope, whatever they look like.

"my Amazon parcel hasn't come, can you check where it is?" reads, word for word, like tracking
one of our orders, and the intent classifier says `track_order` with confidence: the task's
words outweigh the one word that makes it someone else's. No example can teach that away
without also teaching the classifier that a company name matters more than the request (the
blind set's out-of-scope misses were mostly these, docs/nlu.md). So the decision is made here,
after the classifier and the entity extractor: when the message names another business
(the `other_business` lookup table of data/nlu/lookups.yml, found by RegexEntityExtractor) and
its best reading is a task on a customer's own records (an order, a refund, an account, a
person to talk to), the message is out of scope. Questions about us that name another
business ("do you take Amazon Pay?", "are you cheaper than IKEA?") keep their intent: they
are not in `intents`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"


def rerouted_intent(
    intent: str, ranking: list[dict[str, Any]], entity_types: set[str], config: dict[str, Any]
) -> bool:
    """True when a message naming another business reads as a task on one's own records."""
    if str(config["entity"]) not in entity_types:
        return False
    if intent == FALLBACK:  # unsure, but its best reading decides as well
        intent = next((str(r["name"]) for r in ranking if r.get("name") != FALLBACK), intent)
    return intent in set(config["intents"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OtherBusinessRouter(GraphComponent):
    """Sets `out_of_scope` on record tasks asked about another business (see module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`entity`: the lookup table's entity; `intents`: the tasks it turns away."""
        return {"entity": "other_business", "intents": []}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; there is nothing to train or load."""
        self._config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OtherBusinessRouter:
        """The router for this config."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Replace the intent of every message this applies to, keeping the ranking below it."""
        for message in messages:
            intent = message.get(INTENT) or {}
            ranking = message.get(INTENT_RANKING_KEY) or []
            types = {str(e.get(ENTITY_ATTRIBUTE_TYPE)) for e in message.get(ENTITIES) or []}
            if not rerouted_intent(str(intent.get(INTENT_NAME_KEY)), ranking, types, self._config):
                continue
            chosen = {INTENT_NAME_KEY: OUT_OF_SCOPE, PREDICTED_CONFIDENCE_KEY: 1.0}
            rest = [r for r in ranking if r.get(INTENT_NAME_KEY) != OUT_OF_SCOPE]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)
        return messages
