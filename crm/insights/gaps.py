"""Knowledge gaps: the questions the agent could not answer, grouped by meaning into a to-do list.

A question is **unanswered** when, in the period, the knowledge base abstained on it
(``abstained``), a customer voted its answer not helpful (``not_helpful``, the question that
answer was for), or the agent answered it with its fallback (``fallback``,
crm/insights/analytics.py's definition: ``action_default_fallback`` or ``utter_out_of_scope``).

The questions are normalised (one line, case and surrounding punctuation ignored) and the same
text asked again counts again without being embedded twice; the distinct texts are embedded with
the MiniLM (ONNX, encoder/sentence.py) and grouped by agglomerative clustering with average
linkage on cosine distance, cut at ``DISTANCE_THRESHOLD``, measured on our labelled sample by
`make bench-gaps` (docs/crm.md). Gaps are ranked by how often their questions were asked, then by
the newest; each is labelled by its most central question, shows up to ``EXAMPLES`` others, its
counts per source, and the nearest help-centre article when one is close enough to say "partly
covered by". Clustering is quadratic in memory, so at most ``MAX_QUESTIONS`` distinct texts (the
newest) are grouped; the report says when that cap was reached. No Rasa imports.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.staff import StaffMember
from crm.desk.supervision import PERIODS, Period, period_start
from crm.insights.analytics import customer_messages
from crm.records.errors import SupervisorsOnly
from crm.records.models import KnowledgeAnswer, utcnow

Source = Literal["abstained", "fallback", "not_helpful"]
SOURCES: Final[tuple[Source, ...]] = ("abstained", "fallback", "not_helpful")
# Cosine distance at which clusters stop merging; chosen by `make bench-gaps` (docs/crm.md).
DISTANCE_THRESHOLD: Final = 0.7
# A passage at least this similar to a gap's centre: the gap is "partly covered" by its article.
PARTLY_COVERED: Final = 0.55
EXAMPLES: Final = 5
MAX_QUESTIONS: Final = 5_000
MAX_GAPS: Final = 50
GAPS_CACHE_S: Final = 60.0  # how long a period's report is kept (`GapCache`)
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")

Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    """Unit-length sentence vectors (encoder.embedding's `Embedder` fits)."""

    def encode(self, texts: Sequence[str]) -> Vectors:
        """A (len(texts), dimension) float32 array."""
        ...


@dataclass(frozen=True)
class NearestArticle:
    """The help-centre article closest to a gap, and how close (cosine similarity)."""

    article_id: str
    title: str
    url: str
    score: float


class ArticleFinder(Protocol):
    """Finds the article nearest to a unit vector, if any is close enough."""

    def nearest(self, vector: Vectors) -> NearestArticle | None:
        """The closest article to `vector`, or None."""
        ...


@dataclass(frozen=True)
class Unanswered:
    """One time a question went unanswered."""

    text: str
    source: Source
    at: datetime
    conversation_id: str


@dataclass(frozen=True)
class Gap:
    """A group of unanswered questions that mean the same thing: one missing article."""

    label: str
    count: int  # times asked, repeats included
    sources: dict[Source, int]
    examples: tuple[str, ...]  # distinct wordings, most asked first; the label first
    last_asked: datetime
    article: NearestArticle | None = None


@dataclass(frozen=True)
class GapReport:
    """The ranked gaps of a period."""

    period: Period
    since: datetime
    at: datetime
    questions: int  # unanswered questions in the period, repeats included
    distinct: int
    gaps: tuple[Gap, ...]
    capped: bool = False
    threshold: float = DISTANCE_THRESHOLD


def normalise(text: str) -> str:
    """The key two wordings share when they differ only in spacing, case or end punctuation."""
    return _EDGES.sub("", " ".join(text.split()).casefold())


def cluster(vectors: Vectors, threshold: float = DISTANCE_THRESHOLD) -> npt.NDArray[np.int64]:
    """A cluster number per row of unit `vectors`: average linkage, cosine distance, cut there."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(vectors) == 1:
        return np.zeros(1, dtype=np.int64)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold
    )
    return np.asarray(model.fit_predict(vectors), dtype=np.int64)


def gaps_of(
    questions: Sequence[Unanswered],
    encoder: Encoder,
    *,
    threshold: float = DISTANCE_THRESHOLD,
    articles: ArticleFinder | None = None,
    limit: int = MAX_GAPS,
    max_questions: int = MAX_QUESTIONS,
) -> tuple[list[Gap], int, bool]:
    """Group `questions` into ranked gaps; also the number of distinct texts and if they were cut.

    Ranked by times asked, then by the newest question; at most `limit` gaps.
    """
    groups: dict[str, list[Unanswered]] = {}
    for question in sorted(questions, key=lambda q: q.at, reverse=True):
        key = normalise(question.text)
        if key:
            groups.setdefault(key, []).append(question)
    keys = list(groups)  # newest first
    capped = len(keys) > max_questions
    keys = keys[:max_questions]
    if not keys:
        return [], 0, capped
    # The wording asked most often stands for its key (ties: the newest).
    shown = [Counter(q.text.strip() for q in groups[k]).most_common(1)[0][0] for k in keys]
    vectors = np.asarray(encoder.encode(shown), dtype=np.float32)
    labels = cluster(vectors, threshold)
    found: list[Gap] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        asked = [q for i in members for q in groups[keys[i]]]
        centre = vectors[members].mean(axis=0)
        centre /= float(np.linalg.norm(centre)) or 1.0
        central = int(members[int(np.argmax(vectors[members] @ centre))])
        by_count = sorted(members, key=lambda i: (-len(groups[keys[i]]), i))
        examples = [shown[central]] + [shown[i] for i in by_count if i != central]
        sources = Counter(q.source for q in asked)
        found.append(
            Gap(
                label=shown[central],
                count=len(asked),
                sources={s: sources[s] for s in SOURCES if sources[s]},
                examples=tuple(examples[:EXAMPLES]),
                last_asked=max(q.at for q in asked),
                article=articles.nearest(centre) if articles is not None else None,
            )
        )
    found.sort(key=lambda gap: (-gap.count, -gap.last_asked.timestamp(), gap.label))
    return found[:limit], len(keys), capped


def unanswered(
    session: Session, tracker: sa.Engine, since: datetime, until: datetime
) -> list[Unanswered]:
    """Every unanswered question between `since` and `until`, from the records and the tracker."""
    found = [
        Unanswered(question, "abstained", at, conversation)
        for question, at, conversation in session.execute(
            sa.select(
                KnowledgeAnswer.question,
                KnowledgeAnswer.created_at,
                KnowledgeAnswer.conversation_id,
            ).where(
                KnowledgeAnswer.article_id.is_(None),
                KnowledgeAnswer.created_at >= since,
                KnowledgeAnswer.created_at < until,
            )
        )
    ]
    for question, at, conversation in session.execute(
        sa.select(
            KnowledgeAnswer.question, KnowledgeAnswer.voted_at, KnowledgeAnswer.conversation_id
        ).where(
            KnowledgeAnswer.helpful.is_(False),
            KnowledgeAnswer.voted_at >= since,
            KnowledgeAnswer.voted_at < until,
        )
    ):
        if at is not None:
            found.append(Unanswered(question, "not_helpful", at, conversation))
    messages, _ = customer_messages(tracker, since, until)
    found.extend(
        Unanswered(m.text, "fallback", m.at, m.sender_id) for m in messages if m.fallback and m.text
    )
    return found


class IndexArticles:
    """Nearest articles from the knowledge index's passage vectors (knowledge/index.py)."""

    def __init__(self, index: Any, *, min_score: float = PARTLY_COVERED, depth: int = 5) -> None:
        """`index` is a `knowledge.index.LoadedIndex`."""
        self._index = index
        self._min_score = min_score
        self._depth = depth
        self._documents = {d.id: d for d in index.documents}

    def nearest(self, vector: Vectors) -> NearestArticle | None:
        """The article of the passage most similar to `vector`, if at least `min_score`."""
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        scores, rows = self._index.vectors.search(query, self._depth)
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            if float(score) < self._min_score:
                return None
            chunk = self._index.chunks[int(row)]
            document = self._documents.get(chunk.article_id)
            title = document.title if document is not None else chunk.title
            url = document.url if document is not None else chunk.url
            return NearestArticle(chunk.article_id, title, url, float(score))
        return None


class KnowledgeGaps:
    """The gap list for supervisors and admins; the encoder and index load on first use."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tracker: sa.Engine,
        encoder: Callable[[], Encoder],
        *,
        articles: Callable[[], ArticleFinder | None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        threshold: float = DISTANCE_THRESHOLD,
    ) -> None:
        self._sessions = sessions
        self._tracker = tracker
        self._make_encoder = encoder
        self._make_articles = articles
        self._clock = clock
        self._threshold = threshold
        self._loaded: tuple[Encoder, ArticleFinder | None] | None = None
        self._lock = threading.Lock()

    def _models(self) -> tuple[Encoder, ArticleFinder | None]:
        with self._lock:
            if self._loaded is None:
                self._loaded = (self._make_encoder(), self._make_articles())
            return self._loaded

    def report(self, member: StaffMember, period: Period) -> GapReport:
        """The ranked gaps of `period` (one of `PERIODS`). CPU work: call it off the event loop."""
        if not member.can("supervisor"):
            raise SupervisorsOnly()
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        now = self._clock()
        since = period_start(period, now)
        with self._sessions() as session:
            questions = unanswered(session, self._tracker, since, now)
        encoder, articles = self._models() if questions else (None, None)
        gaps, distinct, capped = (
            gaps_of(questions, encoder, threshold=self._threshold, articles=articles)
            if encoder is not None
            else ([], 0, False)
        )
        return GapReport(
            period=period,
            since=since,
            at=now,
            questions=len(questions),
            distinct=distinct,
            gaps=tuple(gaps),
            capped=capped,
            threshold=self._threshold,
        )


class GapCache:
    """The last gap report per period, for `GAPS_CACHE_S` seconds; one computation at a time.

    The console keeps one for all staff, so reloading the page costs nothing; a report is the
    same for every member who may see it, and who may is checked before the cache is asked.
    """

    def __init__(
        self, ttl_s: float = GAPS_CACHE_S, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._kept: dict[Period, tuple[float, GapReport]] = {}
        self._lock = threading.Lock()

    def get(self, period: Period, compute: Callable[[], GapReport]) -> GapReport:
        """The kept report if fresh, else `compute()` (blocking: call from a thread)."""
        with self._lock:
            kept = self._kept.get(period)
            if kept is not None and self._clock() - kept[0] < self._ttl:
                return kept[1]
            report = compute()
            self._kept[period] = (self._clock(), report)
            return report
