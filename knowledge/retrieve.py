"""Answer a question from the index: the best passage, trimmed to the sentences that answer.

Below the calibrated score threshold the knowledge base abstains, so the agent says it does
not know rather than quoting something unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge.chunking import Chunk, split_sentences
from knowledge.embedding import Embedder
from knowledge.index import LoadedIndex, search_vectors

MAX_QUOTE_WORDS = 60
# How far below the best passage a passage of a preferred topic may score and still be chosen.
TOPIC_MARGIN = 0.05


@dataclass(frozen=True)
class Hit:
    """A passage and its cosine similarity to the question."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class Answer:
    """What the agent says: a quote and where it comes from."""

    article_id: str
    title: str
    url: str
    quote: str
    score: float


class KnowledgeBase:
    """Dense retrieval over one loaded index with one embedder."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, *, min_score: float) -> None:
        self._index = index
        self._embedder = embedder
        self.min_score = min_score

    @property
    def index(self) -> LoadedIndex:
        """The index in use."""
        return self._index

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Return the `k` best passages, best first, at most one per article."""
        vectors = self._embedder.encode([query])
        # Over-fetch so that several passages of one article still leave k articles.
        scores, positions = search_vectors(self._index, vectors, k * 4)
        hits: list[Hit] = []
        seen: set[str] = set()
        for score, position in zip(scores[0], positions[0], strict=True):
            if position < 0:
                continue
            chunk = self._index.chunks[int(position)]
            if chunk.article_id in seen:
                continue
            seen.add(chunk.article_id)
            hits.append(Hit(chunk=chunk, score=float(score)))
            if len(hits) == k:
                break
        return hits

    def answer(self, query: str, *, topics: tuple[str, ...] = ()) -> Answer | None:
        """Return the best answer, or None when the evidence is below the threshold.

        `topics` is what the caller already knows about the question (the agent's NLU has
        recognised, say, a payment question): a passage of one of those topics wins over a
        slightly better scoring one of another topic, within `TOPIC_MARGIN`. Abstention still
        depends on the best score alone.
        """
        hits = self.search(query, k=5 if topics else 1)
        if not hits or hits[0].score < self.min_score:
            return None
        best = hits[0]
        if topics and best.chunk.topic not in topics:
            preferred = [
                hit
                for hit in hits
                if hit.chunk.topic in topics and hit.score >= best.score - TOPIC_MARGIN
            ]
            best = preferred[0] if preferred else best
        return Answer(
            article_id=best.chunk.article_id,
            title=best.chunk.title,
            url=best.chunk.url,
            quote=self.trim(query, best.chunk.text),
            score=best.score,
        )

    def trim(self, query: str, passage: str) -> str:
        """Keep the sentence closest to the question and, if room, its closer neighbour."""
        sentences = split_sentences(passage)
        if len(sentences) <= 2:
            return passage
        vectors = self._embedder.encode([query, *sentences])
        scores = vectors[1:] @ vectors[0]
        best = int(np.argmax(scores))
        picked = [best]
        neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(sentences)]
        if neighbours:
            other = max(neighbours, key=lambda i: float(scores[i]))
            words = len(sentences[best].split()) + len(sentences[other].split())
            if words <= MAX_QUOTE_WORDS:
                picked.append(other)
        return " ".join(sentences[i] for i in sorted(picked))
