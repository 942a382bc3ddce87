"""Product recommendations: in general, like a named product, and after an order.

Two item-to-item similarities, blended:

* **Bought together** (collaborative filtering): the cosine of two products' columns in the
  customer x product purchase matrix (1 if the customer ever bought it in an order that was not
  cancelled), shrunk towards 0 when few customers bought them:
  ``both / (sqrt(buyers_a · buyers_b) + SHRINKAGE)``. The counts are one SQL aggregate.
* **Similar description**: the cosine of the products' name + description embedded by the
  MiniLM sentence encoder (the ONNX export the knowledge base uses), so a product nobody has
  bought yet still has neighbours.

A request has anchors: the seed product (the one asked about, or just ordered) and, for a known
customer, what they bought before, weighted by recency (half-life
:data:`HISTORY_HALF_LIFE_DAYS`). Each candidate's score is the anchors' weighted mean of
``t · cf + (1 - t) · content``, plus ``popularity_weight · popularity`` (buyers over the most
bought's). ``t = blend · buyers / (buyers + EVIDENCE)`` is how far the anchor's co-purchases are
trusted: fully (times ``blend``) for a product many customers bought, not at all for a new one,
whose description then speaks for it.
Without anchors (a new customer asking in general) the most popular products come first. The
weights were chosen on a validation split of the simulation (bench/recommend.py, docs/crm.md).

A request in the customer's own words ("kitchen stuff for a housewarming", "going camping",
then "she's only got a tiny balcony") ranks by what it says instead: the cosine of each of its
texts to each product's text (name, category, description and what the product page says it
suits), averaged over the texts, so a detail said next weighs as much as the request it refines.
A price ceiling ("under 40 quid") leaves out what costs more.

Filters, applied to fresh records on every request: a product with ``stock == 0`` is never
offered (NULL stock is not tracked and counts as available), the seed is never offered, nor a
product the customer bought in the last :data:`JUST_BOUGHT_DAYS` days unless it is consumable.
The model (similarities, popularity) is built from the records at start-up and rebuilt in the
background; it may be minutes old, but stock, names and prices are read per request, so it can
never offer an item that has just sold out. A product added since the last build waits for the
next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from crm.records.models import Order, OrderItem, Product, utcnow

log = logging.getLogger(__name__)

CHAT_LIMIT: Final = 3  # buttons in one chat message: more is a catalogue, not a suggestion
# "Just bought": a product from the customer's orders of the last 90 days is not offered again
# (they have it; a kettle lasts years), unless it is used up (consumable: candles, tea, seed).
JUST_BOUGHT_DAYS: Final = 90
# Set by hand, not tuned: the half-life of past purchases, the shrinkage, EVIDENCE, SEED_WEIGHT.
HISTORY_HALF_LIFE_DAYS: Final = 30.0
SHRINKAGE: Final = 10.0
# Customers who must have bought an anchor before its co-purchases count half: below that its
# description speaks for it (a new product has no co-purchases at all).
EVIDENCE: Final = 20.0
# Chosen on the validation split of bench/recommend.py (docs/crm.md, "Recommendations").
# On all three simulations co-purchases alone ranked best for customers with a history (blend 1,
# no popularity term): descriptions then serve only what few customers bought (EVIDENCE), and
# popularity orders ties and requests without anchors. (On the simulation even new products did
# better without descriptions; docs/crm.md says why that need not hold for a real catalogue.)
DEFAULT_BLEND: Final = 1.0
DEFAULT_POPULARITY_WEIGHT: Final = 0.0
SEED_WEIGHT: Final = 2.0  # the product asked about counts more than any past purchase
_NOT_COUNTED: Final = ("cancelled",)

Reason = Literal["bought together", "similar description", "popular"]
_REASONS: Final[tuple[Reason, Reason, Reason]] = (
    "bought together",
    "similar description",
    "popular",
)


class TextEmbedder(Protocol):
    """What the recommender needs of an embedding model (encoder.embedding's embedders)."""

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors, one row per text."""


@dataclass(frozen=True)
class Recommendation:
    """A product to offer and the machine reason it was picked."""

    sku: str
    name: str
    price_pence: int
    reason: Reason
    score: float


@dataclass(frozen=True)
class CatalogueEntry:
    """A product as the model is built from it."""

    sku: str
    text: str  # what is embedded: name and description


@dataclass(frozen=True)
class ItemModel:
    """Item-to-item similarities and popularity over one snapshot of the catalogue."""

    skus: tuple[str, ...]
    cf: NDArray[np.float64]  # products x products, 0 on the diagonal
    content: NDArray[np.float64]  # products x products, 0 on the diagonal, never negative
    popularity: NDArray[np.float64]  # share of buyers, 1 for the most bought
    buyers: NDArray[np.float64]  # customers who bought each product
    built_at: datetime
    evidence: float = EVIDENCE
    vectors: NDArray[np.float64] | None = None  # products x dimensions, unit rows

    @property
    def index(self) -> dict[str, int]:
        """Position of each SKU in the matrices."""
        return {sku: i for i, sku in enumerate(self.skus)}

    @classmethod
    def fit(
        cls,
        skus: Sequence[str],
        co_counts: NDArray[np.float64],
        embeddings: NDArray[np.float32],
        *,
        shrinkage: float = SHRINKAGE,
        evidence: float = EVIDENCE,
        built_at: datetime | None = None,
    ) -> ItemModel:
        """Build from co-purchase counts and description embeddings, in the order of ``skus``.

        ``co_counts[a, b]`` is the number of customers who bought both (buyers on the
        diagonal); the embeddings are unit vectors.
        """
        counts = np.asarray(co_counts, dtype=np.float64)
        if counts.shape != (len(skus), len(skus)) or len(embeddings) != len(skus):
            raise ValueError("co-purchase counts and embeddings must have one row per product")
        buyers = np.diag(counts).copy()
        cf = counts / (np.sqrt(np.outer(buyers, buyers)) + shrinkage)
        np.fill_diagonal(cf, 0.0)
        vectors = np.asarray(embeddings, dtype=np.float64)
        content = np.clip(vectors @ vectors.T, 0.0, None)
        np.fill_diagonal(content, 0.0)
        top = buyers.max(initial=0.0)
        popularity = buyers / top if top > 0 else np.zeros(len(skus))
        return cls(
            tuple(skus), cf, content, popularity, buyers, built_at or utcnow(), evidence, vectors
        )

    def rank_by_relevance(
        self, relevance: NDArray[np.float64], excluded: set[int], k: int
    ) -> list[tuple[int, float, Reason]]:
        """The ``k`` products most relevant to a request, best first; ties to the more popular."""
        order = np.lexsort((-self.popularity, -relevance))
        ranked = [
            (int(i), float(relevance[i]), _REASONS[1]) for i in order if int(i) not in excluded
        ]
        return ranked[:k]

    def rank(
        self,
        anchors: Mapping[int, float],
        excluded: set[int],
        k: int,
        *,
        blend: float = DEFAULT_BLEND,
        popularity_weight: float = DEFAULT_POPULARITY_WEIGHT,
    ) -> list[tuple[int, float, Reason]]:
        """The ``k`` best products for ``anchors`` ({position: weight}), best first.

        ``excluded`` positions are never returned; ties go to the more popular product.
        """
        weights = np.zeros((1, len(self.skus)))
        for position, weight in anchors.items():
            weights[0, position] = weight
        total, cf_all, content_all = self.score(weights, blend, popularity_weight)
        scores, cf_part, content_part = total[0], cf_all[0], content_all[0]
        order = np.lexsort((-self.popularity, -scores))
        ranked: list[tuple[int, float, Reason]] = []
        for i in order:
            if int(i) in excluded:
                continue
            parts = (cf_part[i], content_part[i], popularity_weight * self.popularity[i])
            # The part that contributed most; with none (no anchors), the popularity order.
            reason = _REASONS[int(np.argmax(parts))] if max(parts) > 0 else "popular"
            ranked.append((int(i), float(scores[i]), reason))
            if len(ranked) == k:
                break
        return ranked

    def score(
        self, anchors: NDArray[np.float64], blend: float, popularity_weight: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Blended scores for a batch of requests, with their co-purchase and description parts.

        ``anchors`` has one row of anchor weights per request (all zeros: no anchors).
        """
        totals = anchors.sum(axis=1, keepdims=True)
        weights = np.divide(anchors, totals, out=np.zeros_like(anchors), where=totals > 0)
        # Trust co-purchases of an anchor as far as enough customers bought it.
        trust = blend * np.divide(
            self.buyers,
            self.buyers + self.evidence,
            out=np.zeros_like(self.buyers),
            where=self.buyers > 0,
        )
        cf_part = (weights * trust[None, :]) @ self.cf
        content_part = (weights * (1.0 - trust)[None, :]) @ self.content
        total = cf_part + content_part + popularity_weight * self.popularity[None, :]
        return total, cf_part, content_part


def anchor_weights(
    history: Mapping[int, datetime], now: datetime, seed: int | None = None
) -> dict[int, float]:
    """Each past purchase (position: when last bought) by recency, and the seed on top."""
    anchors = {
        position: 0.5 ** (max((now - at).total_seconds(), 0.0) / 86400 / HISTORY_HALF_LIFE_DAYS)
        for position, at in history.items()
    }
    if seed is not None:
        anchors[seed] = anchors.get(seed, 0.0) + SEED_WEIGHT
    return anchors


def just_bought(history: Mapping[int, datetime], consumable: set[int], now: datetime) -> set[int]:
    """Positions bought within JUST_BOUGHT_DAYS that are not consumable."""
    since = now - timedelta(days=JUST_BOUGHT_DAYS)
    return {position for position, at in history.items() if at >= since} - consumable


class Recommender:
    """Recommendations from the records; safe to share between conversations and threads."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        embedder: TextEmbedder,
        *,
        blend: float = DEFAULT_BLEND,
        popularity_weight: float = DEFAULT_POPULARITY_WEIGHT,
        evidence: float = EVIDENCE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._embedder = embedder
        self._blend = blend
        self._popularity_weight = popularity_weight
        self._evidence = evidence
        self._clock = clock
        self._model: ItemModel | None = None
        self._building = threading.Lock()

    @property
    def model(self) -> ItemModel:
        """The current model, built on first use."""
        return self._model or self.refresh()

    def refresh(self) -> ItemModel:
        """Rebuild from the records and swap the new model in (one rebuild at a time)."""
        with self._building:
            with self._sessions.begin() as session:
                entries = [
                    CatalogueEntry(sku, product_text(name, category, description, facts))
                    for sku, name, category, description, facts in session.execute(
                        select(
                            Product.sku,
                            Product.name,
                            Product.category,
                            Product.description,
                            Product.facts,
                        ).order_by(Product.sku)
                    )
                ]
                pairs = co_purchase_counts(session)
            index = {entry.sku: i for i, entry in enumerate(entries)}
            counts = np.zeros((len(entries), len(entries)))
            for first, second, together in pairs:
                counts[index[first], index[second]] = together
            embeddings = (
                self._embedder.encode([entry.text for entry in entries])
                if entries
                else np.zeros((0, 1), dtype=np.float32)
            )
            model = ItemModel.fit(
                [entry.sku for entry in entries],
                counts,
                embeddings,
                evidence=self._evidence,
                built_at=self._clock(),
            )
            self._model = model  # one reference assignment: readers see the old or the new
            log.info("recommendations built: %d products", len(entries))
            return model

    def refresh_every(self, seconds: float) -> threading.Event:
        """Rebuild every ``seconds`` in a daemon thread until the returned event is set."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(seconds):
                try:
                    self.refresh()
                except Exception:  # the old model keeps serving; the next round tries again
                    log.exception("rebuilding the recommendations failed")

        threading.Thread(target=loop, name="recommendations", daemon=True).start()
        return stop

    def recommend(
        self,
        *,
        seed_sku: str | None = None,
        customer_id: int | None = None,
        k: int = CHAT_LIMIT,
        request: Sequence[str] = (),
        max_price_pence: int | None = None,
    ) -> list[Recommendation]:
        """Up to ``k`` products for a seed product and/or a known customer, best first.

        Pass ``customer_id`` only for a verified customer: their history shapes the result.
        With ``request`` (the customer's words: a request and the details said after it), the
        products most like those words come first instead; ``max_price_pence`` leaves out
        dearer ones.
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        model = self.model
        now = self._clock()
        with self._sessions.begin() as session:
            catalogue = {
                row.sku: row
                for row in session.execute(
                    select(
                        Product.sku,
                        Product.name,
                        Product.price_pence,
                        Product.stock,
                        Product.consumable,
                    )
                )
            }
            bought = purchase_history(session, customer_id) if customer_id is not None else {}
        index = model.index
        history = {index[sku]: at for sku, at in bought.items() if sku in index}
        consumable = {
            index[sku] for sku, row in catalogue.items() if row.consumable and sku in index
        }
        unavailable = {
            i
            for i, sku in enumerate(model.skus)
            if sku not in catalogue or catalogue[sku].stock == 0
        }
        seed = index.get(seed_sku.upper()) if seed_sku else None
        excluded = unavailable | just_bought(history, consumable, now)
        if seed is not None:
            excluded.add(seed)
        if max_price_pence is not None:
            excluded |= {
                i
                for i, sku in enumerate(model.skus)
                if sku in catalogue and catalogue[sku].price_pence > max_price_pence
            }
        texts = [text for text in request if text.strip()]
        if texts and model.vectors is not None and len(model.skus):
            asked = np.asarray(self._embedder.encode(texts), dtype=np.float64)
            relevance = (model.vectors @ asked.T) @ request_weights(len(texts))
            ranked = model.rank_by_relevance(relevance, excluded, k)
        else:
            ranked = model.rank(
                anchor_weights(history, now, seed),
                excluded,
                k,
                blend=self._blend,
                popularity_weight=self._popularity_weight,
            )
        return [
            Recommendation(
                sku=model.skus[i],
                name=catalogue[model.skus[i]].name,
                price_pence=catalogue[model.skus[i]].price_pence,
                reason=reason,
                score=round(score, 4),
            )
            for i, score, reason in ranked
        ]


def request_weights(count: int) -> NDArray[np.float64]:
    """Weights of a request's texts: the last one twice all the others together."""
    if count <= 1:
        return np.ones(count)
    weights = np.array([1.0] * (count - 1) + [2.0 * (count - 1)])
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def product_text(
    name: str, category: str, description: str, facts: Mapping[str, str] | None
) -> str:
    """What a product is embedded as: its name, shelf, description and what it suits."""
    suits = (facts or {}).get("suits", "")
    material = (facts or {}).get("material", "")
    parts = (f"{name}.", f"{category.title()}.", description, suits, material)
    return " ".join(part for part in parts if part)


def co_purchase_counts(session: Session) -> list[tuple[str, str, int]]:
    """(SKU, SKU, customers who bought both) for every pair, both ways, in one aggregate.

    The diagonal (SKU, same SKU) is the product's buyers. Cancelled orders do not count.
    """
    bought = (
        select(Order.customer_id, OrderItem.product_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.status.not_in(_NOT_COUNTED))
        .distinct()
        .subquery()
    )
    first, second = aliased(bought), aliased(bought)
    first_product, second_product = aliased(Product), aliased(Product)
    rows = session.execute(
        select(first_product.sku, second_product.sku, func.count())
        .select_from(first)
        .join(second, second.c.customer_id == first.c.customer_id)
        .join(first_product, first_product.id == first.c.product_id)
        .join(second_product, second_product.id == second.c.product_id)
        .group_by(first_product.sku, second_product.sku)
    ).all()
    return [(str(a), str(b), int(n)) for a, b, n in rows]


def purchase_history(session: Session, customer_id: int) -> dict[str, datetime]:
    """When the customer last bought each product, in orders that were not cancelled."""
    rows = session.execute(
        select(Product.sku, func.max(Order.placed_at))
        .join(OrderItem, OrderItem.product_id == Product.id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.customer_id == customer_id, Order.status.not_in(_NOT_COUNTED))
        .group_by(Product.sku)
    ).all()
    # max() keeps the column's type, so these are aware UTC datetimes on every backend.
    return {str(sku): at for sku, at in rows}
