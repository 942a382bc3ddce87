"""Reading the purchase-propensity scores that `crm score` wrote (crm/insights/propensity.py).

The console shows one customer's score in its panel and lists the likeliest buyers to
supervisors; both read ``customer_scores`` here, without loading the model. The list is for
supervisors and admins only: the console checks the role, and :class:`LikelyBuyers` checks it
again, as crm/desk/supervision.py does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.staff import StaffMember
from crm.records.errors import SupervisorsOnly
from crm.records.models import Customer, CustomerScore, NewsletterSubscription, Order

MAX_ROWS: Final = 5_000  # a page or an export; narrow the filters for more


@dataclass(frozen=True)
class ScoreReason:
    """One reason for a score: a feature as staff read it, the customer's value, its effect."""

    feature: str
    value: float
    effect: float  # log-odds contribution; positive raises the score

    @property
    def raises(self) -> bool:
        """Whether this reason makes buying more likely."""
        return self.effect > 0

    @property
    def value_text(self) -> str:
        """The value as people read it: whole numbers without decimals."""
        return f"{self.value:.0f}" if float(self.value).is_integer() else f"{self.value:.2f}"


@dataclass(frozen=True)
class CustomerPropensity:
    """A customer's score: the chance of ordering in the next 30 days, and why."""

    customer_id: int
    score: float
    reasons: tuple[ScoreReason, ...]
    model_version: str
    scored_at: datetime

    @property
    def percent(self) -> str:
        """The score as a percentage."""
        return f"{round(self.score * 100)} %"


@dataclass(frozen=True)
class LikelyBuyer:
    """A row of the likely-buyers list."""

    customer_id: int
    name: str
    email: str
    propensity: CustomerPropensity
    orders: int
    newsletter: bool


@dataclass(frozen=True)
class BuyerFilter:
    """What the supervisor narrowed the list to; None means either way."""

    min_score: float = 0.0
    ordered_before: bool | None = None
    newsletter: bool | None = None
    search: str = ""


def _reasons(raw: Any) -> tuple[ScoreReason, ...]:
    """The stored JSON reasons, tolerating rows written by an older model."""
    found = []
    for item in raw or ():
        if isinstance(item, dict) and {"feature", "value", "effect"} <= item.keys():
            found.append(
                ScoreReason(str(item["feature"]), float(item["value"]), float(item["effect"]))
            )
    return tuple(found)


def _propensity(row: CustomerScore) -> CustomerPropensity:
    return CustomerPropensity(
        customer_id=row.customer_id,
        score=row.score,
        reasons=_reasons(row.reasons),
        model_version=row.model_version,
        scored_at=row.scored_at,
    )


class CustomerScores:
    """One customer's score, for the panel."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def for_customer(self, customer_id: int) -> CustomerPropensity | None:
        """The customer's latest score, or None if they have not been scored yet."""
        with self._sessions() as session:
            row = session.get(CustomerScore, customer_id)
            return None if row is None else _propensity(row)


class LikelyBuyers:
    """The customers most likely to buy, for supervisors and admins."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def list(
        self, member: StaffMember, filters: BuyerFilter, *, limit: int = MAX_ROWS
    ) -> list[LikelyBuyer]:
        """Scored active customers matching ``filters``, most likely first."""
        if not member.can("supervisor"):
            raise SupervisorsOnly()
        order_count = (
            select(func.count(Order.id))
            .where(Order.customer_id == Customer.id)
            .correlate(Customer)
            .scalar_subquery()
        )
        subscribed = exists().where(
            NewsletterSubscription.customer_id == Customer.id,
            NewsletterSubscription.subscribed.is_(True),
        )
        query = (
            select(CustomerScore, Customer, order_count, subscribed)
            .join(Customer, Customer.id == CustomerScore.customer_id)
            .where(Customer.status == "active", CustomerScore.score >= filters.min_score)
        )
        if filters.ordered_before is not None:
            query = query.where((order_count > 0) == filters.ordered_before)
        if filters.newsletter is not None:
            query = query.where(subscribed if filters.newsletter else ~subscribed)
        words = filters.search.split()
        for word in words:
            # Bound parameters, and LIKE wildcards in the search are taken literally.
            pattern = (
                "%"
                + word.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
                + "%"
            )
            query = query.where(
                or_(
                    func.lower(Customer.first_name).like(pattern, escape="\\"),
                    func.lower(Customer.last_name).like(pattern, escape="\\"),
                    Customer.email.like(pattern, escape="\\"),
                )
            )
        query = query.order_by(CustomerScore.score.desc(), Customer.id).limit(limit)
        with self._sessions() as session:
            return [
                LikelyBuyer(
                    customer_id=customer.id,
                    name=f"{customer.first_name} {customer.last_name}",
                    email=customer.email,
                    propensity=_propensity(score),
                    orders=int(orders or 0),
                    newsletter=bool(newsletter),
                )
                for score, customer, orders, newsletter in session.execute(query)
            ]
