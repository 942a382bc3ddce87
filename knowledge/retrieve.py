"""Answer a question from the collection: hybrid retrieval, reranking, calibrated abstention.

Dense retrieval (MiniLM, cosine) and BM25 each fetch candidates; a document's fused score is its
best passage cosine plus a small weight times its best passage BM25 score relative to the query's
best BM25 score, so exact words (a brand, a product code) break the near-ties that embeddings
leave, without letting word overlap outvote meaning. Reciprocal rank fusion was measured too and
lost (docs/knowledge.md). A cross-encoder, when one is configured, reorders the best few. Below
the calibrated threshold on the chosen passage's cosine similarity the knowledge base abstains,
so the agent says it does not know rather than quoting something unrelated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from encoder.embedding import Embedder
from knowledge.chunking import Chunk, split_sentences
from knowledge.index import IndexUnavailable, LoadedIndex, current_target, load_index
from knowledge.lexical import tokenize, top_positive
from knowledge.vectors import search as vector_search

Mode = Literal["dense", "lexical", "hybrid", "rerank"]
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid", "rerank")
MAX_QUOTE_WORDS = 60
# How far below the best passage's cosine a passage of a preferred topic may be and still win
# (0.05 before the blind set; 0.10 chosen on its tune half, docs/knowledge.md).
TOPIC_MARGIN = 0.10
# An article's introduction shorter than this may be quoted together with the passage after it.
SIGNPOST_WORDS = 30
# A question this much closer to an article's title than to the passage found asks what the
# whole article answers, and gets its overview (chosen on the shop's questions, docs/knowledge.md).
OVERVIEW_MARGIN = 0.12
OVERVIEW_WORDS = 80
# After a sentence with a colon, the short sentences that follow are the rest of the list it opens.
LIST_ITEM_WORDS = 12
LIST_ITEMS = 4
LEAD_WORDS = 30
# How much more a follow-up's own words count than the whole reading when choosing which of the
# article's passages to quote, and which of its sentences (read from the dev conversations'
# follow-ups, docs/knowledge.md): the passage needs the earlier question's subject more.
FOCUS_PASSAGE_WEIGHT = 1.5
FOCUS_SENTENCE_WEIGHT = 3.0
log = logging.getLogger("knowledge")


@dataclass(frozen=True)
class RetrievalSettings:
    """How candidates are fetched and fused: `knowledge.configured` reads them from the settings.

    Their defaults, in config/settings.py, were chosen on docs/knowledge.md's sets.
    """

    mode: Mode
    candidates: int  # passages fetched from each of dense and BM25
    lexical_weight: float  # weight of BM25 (relative to the query's best) added to cosine
    rerank_depth: int  # passages the cross-encoder reorders


@dataclass(frozen=True)
class Hit:
    """A passage, its rank score in the stage that ranked it, and its evidence."""

    chunk: Chunk
    score: float  # the ranking score of the stage (cosine, BM25, fused, or cross-encoder)
    dense: float  # cosine similarity to the question: what abstention is calibrated on
    lexical: float  # BM25 score (0 when no query word occurs in it)
    position: int = -1  # where the passage sits in the index it came from


@dataclass(frozen=True)
class Answer:
    """What the agent says: a quote and where it comes from."""

    article_id: str
    chunk_id: str
    title: str
    url: str
    quote: str
    score: float
    topic: str  # the article's `topic:` front matter: what the answer was about


class Reranker(Protocol):
    """Scores (question, passage) pairs jointly; higher is more relevant."""

    def score(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        """One score per passage."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder loaded from a local folder, on the CPU."""

    def __init__(self, model_path: Path) -> None:
        if not (model_path / "config.json").exists():
            raise FileNotFoundError(f"no cross-encoder model in {model_path}")
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(str(model_path), device="cpu")

    def score(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        """Relevance of each passage to `query`."""
        raw = self._model.predict([(query, p) for p in passages], show_progress_bar=False)
        return np.asarray(raw, dtype=np.float32).reshape(len(passages))


class LiveIndex:
    """The current build of an index folder, reloaded in the background after a swap.

    Every request reads whichever build is loaded; a new build is loaded by one background thread
    and replaces the old in a single assignment, so a request never waits for a load and never
    sees half of one. A build that fails to load is logged and the old one stays in service.
    """

    def __init__(
        self, index_dir: Path, *, model_name: str, dimension: int, check_every: float
    ) -> None:
        self._dir = index_dir
        self._model = model_name
        self._dimension = dimension
        self._check_every = check_every
        self._target = current_target(index_dir)
        self._current = load_index(index_dir, model_name=model_name, dimension=dimension)
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._failed: str | None = None

    def get(self) -> LoadedIndex:
        """The build in service; starts a reload if `current` moved since the last look."""
        now = time.monotonic()
        if now - self._checked >= self._check_every:
            self._checked = now
            target = current_target(self._dir)
            if target not in (self._target, self._failed):
                with self._lock:
                    if self._loading is None or not self._loading.is_alive():
                        self._loading = threading.Thread(
                            target=self._reload, args=(target,), daemon=True, name="kb-reload"
                        )
                        self._loading.start()
        return self._current

    def _reload(self, target: str | None) -> None:
        try:
            fresh = load_index(self._dir, model_name=self._model, dimension=self._dimension)
        except IndexUnavailable as error:
            log.error("knowledge index not reloaded, the previous one stays in use: %s", error)
            self._failed = target
            return
        self._current = fresh
        self._target = target
        log.info(
            "knowledge index reloaded: %d documents, %d passages (%s)",
            fresh.manifest.documents,
            fresh.manifest.chunks,
            fresh.path.name,
        )

    def wait(self, timeout: float = 30.0) -> None:
        """Check now and wait for a reload to finish (for the CLI and tests)."""
        self._checked = 0.0
        self.get()
        loading = self._loading
        if loading is not None:
            loading.join(timeout)


class KnowledgeBase:
    """Retrieval over a loaded (or live-reloading) collection with one embedder."""

    def __init__(
        self,
        index: LoadedIndex | LiveIndex,
        embedder: Embedder,
        *,
        min_score: float,
        settings: RetrievalSettings,
        reranker: Reranker | None = None,
        topic_min_scores: Mapping[str, float] | None = None,
        hinted_min_score: float | None = None,
    ) -> None:
        self._index = index
        self._embedder = embedder
        self.min_score = min_score
        self.topic_min_scores = dict(topic_min_scores or {})
        self.hinted_min_score = min_score if hinted_min_score is None else hinted_min_score
        self.settings = settings
        self.reranker = reranker

    @property
    def index(self) -> LoadedIndex:
        """The build in service."""
        return self._index.get() if isinstance(self._index, LiveIndex) else self._index

    def search(self, query: str, k: int = 5, *, mode: Mode | None = None) -> list[Hit]:
        """The `k` best passages, best first, at most one per document."""
        mode = mode or self.settings.mode
        if mode == "rerank" and self.reranker is None:
            mode = "hybrid"
        index = self.index
        query_vector = self._embedder.encode([query])
        depth = max(self.settings.candidates, k * 4)
        dense_scores, dense_positions = vector_search(index.vectors, query_vector, depth)
        dense = {int(p): float(s) for s, p in zip(dense_scores[0], dense_positions[0], strict=True)}
        dense.pop(-1, None)
        lexical_scores = index.lexical.scores(query)
        lexical = [] if mode == "dense" else [int(p) for p in top_positive(lexical_scores, depth)]
        cosines = _cosines(index, query_vector[0], [*dense, *lexical], dense)
        best = float(lexical_scores[lexical[0]]) if lexical else 1.0
        weight = self.settings.lexical_weight / best
        if mode == "dense":
            scores = dense
        elif mode == "lexical":
            scores = {p: float(lexical_scores[p]) for p in lexical}
        else:
            scores = {p: cos + weight * float(lexical_scores[p]) for p, cos in cosines.items()}
        ranked = sorted(scores, key=lambda p: (-scores[p], p))
        hits = _one_per_document(
            [
                Hit(index.chunks[p], scores[p], cosines[p], float(lexical_scores[p]), p)
                for p in ranked
            ]
        )
        if mode in ("hybrid", "rerank"):
            hits = _by_document(index, hits, cosines, lexical_scores, weight)
        if mode == "rerank" and self.reranker is not None and hits:
            head = hits[: self.settings.rerank_depth]
            rerank_scores = self.reranker.score(query, [h.chunk.embedding_text() for h in head])
            order = np.argsort(-rerank_scores, kind="stable")
            reordered = [replace(head[i], score=float(rerank_scores[i])) for i in order]
            hits = reordered + hits[len(head) :]
        return hits[:k]

    def answer(
        self, query: str, *, topics: tuple[str, ...] = (), focus: str | None = None
    ) -> Answer | None:
        """Return the best answer, or None when the evidence is below the threshold.

        `topics` is what the caller already knows about the question (the agent's NLU has
        recognised, say, a payment question): a passage of one of those topics wins over a
        better ranked one of another topic whose cosine is within `TOPIC_MARGIN` of it. An
        article about one kind of product answers only a question that names it
        (`_about_what_is_named`).
        Abstention depends on the chosen passage's cosine similarity and its topic: a passage
        of a topic the caller named needs less (`threshold`).

        `focus` is the customer's own words when `query` is a follow-up read with the question
        before it ("and if it's already been dispatched?" with "is there a fee to cancel?"):
        the two together find the article and decide abstention; the follow-up's words count
        most in picking what to quote of it (`FOCUS_PASSAGE_WEIGHT`, `FOCUS_SENTENCE_WEIGHT`),
        since the earlier question, already answered, would draw the same passage again.
        """
        index = self.index
        hits = _about_what_is_named(index, query, self.search(query, k=5))
        if not hits:
            return None
        best = hits[0]
        if topics and best.chunk.topic not in topics:
            # A product guide is close to every question naming its product, whatever it
            # asks: "how long would the fire pit take to reach Leeds?" is a delivery question.
            guide = _is_product_guide(index, best)
            preferred = [
                hit
                for hit in hits
                if hit.chunk.topic in topics and (guide or hit.dense >= best.dense - TOPIC_MARGIN)
            ]
            best = preferred[0] if preferred else best
        if best.dense < self.threshold(best.chunk.topic, hinted=best.chunk.topic in topics):
            return None
        passages = _article_passages(index, best)
        chunk = best.chunk
        if focus and passages:
            chunk = self._closest(passages, query, focus)
            quote = self.quote(query, chunk.text, _following(passages, chunk), focus=focus)
        elif self._asks_the_title(query, best, passages) or _asks_the_article(best, passages):
            quote = overview(passages)
        else:
            quote = self.quote(query, chunk.text, _following(passages, chunk))
        return Answer(
            article_id=best.chunk.article_id,
            chunk_id=chunk.chunk_id,
            title=best.chunk.title,
            url=best.chunk.url,
            quote=quote,
            score=best.dense,
            topic=best.chunk.topic,
        )

    def threshold(self, topic: str, *, hinted: bool = False) -> float:
        """The cosine a passage of `topic` needs to be quoted.

        A topic's own threshold comes first: customers report sign-up failures no account
        article describes, and those land on the account articles at cosines where other
        topics' answers are right. Otherwise a passage of the topic the caller named (`hinted`:
        the NLU recognised, say, a contact question) needs less than the global threshold: two
        independent readings of the question agree, and on the blind set's tune half such
        answers were right down to a cosine of 0.2 (docs/knowledge.md).
        """
        own = self.topic_min_scores.get(topic)
        if own is not None:
            return own
        return min(self.min_score, self.hinted_min_score) if hinted else self.min_score

    def _asks_the_title(self, query: str, best: Hit, passages: list[Chunk]) -> bool:
        """Whether the question is the article's own question rather than one of its sections'.

        "What payment methods do you accept?" is closer to the title "Which payment methods do
        you accept?" than to any section, and the closest section may even be "Methods we don't
        accept": no single passage answers it, the article as a whole does.
        """
        if len({chunk.headings for chunk in passages}) < 2:
            return False
        vectors = self._embedder.encode([query, best.chunk.title])
        return float(vectors[1] @ vectors[0]) - best.dense >= OVERVIEW_MARGIN

    def _closeness(
        self,
        query: str,
        texts: Sequence[str],
        focus: str | None,
        weight: float = FOCUS_SENTENCE_WEIGHT,
    ) -> Any:
        """How close each of `texts` is to the question: its cosine with `query`.

        With the `focus` of a follow-up, its own words count `weight` times as much as the whole
        reading: alone, "where do I put it?" is close to anything saying where something goes;
        "and if I've used it?" read whole is closest to the 30-day passage its earlier question
        drew.
        """
        queries = [query] if focus is None else [query, focus]
        vectors = self._embedder.encode([*queries, *texts])
        scores = vectors[len(queries) :] @ vectors[: len(queries)].T
        weights = np.array([1.0, weight][: len(queries)], dtype=np.float32)
        return scores @ weights

    def _closest(self, passages: Sequence[Chunk], query: str, focus: str | None) -> Chunk:
        """The passage of an article closest to the question, read as the index reads passages."""
        texts = [c.embedding_text() for c in passages]
        scores = self._closeness(query, texts, focus, FOCUS_PASSAGE_WEIGHT)
        return passages[int(np.argmax(scores))]

    def quote(
        self,
        query: str,
        passage: str,
        following: Chunk | None = None,
        *,
        focus: str | None = None,
    ) -> str:
        """What the answer quotes of `passage`; `following` is given for a short introduction.

        An introduction is often only a signpost ("There are several ways to get in touch"):
        close to every question about its article, so it finds the right article, but it states
        no fact.
        It is quoted whole, with the sentence of the next passage closest to the question.
        """
        if following is None:
            return self.trim(query, passage, focus=focus)
        sentences = split_sentences(following.text)
        if not sentences:
            return passage
        closest = sentences[int(np.argmax(self._closeness(query, sentences, focus)))]
        if len(passage.split()) + len(closest.split()) > MAX_QUOTE_WORDS:
            return passage
        return f"{passage} {closest}"

    def trim(self, query: str, passage: str, *, focus: str | None = None) -> str:
        """Keep the sentence closest to the question and, if room, its closer neighbour."""
        sentences = split_sentences(passage)
        if len(sentences) <= 2:
            return passage
        scores = self._closeness(query, sentences, focus)
        best = int(np.argmax(scores))
        picked = [best]
        neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(sentences)]
        if neighbours:
            other = max(neighbours, key=lambda i: float(scores[i]))
            words = len(sentences[best].split()) + len(sentences[other].split())
            if words <= MAX_QUOTE_WORDS:
                picked.append(other)
        return " ".join(sentences[i] for i in sorted(picked))


def _cosines(
    index: LoadedIndex, query: npt.NDArray[np.float32], ranked: list[int], known: dict[int, float]
) -> dict[int, float]:
    """Cosine of every ranked passage; those BM25 alone found are read back from the index."""
    out = {p: known[p] for p in ranked if p in known}
    missing = [p for p in ranked if p not in known]
    if missing:
        stored: Any = index.vectors.reconstruct_batch(np.asarray(missing, dtype=np.int64))
        values = np.asarray(stored, dtype=np.float32) @ query
        out.update({p: float(v) for p, v in zip(missing, values, strict=True)})
    return out


def _about_what_is_named(index: LoadedIndex, query: str, hits: list[Hit]) -> list[Hit]:
    """`hits` without the articles about one kind of product that the question does not name.

    A care article is close to every care question: "is the chef's knife dishwasher safe?"
    finds the cast-iron article's "Never put cast iron in the dishwasher", and "can the wool
    throw be machine washed?" the wooden boards' cleaning. An article whose front matter says
    what it is about (`about:`, "cast iron", "skillet", "pan") answers only a question naming
    one of those (stemmed words, so "pans" names "pan"); the help centre may still answer from
    another article, or not at all.
    """
    about = {entry.id: entry.about for entry in index.documents if entry.about}
    if not about:
        return hits
    words = set(tokenize(query))
    return [
        hit
        for hit in hits
        if hit.chunk.article_id not in about
        or any(set(tokenize(thing)) <= words for thing in about[hit.chunk.article_id])
    ]


def _is_product_guide(index: LoadedIndex, hit: Hit) -> bool:
    """Whether `hit` is a passage of an article about one kind of product (`about:`).

    Such a guide answers questions about looking after or using its product. When the NLU has
    read the question as one of another topic (delivery, payments, returns), any passage of
    that topic among the best answers it instead, however much closer the guide is: the guide
    is close because the question names its product, not because it asks what the guide says.
    """
    return any(entry.id == hit.chunk.article_id and entry.about for entry in index.documents)


def _article_passages(index: LoadedIndex, hit: Hit) -> list[Chunk]:
    """The article's own passages in order, when `hit` is a passage of an article, else [].

    An article's passages sit together in the index in order, each learned wording right after
    the passage it copies, so they are found from the start of the article's run, wordings
    skipped. A wording is a copy of the passage it stands for (its position, headings and
    text), so it is quoted like that passage: an introduction that is only a signpost needs the
    sentence of the next passage that answers ("how can I get in touch with you?" quoting
    "There are several ways to get in touch." alone would say nothing).
    """
    chunk = hit.chunk
    if chunk.kind != "article" or hit.position < 0:
        return []
    start = hit.position
    while start > 0 and index.chunks[start - 1].article_id == chunk.article_id:
        start -= 1
    passages = []
    for after in index.chunks[start:]:
        if after.article_id != chunk.article_id:
            break
        if not after.question:
            passages.append(after)
    return passages


def _asks_the_article(best: Hit, passages: list[Chunk]) -> bool:
    """Whether `best` is a wording of the whole article (front matter `questions:`, no section).

    Such a wording says the article as a whole answers ("what is your returns policy?"), so the
    answer is its overview, as for a question that is the article's title.
    """
    chunk = best.chunk
    return bool(chunk.question) and not chunk.headings and len({c.headings for c in passages}) > 1


def _following(passages: list[Chunk], chunk: Chunk) -> Chunk | None:
    """The passage after `chunk` when `chunk` is a short article introduction, else None."""
    if chunk.headings or len(chunk.text.split()) >= SIGNPOST_WORDS:
        return None
    following = chunk.position + 1
    if following >= len(passages) or passages[following].position != following:
        return None
    return passages[following]


def overview(passages: Sequence[Chunk]) -> str:
    """The article in brief: the lead of its introduction and of each section, in order.

    A section's lead is its first statement (a heading-like question such as "Forgotten your
    password?" is skipped) and, when it opens or starts a list ("Our support team is available:
    Monday to Friday: 8:00-20:00."), the short items after it. Sections are added while the
    whole stays within `OVERVIEW_WORDS`.
    """
    parts: list[str] = []
    words = 0
    seen: set[tuple[str, ...]] = set()
    for chunk in passages:
        if chunk.headings in seen:
            continue
        seen.add(chunk.headings)
        lead = _lead(split_sentences(chunk.text))
        if not lead:
            continue
        if chunk.headings:
            heading = chunk.headings[-1]
            lead = (
                f"{heading} {lead}" if heading.endswith(("?", "!", ":")) else f"{heading}: {lead}"
            )
        size = len(lead.split())
        if parts and words + size > OVERVIEW_WORDS:
            break
        parts.append(lead)
        words += size
    return "\n".join(parts)


def _lead(sentences: list[str]) -> str:
    statements = [i for i, sentence in enumerate(sentences) if not sentence.endswith("?")]
    if not statements:
        return sentences[0] if sentences else ""
    first = statements[0]
    picked = [sentences[first]]
    if ":" in picked[0]:
        for item in sentences[first + 1 : first + 1 + LIST_ITEMS]:
            size = len(item.split())
            if size > LIST_ITEM_WORDS or len(" ".join(picked).split()) + size > LEAD_WORDS:
                break
            picked.append(item)
    return " ".join(picked)


def _by_document(
    index: LoadedIndex,
    hits: list[Hit],
    cosines: dict[int, float],
    lexical: npt.NDArray[np.float32],
    weight: float,
) -> list[Hit]:
    """Rank documents by their best cosine plus `weight` times their best BM25 score.

    A document's two kinds of evidence may sit in different passages: a FAQ entry's learned
    wording matches the meaning, its own passage the words. Each hit keeps its passage (the
    best fused one), which is what gets quoted.
    """
    best_cosine: dict[str, float] = {}
    best_lexical: dict[str, float] = {}
    for p, cosine in cosines.items():
        article = index.chunks[p].article_id
        best_cosine[article] = max(best_cosine.get(article, -1.0), cosine)
        best_lexical[article] = max(best_lexical.get(article, 0.0), float(lexical[p]))
    scored = [
        replace(
            hit,
            score=best_cosine[hit.chunk.article_id] + weight * best_lexical[hit.chunk.article_id],
        )
        for hit in hits
    ]
    return sorted(scored, key=lambda hit: -hit.score)


def _one_per_document(hits: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in hits:
        if hit.chunk.article_id not in seen:
            seen.add(hit.chunk.article_id)
            out.append(hit)
    return out
