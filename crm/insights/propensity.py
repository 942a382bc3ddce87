"""Purchase propensity: the chance that a customer orders in the 30 days after a cut-off.

* **Features** (:func:`features`) are computed per active customer at a cut-off from records
  dated *at or before* it, and nothing else: every query filters on the record's own timestamp
  (``placed_at``, ``requested_at``, ``created_at``, ``changed_at``). An order cancelled after the
  cut-off still counts as not cancelled, as it was then. One limit of the schema: a newsletter
  consent row keeps only its latest state, so a consent changed after the cut-off is treated as
  "not subscribed" (what it was before is not recorded).
* **Label** (:func:`labels`): the customer placed an order in ``(cutoff, cutoff + 30 days]``.
* **No leakage** (:class:`TimeSplit`): the model trains on cut-off T1 with labels from
  ``(T1, T1 + 30d]`` and is tested on a later cut-off ``T2 >= T1 + 30d``: every training label
  is known by the test cut-off, and none lies in the test labels' window, so the test measures
  a model scoring a future it has not seen. A split that would overlap is refused.
* **Models** (:func:`compare`): LightGBM, an RFM heuristic and a scaled logistic regression, on
  ROC AUC, PR AUC, Brier score, lift in the top decile and training time.
* **Reasons** (:class:`PropensityModel`): LightGBM's exact TreeSHAP contributions
  (``pred_contrib=True``); the three with the largest magnitude, in log-odds, strongest first.

The model is saved as LightGBM's text format plus a JSON manifest (features, version, metrics);
nothing is pickled. No Rasa imports: the CLI (`crm score`) and the console use this module.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from crm.insights.sentiment import sentiment
from crm.records.models import (
    PRODUCT_CATEGORIES,
    Customer,
    CustomerScore,
    NewsletterSubscription,
    Order,
    OrderItem,
    Product,
    Refund,
    Review,
    SupportTicket,
    utcnow,
)

HORIZON: Final = timedelta(days=30)
TOP_REASONS: Final = 3
MODEL_FILE: Final = "model.txt"
MANIFEST_FILE: Final = "manifest.json"
DAY_S: Final = 86_400.0

# Feature name -> what staff read. The order is the model's column order.
FEATURES: Final[dict[str, str]] = {
    "days_since_last_order": "days since the last order",
    "orders_ever": "orders so far",
    "orders_30d": "orders in the last 30 days",
    "orders_90d": "orders in the last 90 days",
    "orders_365d": "orders in the last year",
    "spend_30d": "spent in the last 30 days (£)",
    "spend_90d": "spent in the last 90 days (£)",
    "spend_365d": "spent in the last year (£)",
    "avg_order_value": "average order value (£)",
    "items_per_order": "items per order",
    **{f"share_{c}": f"share of {c} items" for c in PRODUCT_CATEGORIES},
    "cancelled_share": "share of orders cancelled",
    "refunds_365d": "refunds in the last year",
    "refund_rate": "refunds per order",
    "tickets_90d": "support tickets in the last 90 days",
    "ticket_mood": "mood of their support tickets (−1 to +1)",
    "newsletter": "newsletter subscriber (1 = yes)",
    "reviews": "reviews written",
    "review_rating": "average review rating",
    "tenure_days": "days since signing up",
}
FEATURE_NAMES: Final = tuple(FEATURES)


class LeakageError(ValueError):
    """A train/test split whose training labels would overlap the test period."""


class ModelMismatch(ValueError):
    """A saved model whose features are not this code's."""


@dataclass(frozen=True)
class TimeSplit:
    """Train at ``train_cutoff``, test at ``test_cutoff``; refuses overlapping windows.

    Training labels come from ``(train_cutoff, train_cutoff + horizon]``. The test cut-off must
    be at or after the end of that window, or the model would be trained on outcomes from the
    period it is tested on.
    """

    train_cutoff: datetime
    test_cutoff: datetime
    horizon: timedelta = HORIZON

    def __post_init__(self) -> None:
        if self.train_cutoff.tzinfo is None or self.test_cutoff.tzinfo is None:
            raise ValueError("cut-offs must be timezone-aware")
        if self.test_cutoff < self.train_cutoff + self.horizon:
            raise LeakageError(
                f"the test cut-off {self.test_cutoff:%Y-%m-%d} is before the end of the training "
                f"labels' window ({self.train_cutoff + self.horizon:%Y-%m-%d})"
            )

    @classmethod
    def latest(cls, data_end: datetime, horizon: timedelta = HORIZON) -> TimeSplit:
        """The latest split whose test labels are complete by ``data_end``."""
        test_cutoff = data_end - horizon
        return cls(test_cutoff - horizon, test_cutoff, horizon)


@dataclass(frozen=True)
class FeatureTable:
    """Features of the active customers at a cut-off: one row per customer id."""

    cutoff: datetime
    customer_ids: NDArray[np.int64]
    values: NDArray[np.float64]  # shape (customers, len(FEATURE_NAMES))

    def column(self, name: str) -> NDArray[np.float64]:
        """One feature's values."""
        return self.values[:, FEATURE_NAMES.index(name)]


def _days(values: Sequence[datetime], cutoff: datetime) -> NDArray[np.float64]:
    """Days from each timestamp to the cut-off (positive: before it)."""
    reference = cutoff.timestamp()
    return np.array([(reference - v.timestamp()) / DAY_S for v in values], dtype=np.float64)


def features(engine: Engine, cutoff: datetime) -> FeatureTable:
    """Features of every active customer who had signed up by ``cutoff``, from earlier records.

    Every query below is bounded by ``<= cutoff`` on the record's own timestamp: that bound is
    the whole no-leakage rule, and tests/unit/crm/insights/test_propensity.py checks it by adding
    records after the cut-off and comparing.
    """
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware")
    with engine.connect() as db:
        people = db.execute(
            select(Customer.id, Customer.created_at)
            .where(Customer.status == "active", Customer.created_at <= cutoff)
            .order_by(Customer.id)
        ).all()
        orders = db.execute(
            select(Order.id, Order.customer_id, Order.placed_at, Order.total_pence)
            .add_columns(Order.cancelled_at)
            .where(Order.placed_at <= cutoff)
        ).all()
        lines = db.execute(
            select(Order.customer_id, Product.category, OrderItem.quantity)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .join(Product, Product.id == OrderItem.product_id)
            .where(Order.placed_at <= cutoff)
        ).all()
        refunds = db.execute(
            select(Order.customer_id, Refund.requested_at)
            .join(Refund, Refund.order_id == Order.id)
            .where(Refund.requested_at <= cutoff)
        ).all()
        tickets = db.execute(
            select(
                SupportTicket.customer_id,
                SupportTicket.created_at,
                func.coalesce(SupportTicket.description, SupportTicket.subject),
            ).where(SupportTicket.created_at <= cutoff, SupportTicket.customer_id.is_not(None))
        ).all()
        consents = db.execute(
            select(NewsletterSubscription.customer_id).where(
                NewsletterSubscription.changed_at <= cutoff,
                NewsletterSubscription.subscribed.is_(True),
                NewsletterSubscription.customer_id.is_not(None),
            )
        ).all()
        ratings = db.execute(
            select(Review.customer_id, Review.rating).where(
                Review.created_at <= cutoff, Review.customer_id.is_not(None)
            )
        ).all()

    ids = np.array([row[0] for row in people], dtype=np.int64)
    n = len(ids)
    out = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    tenure = _days([row[1] for row in people], cutoff)
    out[:, col["tenure_days"]] = tenure

    def rows_of(customer_ids: Sequence[int | None]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Row index of each customer id, and whether it is one of the scored customers."""
        wanted = np.array([-1 if c is None else c for c in customer_ids], dtype=np.int64)
        where = np.searchsorted(ids, wanted) if n else np.zeros(len(wanted), dtype=np.int64)
        where = np.minimum(where, max(n - 1, 0))
        known = (ids[where] == wanted) if n else np.zeros(len(wanted), dtype=bool)
        return where, known

    def count(where: NDArray[np.int64], weights: NDArray[np.float64] | None = None) -> Any:
        return np.bincount(where, weights=weights, minlength=n).astype(np.float64)

    # Orders: recency, frequency and money over three windows.
    where, known = rows_of([row[1] for row in orders])
    age = _days([row[2] for row in orders], cutoff)[known]
    pounds = np.array([row[3] for row in orders], dtype=np.float64)[known] / 100
    cancelled = np.array(
        [row[4] is not None and row[4] <= cutoff for row in orders], dtype=np.float64
    )[known]
    where = where[known]
    orders_ever = count(where)
    out[:, col["orders_ever"]] = orders_ever
    for window in (30, 90, 365):
        recent = age <= window
        out[:, col[f"orders_{window}d"]] = count(where[recent])
        out[:, col[f"spend_{window}d"]] = count(where[recent], pounds[recent])
    last = np.full(n, np.inf)
    np.minimum.at(last, where, age)
    # Never ordered: as long ago as they signed up (a number a linear model can use too).
    out[:, col["days_since_last_order"]] = np.where(np.isinf(last), tenure, last)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, col["avg_order_value"]] = np.nan_to_num(count(where, pounds) / orders_ever)
        out[:, col["cancelled_share"]] = np.nan_to_num(count(where, cancelled) / orders_ever)

    # Basket size and category mix, by items.
    where, known = rows_of([row[0] for row in lines])
    quantity = np.array([row[2] for row in lines], dtype=np.float64)[known]
    category = np.array([row[1] for row in lines], dtype=object)[known]
    where = where[known]
    items = count(where, quantity)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, col["items_per_order"]] = np.nan_to_num(items / orders_ever)
        for name in PRODUCT_CATEGORIES:
            mask = category == name
            out[:, col[f"share_{name}"]] = np.nan_to_num(count(where[mask], quantity[mask]) / items)

    # Refunds.
    where, known = rows_of([row[0] for row in refunds])
    age = _days([row[1] for row in refunds], cutoff)[known]
    where = where[known]
    out[:, col["refunds_365d"]] = count(where[age <= 365])
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, col["refund_rate"]] = np.nan_to_num(count(where) / orders_ever)

    # Support tickets and the mood of their words (same texts are scored once).
    where, known = rows_of([row[0] for row in tickets])
    age = _days([row[1] for row in tickets], cutoff)[known]
    scored: dict[str, float] = {}
    moods = np.array(
        [scored.setdefault(text, sentiment(text)) for text in (row[2] or "" for row in tickets)],
        dtype=np.float64,
    )[known]
    where = where[known]
    out[:, col["tickets_90d"]] = count(where[age <= 90])
    year = age <= 365
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, col["ticket_mood"]] = np.nan_to_num(
            count(where[year], moods[year]) / count(where[year])
        )

    # Newsletter consent as of the cut-off, and reviews.
    where, known = rows_of([row[0] for row in consents])
    out[where[known], col["newsletter"]] = 1.0
    where, known = rows_of([row[0] for row in ratings])
    stars = np.array([row[1] for row in ratings], dtype=np.float64)[known]
    where = where[known]
    reviews = count(where)
    out[:, col["reviews"]] = reviews
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, col["review_rating"]] = np.nan_to_num(count(where, stars) / reviews)
    return FeatureTable(cutoff, ids, out)


def labels(engine: Engine, table: FeatureTable, horizon: timedelta = HORIZON) -> NDArray[np.int64]:
    """1 for each customer of ``table`` who placed an order in ``(cutoff, cutoff + horizon]``."""
    with engine.connect() as db:
        buyers = set(
            db.scalars(
                select(Order.customer_id)
                .where(Order.placed_at > table.cutoff, Order.placed_at <= table.cutoff + horizon)
                .distinct()
            )
        )
    return np.array([int(c) in buyers for c in table.customer_ids], dtype=np.int64)


def data_end(engine: Engine) -> datetime:
    """The time of the latest order in the database (where the simulation stops)."""
    with engine.connect() as db:
        latest: datetime | None = db.scalar(select(func.max(Order.placed_at)))
    if latest is None:
        raise ValueError("the database has no orders to learn from")
    return latest


# --- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """How one model scored the test cut-off's customers."""

    model: str
    roc_auc: float
    pr_auc: float
    brier: float
    lift_top_decile: float
    train_seconds: float


def evaluate(
    name: str, y: NDArray[np.int64], p: NDArray[np.float64], train_seconds: float
) -> Metrics:
    """ROC AUC, PR AUC (average precision), Brier score and top-decile lift of scores ``p``."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    base = float(y.mean())
    return Metrics(
        model=name,
        roc_auc=float(roc_auc_score(y, p)),
        pr_auc=float(average_precision_score(y, p)),
        brier=float(brier_score_loss(y, p)),
        lift_top_decile=float(y[top].mean() / base) if base else math.nan,
        train_seconds=train_seconds,
    )


def rfm_score(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """The classic RFM heuristic: mean percentile of recency, frequency (1 y) and money (1 y)."""
    from scipy.stats import rankdata

    columns = (
        -values[:, FEATURE_NAMES.index("days_since_last_order")],
        values[:, FEATURE_NAMES.index("orders_365d")],
        values[:, FEATURE_NAMES.index("spend_365d")],
    )
    ranks = [rankdata(c) / len(c) for c in columns]
    return np.asarray(np.mean(ranks, axis=0), dtype=np.float64)


class _Calibrated:
    """Turns a heuristic score into a probability: the training buying rate of its decile."""

    def __init__(self, score: NDArray[np.float64], y: NDArray[np.int64]) -> None:
        self.edges = np.quantile(score, np.linspace(0, 1, 11)[1:-1])
        bins = np.searchsorted(self.edges, score, side="right")
        self.rates = np.array(
            [y[bins == b].mean() if (bins == b).any() else y.mean() for b in range(10)]
        )

    def __call__(self, score: NDArray[np.float64]) -> NDArray[np.float64]:
        # Ties in the heuristic stay ties; a tiny nudge by the score keeps its order within bins.
        bins = np.searchsorted(self.edges, score, side="right")
        return np.asarray(self.rates[bins] + 1e-6 * score, dtype=np.float64)


LGB_PARAMS: Final[dict[str, Any]] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "deterministic": True,
    "seed": 7,
    "verbose": -1,
}
LGB_ROUNDS: Final = 300
SMALL_TRAINING_SET: Final = 50_000


def train_lightgbm(x: NDArray[np.float64], y: NDArray[np.int64]) -> lgb.Booster:
    """The gradient-boosted model (fixed rounds: early stopping would peek at a test set)."""
    data = lgb.Dataset(x, label=y, feature_name=list(FEATURE_NAMES), free_raw_data=True)
    # One thread for small sets: threads gain nothing there, and in a process that has also
    # loaded torch (the test run), two OpenMP runtimes spinning against each other made a
    # 0.4 s training take 15 s.
    params = {**LGB_PARAMS, "num_threads": 1 if len(y) < SMALL_TRAINING_SET else 2}
    return lgb.train(params, data, num_boost_round=LGB_ROUNDS)


@dataclass(frozen=True)
class Comparison:
    """The three models on one split, and the LightGBM model to save."""

    split: TimeSplit
    train_rows: int
    test_rows: int
    train_buy_rate: float
    test_buy_rate: float
    metrics: tuple[Metrics, ...]
    booster: lgb.Booster = field(repr=False)


def compare(engine: Engine, split: TimeSplit) -> Comparison:
    """Train the three models at the split's training cut-off and measure them at its test one."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = features(engine, split.train_cutoff)
    y_train = labels(engine, train, split.horizon)
    test = features(engine, split.test_cutoff)
    y_test = labels(engine, test, split.horizon)

    results = []
    started = time.perf_counter()
    calibrate = _Calibrated(rfm_score(train.values), y_train)
    rfm_seconds = time.perf_counter() - started
    results.append(
        evaluate("RFM heuristic", y_test, calibrate(rfm_score(test.values)), rfm_seconds)
    )

    started = time.perf_counter()
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logistic.fit(train.values, y_train)
    lr_seconds = time.perf_counter() - started
    results.append(
        evaluate(
            "Logistic regression", y_test, logistic.predict_proba(test.values)[:, 1], lr_seconds
        )
    )

    started = time.perf_counter()
    booster = train_lightgbm(train.values, y_train)
    gbm_seconds = time.perf_counter() - started
    p = np.asarray(booster.predict(test.values), dtype=np.float64)
    results.append(evaluate("LightGBM", y_test, p, gbm_seconds))
    return Comparison(
        split=split,
        train_rows=len(y_train),
        test_rows=len(y_test),
        train_buy_rate=float(y_train.mean()),
        test_buy_rate=float(y_test.mean()),
        metrics=tuple(results),
        booster=booster,
    )


def comparison_table(result: Comparison) -> str:
    """The comparison as a Markdown table, with the split it was measured on."""
    split = result.split
    lines = [
        f"Trained at {split.train_cutoff:%Y-%m-%d} ({result.train_rows:,} customers, "
        f"{result.train_buy_rate:.1%} bought in the next 30 days); tested at "
        f"{split.test_cutoff:%Y-%m-%d} ({result.test_rows:,} customers, "
        f"{result.test_buy_rate:.1%} bought).",
        "",
        "| Model | ROC AUC | PR AUC | Brier | Lift, top decile | Training time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in result.metrics:
        lines.append(
            f"| {m.model} | {m.roc_auc:.3f} | {m.pr_auc:.3f} | {m.brier:.4f} "
            f"| {m.lift_top_decile:.2f}× | {m.train_seconds:.2f} s |"
        )
    return "\n".join(lines)


# --- the saved model and its reasons ---------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One contribution to a score: the feature as staff read it, its value, its SHAP effect."""

    feature: str
    value: float
    effect: float  # log-odds; positive raises the score

    def as_json(self) -> dict[str, Any]:
        """The form stored in ``customer_scores.reasons``."""
        return {"feature": self.feature, "value": self.value, "effect": self.effect}


class PropensityModel:
    """A trained LightGBM model with its manifest, loaded read-only."""

    def __init__(self, booster: lgb.Booster, manifest: dict[str, Any]) -> None:
        if tuple(manifest.get("features", ())) != FEATURE_NAMES:
            raise ModelMismatch("the model was trained on other features: train it again")
        self.booster = booster
        self.manifest = manifest
        self.version = str(manifest["version"])

    @classmethod
    def load(cls, directory: Path) -> PropensityModel:
        """Read ``model.txt`` and ``manifest.json`` from ``directory``."""
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        return cls(lgb.Booster(model_file=str(directory / MODEL_FILE)), manifest)

    def scores(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probability of buying in the next 30 days, per row."""
        return np.asarray(self.booster.predict(values), dtype=np.float64)

    def reasons(self, values: NDArray[np.float64], top: int = TOP_REASONS) -> list[list[Reason]]:
        """The ``top`` SHAP contributions of each row, strongest (by magnitude) first."""
        contributions = np.asarray(self.booster.predict(values, pred_contrib=True))[:, :-1]
        order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
        return [
            [
                Reason(
                    FEATURES[FEATURE_NAMES[j]],
                    round(float(values[i, j]), 2),
                    round(float(contributions[i, j]), 3),
                )
                for j in row
            ]
            for i, row in enumerate(order)
        ]


def save_model(result: Comparison, directory: Path) -> dict[str, Any]:
    """Write the LightGBM model (its own text format) and a JSON manifest; return the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    text = result.booster.model_to_string()
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    manifest = {
        "version": version,
        "kind": "lightgbm",
        "lightgbm": lgb.__version__,
        "features": list(FEATURE_NAMES),
        "labels": {name: label for name, label in FEATURES.items()},
        "horizon_days": result.split.horizon.days,
        "train_cutoff": result.split.train_cutoff.isoformat(),
        "test_cutoff": result.split.test_cutoff.isoformat(),
        "train_rows": result.train_rows,
        "test_rows": result.test_rows,
        "metrics": [m.__dict__ for m in result.metrics],
        "trained_at": utcnow().isoformat(),
    }
    # Written next to the target and renamed, so a scorer never reads half a model.
    for name, content in ((MODEL_FILE, text), (MANIFEST_FILE, json.dumps(manifest, indent=2))):
        partial = directory / f".{name}.partial"
        partial.write_text(content, encoding="utf-8")
        partial.replace(directory / name)
    return manifest


# --- scoring the records ---------------------------------------------------------------------

BATCH: Final = 5_000


def _batches(n: int) -> Iterator[slice]:
    for start in range(0, n, BATCH):
        yield slice(start, min(n, start + BATCH))


def score_customers(
    engine: Engine,
    model: PropensityModel,
    *,
    at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score every active customer at ``at`` (default now); replace all scores in one transaction.

    Returns the number of customers scored. Readers see the old scores until the commit, then
    all the new ones: never a mix.
    """
    at = at or utcnow()
    table = features(engine, at)
    rows: list[dict[str, Any]] = []
    for part in _batches(len(table.customer_ids)):
        values = table.values[part]
        for customer_id, score, reasons in zip(
            table.customer_ids[part], model.scores(values), model.reasons(values), strict=True
        ):
            rows.append(
                {
                    "customer_id": int(customer_id),
                    "score": min(1.0, max(0.0, float(score))),
                    "reasons": [reason.as_json() for reason in reasons],
                    "model_version": model.version,
                    "scored_at": at,
                }
            )
        if progress is not None:
            progress(part.stop - part.start)
    with Session(engine) as session, session.begin():
        session.execute(delete(CustomerScore))
        for part in _batches(len(rows)):
            session.execute(insert(CustomerScore), rows[part])
    return len(rows)
