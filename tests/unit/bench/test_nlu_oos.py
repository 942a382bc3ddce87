"""The out-of-scope detector comparison: its ranking measure and its protocol on real vectors."""

from __future__ import annotations

import numpy as np
import pytest

from bench.nlu import Example
from bench.nlu_oos import KEEP, auroc, compare, split

INTENTS = {
    "track_order": [
        "where is my order",
        "has my parcel shipped yet",
        "track my package please",
        "when will my order arrive",
        "what is the status of my delivery",
        "my order has not come yet",
        "is my package on its way",
        "show me where my parcel is",
    ],
    "get_refund": [
        "I want my money back",
        "please refund this purchase",
        "how do I get a refund",
        "give me a refund for the broken item",
        "I would like to return this and be refunded",
        "refund my last order",
        "can I have my money returned",
        "I need a refund",
    ],
    "greet": [
        "hello there",
        "hi",
        "good morning",
        "hey, how are you",
        "hello, anyone there?",
        "good evening",
        "hi team",
        "hey there",
    ],
}
UNSEEN = {
    "weather": [
        "what will the weather be tomorrow",
        "is it going to rain this weekend",
        "how hot is it in madrid today",
        "will it snow tonight",
    ],
}


def test_auroc_counts_the_pairs_in_the_right_order() -> None:
    assert auroc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auroc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
    assert auroc(np.array([0.5, 0.9]), np.array([0.7])) == pytest.approx(0.5)


def test_the_split_is_seeded_and_loses_nothing() -> None:
    examples = [Example(f"text {i}", "a") for i in range(50)]
    fit, held = split(examples, 0.2, seed=3)
    assert len(held) == 10 and sorted(fit + held, key=lambda e: e.text) == sorted(
        examples, key=lambda e: e.text
    )
    assert split(examples, 0.2, seed=3) == (fit, held)


def test_unseen_questions_are_told_apart_by_every_detector(embedder) -> None:
    training = [Example(t, label) for label, texts in INTENTS.items() for t in texts]
    fit, validation = split(training, 0.25, seed=1)
    test = [
        Example("where has my parcel got to", "track_order"),
        Example("refund me please", "get_refund"),
        Example("hiya", "greet"),
    ] + [Example(t, "weather") for t in UNSEEN["weather"]]

    rows = compare(fit, validation, test, {"weather"}, lambda ts: np.asarray(embedder.encode(ts)))

    names = [name for name, _, _ in rows]
    assert names[0].startswith("softmax") and len(names) == 5
    by_name = {name: (area, points) for name, area, points in rows}
    # Weather questions are far from orders, refunds and greetings in the MiniLM space.
    assert by_name["nearest training example (cosine)"][0] > 0.9
    for _, points in by_name.values():
        assert len(points) == len(KEEP)
        assert all(0.0 <= accuracy <= 1.0 and 0.0 <= recall <= 1.0 for accuracy, recall in points)
