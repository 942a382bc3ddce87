"""A Rasa featurizer that gives each message the MiniLM sentence embedding (via ONNX Runtime).

Word and character n-grams tell DIET which words a message uses; the sentence embedding tells it
what the message is about, which is what separates a product question from an order, or the
weather from a delivery date, when the words are new. Runs in the Rasa venv; the encoder itself
(`encoder/sentence.py`) has no Rasa imports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.component import UsesEncoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(UsesEncoder, DenseFeaturizer, GraphComponent):
    """Adds a dense sentence feature (the normalised MiniLM vector) to every text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`model_dir`: the exported encoder (`make encoder`); `threads` per message batch."""
        return {**DenseFeaturizer.get_default_config(), "model_dir": "models/encoder", "threads": 1}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        """Load the encoder once per Rasa process."""
        super().__init__(name, config)
        self._encoder = self.load_encoder(config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """Rasa builds the component from its config; nothing is trained or stored."""
        return cls(config, execution_context.node_name)

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize the messages that have text (core's action and intent messages have none)."""
        with_text = [message for message in messages if message.get(TEXT)]
        if with_text:
            vectors = self._encoder.encode([str(message.get(TEXT)) for message in with_text])
            for message, vector in zip(with_text, vectors, strict=True):
                self.add_features_to_message(
                    sequence=None, sentence=vector[np.newaxis, :], attribute=TEXT, message=message
                )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The same features for the training examples."""
        self.process(training_data.training_examples)
        return training_data
