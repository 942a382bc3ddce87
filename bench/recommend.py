"""Recommendations measured offline on the customer simulation, into docs/crm.md.

`make bench-recommend` simulates three shops (``python -m crm simulate``, three seeds) and runs
this. For each, on a time split of the order history: the models (crm/insights/recommend.py) are
built from the orders before a cut-off, and each customer who bought before it and orders within
:data:`WINDOW_DAYS` after it gets a top 10 from what they bought before (recency-weighted, as in the
chat); a hit is a product of their *next* order in the top K. The chat's filters apply to every
method: products bought in the last JUST_BOUGHT_DAYS are not offered unless consumable, and such
products are not counted as targets either (no method may offer them). Customers with no history
before the cut-off get the popular products from every method, so they are left out.

Compared: popularity (most customers bought it), co-purchase only (item-item cosine with
shrinkage), description only (MiniLM embeddings of name and description), and the blend. The
blend's weights are chosen on a validation split (the same protocol, one window earlier, models
built from the orders before that), never on the test window.

A second table is the cold start: each product in turn is made new (its row and column of the
co-purchase counts zeroed, as if nobody had bought it) and asked about, anchored on the last
order before the cut-off of each customer who had it; the same next-order targets. The tables
report the median and the range over the three simulations.
"""

from __future__ import annotations

import argparse
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from bench.report import write_block
from config.settings import Settings
from crm.insights.recommend import ItemModel, anchor_weights, just_bought
from crm.records.db import make_engine, make_session_factory
from crm.records.models import Order, OrderItem, Product
from encoder.embedding import OnnxEmbedder

log = logging.getLogger("bench.recommend")

WINDOW_DAYS = 60
TOP = 10
KS = (3, 10)
BLENDS = tuple(round(0.1 * step, 1) for step in range(11))
POPULARITY_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.4)
METHODS = ("popularity", "co-purchase only", "description only", "blend")


@dataclass(frozen=True)
class Shop:
    """A simulated shop's catalogue and purchase lines (orders that were not cancelled)."""

    skus: list[str]
    texts: list[str]
    consumable: set[int]
    customer: NDArray[np.int64]
    product: NDArray[np.int64]
    order: NDArray[np.int64]
    placed: NDArray[np.float64]  # days since the epoch
    end: float


@dataclass(frozen=True)
class Cases:
    """The customers of one split: anchor weights, excluded products and targets."""

    anchors: NDArray[np.float64]
    excluded: NDArray[np.bool_]
    targets: NDArray[np.bool_]
    without_history: int


def _days(at: datetime) -> float:
    return at.timestamp() / 86400


def load(path: Path) -> Shop:
    """Read the catalogue and every line of the orders that were not cancelled."""
    sessions = make_session_factory(make_engine(f"sqlite:///{path}"))
    with sessions() as session:
        products = session.execute(
            select(
                Product.id, Product.sku, Product.name, Product.description, Product.consumable
            ).order_by(Product.sku)
        ).all()
        lines = session.execute(
            select(Order.customer_id, OrderItem.product_id, Order.id, Order.placed_at)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(Order.status != "cancelled")
        ).all()
    position = {row.id: i for i, row in enumerate(products)}
    placed = np.array([_days(row.placed_at) for row in lines])
    return Shop(
        skus=[row.sku for row in products],
        texts=[f"{row.name}. {row.description}" for row in products],
        consumable={i for i, row in enumerate(products) if row.consumable},
        customer=np.array([row.customer_id for row in lines], dtype=np.int64),
        product=np.array([position[row.product_id] for row in lines], dtype=np.int64),
        order=np.array([row.id for row in lines], dtype=np.int64),
        placed=placed,
        end=float(placed.max()),
    )


def co_counts(shop: Shop, before: float) -> NDArray[np.float64]:
    """Customers who bought both products (buyers on the diagonal), from orders before a time."""
    kept = shop.placed < before
    customers, row = np.unique(shop.customer[kept], return_inverse=True)
    bought = np.zeros((len(customers), len(shop.skus)))
    bought[row, shop.product[kept]] = 1.0
    counts: NDArray[np.float64] = bought.T @ bought
    return counts


def cases(shop: Shop, cut: float) -> Cases:
    """For each customer who orders within the window after ``cut`` and bought before it."""
    size = len(shop.skus)
    cut_at = datetime.fromtimestamp(cut * 86400, tz=UTC)
    before = shop.placed < cut
    history: dict[int, dict[int, datetime]] = {}
    for who, product, at in zip(
        shop.customer[before], shop.product[before], shop.placed[before], strict=True
    ):
        seen = history.setdefault(int(who), {})
        when = datetime.fromtimestamp(at * 86400, tz=UTC)
        if int(product) not in seen or seen[int(product)] < when:
            seen[int(product)] = when
    next_items = _next_orders(shop, cut)
    anchors, excluded, targets = [], [], []
    without_history = 0
    for who, items in next_items.items():
        past = history.get(who)
        if not past:
            without_history += 1
            continue
        skip = just_bought(past, shop.consumable, cut_at)
        wanted = items - skip
        if not wanted:
            continue
        row = np.zeros(size)
        for position, weight in anchor_weights(past, cut_at).items():
            row[position] = weight
        anchors.append(row)
        excluded.append(np.isin(np.arange(size), list(skip)))
        targets.append(np.isin(np.arange(size), list(wanted)))
    return Cases(np.array(anchors), np.array(excluded), np.array(targets), without_history)


def metrics(
    scores: NDArray[np.float64], case: Cases, popularity: NDArray[np.float64]
) -> dict[str, float]:
    """HitRate@K and NDCG@K (binary relevance) over the cases."""
    ranked = np.where(case.excluded, -np.inf, scores + 1e-9 * popularity[None, :])
    top = np.argsort(-ranked, axis=1, kind="stable")[:, :TOP]
    relevant = np.take_along_axis(case.targets, top, axis=1)
    discounts = 1.0 / np.log2(np.arange(2, TOP + 2))
    result = {}
    for k in KS:
        result[f"hit@{k}"] = float(relevant[:, :k].any(axis=1).mean())
        dcg = (relevant[:, :k] * discounts[:k]).sum(axis=1)
        ideal_count = np.minimum(case.targets.sum(axis=1), k)
        ideal = np.cumsum(discounts[:k])[ideal_count - 1]
        result[f"ndcg@{k}"] = float((dcg / ideal).mean())
    return result


@dataclass(frozen=True)
class Run:
    """One simulation's results on the test window."""

    results: dict[str, dict[str, float]]
    blend: float
    popularity_weight: float
    customers: int
    without_history: int
    cold: dict[str, dict[str, float]]


def evaluate(shop: Shop, embeddings: NDArray[np.float32]) -> Run:
    """Choose the blend on the validation window, then score every method on the test window."""
    test_cut = shop.end - WINDOW_DAYS
    validation_cut = test_cut - WINDOW_DAYS

    def model_at(cut: float) -> ItemModel:
        return ItemModel.fit(shop.skus, co_counts(shop, cut), embeddings)

    validation_model, validation = model_at(validation_cut), cases(shop, validation_cut)
    best = max(
        (
            metrics(
                validation_model.score(validation.anchors, blend, weight)[0],
                validation,
                validation_model.popularity,
            )["ndcg@10"],
            blend,
            weight,
        )
        for blend in BLENDS
        for weight in POPULARITY_WEIGHTS
    )
    _, blend, weight = best
    log.info(
        "validation: blend %.1f, popularity weight %.2f (NDCG@10 %.4f)", blend, weight, best[0]
    )
    counts = co_counts(shop, test_cut)
    test = cases(shop, test_cut)
    scores = _compare(shop, counts, embeddings, test, blend, weight)
    popularity = ItemModel.fit(shop.skus, counts, embeddings).popularity
    return Run(
        {method: metrics(value, test, popularity) for method, value in scores.items()},
        blend,
        weight,
        len(test.targets),
        test.without_history,
        cold_start(shop, counts, embeddings, test_cut, blend, weight),
    )


def _compare(
    shop: Shop,
    counts: NDArray[np.float64],
    embeddings: NDArray[np.float32],
    case: Cases,
    blend: float,
    weight: float,
) -> dict[str, NDArray[np.float64]]:
    """Every method's scores for the cases; co-purchase only is a model without descriptions."""
    model = ItemModel.fit(shop.skus, counts, embeddings)
    without_descriptions = ItemModel.fit(shop.skus, counts, np.zeros_like(embeddings))
    return {
        "popularity": model.score(np.zeros_like(case.anchors), 0.0, 1.0)[0],
        "co-purchase only": without_descriptions.score(case.anchors, 1.0, 0.0)[0],
        "description only": model.score(case.anchors, 0.0, 0.0)[0],
        "blend": model.score(case.anchors, blend, weight)[0],
    }


def cold_start(
    shop: Shop,
    counts: NDArray[np.float64],
    embeddings: NDArray[np.float32],
    cut: float,
    blend: float,
    weight: float,
) -> dict[str, dict[str, float]]:
    """Each product in turn made new (its purchases hidden from the model), asked about as the
    seed: the customers whose last order before the cut-off had it, anchored on that order, are
    scored on their next order. Pooled over all products.
    """
    before = shop.placed < cut
    last: dict[int, tuple[float, int]] = {}
    for who, order, at in zip(
        shop.customer[before], shop.order[before], shop.placed[before], strict=True
    ):
        if int(who) not in last or (at, order) > last[int(who)]:
            last[int(who)] = (float(at), int(order))
    last_items: dict[int, set[int]] = {}
    for who, order, product in zip(
        shop.customer[before], shop.order[before], shop.product[before], strict=True
    ):
        if last[int(who)][1] == order:
            last_items.setdefault(int(who), set()).add(int(product))
    upcoming = _next_orders(shop, cut)
    size = len(shop.skus)
    pooled: dict[str, list[NDArray[np.float64]]] = {method: [] for method in METHODS}
    anchors, excluded, targets = [], [], []
    for new in range(size):
        hidden = counts.copy()
        hidden[new, :] = hidden[:, new] = 0.0
        rows, skips, wanted_rows = [], [], []
        for who, items in last_items.items():
            if new not in items or who not in upcoming:
                continue
            skip = (items - shop.consumable) | {new}
            wanted = upcoming[who] - skip
            if not wanted:
                continue
            rows.append(np.isin(np.arange(size), list(items)).astype(np.float64))
            skips.append(np.isin(np.arange(size), list(skip)))
            wanted_rows.append(np.isin(np.arange(size), list(wanted)))
        if not rows:
            continue
        case = Cases(np.array(rows), np.array(skips), np.array(wanted_rows), 0)
        for method, value in _compare(shop, hidden, embeddings, case, blend, weight).items():
            pooled[method].append(value)
        anchors += rows
        excluded += skips
        targets += wanted_rows
    everyone = Cases(np.array(anchors), np.array(excluded), np.array(targets), 0)
    popularity = ItemModel.fit(shop.skus, counts, embeddings).popularity
    return {
        method: metrics(np.concatenate(values), everyone, popularity)
        for method, values in pooled.items()
    }


def _next_orders(shop: Shop, cut: float) -> dict[int, set[int]]:
    """The products of each customer's first order in the window after ``cut``."""
    after = (shop.placed >= cut) & (shop.placed < cut + WINDOW_DAYS)
    first_order: dict[int, tuple[float, int]] = {}
    for who, order, at in zip(
        shop.customer[after], shop.order[after], shop.placed[after], strict=True
    ):
        key = int(who)
        if key not in first_order or (at, order) < first_order[key]:
            first_order[key] = (float(at), int(order))
    next_items: dict[int, set[int]] = {}
    for who, order, product in zip(
        shop.customer[after], shop.order[after], shop.product[after], strict=True
    ):
        if first_order[int(who)][1] == order:
            next_items.setdefault(int(who), set()).add(int(product))
    return next_items


def _cell(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def _rows(results: Sequence[dict[str, dict[str, float]]]) -> list[str]:
    columns = [f"{name}@{k}" for k in (10, 3) for name in ("hit", "ndcg")]
    lines = [
        "| Method | HitRate@10 | NDCG@10 | HitRate@3 | NDCG@3 |",
        "|---|---:|---:|---:|---:|",
    ]
    for method in METHODS:
        cells = [_cell([result[method][column] for result in results]) for column in columns]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def table(runs: Sequence[Run]) -> str:
    """Median and range over the simulations: the next order from the history, then new
    products asked about.
    """
    blends = ", ".join(f"{run.blend:.1f}/{run.popularity_weight:.2f}" for run in runs)
    customers = ", ".join(f"{run.customers:,}" for run in runs)
    new = ", ".join(f"{run.without_history:,}" for run in runs)
    return "\n".join(
        [
            "**The next order, from the customer's history**",
            "",
            *_rows([run.results for run in runs]),
            "",
            "**A new product asked about** (its purchases hidden from the model, anchored on the "
            "customer's last order that had it)",
            "",
            *_rows([run.cold for run in runs]),
            "",
            f"{len(runs)} simulations; median (min–max). Test window: the last {WINDOW_DAYS} days, "
            f"validation: the {WINDOW_DAYS} before. Customers scored: {customers}; customers with "
            f"no history before the cut-off, left out: {new}. Blend / popularity weight chosen on "
            f"validation: {blends}.",
        ]
    )


def main() -> int:
    """Evaluate every simulation given and write the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    embedder = OnnxEmbedder(Settings().encoder_dir)
    runs = []
    for path in args.data:
        shop = load(path)
        runs.append(evaluate(shop, embedder.encode(shop.texts)))
        log.info("%s: %s", path, runs[-1].results)
    text = table(runs)
    print(text)
    if args.write:
        write_block(args.write, "recommend", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
