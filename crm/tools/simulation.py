"""A seeded simulation of how customers buy, written through the real models into a records DB.

No public data set of customers, orders, refunds, tickets and reviews of one shop can be reached
from here, so the purchase-propensity model (crm/insights/propensity.py) is trained on this. The
simulation is built so that the model has to *learn* what drives buying from the records, not
read it off one column: the drivers are hidden per-customer states, and the records only show
their consequences.

What drives buying (daily purchase hazard of a customer who has signed up and not churned)::

    rate = base_affinity                       latent, log-normal: some people just buy more
         × (1 + 1.2 · engagement)              +1 per order, decays 3 %/day (habit: recency,
                                               frequency)
         × exp(-0.8 · dissatisfaction)         refunds, complaints (worse if never resolved),
                                               low reviews; decays 1.5 %/day
         × season(day, category mix)           Christmas peak; garden/outdoor lovers in spring
         × 2.2 if newsletter subscriber in a campaign week (every fourth week)

and every day a customer may churn for good, with a latent hazard raised by dissatisfaction.
The rate is capped at 0.15 a day. Churn, engagement and dissatisfaction are never written; the
records show orders, refunds, tickets (whose words carry the mood, read with VADER), reviews
and newsletter consent, which is what the model sees.

What a customer buys (each order has 1-4 lines)::

    category      ~ the customer's category preferences (Dirichlet)
    product       ~ within the category, weight = price^(-2 · price_sensitivity)
                                                × exp(STYLE_WEIGHT · taste · style)
    then, from the customer's second order on, each line is replaced with probability
    COMPLEMENT_SHARE by a complement of the first item of their previous order
    (:data:`COMPLEMENTS`: a kettle makes tea and mugs likelier next, a bird feeder bird seed,
    a candle another candle)

Style (a latent 3-vector per product, never written, unrelated to the descriptions) and taste (a
3-vector per customer) make some products go together for some people; complements make
"bought after" pairs. Both are what item-to-item recommendations (crm/insights/recommend.py,
bench/recommend.py) can learn from order history and popularity cannot. They come from their
own random stream (``CO_PURCHASE_STREAM``), so the other draws, and so which customers buy
when, are the same as without them; only which products (and so order totals) differ.

Everything is vectorised with numpy over customers, one step per day, and rows are written with
bulk inserts: 100,000 customers over 540 days take a couple of minutes, mostly inserting.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, Table, insert

from crm.records.models import (
    PRODUCT_CATEGORIES,
    Customer,
    NewsletterSubscription,
    Order,
    OrderItem,
    Product,
    Refund,
    Review,
    SupportTicket,
)
from crm.tools.demo import build_dataset

log = logging.getLogger("crm.tools.simulation")

DEFAULT_CUSTOMERS: Final = 100_000
DEFAULT_DAYS: Final = 540  # about 18 months
DEFAULT_END: Final = datetime(2025, 6, 1, tzinfo=timezone.utc)
MAX_ORDERS: Final = 899_999  # order numbers have six digits
CHUNK: Final = 20_000

BASE_RATE: Final = 1 / 110  # median daily purchase rate of an engaged-zero, satisfied customer
ENGAGEMENT_GAIN: Final = 1.2
ENGAGEMENT_DECAY: Final = 0.97
DISSATISFACTION_WEIGHT: Final = 0.8
DISSATISFACTION_DECAY: Final = 0.985
CAMPAIGN_BOOST: Final = 2.2
MAX_RATE: Final = 0.15

CO_PURCHASE_STREAM: Final = 7  # the second seed word of the co-purchase random stream
STYLE_DIMS: Final = 3
STYLE_WEIGHT: Final = 1.0
COMPLEMENT_SHARE: Final = 0.3
# What a product makes likelier in the customer's next order (SKUs of crm/tools/demo.py).
COMPLEMENTS: Final = {
    "KIT-001": ("KIT-006", "KIT-003"),
    "KIT-002": ("KIT-003",),
    "KIT-003": ("KIT-002",),
    "KIT-004": ("KIT-007",),
    "KIT-005": ("KIT-009", "OUT-004", "OUT-007"),
    "KIT-006": ("KIT-001",),
    "KIT-007": ("KIT-004",),
    "KIT-008": ("KIT-009",),
    "KIT-009": ("KIT-009", "KIT-005", "OUT-004"),
    "HOM-001": ("HOM-002", "HOM-005"),
    "HOM-002": ("HOM-001",),
    "HOM-003": ("HOM-002",),
    "HOM-004": ("HOM-008",),
    "HOM-005": ("HOM-005", "HOM-003"),
    "HOM-006": ("GAR-002",),
    "HOM-007": ("HOM-005",),
    "HOM-008": ("HOM-004",),
    "GAR-001": ("GAR-007", "GAR-002"),
    "GAR-002": ("GAR-001", "GAR-003"),
    "GAR-003": ("GAR-002",),
    "GAR-004": ("GAR-007",),
    "GAR-005": ("GAR-001", "GAR-007"),
    "GAR-006": ("GAR-008",),
    "GAR-007": ("GAR-004",),
    "GAR-008": ("GAR-008", "GAR-006"),
    "OUT-001": ("OUT-002",),
    "OUT-002": ("OUT-001",),
    "OUT-003": ("OUT-007", "OUT-004"),
    "OUT-004": ("OUT-007",),
    "OUT-005": ("OUT-006", "OUT-002"),
    "OUT-006": ("OUT-002",),
    "OUT-007": ("OUT-004",),
}

# Ticket texts by mood; the customer's words are what the sentiment feature reads.
COMPLAINTS: Final = (
    "My parcel never arrived and nobody has replied, this is awful.",
    "The lamp arrived broken and I am really disappointed.",
    "I was charged twice, this is terrible service and I want my money back.",
    "Still waiting for my refund, very frustrating and annoying.",
    "The item is damaged and the courier was rude. Unacceptable.",
)
QUESTIONS: Final = (
    "Can I change the delivery address of my order?",
    "Does the casserole work on an induction hob?",
    "How long does delivery to Ireland take?",
    "Thanks, just checking the size of the picnic blanket. Great shop!",
    "Love the throw, is it available in blue as well? Thank you!",
)
_FIRST: Final = ("Alex", "Sam", "Jo", "Chris", "Robin", "Kim", "Lee", "Max", "Ali", "Nico")
_LAST: Final = ("Smith", "Jones", "Brown", "Taylor", "Moore", "Clark", "Hall", "Young", "King")


@dataclass(frozen=True)
class SimulationReport:
    """What one simulation wrote."""

    customers: int
    orders: int
    order_items: int
    refunds: int
    tickets: int
    reviews: int
    newsletter: int
    start: datetime
    end: datetime


@dataclass
class _Catalogue:
    ids: NDArray[np.int64]
    skus: list[str]
    prices: NDArray[np.int64]
    category: NDArray[np.int64]  # index into PRODUCT_CATEGORIES


@dataclass(frozen=True)
class _CoPurchase:
    """The hidden drivers of which products go together (see the module docstring)."""

    rng: np.random.Generator
    taste: NDArray[np.float64]  # customers x STYLE_DIMS
    style: NDArray[np.float64]  # products x STYLE_DIMS
    complements: NDArray[np.int64]  # products x most complements, padded with -1
    counts: NDArray[np.int64]  # complements per product


def _co_purchase(seed: int, customers: int, catalogue: _Catalogue) -> _CoPurchase:
    """Tastes, styles and complements from their own stream, seeded apart from the main one."""
    rng = np.random.default_rng([seed, CO_PURCHASE_STREAM])
    taste = rng.normal(size=(customers, STYLE_DIMS))
    style = rng.normal(size=(len(catalogue.ids), STYLE_DIMS)) / np.sqrt(STYLE_DIMS)
    index = {sku: i for i, sku in enumerate(catalogue.skus)}
    lists = [
        [index[other] for other in COMPLEMENTS.get(sku, ()) if other in index]
        for sku in catalogue.skus
    ]
    complements = np.full((len(lists), max([1, *map(len, lists)])), -1, dtype=np.int64)
    for i, members in enumerate(lists):
        complements[i, : len(members)] = members
    counts = np.array([len(members) for members in lists], dtype=np.int64)
    return _CoPurchase(rng, taste, style, complements, counts)


def season(day_of_year: NDArray[np.float64] | float, outdoor_share: NDArray[np.float64]) -> Any:
    """Seasonal multiplier: a Christmas peak for everyone, spring for garden/outdoor buyers."""
    christmas = 1.0 + 0.6 * np.exp(-(((day_of_year - 340.0) / 18.0) ** 2))
    spring = 1.0 + 0.8 * (outdoor_share - 0.5) * np.sin(2 * np.pi * (day_of_year - 60.0) / 365.0)
    return christmas * np.clip(spring, 0.3, None)


def campaign_week(day: int) -> bool:
    """Newsletter campaigns run every fourth week of the simulation."""
    return (day // 7) % 4 == 0


def simulate(
    engine: Engine,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    days: int = DEFAULT_DAYS,
    end: datetime = DEFAULT_END,
    seed: int = 20250601,
) -> SimulationReport:
    """Simulate ``customers`` over the ``days`` before ``end`` into an empty, migrated database."""
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=days)
    catalogue = _write_catalogue(engine)
    n = customers
    co_purchase = _co_purchase(seed, n, catalogue)

    # --- latent traits ----------------------------------------------------------------------
    joined_before = rng.random(n) < 0.4
    signup_day = np.where(joined_before, -rng.integers(1, 720, n), rng.integers(0, days, n)).astype(
        np.int64
    )
    affinity = BASE_RATE * rng.lognormal(0.0, 0.8, n)
    churn_hazard = np.exp(rng.uniform(np.log(1 / 2500), np.log(1 / 250), n))
    preferences = rng.dirichlet(np.full(len(PRODUCT_CATEGORIES), 0.6), n)
    outdoor = (
        preferences[:, PRODUCT_CATEGORIES.index("garden")]
        + preferences[:, PRODUCT_CATEGORIES.index("outdoor")]
    )
    price_sensitivity = rng.random(n)
    complaint_prone = rng.beta(1.5, 8.0, n)
    subscriber = rng.random(n) < 0.35
    unsubscribed_day = np.full(n, -1, dtype=np.int64)

    engagement = np.zeros(n)
    dissatisfaction = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    pending: dict[int, list[tuple[NDArray[np.int64], float]]] = defaultdict(list)

    order_customer: list[NDArray[np.int64]] = []
    order_day: list[NDArray[np.int64]] = []
    tickets: list[tuple[int, int, int, int]] = []  # customer, day, text index, status code
    reviews: list[tuple[int, int, int, int]] = []  # customer, order index, day, rating
    returns: list[tuple[int, int]] = []  # order index, day requested
    orders_so_far = 0

    for day in range(days):
        for who, amount in pending.pop(day, ()):
            dissatisfaction[who] += amount
        active = alive & (signup_day <= day)
        doy = float((start + timedelta(days=day)).timetuple().tm_yday)
        rate = (
            affinity
            * (1.0 + ENGAGEMENT_GAIN * engagement)
            * np.exp(-DISSATISFACTION_WEIGHT * dissatisfaction)
            * season(doy, outdoor)
        )
        if campaign_week(day):
            rate = np.where(subscriber & (unsubscribed_day < 0), rate * CAMPAIGN_BOOST, rate)
        rate = np.minimum(rate, MAX_RATE)
        buyers = np.flatnonzero(active & (rng.random(n) < -np.expm1(-rate)))
        engagement *= ENGAGEMENT_DECAY
        dissatisfaction *= DISSATISFACTION_DECAY
        engagement[buyers] += 1.0
        indices = np.arange(orders_so_far, orders_so_far + len(buyers))
        orders_so_far += len(buyers)
        order_customer.append(buyers)
        order_day.append(np.full(len(buyers), day, dtype=np.int64))

        # What happens after each order: a problem (and a complaint), a return, a review.
        problem = rng.random(len(buyers)) < 0.05 + 0.5 * complaint_prone[buyers]
        complains = problem & (rng.random(len(buyers)) < 0.6)
        unresolved = complains & (rng.random(len(buyers)) < 0.35)
        returned = rng.random(len(buyers)) < 0.04 + 0.08 * price_sensitivity[buyers] + 0.3 * problem
        reviewed = rng.random(len(buyers)) < 0.15
        for i in np.flatnonzero(complains):
            later = day + int(rng.integers(2, 10))
            status = 0 if unresolved[i] else 2  # open, closed
            tickets.append((int(buyers[i]), later, int(rng.integers(len(COMPLAINTS))), status))
            pending[later].append((buyers[i : i + 1], 2.0 if unresolved[i] else 0.8))
        for i in np.flatnonzero(returned):
            later = day + int(rng.integers(5, 20))
            returns.append((int(indices[i]), later))
            pending[later].append((buyers[i : i + 1], 0.7))
        for i in np.flatnonzero(reviewed):
            rating = 5 - 2 * int(problem[i]) - int(returned[i]) + int(rng.integers(-1, 1))
            rating = int(np.clip(rating, 1, 5))
            later = day + int(rng.integers(4, 14))
            reviews.append((int(buyers[i]), int(indices[i]), later, rating))
            if rating <= 2:
                pending[later].append((buyers[i : i + 1], 0.5))
        # Questions unrelated to problems, in everyone's words.
        asking = np.flatnonzero(active & (rng.random(n) < 1 / 900))
        for asker in asking:
            tickets.append(
                (int(asker), day, len(COMPLAINTS) + int(rng.integers(len(QUESTIONS))), 2)
            )
        # Churn, and unhappy subscribers leaving the newsletter.
        churn = active & (rng.random(n) < churn_hazard * (1.0 + 1.5 * dissatisfaction))
        alive &= ~churn
        leaving = (
            subscriber
            & (unsubscribed_day < 0)
            & (signup_day <= day)
            & (rng.random(n) < 0.004 * dissatisfaction)
        )
        unsubscribed_day[leaving] = day
        if orders_so_far > MAX_ORDERS:
            raise ValueError("too many orders for six-digit numbers: simulate fewer customers")

    customer_of = np.concatenate(order_customer)
    placed_day = np.concatenate(order_day)
    log.info("simulated %d customers, %d orders; writing", n, len(customer_of))
    counts = _write(
        engine,
        rng,
        start=start,
        end=end,
        catalogue=catalogue,
        co_purchase=co_purchase,
        signup_day=signup_day,
        preferences=preferences,
        price_sensitivity=price_sensitivity,
        subscriber=subscriber,
        unsubscribed_day=unsubscribed_day,
        customer_of=customer_of,
        placed_day=placed_day,
        tickets=tickets,
        reviews=[r for r in reviews if r[2] < days],
        returns=[r for r in returns if r[1] < days],
    )
    return SimulationReport(start=start, end=end, **counts)


def _write_catalogue(engine: Engine) -> _Catalogue:
    """The demo shop's products (crm/tools/demo.py), so simulated orders use the real catalogue."""
    products = build_dataset(DEFAULT_END).products
    table: Table = Product.__table__  # type: ignore[assignment]
    rows = [
        {
            "id": index + 1,
            "sku": product.sku,
            "name": product.name,
            "category": product.category,
            "price_pence": product.price_pence,
            "description": product.description,
            "consumable": product.consumable,
        }
        for index, product in enumerate(products)
    ]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    return _Catalogue(
        ids=np.array([row["id"] for row in rows], dtype=np.int64),
        skus=[str(row["sku"]) for row in rows],
        prices=np.array([row["price_pence"] for row in rows], dtype=np.int64),
        category=np.array(
            [PRODUCT_CATEGORIES.index(str(row["category"])) for row in rows], dtype=np.int64
        ),
    )


def _choose_items(
    rng: np.random.Generator,
    catalogue: _Catalogue,
    co_purchase: _CoPurchase,
    preferences: NDArray[np.float64],
    price_sensitivity: NDArray[np.float64],
    customer_of: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Lines of every order: (order index, product index, quantity), one line per product.

    Orders are in the order they were placed (their index), which the complements rely on.
    """
    lines = np.minimum(1 + rng.poisson(0.7, len(customer_of)), 4)
    order_of_line = np.repeat(np.arange(len(customer_of)), lines)
    who = customer_of[order_of_line]
    # A category by the customer's preferences (inverse CDF), then a product in it, cheaper
    # ones more likely for price-sensitive customers.
    cdf = np.cumsum(preferences[who], axis=1)
    category = np.minimum((rng.random(len(who))[:, None] > cdf).sum(axis=1), cdf.shape[1] - 1)
    product = np.empty(len(who), dtype=np.int64)
    for c in range(len(PRODUCT_CATEGORIES)):
        mask = category == c
        members = np.flatnonzero(catalogue.category == c)
        log_price = np.log(catalogue.prices[members] / 1000.0)
        affinity = co_purchase.taste[who[mask]] @ co_purchase.style[members].T
        weights = np.exp(
            -2.0 * price_sensitivity[who[mask]][:, None] * log_price[None, :]
            + STYLE_WEIGHT * affinity
        )
        weights /= weights.sum(axis=1, keepdims=True)
        pick = (rng.random(mask.sum())[:, None] > np.cumsum(weights, axis=1)).sum(axis=1)
        product[mask] = members[np.minimum(pick, len(members) - 1)]
    _add_complements(co_purchase, customer_of, lines, order_of_line, product)
    quantity = 1 + (rng.random(len(who)) < 0.15).astype(np.int64)
    # Merge repeated products of one order into one line (the table's key is order + product).
    key = order_of_line * len(catalogue.ids) + product
    unique, inverse = np.unique(key, return_inverse=True)
    merged = np.bincount(inverse, weights=quantity).astype(np.int64)
    return unique // len(catalogue.ids), unique % len(catalogue.ids), merged


def _add_complements(
    co_purchase: _CoPurchase,
    customer_of: NDArray[np.int64],
    lines: NDArray[np.int64],
    order_of_line: NDArray[np.int64],
    product: NDArray[np.int64],
) -> None:
    """Replace some lines (in place) by complements of the first item of the previous order.

    Orders are handled by their rank among the customer's orders, so the previous order's first
    item is final (complements included) before the next order reads it.
    """
    orders = len(customer_of)
    first_line = np.concatenate(([0], np.cumsum(lines)[:-1]))
    by_customer = np.lexsort((np.arange(orders), customer_of))
    same = customer_of[by_customer[1:]] == customer_of[by_customer[:-1]]
    previous = np.full(orders, -1, dtype=np.int64)
    previous[by_customer[1:][same]] = by_customer[:-1][same]
    rank = np.zeros(orders, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    positions = np.arange(orders) - np.repeat(starts, np.diff(np.append(starts, orders)))
    rank[by_customer] = positions
    replace = co_purchase.rng.random(len(product)) < COMPLEMENT_SHARE
    choice = co_purchase.rng.random(len(product))
    line_rank = rank[order_of_line]
    for r in range(1, int(rank.max(initial=0)) + 1):
        chosen = np.flatnonzero((line_rank == r) & replace)
        anchor = product[first_line[previous[order_of_line[chosen]]]]
        count = co_purchase.counts[anchor]
        has = count > 0
        chosen, anchor, count = chosen[has], anchor[has], count[has]
        pick = np.minimum((choice[chosen] * count).astype(np.int64), count - 1)
        product[chosen] = co_purchase.complements[anchor, pick]


def _write(
    engine: Engine,
    rng: np.random.Generator,
    *,
    start: datetime,
    end: datetime,
    catalogue: _Catalogue,
    co_purchase: _CoPurchase,
    signup_day: NDArray[np.int64],
    preferences: NDArray[np.float64],
    price_sensitivity: NDArray[np.float64],
    subscriber: NDArray[np.bool_],
    unsubscribed_day: NDArray[np.int64],
    customer_of: NDArray[np.int64],
    placed_day: NDArray[np.int64],
    tickets: list[tuple[int, int, int, int]],
    reviews: list[tuple[int, int, int, int]],
    returns: list[tuple[int, int]],
) -> dict[str, int]:
    n = len(signup_day)
    seconds = rng.integers(8 * 3600, 22 * 3600, max(n, len(customer_of)))

    def at(day: int, second: int) -> datetime:
        return start + timedelta(days=int(day), seconds=int(second))

    customers = [
        {
            "id": i + 1,
            "first_name": _FIRST[i % len(_FIRST)],
            "last_name": _LAST[(i // len(_FIRST)) % len(_LAST)],
            "email": f"sim{i + 1:06d}@example.net",
            "created_at": at(signup_day[i], seconds[i]),
            "status": "active",
        }
        for i in range(n)
    ]
    order_of_line, product_of_line, quantity = _choose_items(
        rng, catalogue, co_purchase, preferences, price_sensitivity, customer_of
    )
    line_pence = catalogue.prices[product_of_line] * quantity
    totals = np.bincount(order_of_line, weights=line_pence, minlength=len(customer_of))
    cancelled = rng.random(len(customer_of)) < 0.03
    orders = []
    for i in range(len(customer_of)):
        placed = at(placed_day[i], seconds[i])
        age = (end - placed).days
        status = "cancelled" if cancelled[i] else _status_by_age(age)
        orders.append(
            {
                "id": i + 1,
                "number": f"{100000 + i}",
                "customer_id": int(customer_of[i]) + 1,
                "status": status,
                "ship_line1": "1 High Street",
                "ship_city": "Bristol",
                "ship_postcode": "BS1 1AA",
                "ship_country": "GB",
                "delivery_method": "standard",
                "placed_at": placed,
                "paid_at": placed + timedelta(minutes=5),
                "delivered_at": placed + timedelta(days=3) if status == "delivered" else None,
                "cancelled_at": placed + timedelta(hours=6) if status == "cancelled" else None,
                "total_pence": int(totals[i]),
                "updated_at": placed,
            }
        )
    items = [
        {
            "order_id": int(o) + 1,
            "product_id": int(catalogue.ids[p]),
            "quantity": int(q),
            "unit_price_pence": int(catalogue.prices[p]),
        }
        for o, p, q in zip(order_of_line, product_of_line, quantity, strict=True)
    ]
    refunds: list[dict[str, Any]] = []
    for c in np.flatnonzero(cancelled).tolist():
        when = cast(datetime, orders[c]["cancelled_at"])
        if totals[c] > 0:
            refunds.append(
                {
                    "order_id": c + 1,
                    "amount_pence": int(totals[c]),
                    "status": "paid",
                    "reason": "order cancelled before dispatch",
                    "requested_at": when,
                    "completed_at": when + timedelta(days=3),
                }
            )
    for index, day in returns:
        if cancelled[index] or orders[index]["status"] != "delivered":
            continue
        requested = at(day, seconds[index])
        refunds.append(
            {
                "order_id": index + 1,
                "amount_pence": max(1, int(totals[index] // 2)),
                "status": "paid" if (end - requested).days > 5 else "approved",
                "reason": "return",
                "requested_at": requested,
                "completed_at": requested + timedelta(days=5)
                if (end - requested).days > 5
                else None,
            }
        )
    texts = COMPLAINTS + QUESTIONS
    ticket_rows = [
        {
            "reference": f"SIM-{number:08d}",
            "customer_id": who + 1,
            "conversation_id": f"sim-ticket-{number}",
            "category": "delivery" if text < len(COMPLAINTS) else "product",
            "subject": texts[text][:200],
            "description": texts[text],
            "status": ("open", "pending", "closed")[status],
            "created_at": at(day, seconds[who]),
        }
        for number, (who, day, text, status) in enumerate(tickets)
        if day < (end - start).days
    ]
    review_rows = [
        {
            "reference": f"SIM-R{number:07d}",
            "customer_id": who + 1,
            "order_number": f"{100000 + order}",
            "rating": rating,
            "comment": "",
            "conversation_id": f"sim-review-{number}",
            "created_at": at(day, seconds[who]),
        }
        for number, (who, order, day, rating) in enumerate(reviews)
    ]
    newsletter = [
        {
            "email": customers[i]["email"],
            "customer_id": int(i) + 1,
            "subscribed": bool(unsubscribed_day[i] < 0),
            "changed_at": customers[i]["created_at"]
            if unsubscribed_day[i] < 0
            else at(unsubscribed_day[i], seconds[i]),
            "source": "simulation",
        }
        for i in np.flatnonzero(subscriber)
    ]
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Customer, customers),
        (Order, orders),
        (OrderItem, items),
        (Refund, refunds),
        (SupportTicket, ticket_rows),
        (Review, review_rows),
        (NewsletterSubscription, newsletter),
    ]
    with engine.begin() as connection:
        for model, rows in tables:
            for offset in range(0, len(rows), CHUNK):
                connection.execute(insert(model.__table__), rows[offset : offset + CHUNK])
            log.info("wrote %d %s", len(rows), model.__tablename__)
    return {
        "customers": len(customers),
        "orders": len(orders),
        "order_items": len(items),
        "refunds": len(refunds),
        "tickets": len(ticket_rows),
        "reviews": len(review_rows),
        "newsletter": len(newsletter),
    }


def _status_by_age(age_days: int) -> str:
    if age_days >= 4:
        return "delivered"
    return ("paid", "shipped", "shipped", "shipped")[age_days]
