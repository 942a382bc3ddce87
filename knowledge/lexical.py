"""A BM25 index over passages: the lexical half of hybrid retrieval.

Dense embeddings match meaning but blur exact words (a product code, "Klarna", "VAT"); BM25
matches exactly those. The index is one sparse matrix of precomputed BM25 weights (passages x
terms), so a query costs a sum of a few columns. It is saved as plain arrays (`.npz`, read with
`allow_pickle=False`) and a JSON vocabulary: loading it cannot run code.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import snowballstemmer
from scipy import sparse

# Okapi BM25's usual constants; `bench` compared others on StackFAQ and the shop's questions.
K1 = 1.2
B = 0.75

_TOKEN = re.compile(r"[a-z0-9]+")
# Function words carry no evidence in a support question; "not"/"no" stay (they change meaning).
_STOPWORD_TEXT = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself nor of off on once only or other our "
    "ours ourselves out over own same she should so some such than that the their theirs them "
    "themselves then there these they this those through to too under until up very was we "
    "were what when where which while who whom why will with would you your yours yourself "
    "yourselves "
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def tokenize(text: str) -> list[str]:
    """Lower-case, accent-free, stemmed word tokens without stop words."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [_stem(word) for word in _TOKEN.findall(plain) if word not in STOPWORDS]


def top_positive(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    """Positions of the `k` highest positive scores, best first (ties by position)."""
    k = min(k, int(np.count_nonzero(scores > 0)))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    return top[np.lexsort((top, -scores[top]))].astype(np.int64)


class LexicalIndexError(RuntimeError):
    """A lexical index that cannot be read."""


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 weights of every (passage, term) pair, stored column-wise for fast queries."""

    vocabulary: dict[str, int]
    weights: Any  # scipy.sparse.csc_matrix, float32, shape (passages, terms)

    @property
    def size(self) -> int:
        """Number of passages."""
        return int(self.weights.shape[0])

    @classmethod
    def build(cls, texts: Iterable[str], *, k1: float = K1, b: float = B) -> LexicalIndex:
        """Index `texts` (one per passage, in passage order)."""
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths.append(len(tokens))
            tf: dict[int, int] = {}
            for token in tokens:
                column = vocabulary.setdefault(token, len(vocabulary))
                tf[column] = tf.get(column, 0) + 1
            rows.extend([row] * len(tf))
            cols.extend(tf)
            counts.extend(tf.values())
        n = len(lengths)
        if n == 0:
            raise ValueError("cannot index zero passages")
        tf_matrix = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float32), (rows, cols)),
            shape=(n, len(vocabulary)),
        )
        length = np.asarray(lengths, dtype=np.float32)
        average = float(length.mean()) or 1.0
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=tf_matrix.shape[1])
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        # BM25 term weight per stored (passage, term) entry, computed once at build time.
        norm = k1 * (1.0 - b + b * length / average)
        row_of_entry = np.repeat(np.arange(n), np.diff(tf_matrix.indptr))
        tf_values = tf_matrix.data
        tf_matrix.data = (
            tf_values * (k1 + 1.0) / (tf_values + norm[row_of_entry]) * idf[tf_matrix.indices]
        ).astype(np.float32)
        return cls(vocabulary=vocabulary, weights=tf_matrix.tocsc())

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every passage for `query` (zeros when no query word is known)."""
        columns = [self.vocabulary[t] for t in tokenize(query) if t in self.vocabulary]
        if not columns:
            return np.zeros(self.size, dtype=np.float32)
        summed = self.weights[:, columns].sum(axis=1)
        return np.asarray(summed, dtype=np.float32).ravel()

    def search(self, query: str, k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The `k` best passages with a positive score, best first: (scores, positions)."""
        scores = self.scores(query)
        order = top_positive(scores, k)
        return scores[order], order

    def write(self, folder: Path) -> None:
        """Save as `lexical.npz` (arrays only) and `vocabulary.json`."""
        matrix = self.weights
        np.savez(
            folder / "lexical.npz",
            data=matrix.data,
            indices=matrix.indices,
            indptr=matrix.indptr,
            shape=np.asarray(matrix.shape, dtype=np.int64),
        )
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (folder / "vocabulary.json").write_text(json.dumps(terms), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> LexicalIndex:
        """Load what `write` saved; a damaged file raises LexicalIndexError."""
        try:
            terms: Sequence[str] = json.loads(
                (folder / "vocabulary.json").read_text(encoding="utf-8")
            )
            with np.load(folder / "lexical.npz", allow_pickle=False) as arrays:
                shape = tuple(int(v) for v in arrays["shape"])
                weights = sparse.csc_matrix(
                    (arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape
                )
        except (OSError, ValueError, KeyError) as error:
            raise LexicalIndexError(f"lexical index in {folder} is unreadable: {error}") from error
        if not isinstance(terms, list) or len(terms) != shape[1]:
            raise LexicalIndexError(f"lexical index in {folder} does not match its vocabulary")
        return cls(vocabulary={term: i for i, term in enumerate(terms)}, weights=weights)
