"""An intent classifier over what a message says and what it means: TF-IDF n-grams + MiniLM.

Word and character n-grams carry the shop's vocabulary (order numbers, "invoice", typos); the
MiniLM sentence embedding carries the meaning of phrasings the data never had ("where can I buy
cheap flights" is not an order). One multinomial logistic regression over both, weighted so
that neither drowns the other, beat DIET on our intents and reaches 94 % on Banking77
(docs/nlu.md).

No Rasa imports: `bot/nlu/classifier.py` plugs it into the pipeline, the benchmark and the tests
use it directly. The fitted model is saved as JSON and `.npy` arrays, never pickle, so a model
file cannot run code and does not depend on the scikit-learn version that trained it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npy"
BIAS_FILE = "bias.npy"

_WORD = re.compile(r"(?u)\b\w\w+\b")
_ANY_WORD = re.compile(r"(?u)\w+")
_SPACE = re.compile(r"\s\s+")
_DIGIT = re.compile(r"\d")


def normalise(text: str) -> str:
    """Lower case, every digit a 0: an order number's shape matters, its value does not."""
    return _DIGIT.sub("0", text.lower())


def phrasing(text: str) -> str:
    """The words of a message and nothing else: the key of a known phrasing.

    "Track an order!" and "track an  order" are the same phrasing; a button's payload is one.
    """
    return " ".join(_ANY_WORD.findall(normalise(text)))


def known_phrasings(texts: Sequence[str], labels: Sequence[str]) -> dict[str, str]:
    """Each training phrasing that has one label, mapped to it; ambiguous ones are left out."""
    seen: dict[str, set[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        key = phrasing(text)
        if key:
            seen.setdefault(key, set()).add(str(label))
    return {key: next(iter(found)) for key, found in seen.items() if len(found) == 1}


def encoder_text(text: str) -> str:
    """What the sentence encoder reads: every digit a 0, as for the n-grams.

    The encoder's vector of "where is order 966878?" otherwise moves with the number, and one
    customer's order was misread where another's was not.
    """
    return _DIGIT.sub("0", text)


class IntentModelError(RuntimeError):
    """A saved model is missing or does not fit together; retrain it."""


@dataclass(frozen=True)
class IntentModelSettings:
    """What the model is; chosen by cross-validation (docs/nlu.md), so change with a measurement.

    `c` is the inverse regularisation of the logistic regression; `embedding_weight` scales the
    unit-length sentence vector against the unit-length n-gram vectors; `char_min_df` drops
    character n-grams seen in fewer examples (typo noise).
    """

    c: float = 50.0
    embedding_weight: float = 2.0
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    char_min_df: int = 2
    max_iter: int = 3000


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """Lower-cased words of two or more characters and their n-grams."""
    words = _WORD.findall(normalise(text))
    return [
        " ".join(words[i : i + n]) for n in range(low, high + 1) for i in range(len(words) - n + 1)
    ]


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside each space-padded word, so they never span two words."""
    grams: list[str] = []
    for word in _SPACE.sub(" ", normalise(text)).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return grams


class TfidfSpace:
    """A TF-IDF vector space (sublinear term frequency, smoothed IDF, unit length)."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        """Use `fit` to build one from texts."""
        self.vocabulary = vocabulary
        self.idf = idf

    @classmethod
    def fit(cls, documents: Sequence[list[str]], min_df: int = 1) -> TfidfSpace:
        """Keep the terms found in at least `min_df` documents."""
        frequency: Counter[str] = Counter()
        for terms in documents:
            frequency.update(set(terms))
        kept = sorted(term for term, df in frequency.items() if df >= min_df)
        n = len(documents)
        idf = np.array([math.log((1 + n) / (1 + frequency[t])) + 1.0 for t in kept])
        return cls({term: i for i, term in enumerate(kept)}, idf)

    def transform(self, documents: Iterable[list[str]]) -> sparse.csr_matrix:
        """One unit-length row per document; unknown terms are ignored."""
        data: list[float] = []
        columns: list[int] = []
        pointers = [0]
        for terms in documents:
            counts = Counter(self.vocabulary[t] for t in terms if t in self.vocabulary)
            row = {j: (1.0 + math.log(tf)) * self.idf[j] for j, tf in counts.items()}
            norm = math.sqrt(sum(v * v for v in row.values())) or 1.0
            columns.extend(row)
            data.extend(v / norm for v in row.values())
            pointers.append(len(columns))
        return sparse.csr_matrix(
            (np.array(data, dtype=np.float64), np.array(columns, dtype=np.int64), pointers),
            shape=(len(pointers) - 1, len(self.vocabulary)),
        )


class IntentModel:
    """Ranks intents for messages given their texts and sentence vectors."""

    def __init__(
        self,
        settings: IntentModelSettings,
        words: TfidfSpace,
        chars: TfidfSpace,
        labels: list[str],
        weights: np.ndarray,
        bias: np.ndarray,
        known: dict[str, str] | None = None,
    ) -> None:
        """Use `fit` or `load`.

        `known` maps a training phrasing (`phrasing`) to its label: a message worded exactly
        like one is given that label with certainty. The agent's buttons send such phrasings
        (the "Do you mean ...?" choices), so a customer's choice always reaches its task.
        """
        self.settings = settings
        self.words = words
        self.chars = chars
        self.labels = labels
        self.weights = weights
        self.bias = bias
        self.known = known or {}
        self._index = {label: i for i, label in enumerate(labels)}
        # Converted once here, not on every message: the weights are labels × (n-grams + 384).
        self._scoring = np.ascontiguousarray(weights.T, dtype=np.float64)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        vectors: np.ndarray,
        settings: IntentModelSettings | None = None,
    ) -> IntentModel:
        """Train on labelled texts; `vectors` are their sentence embeddings, one row each."""
        from sklearn.linear_model import LogisticRegression  # training only

        settings = settings or IntentModelSettings()
        if len(texts) != len(labels) or len(texts) != vectors.shape[0]:
            raise ValueError("texts, labels and vectors must have one entry per example")
        if len(set(labels)) < 2:
            raise ValueError("an intent classifier needs at least two intents to tell apart")
        words = TfidfSpace.fit([word_ngrams(t, *settings.word_ngrams) for t in texts])
        chars = TfidfSpace.fit(
            [char_ngrams(t, *settings.char_ngrams) for t in texts], min_df=settings.char_min_df
        )
        model = cls(settings, words, chars, [], np.zeros((0, 0)), np.zeros(0))
        regression = LogisticRegression(
            C=settings.c, max_iter=settings.max_iter, class_weight="balanced"
        )
        regression.fit(model._features(texts, vectors), np.asarray(labels))
        if int(np.max(regression.n_iter_)) >= settings.max_iter:
            logger.warning("intent model: the regression stopped at max_iter before converging")
        return cls(
            settings,
            words,
            chars,
            [str(label) for label in regression.classes_],
            regression.coef_.astype(np.float32),
            regression.intercept_.astype(np.float32),
            known_phrasings(texts, labels),
        )

    @property
    def dimension(self) -> int:
        """Length of the sentence vectors the model was trained with."""
        return int(self.weights.shape[1]) - len(self.words.vocabulary) - len(self.chars.vocabulary)

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
        low, high = self.settings.word_ngrams
        char_low, char_high = self.settings.char_ngrams
        return sparse.hstack(
            [
                self.words.transform(word_ngrams(t, low, high) for t in texts),
                self.chars.transform(char_ngrams(t, char_low, char_high) for t in texts),
                sparse.csr_matrix(vectors.astype(np.float64) * self.settings.embedding_weight),
            ]
        ).tocsr()

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One row per text, one column per label (`self.labels`), rows summing to 1."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        if vectors.shape != (len(texts), self.dimension):
            raise ValueError(
                f"expected {len(texts)} sentence vectors of length {self.dimension}, "
                f"got {vectors.shape}: was the encoder changed after training?"
            )
        scores = self._features(texts, vectors) @ self._scoring + self.bias
        scores = np.asarray(scores)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        for row, text in enumerate(texts):
            label = self.known.get(phrasing(text))
            if label is not None and label in self._index:
                result[row] = 0.0
                result[row, self._index[label]] = 1.0
        return result

    def rank(
        self, texts: Sequence[str], vectors: np.ndarray, top: int = 10
    ) -> list[list[tuple[str, float]]]:
        """The `top` intents for each text, most likely first."""
        ranked = []
        for row in self.probabilities(texts, vectors):
            order = np.argsort(-row, kind="stable")[:top]
            ranked.append([(self.labels[i], float(row[i])) for i in order])
        return ranked

    def save(self, directory: Path) -> None:
        """Write JSON metadata and two arrays into `directory` (which must exist)."""
        meta = {
            "settings": asdict(self.settings),
            "labels": self.labels,
            "dimension": self.dimension,
            "words": {"vocabulary": self.words.vocabulary, "idf": self.words.idf.tolist()},
            "chars": {"vocabulary": self.chars.vocabulary, "idf": self.chars.idf.tolist()},
            "known": self.known,
        }
        (directory / VOCABULARY_FILE).write_text(json.dumps(meta))
        np.save(directory / WEIGHTS_FILE, self.weights, allow_pickle=False)
        np.save(directory / BIAS_FILE, self.bias, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> IntentModel:
        """Read a model written by `save`; a missing or inconsistent file raises a clear error."""
        try:
            meta = json.loads((directory / VOCABULARY_FILE).read_text())
            weights = np.load(directory / WEIGHTS_FILE, allow_pickle=False)
            bias = np.load(directory / BIAS_FILE, allow_pickle=False)
            raw = meta["settings"]
            settings = IntentModelSettings(
                **{
                    **raw,
                    "word_ngrams": tuple(raw["word_ngrams"]),
                    "char_ngrams": tuple(raw["char_ngrams"]),
                }
            )
            words = TfidfSpace(meta["words"]["vocabulary"], np.asarray(meta["words"]["idf"]))
            chars = TfidfSpace(meta["chars"]["vocabulary"], np.asarray(meta["chars"]["idf"]))
            labels = [str(label) for label in meta["labels"]]
            known = {str(key): str(label) for key, label in meta.get("known", {}).items()}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IntentModelError(
                f"intent model in {directory} cannot be read: {error}"
            ) from error
        columns = len(words.vocabulary) + len(chars.vocabulary) + int(meta.get("dimension", -1))
        if weights.shape != (len(labels), columns) or bias.shape != (len(labels),):
            raise IntentModelError(
                f"intent model in {directory}: weights {weights.shape} do not match "
                f"{len(labels)} labels and {columns} features; retrain it"
            )
        return cls(settings, words, chars, labels, weights, bias, known)
