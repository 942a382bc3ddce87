"""The Rasa intent classifier of `config.yml`: `bot.nlu.intent_model` inside the Rasa graph.

It replaces DIET: one logistic regression over TF-IDF word and character n-grams and the MiniLM
sentence embedding (run through ONNX, `encoder/sentence.py`) trains in seconds instead of
minutes and understands more of what customers say (docs/nlu.md has both measurements).
Entities still come from the regular expressions and lookup tables; two requests in one message
are labels of their own (`track_order+get_invoice`), ranked like any other intent.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.component import UsesEncoder
from bot.nlu.intent_model import (
    IntentModel,
    IntentModelError,
    IntentModelSettings,
    encoder_text,
)

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(UsesEncoder, GraphComponent, IntentClassifier):
    """Ranks intents from the message text and its MiniLM sentence vector."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`model_dir`: the exported encoder (`make encoder`); the rest: `IntentModelSettings`."""
        defaults = IntentModelSettings()
        return {
            "model_dir": "models/encoder",
            "threads": 1,
            "ranking_length": 10,
            "c": defaults.c,
            "embedding_weight": defaults.embedding_weight,
            "char_min_df": defaults.char_min_df,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: IntentModel | None = None,
    ) -> None:
        """Load the encoder once per Rasa process."""
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._encoder = self.load_encoder(config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceIntentClassifier:
        """An untrained classifier; `train` fits it."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the intent examples and store the model in Rasa's model storage."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("SentenceIntentClassifier: fewer than two intents; nothing to train")
            return self._resource
        texts = [str(m.get(TEXT)) for m in examples]
        encoder = self.load_encoder(self._config, threads=os.cpu_count() or 1)
        settings = IntentModelSettings(
            c=float(self._config["c"]),
            embedding_weight=float(self._config["embedding_weight"]),
            char_min_df=int(self._config["char_min_df"]),
        )
        self._model = IntentModel.fit(
            texts,
            [str(m.get(INTENT)) for m in examples],
            encoder.encode([encoder_text(text) for text in texts]),
            settings,
        )
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        """Read the trained model; an untrained one (no intents) classifies nothing."""
        try:
            with model_storage.read_from(resource) as directory:
                model: IntentModel | None = IntentModel.load(directory)
        except ValueError:  # Rasa: nothing was persisted for this resource
            model = None
        except IntentModelError as error:
            raise InvalidConfigException(str(error)) from error
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `intent` and `intent_ranking` on every message that has text."""
        with_text = [message for message in messages if message.get(TEXT)]
        if self._model is None or not with_text:
            return messages
        texts = [str(message.get(TEXT)) for message in with_text]
        rankings = self._model.rank(
            texts,
            self._encoder.encode([encoder_text(text) for text in texts]),
            top=int(self._config["ranking_length"]),
        )
        for message, ranking in zip(with_text, rankings, strict=True):
            entries = [{"name": name, "confidence": confidence} for name, confidence in ranking]
            message.set(INTENT, entries[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, entries, add_to_output=True)
        return messages
