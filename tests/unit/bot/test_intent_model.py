"""The intent model: n-grams for the shop's words, the sentence vector for new phrasings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.nlu.intent_model import (
    BIAS_FILE,
    VOCABULARY_FILE,
    WEIGHTS_FILE,
    IntentModel,
    IntentModelError,
    IntentModelSettings,
    TfidfSpace,
    char_ngrams,
    known_phrasings,
    phrasing,
    word_ngrams,
)

EXAMPLES = {
    "track_order": [
        "where is my order",
        "has my parcel been shipped yet",
        "track order 100102",
        "what is the status of my purchase",
        "my package hasn't arrived",
        "when will order 100233 be delivered",
        "can you check where my delivery is",
        "is my order on its way",
    ],
    "get_refund": [
        "I want my money back",
        "please refund order 100104",
        "can I return this and get a refund",
        "the jacket was broken, refund me",
        "how do I get reimbursed for the shoes",
        "I'd like a refund for my purchase",
        "give me back what I paid",
        "return the item for a refund",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "hiya", "good evening", "howdy", "yo"],
    "newsletter_subscription": [
        "sign me up for the newsletter",
        "unsubscribe me from your emails",
        "I want to get your weekly mails",
        "stop sending me marketing emails",
        "subscribe to news and offers",
        "can I get the newsletter",
        "take me off the mailing list",
        "I'd like to receive promotions by email",
    ],
    "out_of_scope": [
        "what's the weather tomorrow",
        "tell me a joke",
        "who won the football game",
        "what is the capital of France",
        "recommend a good movie",
        "how tall is mount everest",
        "what should I cook tonight",
        "can you do my homework",
    ],
}


def _data() -> tuple[list[str], list[str]]:
    texts = [text for examples in EXAMPLES.values() for text in examples]
    labels = [label for label, examples in EXAMPLES.items() for _ in examples]
    return texts, labels


@pytest.fixture(scope="module")
def trained(embedder) -> tuple[IntentModel, object]:
    texts, labels = _data()
    return IntentModel.fit(texts, labels, np.asarray(embedder.encode(texts))), embedder


def _top(model: IntentModel, embedder, texts: list[str]) -> list[str]:
    ranked = model.rank(texts, np.asarray(embedder.encode(texts)), top=1)
    return [ranking[0][0] for ranking in ranked]


def test_character_ngrams_stay_inside_words() -> None:
    grams = char_ngrams("Hi  you", 2, 3)
    assert " h" in grams and "hi " in grams and " yo" in grams
    assert all(" " not in gram.strip() for gram in grams)
    assert char_ngrams("", 2, 5) == []


def test_word_ngrams_keep_pairs_and_skip_single_letters() -> None:
    assert word_ngrams("Where is my order?", 1, 2) == [
        "where",
        "is",
        "my",
        "order",
        "where is",
        "is my",
        "my order",
    ]
    assert word_ngrams("I a", 1, 2) == []


def test_tfidf_rows_are_unit_length_and_ignore_unknown_terms() -> None:
    space = TfidfSpace.fit([["a", "b"], ["a", "c"], ["a"]])
    rows = space.transform([["a", "b", "b"], ["zzz"]]).toarray()
    assert np.isclose(np.linalg.norm(rows[0]), 1.0)
    assert rows[0][space.vocabulary["b"]] > rows[0][space.vocabulary["a"]]  # rarer and repeated
    assert not rows[1].any()


def test_rare_character_ngrams_are_dropped() -> None:
    space = TfidfSpace.fit([["ab"], ["ab"], ["cd"]], min_df=2)
    assert list(space.vocabulary) == ["ab"]


def test_the_training_examples_are_learned(trained) -> None:
    model, embedder = trained
    texts, labels = _data()
    assert _top(model, embedder, texts) == labels


def test_new_phrasings_are_understood_by_their_meaning(trained) -> None:
    model, embedder = trained
    assert _top(
        model,
        embedder,
        [
            "I'm still waiting for the stuff I bought last week",
            "reimburse me please",
            "greetings!",
            "which team will win the world cup",
            "please add me to your mailing",
        ],
    ) == ["track_order", "get_refund", "greet", "out_of_scope", "newsletter_subscription"]


def test_typos_are_caught_by_character_ngrams(trained) -> None:
    model, embedder = trained
    assert _top(model, embedder, ["whre is my ordr", "refnd my mony"]) == [
        "track_order",
        "get_refund",
    ]


def test_rankings_are_probabilities_most_likely_first(trained) -> None:
    model, embedder = trained
    texts = ["where is my order", "hmm"]
    probabilities = model.probabilities(texts, np.asarray(embedder.encode(texts)))
    assert probabilities.shape == (2, len(EXAMPLES))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    ranking = model.rank(texts[:1], np.asarray(embedder.encode(texts[:1])), top=3)[0]
    assert len(ranking) == 3
    assert [c for _, c in ranking] == sorted((c for _, c in ranking), reverse=True)
    assert model.rank([], np.zeros((0, 384))) == []


def test_a_saved_model_loads_to_the_same_answers(trained, tmp_path: Path) -> None:
    model, embedder = trained
    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    texts = ["where's my refund for order 100104", "good morning"]
    vectors = np.asarray(embedder.encode(texts))
    assert loaded.labels == model.labels
    assert loaded.known == model.known and loaded.known
    assert loaded.settings == model.settings
    assert np.allclose(loaded.probabilities(texts, vectors), model.probabilities(texts, vectors))
    json.loads((tmp_path / VOCABULARY_FILE).read_text())  # plain JSON
    np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False)  # plain arrays, no pickle


def test_a_damaged_model_is_refused_with_a_clear_error(trained, tmp_path: Path) -> None:
    model, _ = trained
    model.save(tmp_path)
    np.save(tmp_path / BIAS_FILE, np.zeros(2, dtype=np.float32))
    with pytest.raises(IntentModelError, match="do not match"):
        IntentModel.load(tmp_path)
    (tmp_path / WEIGHTS_FILE).unlink()
    with pytest.raises(IntentModelError, match="cannot be read"):
        IntentModel.load(tmp_path)


def test_vectors_from_another_encoder_are_refused(trained) -> None:
    model, _ = trained
    with pytest.raises(ValueError, match="encoder"):
        model.probabilities(["hello"], np.zeros((1, 768), dtype=np.float32))


def test_training_needs_two_intents_and_matching_inputs(embedder) -> None:
    texts = ["hello", "hi"]
    vectors = np.asarray(embedder.encode(texts))
    with pytest.raises(ValueError, match="two intents"):
        IntentModel.fit(texts, ["greet", "greet"], vectors)
    with pytest.raises(ValueError, match="one entry per example"):
        IntentModel.fit(texts, ["greet"], vectors)


def test_settings_change_the_model(embedder) -> None:
    texts, labels = _data()
    vectors = np.asarray(embedder.encode(texts))
    words_only = IntentModel.fit(texts, labels, vectors, IntentModelSettings(embedding_weight=0.0))
    default = IntentModel.fit(texts, labels, vectors)
    probe = ["reimburse me please"]
    probe_vectors = np.asarray(embedder.encode(probe))
    assert not np.allclose(
        words_only.probabilities(probe, probe_vectors), default.probabilities(probe, probe_vectors)
    )


def test_a_phrasing_is_its_words_whatever_the_case_spacing_and_punctuation() -> None:
    assert phrasing("Track an  order!") == phrasing("track an order") == "track an order"
    assert phrasing("Order 100102?") == "order 000000"


def test_phrasings_with_two_labels_are_not_known() -> None:
    known = known_phrasings(["Cancel it", "cancel it!", "hello", "Hello"], ["a", "b", "c", "c"])
    assert known == {"hello": "c"}


def test_a_message_worded_like_a_training_example_gets_its_label_with_certainty(embedder) -> None:
    # A button's payload is a training phrasing: it must reach its intent, never a neighbour.
    texts, labels = _data()
    texts, labels = [*texts, "the usual thing please"], [*labels, "get_refund"]
    model = IntentModel.fit(texts, labels, np.asarray(embedder.encode(texts)))
    asked = ["The usual thing, please!", "the usual thing please for order 100102"]
    ranked = model.rank(asked, np.asarray(embedder.encode(asked)), top=2)
    assert ranked[0] == [("get_refund", 1.0), (ranked[0][1][0], 0.0)]
    assert ranked[1][0][1] < 1.0  # other words: the model decides as usual
